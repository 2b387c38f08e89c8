//! `claude-comms setup` with a fake `npm` on PATH: it records its arguments
//! and "installs" the in-repo fake child where npm would put the real one.
//! (tests/real/setup.rs installs the real package from the registry.)

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A folder holding an executable `npm` that logs each run's arguments to
/// `npm.log` beside it, then either fails as told or lays out what
/// `npm install --prefix DIR @steipete/claude-code-mcp@1.10.12` leaves.
fn fake_npm(dir: &Path, fail_with: Option<&str>) -> PathBuf {
    let bin = dir.join("fake-npm-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = bin.join("npm.log");
    let body = match fail_with {
        Some(message) => format!("echo {message:?} >&2\nexit 1\n"),
        None => format!(
            "pkg=\"$prefix/node_modules/@steipete/claude-code-mcp\"\n\
             mkdir -p \"$pkg\" \"$prefix/node_modules/.bin\"\n\
             printf '{{\"name\":\"@steipete/claude-code-mcp\",\"version\":\"1.10.12\"}}' > \"$pkg/package.json\"\n\
             ln -sf {:?} \"$prefix/node_modules/.bin/claude-code-mcp\"\n",
            env!("CARGO_BIN_EXE_fake-mcp-child")
        ),
    };
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> {log:?}\nprefix=\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --prefix ]; then prefix=\"$2\"; fi\n  shift\ndone\n{body}"
    );
    let npm = bin.join("npm");
    std::fs::write(&npm, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn npm_runs(bin: &Path) -> Vec<String> {
    std::fs::read_to_string(bin.join("npm.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs claude-comms in `home` with `path` as PATH, a throw-away HOME, an
/// API key (so the login check passes) and `/bin/true` as the claude CLI.
fn run(home: &Path, path: &Path, args: &[&str]) -> (i32, String) {
    let user_home = home.join("user-home");
    std::fs::create_dir_all(&user_home).unwrap();
    let out: Output = Command::new(env!("CARGO_BIN_EXE_claude-comms"))
        .args(args)
        .env("CLAUDE_COMMS_HOME", home)
        .env("CLAUDE_COMMS_HUB", "embedded")
        .env("HOME", &user_home)
        .env("PATH", path)
        .env("CLAUDE_CLI_NAME", "/bin/true")
        .env("ANTHROPIC_API_KEY", "test-key")
        .env_remove("CLAUDE_COMMS_CONFIG")
        .env_remove("CLAUDE_COMMS_MODULE")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

/// PATH with only the fake npm's folder and the system's own programs.
fn path_with(bin: &Path) -> PathBuf {
    PathBuf::from(format!("{}:/usr/bin:/bin", bin.display()))
}

const USER_CONFIG_TAIL: &str = "# my own settings, kept by setup\nlog_level = \"debug\" # loud\n\n[instances.claude_code_mcp]\n# the default npx child\ncommand = \"npx\"\npool_max = 3\n";

#[test]
fn setup_installs_the_child_once_and_the_first_answer_needs_no_download() {
    let home = common::home_with(USER_CONFIG_TAIL);
    let bin = fake_npm(home.path(), None);
    let config_file = home.path().join("config.toml");

    let (code, text) = run(home.path(), &path_with(&bin), &["setup"]);
    assert_eq!(code, 0, "{text}");
    let children = home.path().join("children");
    let executable = children.join("node_modules/.bin/claude-code-mcp");
    assert!(
        text.contains("[done] claude-code-mcp: installed @steipete/claude-code-mcp@1.10.12 into"),
        "{text}"
    );
    assert!(
        text.contains("[done] config: wrote instances.claude_code_mcp.command"),
        "{text}"
    );
    assert!(text.contains("[ok  ] claude CLI: /bin/true"), "{text}");
    assert!(
        text.contains("[ok  ] claude login: ANTHROPIC_API_KEY is set"),
        "{text}"
    );
    assert_eq!(
        npm_runs(&bin),
        [format!(
            "install --prefix {} --save-exact --no-audit --no-fund --loglevel=error @steipete/claude-code-mcp@1.10.12",
            children.display()
        )]
    );
    let written = std::fs::read_to_string(&config_file).unwrap();
    assert!(
        written.contains("# my own settings, kept by setup\nlog_level = \"debug\" # loud\n"),
        "{written}"
    );
    assert!(
        written.contains(&format!(
            "[instances.claude_code_mcp]\n# the default npx child\ncommand = {:?}\npool_max = 3\nargs = []\n",
            executable.display().to_string()
        )),
        "{written}"
    );
    assert!(written.contains("[module_paths]"), "{written}");

    // Again: nothing to do, nothing run, the file untouched.
    let (code, text) = run(home.path(), &path_with(&bin), &["setup"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("[ok  ] claude-code-mcp: 1.10.12 is installed in"),
        "{text}"
    );
    assert!(
        text.contains("[ok  ] config: instances.claude_code_mcp.command is"),
        "{text}"
    );
    assert_eq!(npm_runs(&bin).len(), 1, "npm ran again");
    assert_eq!(std::fs::read_to_string(&config_file).unwrap(), written);
    let (code, text) = run(home.path(), &path_with(&bin), &["setup", "--check"]);
    assert_eq!(code, 0, "nothing is missing: {text}");

    // The installed child answers, and doctor no longer asks for setup.
    let (code, text) = run(
        home.path(),
        &path_with(&bin),
        &[
            "send", "--from", "marker", "--to", "arangodb", "are", "you", "there?",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("are you there?"), "{text}");
    let (_, text) = run(home.path(), &path_with(&bin), &["doctor", "--no-start"]);
    assert!(
        text.contains(&format!("[ok  ] child command: {}", executable.display())),
        "{text}"
    );
    assert!(!text.contains("claude-comms setup"), "{text}");
}

#[test]
fn setup_check_reports_what_is_missing_and_changes_nothing() {
    let home = common::home_with("");
    let bin = fake_npm(home.path(), None);
    let before = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    let (code, text) = run(home.path(), &path_with(&bin), &["setup", "--check"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "[todo] claude-code-mcp: @steipete/claude-code-mcp@1.10.12: not installed in"
        ),
        "{text}"
    );
    assert!(
        text.contains("install --prefix"),
        "the fix names the npm command: {text}"
    );
    assert!(
        text.contains("[todo] config: instances.claude_code_mcp.command stays `npx`"),
        "{text}"
    );
    assert!(npm_runs(&bin).is_empty(), "npm ran");
    assert!(!home.path().join("children").exists());
    assert_eq!(
        std::fs::read_to_string(home.path().join("config.toml")).unwrap(),
        before
    );

    // With --json, the same steps for scripts.
    let (_, text) = run(
        home.path(),
        &path_with(&bin),
        &["--json", "setup", "--check"],
    );
    let steps: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(steps[0]["name"], "claude-code-mcp");
    assert_eq!(steps[0]["status"], "needed");
}

#[test]
fn setup_leaves_a_child_command_set_by_hand_unless_forced() {
    let home = common::home_with(
        "[instances.claude_code_mcp]\ncommand = \"/opt/my-fork/claude-code-mcp\"\n",
    );
    let bin = fake_npm(home.path(), None);
    let config_file = home.path().join("config.toml");
    let before = std::fs::read_to_string(&config_file).unwrap();
    let (code, text) = run(home.path(), &path_with(&bin), &["setup"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("[warn] config: instances.claude_code_mcp.command is `/opt/my-fork/claude-code-mcp`, set by you; left alone"),
        "{text}"
    );
    assert!(text.contains("setup --force"), "{text}");
    assert_eq!(std::fs::read_to_string(&config_file).unwrap(), before);

    let (code, text) = run(home.path(), &path_with(&bin), &["setup", "--force"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("[done] config:"), "{text}");
    assert!(
        !std::fs::read_to_string(&config_file)
            .unwrap()
            .contains("/opt/my-fork")
    );
}

#[test]
fn setup_without_npm_or_with_a_failing_npm_says_why_and_keeps_the_config() {
    let home = common::home_with("");
    let config_file = home.path().join("config.toml");
    let before = std::fs::read_to_string(&config_file).unwrap();
    let empty = home.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, text) = run(home.path(), &empty, &["setup"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("[FAIL] claude-code-mcp: npm is not on PATH"),
        "{text}"
    );
    assert!(text.contains("install Node.js"), "{text}");

    let bin = fake_npm(
        home.path(),
        Some("npm error 404 Not Found - GET @steipete/claude-code-mcp"),
    );
    let (code, text) = run(home.path(), &path_with(&bin), &["setup"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("[FAIL] claude-code-mcp: `"), "{text}");
    assert!(
        text.contains("npm error 404 Not Found"),
        "npm's words are quoted: {text}"
    );
    assert!(
        text.contains("[todo] config: instances.claude_code_mcp.command stays `npx`"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&config_file).unwrap(), before);
}

#[test]
fn doctor_suggests_setup_while_the_child_command_downloads() {
    let home = common::home_with("");
    let bin = fake_npm(home.path(), None);
    let (_, text) = run(home.path(), &path_with(&bin), &["doctor"]);
    assert!(
        text.contains("fix: run `claude-comms setup`: it installs the pinned claude-code-mcp"),
        "{text}"
    );
}
