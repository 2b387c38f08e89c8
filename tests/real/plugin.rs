//! The Claude Code plugin and marketplace in the repository
//! (`.claude-plugin/plugin.json`, `.claude-plugin/marketplace.json`,
//! `commands/*.md`), checked by the pinned `claude` CLI's own
//! `claude plugin validate --strict`, offline with a throw-away HOME. A
//! copy that names a command file that is not there is refused, so the
//! check is not a formality.

use crate::real_children::RealChildren;

use std::path::Path;
use std::process::Output;

fn validate(real: &RealChildren, path: &Path) -> Output {
    let home = tempfile::tempdir().unwrap();
    std::process::Command::new(&real.claude)
        .args(["plugin", "validate", "--strict"])
        .arg(path)
        .env("HOME", home.path())
        .env("DISABLE_TELEMETRY", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[ignore = "end-to-end tier: needs the real children (bash scripts/install-real-children.sh); scripts/test.sh runs it"]
#[test]
fn claude_code_validates_the_plugin_and_its_marketplace() {
    let Some(real) = RealChildren::find() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for manifest in [
        root.join(".claude-plugin/plugin.json"),
        root.join(".claude-plugin/marketplace.json"),
    ] {
        let out = validate(&real, &manifest);
        let text = said(&out);
        assert!(out.status.success(), "{}: {text}", manifest.display());
        assert!(text.contains("Validation passed"), "{text}");
    }

    // The same plugin without its command files is refused, naming them.
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(copy.path().join(".claude-plugin")).unwrap();
    std::fs::copy(
        root.join(".claude-plugin/plugin.json"),
        copy.path().join(".claude-plugin/plugin.json"),
    )
    .unwrap();
    let out = validate(&real, &copy.path().join(".claude-plugin/plugin.json"));
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("commands/ask.md"), "{text}");
}
