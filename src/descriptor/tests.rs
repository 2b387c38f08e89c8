//! Unit tests: parsing, validation messages, override order, registry queries.

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;

fn sources(user: &std::path::Path, extra: Vec<std::path::PathBuf>) -> DescriptorSources {
    DescriptorSources {
        fleet_dir: None,
        user_dir: user.to_path_buf(),
        extra_dirs: extra,
    }
}

fn minimal(name: &str) -> serde_json::Value {
    json!({
        "name": name,
        "version": "1.0.0",
        "description": "A test module.",
        "capabilities": [{
            "name": "store",
            "description": "Stores things",
            "inputs": ["markdown_document"],
            "outputs": ["document_ref"]
        }],
        "data_types": [
            {"name": "markdown_document", "description": "Markdown"},
            {"name": "document_ref", "description": "A key"}
        ],
        "relationships": [{"module": "marker", "kind": "consumes_from", "description": "reads"}]
    })
}

#[test]
fn shipped_descriptors_are_valid_and_related() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::load(sources(dir.path(), vec![]));
    assert!(
        registry.report().errors.is_empty(),
        "{:?}",
        registry.report().errors
    );
    assert!(
        registry.report().warnings.is_empty(),
        "{:?}",
        registry.report().warnings
    );
    let names: Vec<&str> = registry.names().collect();
    assert_eq!(names, vec!["arangodb", "claude_mcp", "marker"]);
}

/// The loader trusts the shipped descriptors (`parse_shipped`, no schema
/// check at start-up); this is the check it skips.
#[test]
fn every_shipped_descriptor_passes_the_validation_the_loader_skips() {
    for (file, text) in BUILTIN_DESCRIPTORS {
        let format = Format::from_file_name(file).unwrap();
        let checked = parse_descriptor(file, text, format).unwrap_or_else(|e| panic!("{e}"));
        let trusted = validate::parse_shipped(file, text, format).unwrap();
        assert_eq!(trusted, checked, "{file}");
    }
}

#[test]
fn the_published_schema_matches_the_rust_type() {
    let published = include_str!("../../schemas/module-descriptor.schema.json");
    assert_eq!(
        published,
        descriptor_schema_text(),
        "schemas/module-descriptor.schema.json is stale: regenerate it with `claude-comms modules schema > schemas/module-descriptor.schema.json`"
    );
}

#[test]
fn unknown_data_type_names_file_field_and_value() {
    let yaml = r#"
name: broken
version: "1"
description: d
capabilities:
  - name: a
    description: a
  - name: b
    description: b
  - name: c
    description: c
    outputs: [pdf_blob]
"#;
    let err = parse_descriptor("descriptors/x.yaml", yaml, Format::Yaml).unwrap_err();
    assert_eq!(
        err.to_string(),
        "descriptors/x.yaml: capabilities[2].outputs[0]: unknown data type \"pdf_blob\" (declare it under data_types)"
    );
}

#[test]
fn schema_errors_name_the_field() {
    let mut value = minimal("ok");
    value["relationships"][0]["kind"] = json!("friend_of");
    value["name"] = json!("../../etc");
    let err = validate_value("x.json", &value).unwrap_err();
    let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, vec!["name", "relationships[0].kind"], "{err}");
    assert!(err.to_string().contains("friend_of"), "{err}");
}

#[test]
fn missing_and_unknown_fields_are_reported() {
    let err = validate_value(
        "x.json",
        &json!({"name": "a", "version": "1", "colour": "red"}),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("description"), "{text}");
    assert!(text.contains("colour"), "{text}");
}

#[test]
fn yaml_syntax_errors_name_the_file() {
    let err = parse_descriptor("bad.yaml", "name: [unclosed", Format::Yaml).unwrap_err();
    assert!(
        err.to_string().starts_with("bad.yaml: not valid YAML"),
        "{err}"
    );
    let err = parse_descriptor("bad.json", "{\"name\": ", Format::Json).unwrap_err();
    assert!(
        err.to_string().starts_with("bad.json: not valid JSON"),
        "{err}"
    );
}

#[test]
fn duplicates_and_self_relationships_are_errors() {
    let mut value = minimal("dup");
    value["data_types"][1]["name"] = json!("markdown_document");
    value["relationships"][0]["module"] = json!("dup");
    let err = validate_value("d.json", &value).unwrap_err();
    let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"data_types[1].name"), "{err}");
    assert!(paths.contains(&"relationships[0].module"), "{err}");
    // document_ref is no longer declared, so the output reference is wrong too.
    assert!(paths.contains(&"capabilities[0].outputs[0]"), "{err}");
}

#[test]
fn invalid_data_type_schema_is_reported() {
    let mut value = minimal("s");
    value["data_types"][0]["schema"] = json!({"type": "no-such-type"});
    let err = validate_value("s.json", &value).unwrap_err();
    assert_eq!(err.problems[0].path, "data_types[0].schema", "{err}");
}

#[test]
fn later_sources_override_earlier_ones_and_say_so() {
    let user = tempfile::tempdir().unwrap();
    let extra = tempfile::tempdir().unwrap();
    let mut marker = minimal("marker");
    marker["relationships"] = json!([]);
    marker["version"] = json!("9.9.9-user");
    std::fs::write(user.path().join("marker.json"), marker.to_string()).unwrap();
    marker["version"] = json!("9.9.9-extra");
    std::fs::write(extra.path().join("m.json"), marker.to_string()).unwrap();
    let registry = Registry::load(sources(user.path(), vec![extra.path().to_path_buf()]));
    assert_eq!(
        registry.get("marker").unwrap().descriptor.version,
        "9.9.9-extra"
    );
    let overrides = &registry.report().overrides;
    assert_eq!(overrides.len(), 2);
    assert_eq!(overrides[0].replaced_file, "descriptors/marker.yaml");
    assert!(overrides[0].by_file.ends_with("marker.json"));
    assert!(overrides[1].by_file.ends_with("m.json"));
}

#[test]
fn a_broken_file_is_skipped_and_listed() {
    let user = tempfile::tempdir().unwrap();
    std::fs::write(user.path().join("bad.yaml"), "name: Bad Name\n").unwrap();
    std::fs::write(user.path().join("notes.txt"), "not a descriptor").unwrap();
    std::fs::write(user.path().join("good.json"), minimal("good").to_string()).unwrap();
    let registry = Registry::load(sources(user.path(), vec![]));
    assert!(registry.get("good").is_ok());
    assert_eq!(registry.report().errors.len(), 1);
    assert!(
        registry.report().errors[0]
            .source_name
            .ends_with("bad.yaml")
    );
}

#[test]
fn relationships_to_unknown_modules_are_warnings() {
    let user = tempfile::tempdir().unwrap();
    let mut value = minimal("lonely");
    value["relationships"][0]["module"] = json!("ghost");
    std::fs::write(user.path().join("lonely.json"), value.to_string()).unwrap();
    let registry = Registry::load(sources(user.path(), vec![]));
    assert!(registry.get("lonely").is_ok());
    let warnings = &registry.report().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("relationships[0].module: unknown module \"ghost\""));
}

#[test]
fn list_filters() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::load(sources(dir.path(), vec![]));
    let names = |f: ModuleFilter| -> Vec<String> {
        registry
            .list(&f)
            .into_iter()
            .map(|m| m.descriptor.name.clone())
            .collect()
    };
    assert_eq!(
        names(ModuleFilter {
            tag: Some("storage".into()),
            ..Default::default()
        }),
        vec!["arangodb"]
    );
    assert_eq!(
        names(ModuleFilter {
            capability: Some("convert_document".into()),
            ..Default::default()
        }),
        vec!["marker"]
    );
    assert_eq!(
        names(ModuleFilter {
            data_type: Some("document_blocks".into()),
            ..Default::default()
        }),
        vec!["arangodb", "marker"]
    );
    assert_eq!(
        names(ModuleFilter {
            query: Some("ARANGOSEARCH".into()),
            ..Default::default()
        }),
        vec!["arangodb"]
    );
    assert!(
        names(ModuleFilter {
            query: Some("no such words".into()),
            ..Default::default()
        })
        .is_empty()
    );
}

#[test]
fn consumers_follow_data_types_and_relationships() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::load(sources(dir.path(), vec![]));
    let consumers = registry.find_consumers("marker", None).unwrap();
    assert_eq!(consumers.len(), 1, "{consumers:?}");
    assert_eq!(consumers[0].module, "arangodb");
    assert_eq!(
        consumers[0].data_types,
        vec!["document_blocks", "markdown_document"]
    );
    assert_eq!(
        consumers[0].relationships,
        vec![
            "marker provides_to arangodb",
            "arangodb consumes_from marker"
        ]
    );
    let only_tables = registry
        .find_consumers("marker", Some("table_set"))
        .unwrap();
    assert!(only_tables.is_empty());
    assert!(matches!(
        registry.find_consumers("nobody", None),
        Err(RegistryError::UnknownModule { .. })
    ));
}

#[test]
fn register_persists_and_remove_restores_the_builtin() {
    let user = tempfile::tempdir().unwrap();
    let registry = Registry::load(sources(user.path(), vec![]));
    let mut marker = minimal("marker");
    marker["relationships"] = json!([]);
    marker["version"] = json!("2.0.0");
    let (registered, now) = registry.register(&marker, &RegisterFrom::Client).unwrap();
    assert_eq!(
        registered.replaced_file.as_deref(),
        Some("descriptors/marker.yaml")
    );
    assert!(user.path().join("marker.yaml").exists());
    assert_eq!(now.get("marker").unwrap().descriptor.version, "2.0.0");

    // A new registry (a restart) sees the registered version.
    let reloaded = Registry::load(sources(user.path(), vec![]));
    assert_eq!(reloaded.get("marker").unwrap().descriptor.version, "2.0.0");
    assert_eq!(reloaded.get("marker").unwrap().origin, Origin::User);

    let (_, after) = reloaded.remove("marker").unwrap();
    assert_eq!(after.get("marker").unwrap().descriptor.version, "1.2.0");
    assert!(matches!(
        after.remove("marker"),
        Err(RegistryError::Builtin { .. })
    ));
}

#[test]
fn register_rejects_invalid_descriptors_without_writing() {
    let user = tempfile::tempdir().unwrap();
    let registry = Registry::load(sources(user.path(), vec![]));
    let err = registry
        .register(&json!({"name": "x"}), &RegisterFrom::Client)
        .unwrap_err();
    assert!(err.to_string().contains("version"), "{err}");
    assert_eq!(std::fs::read_dir(user.path()).unwrap().count(), 0);
}

/// A descriptor whose one data type carries a schema `levels` maps deep:
/// the document is `levels + 3` deep (document, data_types, the type).
fn with_schema_depth(name: &str, levels: usize) -> serde_json::Value {
    let mut schema = json!({"type": "object"});
    for _ in 1..levels {
        schema = json!({"properties": schema});
    }
    let mut d = minimal(name);
    d["data_types"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "deep", "description": "d", "schema": schema}));
    d
}

#[test]
fn register_uses_the_loaders_limits_and_never_replaces_a_working_file() {
    let user = tempfile::tempdir().unwrap();
    let registry = Registry::load(sources(user.path(), vec![]));
    // At the limit: accepted, and a restart loads it.
    let at_limit = with_schema_depth("deep", MAX_DEPTH - 3);
    let (_, registry) = registry.register(&at_limit, &RegisterFrom::Client).unwrap();
    let file = user.path().join("deep.yaml");
    let good = std::fs::read_to_string(&file).unwrap();
    let restarted = Registry::load(sources(user.path(), vec![]));
    assert!(restarted.get("deep").is_ok(), "{:?}", restarted.report());

    // One level deeper, or one node too many: refused, naming the limit,
    // and the working file is left as it was.
    let too_deep = with_schema_depth("deep", MAX_DEPTH - 2);
    let err = registry
        .register(&too_deep, &RegisterFrom::Client)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("at most {MAX_DEPTH} levels")) && err.contains("nested 65"),
        "{err}"
    );
    let mut too_big = minimal("deep");
    too_big["tags"] = json!(vec!["t"; MAX_NODES]);
    let err = registry
        .register(&too_big, &RegisterFrom::Client)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&MAX_NODES.to_string()), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), good);
    let restarted = Registry::load(sources(user.path(), vec![]));
    assert!(restarted.get("deep").is_ok());

    // A file over the limits is refused by the loader with the same words.
    std::fs::write(
        user.path().join("big.json"),
        serde_json::to_string(&with_schema_depth("big", MAX_DEPTH)).unwrap(),
    )
    .unwrap();
    let restarted = Registry::load(sources(user.path(), vec![]));
    let errors = restarted
        .report()
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        errors.contains(&format!("at most {MAX_DEPTH} levels")),
        "{errors}"
    );
}

#[test]
fn register_keeps_a_json_file_json_and_never_clobbers_another_modules_file() {
    let user = tempfile::tempdir().unwrap();
    std::fs::write(
        user.path().join("mine.json"),
        serde_json::to_string(&minimal("mine")).unwrap(),
    )
    .unwrap();
    std::fs::write(
        user.path().join("other.yaml"),
        "name: squatter\nversion: '1'\ndescription: d\n",
    )
    .unwrap();
    let registry = Registry::load(sources(user.path(), vec![]));
    let mut mine = minimal("mine");
    mine["version"] = json!("2.0.0");
    let (_, now) = registry.register(&mine, &RegisterFrom::Client).unwrap();
    assert_eq!(now.get("mine").unwrap().descriptor.version, "2.0.0");
    assert!(
        Registry::load(sources(user.path(), vec![]))
            .get("mine")
            .is_ok()
    );
    // `other.yaml` holds "squatter"; registering "other" must not overwrite it.
    let (registered, now) = now
        .register(&minimal("other"), &RegisterFrom::Client)
        .unwrap();
    assert!(
        registered.file.ends_with("other.2.yaml"),
        "{}",
        registered.file
    );
    let restarted = Registry::load(sources(user.path(), vec![]));
    assert!(restarted.get("squatter").is_ok() && restarted.get("other").is_ok());
    assert!(now.get("squatter").is_ok());
}

#[test]
fn a_client_registered_path_must_be_absolute_literal_and_safe() {
    let user = tempfile::tempdir().unwrap();
    let registry = Registry::load(sources(user.path(), vec![]));
    for (path, words) in [
        ("/x/${HOME}", "`$`"),
        ("code/marker", "relative"),
        ("/", "root"),
        ("/etc", "system folder"),
    ] {
        let mut d = minimal("pathy");
        d["path"] = json!(path);
        let err = registry
            .register(&d, &RegisterFrom::Client)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("descriptor: path:") && err.contains(words),
            "{path}: {err}"
        );
    }
    assert!(!user.path().join("pathy.yaml").exists());
}

#[test]
fn an_operator_registered_path_is_resolved_against_the_files_folder() {
    let user = tempfile::tempdir().unwrap();
    let registry = Registry::load(sources(user.path(), vec![]));
    let mut d = minimal("local");
    d["path"] = json!("../code/local");
    let from = RegisterFrom::Operator {
        base: Some("/srv/descriptors".into()),
    };
    let (_, now) = registry.register(&d, &from).unwrap();
    assert_eq!(
        now.get("local").unwrap().descriptor.path.as_deref(),
        Some("/srv/code/local")
    );
}
