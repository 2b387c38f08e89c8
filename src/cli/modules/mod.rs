//! `claude-comms modules list | show | validate | register | init | remove | consumers | schema`:
//! one file per subcommand; `run` only dispatches.

mod consumers;
mod draft;
mod init;
mod list;
mod register;
mod remove;
mod show;
mod validate;

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::output::Output;
use crate::config::LoadedConfig;
use crate::descriptor::{Format, ModuleFilter};
use crate::hub::Hub;

#[derive(Debug, Subcommand)]
pub enum ModulesCommand {
    /// List known modules (and descriptor files that failed to load).
    List {
        /// Only modules with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only modules that offer this capability.
        #[arg(long)]
        capability: Option<String>,
        /// Only modules that produce or consume this data type.
        #[arg(long = "data-type")]
        data_type: Option<String>,
        /// Free-text search.
        #[arg(long)]
        query: Option<String>,
    },
    /// Show one module's descriptor.
    Show {
        /// The module's name.
        name: String,
    },
    /// Check descriptor files without registering them; exit 1 if any is invalid.
    Validate {
        /// Descriptor files (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Validate a descriptor file and save it in the user's descriptor folder.
    Register {
        /// The descriptor file (YAML or JSON).
        file: PathBuf,
        /// The module's name: must match the descriptor's, or fills it in.
        #[arg(long)]
        name: Option<String>,
        /// The module's folder (where its agent works); overrides the descriptor's `path`.
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Write and register a descriptor for a module folder from what is there
    /// (name and version from Cargo.toml, package.json, pyproject.toml or
    /// go.mod; description from the README; tags from the languages found).
    Init {
        /// The module's folder (default: the current one).
        path: Option<PathBuf>,
        /// The module's name, instead of the manifest's (or the folder's).
        #[arg(long)]
        name: Option<String>,
        /// Then ask the module's own agent (read-only) to propose its
        /// capabilities, data types and relationships, shown for you to accept.
        #[arg(long)]
        draft: bool,
        /// With --draft: write the proposal without asking.
        #[arg(long, short = 'y', requires = "draft")]
        yes: bool,
        /// With --draft: more for the agent to know ("focus on the HTTP API").
        #[arg(long, requires = "draft")]
        hint: Option<String>,
    },
    /// Remove a registered descriptor from the user's folder.
    Remove {
        /// The module's name.
        name: String,
    },
    /// Modules that can consume what NAME produces.
    Consumers {
        /// The producing module's name.
        name: String,
        /// Only this one of its data types.
        #[arg(long = "data-type")]
        data_type: Option<String>,
    },
    /// Print the descriptor JSON Schema.
    Schema,
}

pub async fn run(cmd: ModulesCommand, config: LoadedConfig, out: &Output) -> anyhow::Result<i32> {
    // Commands that only read files need no registry.
    match cmd {
        ModulesCommand::Validate { files } => return validate::run(&files, out),
        ModulesCommand::Schema => {
            out.line(crate::descriptor::descriptor_schema_text().trim_end())?;
            return Ok(0);
        }
        _ => {}
    }
    let hub = Hub::open(config, None)?;
    match cmd {
        ModulesCommand::List {
            tag,
            capability,
            data_type,
            query,
        } => {
            let filter = ModuleFilter {
                tag,
                capability,
                data_type,
                query,
            };
            list::run(&hub, &filter, out)
        }
        ModulesCommand::Show { name } => show::run(&hub, &name, out),
        ModulesCommand::Register { file, name, path } => {
            register::run(&hub, &file, name.as_deref(), path.as_deref(), out).await
        }
        ModulesCommand::Init {
            path,
            name,
            draft,
            yes,
            hint,
        } => {
            let draft = draft.then_some(draft::DraftOptions {
                yes,
                hint: hint.as_deref(),
            });
            init::run(&hub, path.as_deref(), name.as_deref(), draft, out).await
        }
        ModulesCommand::Remove { name } => remove::run(&hub, &name, out).await,
        ModulesCommand::Consumers { name, data_type } => {
            consumers::run(&hub, &name, data_type.as_deref(), out)
        }
        ModulesCommand::Validate { .. } | ModulesCommand::Schema => {
            unreachable!("validate and schema are answered above, without a hub")
        }
    }
}

/// A descriptor file's name as given, its format (from the file's ending)
/// and its text; errors name the file.
fn read_descriptor_file(file: &Path) -> Result<(String, Format, String), String> {
    let shown = file.display().to_string();
    let format = Format::from_file_name(&shown)
        .ok_or_else(|| format!("{shown}: not a .yaml, .yml or .json file"))?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    Ok((shown, format, text))
}
