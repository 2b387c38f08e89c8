use super::*;

fn env_with(home: &Path) -> impl Fn(&str) -> Option<String> + '_ {
    move |k| (k == HOME_ENV).then(|| home.display().to_string())
}

#[test]
fn defaults_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = LoadedConfig::load_with_env(&Overrides::default(), env_with(dir.path())).unwrap();
    assert_eq!(loaded.paths.data_dir, dir.path());
    assert_eq!(loaded.config.context.hop_limit, 3);
    let entries = loaded.entries();
    let hop = entries
        .iter()
        .find(|(k, _, _)| k == "context.hop_limit")
        .unwrap();
    assert_eq!(hop.2, "default");
}

#[test]
fn file_values_and_their_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[context]\nhop_limit = 5\n[module_paths]\nmarker = \"/src/marker\"\n",
    )
    .unwrap();
    let loaded = LoadedConfig::load_with_env(&Overrides::default(), env_with(dir.path())).unwrap();
    assert_eq!(loaded.config.context.hop_limit, 5);
    let entries = loaded.entries();
    let src = |key: &str| entries.iter().find(|(k, _, _)| k == key).unwrap().2.clone();
    assert!(src("context.hop_limit").starts_with("file "));
    assert!(src("module_paths.marker").starts_with("file "));
    assert_eq!(src("context.token_budget"), "default");
}

#[test]
fn config_show_hides_secrets_and_only_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        r#"
database = "/srv/db/claude-comms.db"
[context]
token_budget = 30000
[instances.claude_code_mcp]
args = ["--db", "postgres://app:hunter2@db.example/app", "--token=abc123secret"]
[instances.claude_code_mcp.env]
GITHUB_PAT = "ghp_plainsecret"
LOG_STYLE = "json"
[instances.claude_stream.env]
ANTHROPIC_API_KEY = "sk-ant-123"
"#,
    )
    .unwrap();
    let loaded = LoadedConfig::load_with_env(&Overrides::default(), env_with(dir.path())).unwrap();
    let entries = loaded.entries();
    let shown = serde_json::to_string(&entries).unwrap();
    for secret in ["ghp_plainsecret", "hunter2", "sk-ant-123", "abc123secret"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    let value = |key: &str| {
        entries
            .iter()
            .find(|(k, _, _)| k == key)
            .unwrap_or_else(|| panic!("{key} listed"))
            .1
            .clone()
    };
    // Every value of a child `env` table is hidden, whatever its name.
    assert_eq!(
        value("instances.claude_code_mcp.env.GITHUB_PAT"),
        "[redacted]"
    );
    assert_eq!(
        value("instances.claude_code_mcp.env.LOG_STYLE"),
        "[redacted]"
    );
    // A URL keeps everything but its password.
    assert_eq!(
        value("instances.claude_code_mcp.args")[1],
        "postgres://app:[redacted]@db.example/app"
    );
    // Plain settings are never hidden, whatever their name.
    assert_eq!(value("context.token_budget"), 30000);
    assert_eq!(value("database"), "/srv/db/claude-comms.db");
    assert_eq!(value("instances.claude_code_mcp.max_in_flight"), 4);
}

#[test]
fn unknown_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[context]\nhop_limitt = 5\n",
    )
    .unwrap();
    let err = LoadedConfig::load_with_env(&Overrides::default(), env_with(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("hop_limitt"), "{err}");
    assert!(err.contains("config.toml"), "{err}");
}

#[test]
fn explicit_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        config_file: Some(dir.path().join("nope.toml")),
        ..Default::default()
    };
    let err = LoadedConfig::load_with_env(&overrides, env_with(dir.path())).unwrap_err();
    assert!(err.to_string().contains("nope.toml"), "{err}");
    assert!(err.to_string().contains("--config"), "{err}");
}
