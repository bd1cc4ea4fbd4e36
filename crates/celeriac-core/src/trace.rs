//! W3C trace context carried in task headers, so the trace of a web request
//! continues into the tasks it dispatched and into their follow-ups.
//!
//! A message carries `traceparent` (and `tracestate`, passed along
//! untouched) among its custom headers, which Celery keeps too. A task's
//! own span id is derived from its task id, so a worker can name it in the
//! `traceparent` of the messages the task sends without keeping state.

use serde_json::{Map, Value};

/// The header names, as W3C spells them.
pub const TRACEPARENT: &str = "traceparent";
/// The vendor state header, carried along unchanged.
pub const TRACESTATE: &str = "tracestate";

/// A parsed `traceparent`: version 00, a trace id, the parent span id and
/// the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    /// 32 lowercase hex digits, not all zero.
    pub trace_id: String,
    /// 16 lowercase hex digits, not all zero: the span that caused this one.
    pub parent_id: String,
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

impl TraceParent {
    /// Parses a `traceparent` value; `None` for anything malformed (the W3C
    /// rule: an invalid header is ignored, not an error).
    pub fn parse(value: &str) -> Option<TraceParent> {
        let mut parts = value.trim().split('-');
        let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        // Version 00 has exactly four fields; later versions may add more.
        if version == "ff" || version.len() != 2 || (version == "00" && parts.next().is_some()) {
            return None;
        }
        if !is_hex(trace, 32) || !is_hex(parent, 16) || flags.len() != 2 {
            return None;
        }
        Some(TraceParent {
            trace_id: trace.to_owned(),
            parent_id: parent.to_owned(),
            flags: u8::from_str_radix(flags, 16).ok()?,
        })
    }

    /// The same trace with `span_id` as the parent.
    pub fn with_parent(&self, span_id: &str) -> TraceParent {
        TraceParent {
            parent_id: span_id.to_owned(),
            ..self.clone()
        }
    }

    /// The header value.
    pub fn to_header(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.parent_id, self.flags)
    }

    /// The `traceparent` of a message's custom headers, when valid.
    pub fn from_headers(extra: &Map<String, Value>) -> Option<TraceParent> {
        extra
            .get(TRACEPARENT)
            .and_then(Value::as_str)
            .and_then(TraceParent::parse)
    }
}

/// The span id of the run of task `task_id`: the first 16 hex digits of
/// the id (a uuid's), or a hash of it for ids that are not hex.
pub fn task_span_id(task_id: &str) -> String {
    let hex: String = task_id.chars().filter(char::is_ascii_hexdigit).take(16).collect();
    let hex = hex.to_ascii_lowercase();
    if is_hex(&hex, 16) {
        return hex;
    }
    // FNV-1a: stable across processes and versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in task_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:016x}", h.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_w3c_examples_and_rejects_malformed() {
        let t = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("valid");
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.flags, 1);
        assert_eq!(t.to_header(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn task_span_ids_are_stable_hex() {
        assert_eq!(task_span_id("6b3a3c2e-1f0d-4d55-9c57-6f1b9e3b2a10"), "6b3a3c2e1f0d4d55");
        let odd = task_span_id("my-task-id");
        assert!(is_hex(&odd, 16));
        assert_eq!(odd, task_span_id("my-task-id"));
    }
}
