use serde_json::{Value, json};

use super::frames::{Classifier, Frame};
use super::in_flight::InFlight;
use super::*;

/// A classifier as after `initialize`, and its in-flight set.
fn started() -> (Classifier, InFlight) {
    let mut classifier = Classifier::new(ProtocolVersion::KNOWN_VERSIONS.to_vec());
    let in_flight = InFlight::default();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params":
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    assert!(matches!(
        classifier.classify(Line::Bytes(init.to_string().into_bytes()), &in_flight),
        Frame::Message(..)
    ));
    (classifier, in_flight)
}

fn reply_from(classifier: &mut Classifier, in_flight: &InFlight, text: &[u8]) -> Value {
    match classifier.classify(Line::Bytes(text.to_vec()), in_flight) {
        Frame::Reply(v) => v,
        Frame::Message(..) => panic!("{:?} was accepted", String::from_utf8_lossy(text)),
        Frame::Ignore(_) => panic!("{:?} was ignored", String::from_utf8_lossy(text)),
    }
}

fn reply(text: &[u8]) -> Value {
    let (mut classifier, in_flight) = started();
    reply_from(&mut classifier, &in_flight, text)
}

#[test]
fn malformed_lines_get_the_json_rpc_error_codes() {
    assert_eq!(reply(b"{not json")["error"]["code"], -32700);
    assert_eq!(reply(b"{not json")["id"], Value::Null);
    assert_eq!(reply(b"\xff\xfe")["error"]["code"], -32700);
    assert_eq!(reply(b"[1,2]")["error"]["code"], -32600);
    assert_eq!(reply(b"42")["error"]["code"], -32600);
    let wrong_version = reply(br#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#);
    assert_eq!(wrong_version["error"]["code"], -32600);
    assert_eq!(wrong_version["id"], 7);
    let bad_params = reply(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":5}"#);
    assert_eq!(bad_params["error"]["code"], -32602);
}

#[test]
fn ids_rmcp_cannot_represent_and_shapeless_messages_are_invalid_requests() {
    for id in [
        "1.5",
        "18446744073709551615",
        "-9223372036854775809",
        "true",
        "null",
    ] {
        let line = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        let error = reply(line.as_bytes());
        assert_eq!(error["error"]["code"], -32600, "{id}: {error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"id\""),
            "{error}"
        );
    }
    let only_id = reply(br#"{"jsonrpc":"2.0","id":4}"#);
    assert_eq!(only_id["error"]["code"], -32600, "{only_id}");
    assert_eq!(only_id["id"], 4);
    assert!(
        only_id["error"]["message"]
            .as_str()
            .unwrap()
            .contains("method")
    );
}

#[test]
fn unknown_methods_are_left_to_rmcp() {
    let (mut classifier, in_flight) = started();
    for line in [
        r#"{"jsonrpc":"2.0","id":"a","method":"nope/nothing"}"#,
        r#"{"jsonrpc":"2.0","id":"b","method":"server/discover","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":"c","method":"subscriptions/listen","params":{"notifications":{}}}"#,
    ] {
        assert!(
            matches!(
                classifier.classify(Line::Bytes(line.as_bytes().to_vec()), &in_flight),
                Frame::Message(..)
            ),
            "{line}"
        );
    }
}

#[test]
fn valid_messages_pass_through() {
    let (mut classifier, in_flight) = started();
    for line in [
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{}}}"#,
    ] {
        assert!(
            matches!(
                classifier.classify(Line::Bytes(line.as_bytes().to_vec()), &in_flight),
                Frame::Message(..)
            ),
            "{line}"
        );
    }
    assert!(matches!(
        classifier.classify(Line::Bytes(b"   ".to_vec()), &in_flight),
        Frame::Ignore(_)
    ));
}

#[test]
fn before_initialize_only_requests_get_through_and_others_are_not_fatal() {
    let mut classifier = Classifier::new(ProtocolVersion::KNOWN_VERSIONS.to_vec());
    let in_flight = InFlight::default();
    let mut classify = |line: &str| classifier.classify(Line::Bytes(line.into()), &in_flight);
    for ignored in [
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/whatever"}"#,
        r#"{"jsonrpc":"2.0","id":9,"result":{}}"#,
        r#"{"jsonrpc":"2.0","id":9,"error":{"code":1,"message":"x"}}"#,
    ] {
        assert!(matches!(classify(ignored), Frame::Ignore(_)), "{ignored}");
    }
    let Frame::Reply(early) = classify(r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#) else {
        panic!("tools/list before initialize was not answered here");
    };
    assert_eq!(early["error"]["code"], -32600);
    assert!(
        early["error"]["message"]
            .as_str()
            .unwrap()
            .contains("initialize")
    );
    assert!(matches!(
        classify(r#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#),
        Frame::Message(..)
    ));
}

#[test]
fn a_second_request_with_an_id_in_flight_is_refused_until_answered() {
    let (mut classifier, in_flight) = started();
    let line = br#"{"jsonrpc":"2.0","id":"same","method":"tools/list"}"#;
    assert!(matches!(
        classifier.classify(Line::Bytes(line.to_vec()), &in_flight),
        Frame::Message(..)
    ));
    let refused = reply_from(&mut classifier, &in_flight, line);
    assert_eq!(refused["error"]["code"], -32600);
    assert_eq!(refused["id"], "same");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"same\"")
    );
    in_flight.answered(&rmcp::model::RequestId::String("same".into()));
    assert!(matches!(
        classifier.classify(Line::Bytes(line.to_vec()), &in_flight),
        Frame::Message(..)
    ));
}

#[tokio::test]
async fn overlong_lines_are_refused_without_buffering() {
    let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
    input.push(b'\n');
    input.extend_from_slice(b"{\"a\":1}\n");
    let mut reader = tokio::io::BufReader::new(&input[..]);
    assert!(matches!(
        read_bounded_line(&mut reader).await.unwrap(),
        Some(Line::TooLong(_))
    ));
    assert!(
        matches!(read_bounded_line(&mut reader).await.unwrap(), Some(Line::Bytes(b)) if b == b"{\"a\":1}")
    );
    assert!(read_bounded_line(&mut reader).await.unwrap().is_none());
}

#[test]
fn a_line_too_deep_to_parse_is_answered_with_its_own_id() {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"x","arguments":{{"a":{}{}}}}}}}"#,
        "[".repeat(300),
        "]".repeat(300)
    );
    let answer = reply(deep.as_bytes());
    assert_eq!(answer["error"]["code"], -32700);
    assert_eq!(answer["id"], 7, "{answer}");
    // An id inside the params is not the request's.
    let nested = br#"{"jsonrpc":"2.0","params":{"id":9},"method":"x" oops"#;
    assert_eq!(reply(nested)["id"], serde_json::Value::Null);
}

#[test]
fn the_id_is_found_after_a_value_that_reads_id() {
    let line = br#"{"jsonrpc":"2.0","method":"id","id":"r-1","params":{"a": oops}}"#;
    assert_eq!(reply(line)["id"], "r-1");
}
