//! The `a2a` endpoint of a descriptor (issue 31): its checks, each naming
//! the file, the field and the value.

use super::*;

#[test]
fn an_a2a_endpoint_is_checked_and_named_with_file_field_and_value() {
    let with = |a2a: &str| format!("name: vendor\nversion: \"1\"\ndescription: d\na2a: {a2a}\n");
    let good = parse_descriptor(
        "descriptors/vendor.yaml",
        &with("{url: \"https://agents.example.com/a2a\", token_env: VENDOR_TOKEN}"),
        Format::Yaml,
    )
    .unwrap();
    assert_eq!(good.a2a.unwrap().token_env.as_deref(), Some("VENDOR_TOKEN"));
    let pinned = parse_descriptor(
        "v.yaml",
        &with("{url: \"https://h\", node: node-b}"),
        Format::Yaml,
    )
    .unwrap();
    assert_eq!(pinned.a2a.unwrap().node.as_deref(), Some("node-b"));
    for loopback in [
        "http://127.0.0.1:9999",
        "http://localhost:1/x",
        "http://[::1]:8/",
    ] {
        let yaml = with(&format!("{{url: \"{loopback}\"}}"));
        parse_descriptor("v.yaml", &yaml, Format::Yaml).unwrap_or_else(|e| panic!("{e}"));
    }
    let cases = [
        (
            "{url: \"http://10.0.0.5:8080\"}",
            "descriptors/vendor.yaml: a2a.url: \"http://10.0.0.5:8080\": plain http:// to 10.0.0.5, which is not a loopback address",
        ),
        (
            "{url: \"ftp://x\"}",
            "descriptors/vendor.yaml: a2a.url: \"ftp://x\": not an http(s) URL",
        ),
        (
            "{url: \"https://user:pw@host\"}",
            "a URL with credentials: name the token's variable in token_env instead",
        ),
        (
            "{url: \"https://h\", token_env: cct_abc_0123}",
            "descriptors/vendor.yaml: a2a.token_env: this looks like a token",
        ),
        ("{url: \"https://h\", token_env: \"a b\"}", "a2a.token_env"),
        (
            "{url: \"https://h\", node: \"node b/1\"}",
            "descriptors/vendor.yaml: a2a.node: \"node b/1\" is not a node name",
        ),
        ("{url: \"https://h\", token: x}", "token"),
    ];
    for (a2a, expected) in cases {
        let err = parse_descriptor("descriptors/vendor.yaml", &with(a2a), Format::Yaml)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{a2a}: {err}");
    }
    let both = format!("{}path: /srv/vendor\n", with("{url: \"https://h\"}"));
    let err = parse_descriptor("d.yaml", &both, Format::Yaml)
        .unwrap_err()
        .to_string();
    assert!(err.contains("d.yaml: a2a: a module is answered by an agent in its folder (path) or by an A2A agent (a2a), not both"), "{err}");
}
