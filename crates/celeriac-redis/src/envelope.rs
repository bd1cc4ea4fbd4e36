//! Reading kombu's fields out of an envelope without decoding it, and
//! writing the entries kombu keeps for a delivered or delayed message.
//!
//! A fetched envelope is ~1 KB of JSON whose task body is base64 (or an
//! escaped string), so a field name cannot occur inside the body; the first
//! `"name": "value"` pair is the field. The worker decodes the whole
//! envelope later; this only reads what the broker needs to file it.

use chrono::{DateTime, NaiveDateTime, Utc};

/// The first `"name": "value"` string value in `env`, if any.
pub(crate) fn field<'a>(env: &'a [u8], name: &str) -> Option<&'a str> {
    let needle = format!("\"{name}\"");
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    let needle = needle.as_bytes();
    let mut from = 0;
    while let Some(at) = finder.find(&env[from..]) {
        let after = from + at + needle.len();
        if let Some(value) = string_after_colon(&env[after..]) {
            return Some(value);
        }
        from = from + at + 1;
    }
    None
}

/// `\s*:\s*"([^"]*)"` anchored at the start of `rest`.
fn string_after_colon(rest: &[u8]) -> Option<&str> {
    let rest = skip_space(rest).strip_prefix(b":")?;
    let rest = skip_space(rest).strip_prefix(b"\"")?;
    let end = rest.iter().position(|b| *b == b'"')?;
    std::str::from_utf8(&rest[..end]).ok()
}

fn skip_space(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

/// Celery's `eta` (ISO 8601; a naive time is UTC, as Celery reads it).
pub(crate) fn eta(env: &[u8]) -> Option<DateTime<Utc>> {
    let text = field(env, "eta")?;
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let text = text.strip_suffix('Z').unwrap_or(text);
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
}

/// Appends `bytes` as a JSON string the way Lua's cjson writes one: quotes,
/// backslashes and control bytes escaped, other bytes (even invalid UTF-8)
/// unchanged, so the scripts that read the entry get the exact bytes back.
fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// An `unacked` entry as kombu writes it: `[envelope, exchange, routing
/// key]` with the envelope as a JSON object, so that a Celery worker's
/// visibility-timeout restore can read Celeriac's entries too. Bytes that
/// are not a JSON object (garbage pushed on a queue) go in as a JSON string.
pub(crate) fn unacked_entry(env: &[u8], queue: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(env.len() + queue.len() + 16);
    out.push(b'[');
    let trimmed = env.trim_ascii_end();
    if trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}') {
        out.extend_from_slice(env);
    } else {
        push_json_string(&mut out, env);
    }
    out.extend_from_slice(b", \"\", ");
    push_json_string(&mut out, queue.as_bytes());
    out.push(b']');
    out
}

/// A delayed message's entry: `[envelope, list key, queue]`, all strings.
pub(crate) fn delayed_entry(env: &[u8], list: &str, queue: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(env.len() + list.len() + queue.len() + 16);
    out.push(b'[');
    push_json_string(&mut out, env);
    out.push(b',');
    push_json_string(&mut out, list.as_bytes());
    out.push(b',');
    push_json_string(&mut out, queue.as_bytes());
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &[u8] = br#"{"body": "W1tdLHt9XQ==", "headers": {"lang": "py", "task": "t", "id": "abc-1", "eta": null, "x": {"eta": "2026-01-02T03:04:05.5+01:00"}}, "properties": {"delivery_tag" :  "tag-9"}}"#;

    #[test]
    fn reads_the_first_string_value_of_a_field() {
        assert_eq!(field(ENV, "id"), Some("abc-1"));
        assert_eq!(field(ENV, "delivery_tag"), Some("tag-9"));
        assert_eq!(field(ENV, "missing"), None);
        // `"eta": null` is skipped: the next string-valued `eta` counts.
        assert_eq!(eta(ENV).map(|t| t.timestamp_millis()), Some(1_767_319_445_500));
    }

    #[test]
    fn naive_and_zulu_etas_are_utc() {
        let naive = br#"{"eta": "2026-01-02T03:04:05.250"}"#;
        assert_eq!(eta(naive).map(|t| t.timestamp_millis()), Some(1_767_323_045_250));
        let zulu = br#"{"eta": "2026-01-02T03:04:05Z"}"#;
        assert_eq!(eta(zulu).map(|t| t.timestamp_millis()), Some(1_767_323_045_000));
        assert_eq!(eta(br#"{"eta": "soon"}"#), None);
    }

    #[test]
    fn unacked_entries_keep_objects_and_quote_anything_else() {
        assert_eq!(
            unacked_entry(b"{\"a\": 1}\n", "q\"1"),
            b"[{\"a\": 1}\n, \"\", \"q\\\"1\"]".to_vec()
        );
        let garbage = unacked_entry(b"not \"json\"\x01\xff", "celery");
        assert_eq!(garbage, b"[\"not \\\"json\\\"\\u0001\xff\", \"\", \"celery\"]".to_vec());
        let parsed: serde_json::Value = match serde_json::from_slice(&unacked_entry(b"x\\y", "q")) {
            Ok(v) => v,
            Err(e) => panic!("entry is not JSON: {e}"),
        };
        assert_eq!(parsed, serde_json::json!(["x\\y", "", "q"]));
    }

    #[test]
    fn delayed_entries_are_three_strings() {
        let parsed: serde_json::Value = match serde_json::from_slice(&delayed_entry(ENV, "celery\x06\x163", "celery")) {
            Ok(v) => v,
            Err(e) => panic!("entry is not JSON: {e}"),
        };
        assert_eq!(parsed[0].as_str().map(str::as_bytes), Some(ENV));
        assert_eq!(parsed[1], "celery\x06\x163");
        assert_eq!(parsed[2], "celery");
    }
}
