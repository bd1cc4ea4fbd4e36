//! One event: Celery's standard fields plus the per-type ones.

use chrono::{DateTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// Seconds between worker heartbeats, as Celery sends them. Monitors take a
/// worker for gone after twice this without one.
pub const HEARTBEAT_FREQ_SECS: f64 = 2.0;

/// An event as Celery writes it: a JSON object with `type`, `hostname`,
/// `timestamp`, `utcoffset`, `pid` and `clock`, and fields that depend on
/// the type (`uuid`, `name`, `result`, `exception`…).
///
/// Celeriac adds a few fields Celery's monitors ignore: `queue` on
/// `task-received`, `worker_id`, `queues` and `concurrency` on worker events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `task-received`, `worker-heartbeat`…
    #[serde(rename = "type")]
    pub kind: String,
    /// The sender's nodename (`celery@host` style for workers, `gen<pid>@host`
    /// for clients).
    pub hostname: String,
    /// Unix time, seconds.
    pub timestamp: f64,
    /// Hours **west** of UTC, as Python's `time.timezone / 3600`.
    #[serde(default)]
    pub utcoffset: f64,
    /// The sending process.
    #[serde(default)]
    pub pid: u32,
    /// The sender's Lamport clock.
    #[serde(default)]
    pub clock: u64,
    /// The type's own fields.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// Why a payload is not an event or a list of events.
#[derive(Debug, Error)]
#[error("not a Celery event or list of events: {0}")]
pub struct EventDecodeError(#[from] serde_json::Error);

impl Event {
    /// An event of `kind` from `hostname` stamped now, with no fields yet.
    pub fn new(kind: impl Into<String>, hostname: impl Into<String>, clock: u64) -> Event {
        Event {
            kind: kind.into(),
            hostname: hostname.into(),
            timestamp: unix_now(),
            utcoffset: 0.0,
            pid: own_pid(),
            clock,
            fields: Map::new(),
        }
    }

    /// A task event (`task-started`…) about task `uuid`.
    pub fn task(kind: impl Into<String>, hostname: impl Into<String>, clock: u64, uuid: &str) -> Event {
        Event::new(kind, hostname, clock).with("uuid", uuid)
    }

    /// Adds a field.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// The task id of a task event.
    pub fn uuid(&self) -> Option<&str> {
        self.str_field("uuid")
    }

    /// A string field, if present and a string.
    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// A numeric field, if present and a number.
    pub fn f64_field(&self, key: &str) -> Option<f64> {
        self.fields.get(key).and_then(Value::as_f64)
    }

    /// `task-…` events.
    pub fn is_task(&self) -> bool {
        self.kind.starts_with("task-")
    }

    /// `worker-…` events.
    pub fn is_worker(&self) -> bool {
        self.kind.starts_with("worker-")
    }

    /// The routing key Celery publishes it with: the type with `-` as `.`.
    pub fn routing_key(&self) -> String {
        self.kind.replace('-', ".")
    }

    /// The timestamp as a date (the epoch for a nonsensical one).
    pub fn time(&self) -> DateTime<Utc> {
        let millis = (self.timestamp * 1000.0) as i64;
        Utc.timestamp_millis_opt(millis).single().unwrap_or_default()
    }

    /// Decodes one event or a JSON list of them (Celery sends both; task
    /// events from an event-loop worker come as a `task.multi` list).
    ///
    /// # Errors
    ///
    /// [`EventDecodeError`] when the payload is neither.
    pub fn decode_many(payload: &[u8]) -> Result<Vec<Event>, EventDecodeError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<Event>),
            One(Box<Event>),
        }
        Ok(match serde_json::from_slice::<OneOrMany>(payload)? {
            OneOrMany::Many(v) => v,
            OneOrMany::One(e) => vec![*e],
        })
    }

    /// Encodes a batch as the JSON list Celery's `task.multi` carries.
    pub fn encode_many(events: &[Event]) -> Vec<u8> {
        // Sized for a typical task event up front: growing a buffer of a
        // few hundred kilobytes by doubling copies it again and again.
        let mut out = Vec::with_capacity(events.len() * 384 + 2);
        // Serializing plain maps and numbers cannot fail.
        if serde_json::to_writer(&mut out, events).is_err() {
            return b"[]".to_vec();
        }
        out
    }
}

/// This process's id, read once: `getpid` is a system call, and a busy
/// worker stamps tens of thousands of events a second.
fn own_pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// Seconds since the epoch, with the sub-second part.
pub(crate) fn unix_now() -> f64 {
    let now = Utc::now();
    now.timestamp() as f64 + f64::from(now.timestamp_subsec_micros()) / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_celery_57_task_multi_list_and_single_heartbeat() {
        let multi = br#"[{"hostname": "w1@capture", "utcoffset": 0.0, "pid": 41, "clock": 7,
            "uuid": "b1", "name": "tasks.add", "args": "(2, 3)", "kwargs": "{}", "root_id": "b1",
            "parent_id": null, "retries": 0, "eta": null, "expires": null,
            "timestamp": 1763812345.25, "type": "task-received"},
            {"hostname": "w1@capture", "utcoffset": 0.0, "pid": 41, "clock": 8, "uuid": "b1",
             "result": "5", "runtime": 0.001, "timestamp": 1763812345.26, "type": "task-succeeded"}]"#;
        let events = Event::decode_many(multi).expect("list");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, "task-received");
        assert_eq!(events[0].uuid(), Some("b1"));
        assert_eq!(events[0].str_field("name"), Some("tasks.add"));
        assert_eq!(events[1].f64_field("runtime"), Some(0.001));
        assert_eq!(events[1].routing_key(), "task.succeeded");
        // Celery 5.4 sends utcoffset as an int.
        let one = br#"{"type": "worker-heartbeat", "hostname": "w@h", "timestamp": 1.5,
            "utcoffset": 0, "pid": 3, "clock": 1, "freq": 2.0, "active": 0, "processed": 4}"#;
        let events = Event::decode_many(one).expect("one");
        assert!(events[0].is_worker());
        assert_eq!(events[0].f64_field("processed"), Some(4.0));
    }

    #[test]
    fn round_trips_and_rejects_what_is_not_an_event() {
        let e = Event::task("task-started", "w@h", 3, "id-1").with("queue", "q");
        let bytes = Event::encode_many(std::slice::from_ref(&e));
        assert_eq!(Event::decode_many(&bytes).expect("decodes"), vec![e]);
        assert!(Event::decode_many(b"{\"hostname\": \"x\"}").is_err());
        assert!(Event::decode_many(b"not json").is_err());
        assert!(Event::decode_many(b"[1, 2]").is_err());
    }
}
