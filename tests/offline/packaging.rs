//! The release metadata outside Cargo.toml says the same version as the
//! crate: the MCP registry's server.json and the Claude Desktop bundle's
//! manifest (packaging/mcpb/manifest.json; `mcpb validate` runs in the
//! end-to-end tier, tests/real/setup.rs).

use std::path::Path;

use serde_json::Value;

fn read_json(relative: &str) -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn server_json_names_the_crates_version_and_its_bundle() {
    let server = read_json("server.json");
    assert_eq!(server["version"], VERSION, "server.json version");
    assert!(
        server["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty() && d.len() <= 100),
        "the registry takes a description of 1 to 100 characters"
    );
    let name = server["name"].as_str().unwrap();
    assert_eq!(
        name.matches('/').count(),
        1,
        "reverse-DNS namespace/name: {name}"
    );
    let packages = server["packages"].as_array().unwrap();
    assert!(!packages.is_empty());
    for package in packages {
        assert_eq!(package["registryType"], "mcpb");
        assert_eq!(package["version"], VERSION, "package version");
        assert_eq!(package["transport"]["type"], "stdio");
        let url = package["identifier"].as_str().unwrap();
        assert!(
            url.starts_with("https://")
                && url.contains(&format!("/v{VERSION}/claude-comms-{VERSION}-"))
                && url.ends_with(".mcpb"),
            "the release asset of this version: {url}"
        );
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
