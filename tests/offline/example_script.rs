//! `examples/marker-to-arangodb/run.sh --dry` works from built binaries
//! alone (no cargo inside it) and keeps the export it produced.

use std::process::Command;

#[test]
fn the_walk_through_runs_from_installed_binaries_and_keeps_its_export() {
    let out_dir = tempfile::tempdir().unwrap();
    // The script's throw-away data dir is made under this TMPDIR, so what
    // it leaves running can be found by its path.
    let scratch = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/marker-to-arangodb/run.sh"
    );
    let out = Command::new("bash")
        .args([script, "--dry"])
        // No cargo on this PATH: the script must not build anything.
        .env("PATH", "/usr/bin:/bin")
        .env("CLAUDE_COMMS_BIN", env!("CARGO_BIN_EXE_claude-comms"))
        .env(
            "CLAUDE_COMMS_FAKE_CHILD",
            env!("CARGO_BIN_EXE_fake-mcp-child"),
        )
        .env("CLAUDE_COMMS_EXAMPLE_OUT", out_dir.path())
        .env("TMPDIR", scratch.path())
        .env_remove("CLAUDE_COMMS_HOME")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("== a follow-up in the same conversation"),
        "{stdout}"
    );
    let kept: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(kept.len(), 1, "one export kept");
    let export = std::fs::read_to_string(kept[0].path()).unwrap();
    assert!(
        export.contains("How do I store one so it can be searched by section?"),
        "{export}"
    );
    assert!(export.contains("And what key do I get back"), "{export}");
    let scratch_path = scratch.path().display().to_string();
    let left: Vec<(i32, String)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| {
            let pid = p.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
            Some((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")))
        })
        .filter(|(_, c)| c.contains(&scratch_path))
        .collect();
    for (pid, _) in &left {
        // Stop what it left before failing, so the test leaves nothing either.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    assert_eq!(left, Vec::new(), "the walk-through left processes running");
}

#[test]
fn without_a_binary_it_says_how_to_get_one() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/marker-to-arangodb/run.sh"
    );
    let out = Command::new("bash")
        .arg(script)
        .env("PATH", "/usr/bin:/bin")
        .env_remove("CLAUDE_COMMS_BIN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("claude-comms is not on PATH"));
}
