//! Methods that protocol revision 2026-07-28 removed (SEP-2575: no
//! `initialize` handshake, no session-bound logging level or resource
//! subscriptions). A request that says it speaks 2026-07-28 and names one
//! of them is answered "method not found" (-32601; over HTTP with status
//! 404), as the revision asks, before its params are judged: the params of
//! a method that does not exist cannot be wrong.

use serde_json::Value;

/// The first revision without these methods.
const STATELESS_REVISION: &str = "2026-07-28";

/// Where a 2026-07-28 request names its revision (besides, over HTTP, the
/// `MCP-Protocol-Version` header).
const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// The removed methods, each with what replaces it.
const REMOVED: &[(&str, &str)] = &[
    (
        "initialize",
        "use server/discover, then give every request a `_meta`",
    ),
    (
        "logging/setLevel",
        "give a request `io.modelcontextprotocol/logLevel` in its `_meta`",
    ),
    (
        "resources/subscribe",
        "use subscriptions/listen with resourceSubscriptions",
    ),
    (
        "resources/unsubscribe",
        "end the subscriptions/listen request",
    ),
];

/// The revision a request's `_meta` names, if any.
pub(crate) fn meta_revision(params: &Value) -> Option<&str> {
    params.get("_meta")?.get(META_PROTOCOL_VERSION)?.as_str()
}

/// The "method not found" message when `method` was removed in the
/// revision the request speaks (`revision`: from its `_meta`, or the
/// HTTP header); `None` otherwise.
pub(crate) fn removed_method(method: &str, revision: Option<&str>) -> Option<String> {
    // Revisions are dates: a later one compares greater.
    let revision = revision.filter(|r| *r >= STATELESS_REVISION)?;
    let (_, instead) = REMOVED.iter().find(|(name, _)| *name == method)?;
    Some(format!(
        "Method not found: {method} was removed in protocol {revision} ({instead})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_stateless_requests_lose_the_legacy_methods() {
        let stateless = json!({"_meta": {META_PROTOCOL_VERSION: "2026-07-28"}});
        let revision = meta_revision(&stateless);
        for method in [
            "initialize",
            "logging/setLevel",
            "resources/subscribe",
            "resources/unsubscribe",
        ] {
            let message = removed_method(method, revision).unwrap();
            assert!(message.contains(method), "{message}");
        }
        assert_eq!(removed_method("tools/list", revision), None);
        assert_eq!(removed_method("initialize", Some("2025-11-25")), None);
        assert_eq!(removed_method("initialize", None), None);
        assert_eq!(
            meta_revision(&json!({"protocolVersion": "2026-07-28"})),
            None
        );
    }
}
