//! Finds the real children installed by scripts/install-real-children.sh and
//! builds instance configs that run them offline against a [`ModelStub`].
//!
//! The end-to-end tests are `#[ignore]`d, so a bare `cargo test` reports
//! them as ignored rather than passed; scripts/test.sh (the README's and
//! CI's test command) runs them with `--include-ignored` and sets
//! CLAUDE_COMMS_REQUIRE_REAL=1, which turns missing children into a
//! failure: the end-to-end tier can never be skipped silently.
//! `CLAUDE_COMMS_REAL_CLAUDE=/abs/path/claude` runs the tier against another
//! `claude` CLI (scripts/compat-newest-claude.sh: the newest on npm).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use claude_comms::config::InstancesConfig;

use super::model_stub::ModelStub;

pub struct RealChildren {
    pub claude: PathBuf,
    pub claude_code_mcp: PathBuf,
}

impl RealChildren {
    /// The installed children, or `None` (after saying why) when the test
    /// may be skipped.
    pub fn find() -> Option<RealChildren> {
        let bin =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real-children/node_modules/.bin");
        // scripts/compat-newest-claude.sh points the tier at another CLI.
        let claude = std::env::var_os("CLAUDE_COMMS_REAL_CLAUDE")
            .map(PathBuf::from)
            .unwrap_or_else(|| bin.join("claude"));
        let found = RealChildren {
            claude,
            claude_code_mcp: bin.join("claude-code-mcp"),
        };
        if found.claude.exists() && found.claude_code_mcp.exists() {
            return Some(found);
        }
        let why = format!(
            "the real children are not installed in {} (run scripts/install-real-children.sh)",
            bin.display()
        );
        if std::env::var("CLAUDE_COMMS_REQUIRE_REAL").as_deref() == Ok("1") {
            panic!("{why}; CLAUDE_COMMS_REQUIRE_REAL=1 forbids skipping the end-to-end tier");
        }
        eprintln!("skipped: {why}");
        None
    }

    /// The `[instances...]` tables of a config file that run both backends
    /// against `model` (for tests that start the `claude-comms` binary).
    pub fn config_toml(&self, model: &ModelStub, home: &Path) -> String {
        let config = self.instances_config(model, home);
        let table = |env: &std::collections::BTreeMap<String, String>| {
            env.iter()
                .map(|(k, v)| format!("{k} = {v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "[instances.claude_code_mcp]\ncommand = {:?}\nargs = []\nenv = {{ {} }}\n\n[instances.claude_stream]\ncommand = {:?}\nenv = {{ {} }}\n",
            config.claude_code_mcp.command,
            table(&config.claude_code_mcp.env),
            config.claude_stream.command,
            table(&config.claude_stream.env),
        )
    }

    /// Instance settings that run both backends against `model`, with
    /// `home` as the CLI's throw-away home.
    pub fn instances_config(&self, model: &ModelStub, home: &Path) -> InstancesConfig {
        let env: std::collections::BTreeMap<String, String> =
            model.cli_env(home).into_iter().collect();
        let mut config = InstancesConfig::default();
        config.claude_code_mcp.command = self.claude_code_mcp.display().to_string();
        config.claude_code_mcp.args = Vec::new();
        config.claude_code_mcp.env = env.clone();
        config
            .claude_code_mcp
            .env
            .insert("CLAUDE_CLI_NAME".into(), self.claude.display().to_string());
        config.claude_stream.command = self.claude.display().to_string();
        config.claude_stream.env = env;
        config
    }
}
