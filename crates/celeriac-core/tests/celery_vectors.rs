//! Every captured Celery queue element decodes, and re-encoding keeps every
//! field Celery reads.

use std::path::PathBuf;

use base64::Engine as _;
use celeriac_core::protocol::{DecodeError, DecodeLimits, ProtocolVersion, TaskMessage};
use celeriac_core::TaskResult;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/celery")
}

fn vectors(prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixtures())
        .expect("fixtures directory")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix) && name.ends_with(".raw.json"))
        .map(|name| {
            let bytes = std::fs::read(fixtures().join(&name)).expect("read vector");
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

/// The envelope with its body decoded to JSON, for comparison.
fn normalized(raw: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(raw).unwrap();
    let body = v["body"].as_str().unwrap().to_owned();
    let mut bytes = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    if v["headers"]["compression"].as_str() == Some("application/x-gzip") {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        bytes = out;
    }
    v["body"] = serde_json::from_slice(&bytes).unwrap();
    v["properties"].as_object_mut().unwrap().remove("body_encoding");
    v
}

#[test]
fn every_redis_broker_vector_decodes_and_round_trips() {
    let all = vectors("redis-broker-");
    assert_eq!(all.len(), 36, "expected the 36 captured queue elements");
    for (name, raw) in all {
        let message = TaskMessage::decode(&raw, &DecodeLimits::default())
            .unwrap_or_else(|e| panic!("{name} failed to decode: {e}"));
        let encoded = message.encode();
        let original = normalized(&raw);
        let again = normalized(&encoded);
        if message.protocol == ProtocolVersion::V1 {
            // v1 is re-encoded as v2: the fields move from body to headers.
            let body = &original["body"];
            assert_eq!(again["headers"]["task"], body["task"], "{name}");
            assert_eq!(again["headers"]["id"], body["id"], "{name}");
            assert_eq!(again["body"][0], body["args"], "{name}");
            assert_eq!(again["body"][1], body["kwargs"], "{name}");
            continue;
        }
        for (key, value) in original["headers"].as_object().unwrap() {
            let mut expected = value.clone();
            if key == "eta" || key == "expires" {
                // Celeriac rewrites timestamps in the same instant.
                if let (Some(a), Some(b)) = (value.as_str(), again["headers"][key].as_str()) {
                    let a = celeriac_core::protocol::time::parse_iso8601(a).unwrap();
                    let b = celeriac_core::protocol::time::parse_iso8601(b).unwrap();
                    assert_eq!(a, b, "{name}: headers.{key}");
                    continue;
                }
                expected = value.clone();
            }
            assert_eq!(again["headers"][key], expected, "{name}: headers.{key}");
        }
        for (key, value) in original["properties"].as_object().unwrap() {
            assert_eq!(&again["properties"][key], value, "{name}: properties.{key}");
        }
        for key in ["content-type", "content-encoding"] {
            assert_eq!(again[key], original[key], "{name}: {key}");
        }
        let body = &original["body"];
        assert_eq!(again["body"][0], body[0], "{name}: args");
        assert_eq!(again["body"][1], body[1], "{name}: kwargs");
        for key in ["callbacks", "errbacks", "chain", "chord"] {
            let want = body[2].get(key).cloned().unwrap_or(Value::Null);
            assert_eq!(again["body"][2][key], want, "{name}: embed.{key}");
        }
    }
}

#[test]
fn worker_published_vectors_decode() {
    for (name, raw) in vectors("redis-worker-published-") {
        if name.contains("pidbox-reply") {
            continue; // remote-control replies are not task messages
        }
        let decoded = TaskMessage::decode(&raw, &DecodeLimits::default());
        if name.starts_with("redis-worker-published-restored-rpush-2.") {
            // The restored copy of injected-105, the 2-element poison body.
            assert!(matches!(decoded, Err(DecodeError::BodyShape(_))), "{name}");
            continue;
        }
        decoded.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn chain_vector_keeps_reversed_remainder() {
    let raw = std::fs::read(fixtures().join("redis-broker-chain.raw.json")).unwrap();
    let m = TaskMessage::decode(&raw, &DecodeLimits::default()).unwrap();
    let chain = m.embed.chain.expect("chain");
    assert!(!chain.is_empty());
}

#[test]
fn injected_vectors_give_typed_errors_or_messages() {
    type Expectation = (&'static str, fn(&DecodeError) -> bool);
    let expect_err: &[Expectation] = &[
        ("injected-102", |e| {
            matches!(e, DecodeError::MissingField("properties.delivery_info.exchange"))
        }),
        ("injected-105", |e| matches!(e, DecodeError::BodyShape(_))),
        ("injected-106", |e| {
            matches!(
                e,
                DecodeError::InvalidField {
                    field: "headers.eta",
                    ..
                }
            )
        }),
        ("injected-108", |e| matches!(e, DecodeError::DisallowedContentType(_))),
        ("injected-109", |e| matches!(e, DecodeError::BodyJson(_))),
        ("injected-113", |e| matches!(e, DecodeError::UnknownMessage)),
        ("injected-116", |e| {
            matches!(e, DecodeError::MissingField("properties.delivery_tag"))
        }),
        ("injected-117", |e| matches!(e, DecodeError::BodyJson(_))),
        ("injected-118", |e| matches!(e, DecodeError::MissingContentType)),
    ];
    for (name, raw) in vectors("injected-") {
        let result = TaskMessage::decode(&raw, &DecodeLimits::default());
        match expect_err
            .iter()
            .find(|(prefix, _)| name.starts_with(&format!("{prefix}.")))
        {
            Some((_, check)) => {
                let err = result.expect_err(&name);
                assert!(check(&err), "{name}: unexpected error {err:?}");
            }
            None if name.starts_with("injected-105-") => assert!(result.is_err(), "{name}"),
            None => {
                result.unwrap_or_else(|e| panic!("{name} should decode: {e}"));
            }
        }
    }
}

#[test]
fn result_documents_decode_and_reencode() {
    for (name, raw) in vectors("redis-backend-celery-task-meta-") {
        let r = TaskResult::from_document(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        let original: Value = serde_json::from_slice(&raw).unwrap();
        let again = r.to_document_value();
        for (key, value) in original.as_object().unwrap() {
            if key == "date_done" {
                continue; // same instant, possibly re-formatted
            }
            assert_eq!(&again[key], value, "{name}: {key}");
        }
    }
}

#[test]
fn hostile_input_never_panics() {
    let limits = DecodeLimits {
        max_message_bytes: 4096,
        max_depth: 8,
    };
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"body\": 5}".to_vec(),
        deep.into_bytes(),
        vec![b'a'; 5000],
        b"{\"content-type\": \"application/json\", \"properties\": {\"delivery_tag\": 1, \"delivery_info\": {\"exchange\": \"\", \"routing_key\": \"q\"}}, \"headers\": {\"task\": \"t\", \"id\": \"i\"}, \"body\": \"W1tbW1tbW1tbW1tbXV1dXV1dXV1dXV1dXSwge30sIHt9XQ==\"}".to_vec(),
    ];
    for input in inputs {
        assert!(TaskMessage::decode(&input, &limits).is_err());
    }
    // Every prefix of a real message is an error or a message, never a panic.
    let raw = std::fs::read(fixtures().join("redis-broker-chain.raw.json")).unwrap();
    for cut in 0..raw.len() {
        let _ = TaskMessage::decode(&raw[..cut], &DecodeLimits::default());
    }
}
