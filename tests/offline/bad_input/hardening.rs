//! The cases of issue 9 (ids and shapes rmcp cannot take, params that do
//! not fit a standard method, integers beyond their type, stored text over
//! its limit, page sizes, search edge cases), beside the first corpus.

use serde_json::{Value, json};

use super::{Expect, call, rpc};

/// The cases of issue 9: ids and shapes rmcp cannot take, params that do
/// not fit a standard method, integers beyond their type, stored text over
/// its limit, page sizes, and FTS edge cases.
pub(super) fn hardening_corpus() -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::*;
    let raw = |s: &str| s.as_bytes().to_vec();
    let client = json!({"name": "raw", "version": "0"});
    let pair = |extra: Value| {
        let mut args = json!({"source": "marker", "target": "arangodb", "message": "hi"});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        args
    };
    let two_64 = "18446744073709551616";
    let big_int = |tool: &str, field: &str, number: &str, base: Value| {
        let mut text = call(1, tool, base)
            .iter()
            .map(|b| *b as char)
            .collect::<String>();
        // Written by hand: serde_json would turn 2^64 into a float first.
        text = text.replacen(
            "\"arguments\":{",
            &format!("\"arguments\":{{\"{field}\":{number},"),
            1,
        );
        text.replace(",}", "}").into_bytes()
    };
    vec![
        // Ids rmcp cannot represent, and messages with no shape: -32600.
        (
            "id is a fraction",
            raw(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#),
            RpcNaming(-32600, &["\"id\"", "1.5"]),
        ),
        (
            "id is u64::MAX",
            raw(r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"ping"}"#),
            RpcNaming(-32600, &["\"id\""]),
        ),
        (
            "id below i64::MIN",
            raw(r#"{"jsonrpc":"2.0","id":-9223372036854775809,"method":"ping"}"#),
            RpcNaming(-32600, &["\"id\""]),
        ),
        (
            "id is true",
            raw(r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#),
            RpcNaming(-32600, &["\"id\""]),
        ),
        (
            "id is null",
            raw(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            RpcNaming(-32600, &["\"id\""]),
        ),
        (
            "id is an array",
            raw(r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#),
            RpcNaming(-32600, &["\"id\""]),
        ),
        (
            "only jsonrpc and id",
            raw(r#"{"jsonrpc":"2.0","id":1}"#),
            RpcNaming(-32600, &["\"method\""]),
        ),
        (
            "only jsonrpc and a string id",
            raw(r#"{"jsonrpc":"2.0","id":"lonely"}"#),
            RpcNaming(-32600, &["\"method\""]),
        ),
        (
            "params without a method",
            raw(r#"{"jsonrpc":"2.0","id":1,"params":{}}"#),
            RpcNaming(-32600, &["\"method\""]),
        ),
        (
            "a result without an id",
            raw(r#"{"jsonrpc":"2.0","result":{}}"#),
            RpcNaming(-32600, &["\"method\""]),
        ),
        ("empty object", raw("{}"), RpcNaming(-32600, &["jsonrpc"])),
        (
            "method is null",
            raw(r#"{"jsonrpc":"2.0","id":1,"method":null}"#),
            RpcNaming(-32600, &["\"method\""]),
        ),
        (
            "method is an object",
            raw(r#"{"jsonrpc":"2.0","id":1,"method":{}}"#),
            RpcNaming(-32600, &["\"method\""]),
        ),
        // Standard methods whose params do not fit: -32602 naming the field.
        (
            "initialize without protocolVersion",
            rpc(
                json!(1),
                "initialize",
                json!({"capabilities": {}, "clientInfo": client}),
            ),
            RpcNaming(-32602, &["protocolVersion"]),
        ),
        (
            "initialize protocolVersion a number",
            rpc(
                json!(1),
                "initialize",
                json!({"protocolVersion": 20250618, "capabilities": {}, "clientInfo": client}),
            ),
            RpcNaming(-32602, &["protocolVersion"]),
        ),
        (
            "initialize protocolVersion null",
            rpc(
                json!(1),
                "initialize",
                json!({"protocolVersion": null, "capabilities": {}, "clientInfo": client}),
            ),
            RpcNaming(-32602, &["protocolVersion"]),
        ),
        (
            "initialize without clientInfo",
            rpc(
                json!(1),
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": {}}),
            ),
            RpcNaming(-32602, &["clientInfo"]),
        ),
        (
            "initialize clientInfo a string",
            rpc(
                json!(1),
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": "raw"}),
            ),
            RpcNaming(-32602, &["clientInfo"]),
        ),
        (
            "initialize params an array",
            rpc(json!(1), "initialize", json!([])),
            RpcNaming(-32602, &["object"]),
        ),
        (
            "initialize without params",
            raw(r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#),
            RpcNaming(-32602, &["params", "missing"]),
        ),
        (
            "resources/read uri a number",
            rpc(json!(1), "resources/read", json!({"uri": 7})),
            RpcNaming(-32602, &["uri"]),
        ),
        (
            "resources/read without uri",
            rpc(json!(1), "resources/read", json!({})),
            RpcNaming(-32602, &["uri"]),
        ),
        (
            "prompts/get name a number",
            rpc(json!(1), "prompts/get", json!({"name": 7})),
            RpcNaming(-32602, &["name"]),
        ),
        (
            "tools/call name a number",
            rpc(json!(1), "tools/call", json!({"name": 7})),
            RpcNaming(-32602, &["name"]),
        ),
        (
            "tools/call arguments a string",
            rpc(
                json!(1),
                "tools/call",
                json!({"name": "list_modules", "arguments": "x"}),
            ),
            RpcNaming(-32602, &["arguments"]),
        ),
        (
            "resources/subscribe without uri",
            rpc(json!(1), "resources/subscribe", json!({})),
            RpcNaming(-32602, &["uri"]),
        ),
        (
            "logging/setLevel unknown level",
            rpc(json!(1), "logging/setLevel", json!({"level": "loud"})),
            RpcNaming(-32602, &["level"]),
        ),
        (
            "unknown method is named",
            rpc(json!(1), "frobnicate/now", json!({})),
            RpcNaming(-32601, &["frobnicate/now"]),
        ),
        // Integers beyond the range of their argument: the argument is named.
        (
            "get_conversation limit 2^64",
            big_int(
                "get_conversation",
                "limit",
                two_64,
                json!({"conversation_id": "x"}),
            ),
            ToolNaming(&["limit"]),
        ),
        (
            "get_conversation limit 2^63",
            big_int(
                "get_conversation",
                "limit",
                "9223372036854775808",
                json!({"conversation_id": "x"}),
            ),
            ToolNaming(&["limit"]),
        ),
        (
            "get_conversation limit a fraction",
            call(
                1,
                "get_conversation",
                json!({"conversation_id": "x", "limit": 1.5}),
            ),
            ToolNaming(&["limit"]),
        ),
        (
            "get_conversation before 2^64",
            big_int(
                "get_conversation",
                "before",
                two_64,
                json!({"conversation_id": "x"}),
            ),
            ToolNaming(&["before"]),
        ),
        (
            "get_conversation before -2^64",
            big_int(
                "get_conversation",
                "before",
                "-18446744073709551616",
                json!({"conversation_id": "x"}),
            ),
            ToolNaming(&["before"]),
        ),
        (
            "list_conversations limit 2^64",
            big_int("list_conversations", "limit", two_64, json!({})),
            ToolNaming(&["limit"]),
        ),
        (
            "search_conversations limit 2^64",
            big_int(
                "search_conversations",
                "limit",
                two_64,
                json!({"query": "x"}),
            ),
            ToolNaming(&["limit"]),
        ),
        (
            "send_message timeout_s 2^64",
            big_int("send_message", "timeout_s", two_64, pair(json!({}))),
            ToolNaming(&["timeout_s"]),
        ),
        (
            "send_message timeout_s negative",
            call(1, "send_message", pair(json!({"timeout_s": -1}))),
            ToolNaming(&["timeout_s"]),
        ),
        // Page sizes: 1 to 500, named with the bound.
        (
            "list_conversations limit 501",
            call(1, "list_conversations", json!({"limit": 501})),
            ToolNaming(&["limit", "500"]),
        ),
        (
            "search_conversations limit 1000",
            call(
                1,
                "search_conversations",
                json!({"query": "x", "limit": 1000}),
            ),
            ToolNaming(&["limit", "500"]),
        ),
        (
            "get_conversation limit 0",
            call(
                1,
                "get_conversation",
                json!({"conversation_id": "x", "limit": 0}),
            ),
            ToolNaming(&["limit"]),
        ),
        (
            "list_conversations limit 0",
            call(1, "list_conversations", json!({"limit": 0})),
            ToolNaming(&["limit"]),
        ),
        // Stored text over its limit: the field and the limit are named.
        (
            "create_conversation title of 2000 bytes",
            call(
                1,
                "create_conversation",
                json!({"source": "marker", "target": "arangodb", "title": "t".repeat(2000)}),
            ),
            ToolNaming(&["title", "1024"]),
        ),
        (
            "create_conversation title of 8 MB",
            call(
                1,
                "create_conversation",
                json!({"source": "marker", "target": "arangodb", "title": "t".repeat(8 * 1024 * 1024)}),
            ),
            ToolNaming(&["title", "1024"]),
        ),
        (
            "send_message idempotency key of 5000 bytes",
            call(
                1,
                "send_message",
                pair(json!({"idempotency_key": "k".repeat(5000)})),
            ),
            ToolNaming(&["idempotency_key", "256"]),
        ),
        (
            "search query of 2000 bytes",
            call(
                1,
                "search_conversations",
                json!({"query": "word ".repeat(400)}),
            ),
            ToolNaming(&["query", "1024"]),
        ),
        (
            "search module of 300 bytes",
            call(
                1,
                "search_conversations",
                json!({"query": "x", "module": "m".repeat(300)}),
            ),
            ToolNaming(&["module", "256"]),
        ),
        (
            "list_conversations module of 300 bytes",
            call(1, "list_conversations", json!({"module": "m".repeat(300)})),
            ToolNaming(&["module", "256"]),
        ),
        (
            "list_conversations cursor of 1000 bytes",
            call(1, "list_conversations", json!({"cursor": "c".repeat(1000)})),
            ToolNaming(&["cursor", "512"]),
        ),
        // Full-text search edge cases: never an SQL error.
        (
            "search query of only NUL",
            call(1, "search_conversations", json!({"query": "\u{0}\u{0}"})),
            Tool("empty"),
        ),
        (
            "search query with NUL between words",
            call(
                1,
                "search_conversations",
                json!({"query": "still\u{0}here"}),
            ),
            ToolOk,
        ),
        (
            "search query with control characters",
            call(
                1,
                "search_conversations",
                json!({"query": "\u{1}still\u{7f}"}),
            ),
            ToolOk,
        ),
        (
            "search query of FTS syntax",
            call(
                1,
                "search_conversations",
                json!({"query": "NEAR( \"a\" * ^b : -c + {d}"}),
            ),
            ToolOk,
        ),
        (
            "search query of only quotes",
            call(1, "search_conversations", json!({"query": "\"\"\""})),
            Tool("empty"),
        ),
    ]
}
