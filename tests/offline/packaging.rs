//! The release metadata outside Cargo.toml says the same version as the
//! crate: the MCP registry's server.json (valid by the registry's schema,
//! vendored in packaging/registry/, with the crate and the bundle as its
//! packages, and named in README.md's `mcp-name:` line) and the Claude
//! Desktop bundle's manifest (packaging/mcpb/manifest.json; `mcpb validate`
//! runs in the end-to-end tier, tests/real/setup.rs). And the published
//! crate holds what it needs and no test fixtures.

use std::path::Path;

use serde_json::Value;

fn read_json(relative: &str) -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn server_json_names_the_crates_version_its_crate_and_its_bundle() {
    let server = read_json("server.json");
    assert_eq!(server["version"], VERSION, "server.json version");
    let name = server["name"].as_str().unwrap();
    let packages = server["packages"].as_array().unwrap();
    let of_type = |kind: &str| {
        packages
            .iter()
            .find(|p| p["registryType"] == kind)
            .unwrap_or_else(|| panic!("server.json has no {kind} package"))
    };
    for package in packages {
        assert_eq!(package["version"], VERSION, "package version: {package}");
        assert_eq!(package["transport"]["type"], "stdio");
    }
    let crate_package = of_type("cargo");
    assert_eq!(crate_package["identifier"], env!("CARGO_PKG_NAME"));
    assert_eq!(crate_package["registryBaseUrl"], "https://crates.io");
    assert_eq!(
        crate_package["packageArguments"][0]["value"], "serve",
        "the installed binary serves MCP with `serve`"
    );
    let url = of_type("mcpb")["identifier"].as_str().unwrap();
    let repository = env!("CARGO_PKG_REPOSITORY");
    assert!(
        url.starts_with(&format!(
            "{repository}/releases/download/v{VERSION}/claude-comms-{VERSION}-"
        )) && url.ends_with(".mcpb"),
        "the release asset of this version in the crate's repository: {url}"
    );
    assert_eq!(server["repository"]["url"], repository);
    // github.com/OWNER/REPO is io.github.OWNER/REPO to the registry, which
    // checks the owner when publishing.
    let path = repository.trim_start_matches("https://github.com/");
    assert_eq!(name, format!("io.github.{path}"), "server.json name");
}

#[test]
fn server_json_is_valid_by_the_registrys_own_schema() {
    let schema = read_json("packaging/registry/server.schema.json");
    let validator = jsonschema::validator_for(&schema).expect("the vendored schema compiles");
    let server = read_json("server.json");
    let problems: Vec<String> = validator
        .iter_errors(&server)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "server.json: {problems:#?}");
    // The schema is not a formality: what the registry refuses, it refuses.
    let mut bad = server.clone();
    bad["name"] = "no-slash".into();
    bad["packages"][0]["version"] = "latest".into();
    bad["description"] = "x".repeat(101).into();
    let refused: Vec<String> = validator
        .iter_errors(&bad)
        .map(|e| e.instance_path().to_string())
        .collect();
    for path in ["/name", "/packages/0/version", "/description"] {
        assert!(
            refused.iter().any(|p| p == path),
            "{path} refused: {refused:?}"
        );
    }
}

#[test]
fn the_readme_carries_the_registrys_mcp_name_line_visibly() {
    let server = read_json("server.json");
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let line = format!("mcp-name: {}", server["name"].as_str().unwrap());
    let at = readme
        .find(&line)
        .unwrap_or_else(|| panic!("README.md lacks the line `{line}`"));
    // crates.io drops HTML comments: the line must be outside any.
    let before = &readme[..at];
    assert!(
        before.matches("<!--").count() == before.matches("-->").count(),
        "`{line}` is inside an HTML comment"
    );
}

#[test]
fn the_published_crate_holds_the_source_and_no_test_fixtures() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo package --list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = String::from_utf8(out.stdout).unwrap();
    let files: Vec<&str> = files.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "src/main.rs",
        "src/lib.rs",
        "src/context/templates/first_query.md",
        "src/console/assets/console.js",
        "src/console/assets/console.css",
        "descriptors/marker.yaml",
        "schemas/module-descriptor.schema.json",
    ] {
        assert!(files.contains(&needed), "the crate lacks {needed}");
    }
    for path in &files {
        for kept_out in [
            "tests/",
            "benches/",
            "examples/",
            "scripts/",
            "packaging/",
            ".ci/",
        ] {
            assert!(!path.starts_with(kept_out), "the crate holds {path}");
        }
    }
}

#[test]
fn the_bundle_manifest_serves_this_version_over_stdio() {
    let manifest = read_json("packaging/mcpb/manifest.json");
    assert_eq!(manifest["version"], VERSION, "manifest.json version");
    assert_eq!(manifest["server"]["type"], "binary");
    assert_eq!(manifest["server"]["entry_point"], "server/claude-comms");
    assert_eq!(
        manifest["server"]["mcp_config"]["args"],
        serde_json::json!(["serve"])
    );
    let env = &manifest["server"]["mcp_config"]["env"];
    assert_eq!(env["CLAUDE_COMMS_MODULE"], "${user_config.module}");
    assert_eq!(env["CLAUDE_COMMS_HOME"], "${user_config.data_dir}");
    for setting in ["module", "data_dir"] {
        assert!(
            manifest["user_config"][setting].is_object(),
            "user setting {setting}"
        );
    }
}

#[test]
fn the_claude_code_plugin_serves_this_version_with_its_commands() {
    let plugin = read_json(".claude-plugin/plugin.json");
    assert_eq!(plugin["version"], VERSION, "plugin.json version");
    let server = &plugin["mcpServers"]["claude-comms"];
    assert_eq!(server["command"], "claude-comms");
    assert_eq!(server["args"][0], "serve");
    assert_eq!(server["args"][1], "--module");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for command in plugin["commands"].as_array().unwrap() {
        let file = root.join(command.as_str().unwrap());
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.starts_with("---\ndescription: "),
            "{}: front matter with a description",
            file.display()
        );
    }
    let marketplace = read_json(".claude-plugin/marketplace.json");
    let listed = &marketplace["plugins"][0];
    assert_eq!(listed["name"], plugin["name"]);
    assert_eq!(listed["version"], VERSION, "marketplace.json version");
}
