//! The operator sees each module's permission policy (`config show`,
//! `modules show`, `doctor`), `full` as a warning, and a bad value as an
//! error that names the key.

use crate::common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_CLI_NAME")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const POLICIES: &str = "[permissions.modules]\narangodb = \"full\"\nmarker = \"edit\"\n[permissions.rules.marker]\nallow = [\"Bash(cargo test:*)\"]\n[instances.claude_stream]\nskip_permissions_modules = [\"claude_mcp\"]\n";

#[test]
fn config_show_lists_every_modules_effective_policy() {
    let home = common::home_with(POLICIES);
    let (code, stdout, stderr) = run(home.path(), &["--json", "config", "show"]);
    assert_eq!(code, 0, "{stderr}");
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    let mode_of = |module: &str| {
        shown["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["module"] == module)
            .map(|p| (p["mode"].clone(), p["from"].clone()))
            .unwrap()
    };
    assert_eq!(mode_of("arangodb").0, "full");
    assert_eq!(mode_of("marker").0, "edit");
    assert_eq!(
        mode_of("claude_mcp"),
        ("read-only".into(), "permissions.default".into()),
        "the deprecated stream setting grants nothing"
    );
    let warnings = shown["warnings"].to_string();
    assert!(
        warnings.contains("module arangodb: full access"),
        "{warnings}"
    );
    assert!(
        warnings.contains("skip_permissions_modules is deprecated"),
        "{warnings}"
    );

    let (code, stdout, _) = run(home.path(), &["config", "show"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("PERMISSIONS"), "{stdout}");
    assert!(
        stdout.contains("shell only for the allowed commands"),
        "{stdout}"
    );
}

#[test]
fn modules_show_and_doctor_warn_about_full_access() {
    let home = common::home_with(POLICIES);
    let (_, stdout, _) = run(home.path(), &["modules", "show", "arangodb"]);
    assert!(
        stdout.contains("# permissions: full (permissions.modules.arangodb)"),
        "{stdout}"
    );
    assert!(stdout.contains("# warning: full access"), "{stdout}");
    let (_, stdout, _) = run(home.path(), &["modules", "show", "claude_mcp"]);
    assert!(
        stdout.contains("# permissions: read-only (permissions.default)"),
        "{stdout}"
    );

    let (_, stdout, _) = run(home.path(), &["doctor"]);
    assert!(stdout.contains("[ok  ] policy shim"), "{stdout}");
    assert!(
        stdout.contains("[warn] permissions: module arangodb: full access"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skip_permissions_modules is deprecated"),
        "{stdout}"
    );
}

#[test]
fn a_bad_policy_value_is_an_error_naming_the_key() {
    for (toml, names) in [
        ("[permissions]\ndefault = \"write\"\n", "write"),
        ("[permissions.modules]\nmarker = \"admin\"\n", "admin"),
        (
            "[permissions.rules.marker]\nallow = [\"Bash(ls\"]\n",
            "permissions.rules.marker.allow",
        ),
        (
            "[permissions.rules.marker]\nadd_dirs = [\"shared\"]\n",
            "permissions.rules.marker.add_dirs",
        ),
    ] {
        let home = common::home_with(toml);
        let (code, _, stderr) = run(home.path(), &["config", "show"]);
        assert_eq!(code, 2, "{toml}: {stderr}");
        assert!(stderr.contains(names), "{toml}: {stderr}");
    }
}
