//! The seed's flat command names (`query-module`, `list-conversations`,
//! `register-module`, ...), kept so existing scripts keep working: each
//! becomes the command it stands for before anything runs.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::Command;
use super::conversations::ConversationsCommand;
use super::instances::InstancesCommand;
use super::modules::ModulesCommand;
use super::output::Output;
use super::send::SendArgs;

/// `command` with a seed name replaced by the command it stands for
/// (`Continue`); or, for a seed call that misses what it needs, the exit
/// code after saying so on stderr (`Break`). Other commands pass through.
pub fn resolve(command: Command, out: &Output) -> anyhow::Result<ControlFlow<i32, Command>> {
    let missing = |words: &str| -> anyhow::Result<ControlFlow<i32, Command>> {
        out.note(words)?;
        Ok(ControlFlow::Break(2))
    };
    let resolved = match command {
        Command::RegisterModule {
            name_or_file,
            desc,
            path,
        } => return register_module(name_or_file, desc, path, out),
        Command::QueryModule(args) => Command::Send(args.into_send()),
        Command::ListConversations { module } => {
            Command::Conversations(ConversationsCommand::List {
                module,
                status: None,
                limit: crate::hub::DEFAULT_PAGE_SIZE,
                cursor: None,
            })
        }
        Command::ContinueConversation { id, message } => Command::Send(SendArgs {
            from: None,
            to: None,
            conversation: Some(id),
            timeout: None,
            idempotency_key: None,
            background: false,
            reuse: crate::hub::Reuse::Never,
            message,
        }),
        Command::ExportConversation {
            id_flag,
            id,
            format,
            output,
        } => match id_flag.or(id) {
            Some(id) => export_conversation(id, format, output),
            None => {
                return missing("error: export-conversation: give the conversation's id (--id ID)");
            }
        },
        Command::ListenModule {
            module_flag,
            module,
        } => match module_flag.or(module) {
            Some(module) => Command::Listen { module },
            None => return missing("error: listen-module: give the module (--module NAME)"),
        },
        Command::StartInstance(args) => Command::Instances(InstancesCommand::Start(args)),
        Command::ListInstances => Command::Instances(InstancesCommand::List),
        Command::StopInstance { id_flag, id } => match id_flag.or(id) {
            Some(id) => Command::Instances(InstancesCommand::Stop { id }),
            None => {
                return missing("error: stop-instance: give the instance (--id ID or its name)");
            }
        },
        Command::MonitorInstance { id_flag, id } => match id_flag.or(id) {
            Some(id) => Command::Instances(InstancesCommand::Monitor { id, lines: 20 }),
            None => {
                return missing("error: monitor-instance: give the instance (--id ID or its name)");
            }
        },
        other => other,
    };
    Ok(ControlFlow::Continue(resolved))
}

/// `export-conversation ID`: `conversations export`, saved to a file named
/// after the conversation unless `--output` says where (`-`: stdout).
fn export_conversation(id: String, format: String, output: Option<PathBuf>) -> Command {
    let (output, save) = match output {
        Some(p) if p.as_os_str() == "-" => (None, false),
        Some(p) => (Some(p), true),
        None => (None, true),
    };
    Command::Conversations(ConversationsCommand::Export {
        id,
        format,
        output,
        save,
    })
}

/// `register-module FILE`, `register-module NAME --desc FILE [--path DIR]`:
/// `modules register`. Without a descriptor (`register-module NAME --path
/// DIR`) there is nothing to register: it says how `modules init` writes
/// one, exit 1.
fn register_module(
    name_or_file: PathBuf,
    desc: Option<PathBuf>,
    path: Option<PathBuf>,
    out: &Output,
) -> anyhow::Result<ControlFlow<i32, Command>> {
    let (file, name) = match desc {
        Some(desc) => (desc, Some(name_or_file.display().to_string())),
        None if path.is_some() && !name_or_file.is_file() => {
            let dir = path.as_deref().unwrap_or(Path::new("."));
            out.note(format!(
                "error: register-module {} --path {}: no descriptor given (--desc FILE); to write one from what is in the folder, run: claude-comms modules init {} --name {}",
                name_or_file.display(),
                dir.display(),
                dir.display(),
                name_or_file.display()
            ))?;
            return Ok(ControlFlow::Break(1));
        }
        None => (name_or_file, None),
    };
    let register = ModulesCommand::Register { file, name, path };
    Ok(ControlFlow::Continue(Command::Modules(register)))
}
