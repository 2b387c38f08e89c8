//! The MCP server driven in-process by an rmcp client, as a host would.

use crate::common;

use common::{call, connect, hub_in, text_of};
use pretty_assertions::assert_eq;
use rmcp::model::ReadResourceRequestParams;
use serde_json::json;

fn names(structured: &serde_json::Value) -> Vec<String> {
    structured["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn host_sees_the_shipped_modules_with_structured_output() {
    let home = tempfile::tempdir().unwrap();
    let client = connect(hub_in(home.path())).await;

    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "claude-comms");
    assert!(
        info.instructions
            .as_deref()
            .unwrap()
            .contains("send_message")
    );

    let tools = client.list_all_tools().await.unwrap();
    for name in [
        "list_modules",
        "describe_module",
        "register_module",
        "find_consumers",
    ] {
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} listed"));
        assert!(
            tool.output_schema.is_some(),
            "{name} declares an output schema"
        );
        assert!(tool.description.as_deref().is_some_and(|d| !d.is_empty()));
    }

    let result = call(&client, "list_modules", json!({})).await;
    assert_eq!(result.is_error, Some(false));
    let structured = result.structured_content.clone().unwrap();
    assert_eq!(names(&structured), vec!["arangodb", "claude_mcp", "marker"]);
    assert!(text_of(&result).contains("marker 1.2.0"));

    // The structured content matches the declared output schema.
    let tool = tools.iter().find(|t| t.name == "list_modules").unwrap();
    let schema = serde_json::Value::Object(tool.output_schema.as_ref().unwrap().as_ref().clone());
    assert!(jsonschema::is_valid(&schema, &structured));

    let filtered = call(&client, "list_modules", json!({"tag": "storage"})).await;
    assert_eq!(
        names(filtered.structured_content.as_ref().unwrap()),
        vec!["arangodb"]
    );

    client.cancel().await.unwrap();
}

#[tokio::test]
async fn modules_are_readable_as_resources() {
    let home = tempfile::tempdir().unwrap();
    let client = connect(hub_in(home.path())).await;
    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        vec![
            "module://arangodb",
            "module://claude_mcp",
            "module://marker"
        ]
    );
    let templates = client.list_all_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "module://{name}");

    let read = client
        .read_resource(ReadResourceRequestParams::new("module://marker"))
        .await
        .unwrap();
    let text = match &read.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("expected text, got {other:?}"),
    };
    let descriptor: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(descriptor["name"], "marker");
    assert_eq!(descriptor["capabilities"][0]["name"], "convert_document");

    let missing = client
        .read_resource(ReadResourceRequestParams::new("module://ghost"))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("ghost"), "{missing}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_registered_module_survives_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let client = connect(hub_in(home.path())).await;
    let descriptor = json!({
        "name": "summarizer",
        "version": "0.1.0",
        "description": "Summarises Markdown documents.",
        "path": "/tmp/summarizer",
        "capabilities": [{"name": "summarize", "description": "Summarise a document",
                          "inputs": ["markdown_document"], "outputs": ["summary"]}],
        "data_types": [{"name": "markdown_document", "description": "Markdown"},
                       {"name": "summary", "description": "A short summary"}],
        "relationships": [{"module": "marker", "kind": "consumes_from", "description": "reads marker output"}],
        "tags": ["nlp"]
    });
    let result = call(
        &client,
        "register_module",
        json!({"descriptor": descriptor}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{}", text_of(&result));
    assert_eq!(
        result.structured_content.as_ref().unwrap()["name"],
        "summarizer"
    );
    client.cancel().await.unwrap();

    // A new server on the same home: the module is still there.
    let client = connect(hub_in(home.path())).await;
    let listed = call(&client, "list_modules", json!({"tag": "nlp"})).await;
    assert_eq!(
        names(listed.structured_content.as_ref().unwrap()),
        vec!["summarizer"]
    );
    let consumers = call(&client, "find_consumers", json!({"module": "marker"})).await;
    let consumers = consumers.structured_content.unwrap();
    let consumer_names: Vec<&str> = consumers["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["module"].as_str().unwrap())
        .collect();
    assert_eq!(consumer_names, vec!["arangodb", "summarizer"]);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_broken_descriptor_gets_a_precise_error_and_the_server_stays_up() {
    let home = tempfile::tempdir().unwrap();
    let client = connect(hub_in(home.path())).await;
    let broken = json!({
        "name": "broken",
        "version": "1",
        "description": "d",
        "capabilities": [{"name": "c", "description": "c", "outputs": ["pdf_blob"]}]
    });
    let result = call(&client, "register_module", json!({"descriptor": broken})).await;
    assert_eq!(result.is_error, Some(true));
    assert_eq!(
        text_of(&result),
        "descriptor: capabilities[0].outputs[0]: unknown data type \"pdf_blob\" (declare it under data_types)"
    );

    let bad_args = call(&client, "describe_module", json!({"name": 5})).await;
    assert_eq!(bad_args.is_error, Some(true));
    assert!(
        text_of(&bad_args).contains("argument `name`"),
        "{}",
        text_of(&bad_args)
    );

    let unknown = call(&client, "describe_module", json!({"name": "ghost"})).await;
    assert_eq!(unknown.is_error, Some(true));
    assert!(text_of(&unknown).contains("unknown module \"ghost\""));

    // Still serving.
    let ok = call(&client, "describe_module", json!({"name": "arangodb"})).await;
    assert_eq!(ok.is_error, Some(false));
    assert_eq!(
        ok.structured_content.unwrap()["descriptor"]["name"],
        "arangodb"
    );
    client.cancel().await.unwrap();
}

/// Claude Code validates tool schemas strictly: a property whose schema is
/// a bare `true` (what a `serde_json::Value` field derives) makes it drop
/// every tool of the server. Every property schema must be an object.
#[tokio::test]
async fn every_tool_schema_property_is_an_object_schema() {
    fn check(schema: &serde_json::Value, path: &str, bad: &mut Vec<String>) {
        let Some(object) = schema.as_object() else {
            return;
        };
        for key in ["properties", "$defs"] {
            if let Some(map) = object.get(key).and_then(|m| m.as_object()) {
                for (name, sub) in map {
                    let here = format!("{path}.{key}.{name}");
                    if sub.is_object() {
                        check(sub, &here, bad);
                    } else {
                        bad.push(here);
                    }
                }
            }
        }
        for key in ["items", "anyOf", "oneOf", "allOf"] {
            match object.get(key) {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .for_each(|s| check(s, &format!("{path}.{key}"), bad)),
                Some(sub) => check(sub, &format!("{path}.{key}"), bad),
                None => {}
            }
        }
    }
    let home = tempfile::tempdir().unwrap();
    let client = common::connect(common::hub_in(home.path())).await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.len() >= 17);
    let mut bad = Vec::new();
    for tool in &tools {
        check(
            &serde_json::Value::Object((*tool.input_schema).clone()),
            &format!("{}:input", tool.name),
            &mut bad,
        );
        if let Some(out) = &tool.output_schema {
            check(
                &serde_json::Value::Object((**out).clone()),
                &format!("{}:output", tool.name),
                &mut bad,
            );
        }
    }
    assert!(
        bad.is_empty(),
        "property schemas that are not objects: {bad:?}"
    );
    client.cancel().await.unwrap();
}
