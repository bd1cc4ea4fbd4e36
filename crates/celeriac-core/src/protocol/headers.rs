//! Task protocol v2 headers, typed.

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::error::DecodeError;
use super::time::{format_iso8601, parse_iso8601};

/// The headers of a task message (Celery task protocol v2, PROTOCOL.md §2.2).
///
/// Headers Celeriac does not interpret (custom `apply_async(headers=…)`
/// entries, `redelivered`, stamps of older versions) are kept in `extra` and
/// written back unchanged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskHeaders {
    /// Language of the sender, `py` or `rust`.
    pub lang: Option<String>,
    /// Registered task name.
    pub task: String,
    /// Task id.
    pub id: String,
    /// Alternative name shown in logs and events.
    pub shadow: Option<String>,
    /// Do not run before this time.
    pub eta: Option<DateTime<Utc>>,
    /// Discard (REVOKED) if not started by this time.
    pub expires: Option<DateTime<Utc>>,
    /// Group id, for group and chord members.
    pub group: Option<String>,
    /// Position in the group.
    pub group_index: Option<i64>,
    /// How many times this task was retried.
    pub retries: u32,
    /// Hard time limit in seconds (`timelimit[0]`).
    pub time_limit: Option<f64>,
    /// Soft time limit in seconds (`timelimit[1]`).
    pub soft_time_limit: Option<f64>,
    /// First task of the workflow.
    pub root_id: Option<String>,
    /// Task that sent this one.
    pub parent_id: Option<String>,
    /// Printable form of the positional arguments (logs and events only).
    pub argsrepr: Option<String>,
    /// Printable form of the keyword arguments (logs and events only).
    pub kwargsrepr: Option<String>,
    /// `gen<pid>@<host>` of the sender.
    pub origin: Option<String>,
    /// True when no result should be stored.
    pub ignore_result: Option<bool>,
    /// How many times `Task.replace` was used on the way here.
    pub replaced_task_nesting: u32,
    /// Names of stamps (Celery ≥ 5.3).
    pub stamped_headers: Option<Vec<String>>,
    /// Stamp values (Celery ≥ 5.3).
    pub stamps: Map<String, Value>,
    /// `compression` header: the body's compression, e.g. `application/x-gzip`.
    pub compression: Option<String>,
    /// Headers Celeriac does not interpret, kept verbatim.
    pub extra: Map<String, Value>,
}

fn string(value: Value, field: &'static str) -> Result<Option<String>, DecodeError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(DecodeError::invalid(field, format!("expected a string, got {other}"))),
    }
}

fn time(value: Value, field: &'static str) -> Result<Option<DateTime<Utc>>, DecodeError> {
    match string(value, field)? {
        None => Ok(None),
        Some(text) => parse_iso8601(&text)
            .map(Some)
            .map_err(|e| DecodeError::invalid(field, e)),
    }
}

fn count(value: Value, field: &'static str) -> Result<u32, DecodeError> {
    match value {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| DecodeError::invalid(field, format!("expected a non-negative integer, got {n}"))),
        other => Err(DecodeError::invalid(field, format!("expected an integer, got {other}"))),
    }
}

fn limit(value: Option<&Value>) -> Result<Option<f64>, DecodeError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(DecodeError::invalid(
            "headers.timelimit",
            format!("expected seconds, got {other}"),
        )),
    }
}

/// Whole seconds are written as integers, as Python clients send them.
fn seconds_value(secs: f64) -> Value {
    if secs.fract() == 0.0 && secs.abs() < 1e15 {
        Value::from(secs as i64)
    } else {
        Value::from(secs)
    }
}

impl TaskHeaders {
    /// Reads protocol v2 headers from a header map.
    ///
    /// # Errors
    ///
    /// As [`TaskHeaders::from_fields`].
    pub fn from_map(map: Map<String, Value>) -> Result<Self, DecodeError> {
        TaskHeaders::from_fields(map)
    }

    /// Reads protocol v2 headers from (name, value) pairs.
    ///
    /// # Errors
    ///
    /// [`DecodeError::MissingField`] when `task` or `id` is absent, and
    /// [`DecodeError::InvalidField`] for a field of the wrong type or an
    /// unparsable `eta`/`expires`.
    pub fn from_fields<K>(fields: impl IntoIterator<Item = (K, Value)>) -> Result<Self, DecodeError>
    where
        K: AsRef<str> + Into<String>,
    {
        let mut h = TaskHeaders::default();
        let (mut task, mut id) = (None, None);
        for (key, value) in fields {
            match key.as_ref() {
                "task" => task = string(value, "headers.task")?,
                "id" => id = string(value, "headers.id")?,
                "lang" => h.lang = string(value, "headers.lang")?,
                "shadow" => h.shadow = string(value, "headers.shadow")?,
                "eta" => h.eta = time(value, "headers.eta")?,
                "expires" => h.expires = time(value, "headers.expires")?,
                "group" => h.group = string(value, "headers.group")?,
                "group_index" => {
                    h.group_index = match value {
                        Value::Null => None,
                        Value::Number(n) => n.as_i64(),
                        other => {
                            return Err(DecodeError::invalid(
                                "headers.group_index",
                                format!("expected an integer, got {other}"),
                            ))
                        }
                    }
                }
                "retries" => h.retries = count(value, "headers.retries")?,
                "timelimit" => match value {
                    Value::Null => {}
                    Value::Array(pair) if pair.len() == 2 => {
                        h.time_limit = limit(pair.first())?;
                        h.soft_time_limit = limit(pair.get(1))?;
                    }
                    other => {
                        return Err(DecodeError::invalid(
                            "headers.timelimit",
                            format!("expected [hard, soft], got {other}"),
                        ))
                    }
                },
                "root_id" => h.root_id = string(value, "headers.root_id")?,
                "parent_id" => h.parent_id = string(value, "headers.parent_id")?,
                "argsrepr" => h.argsrepr = string(value, "headers.argsrepr")?,
                "kwargsrepr" => h.kwargsrepr = string(value, "headers.kwargsrepr")?,
                "origin" => h.origin = string(value, "headers.origin")?,
                "ignore_result" => {
                    h.ignore_result = match value {
                        Value::Null => None,
                        Value::Bool(b) => Some(b),
                        other => {
                            return Err(DecodeError::invalid(
                                "headers.ignore_result",
                                format!("expected a boolean, got {other}"),
                            ))
                        }
                    }
                }
                "replaced_task_nesting" => h.replaced_task_nesting = count(value, "headers.replaced_task_nesting")?,
                "stamped_headers" => {
                    h.stamped_headers = match value {
                        Value::Null => None,
                        Value::Array(items) => Some(
                            items
                                .into_iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect(),
                        ),
                        other => {
                            return Err(DecodeError::invalid(
                                "headers.stamped_headers",
                                format!("expected a list, got {other}"),
                            ))
                        }
                    }
                }
                "stamps" => {
                    h.stamps = match value {
                        Value::Null => Map::new(),
                        Value::Object(m) => m,
                        other => {
                            return Err(DecodeError::invalid(
                                "headers.stamps",
                                format!("expected an object, got {other}"),
                            ))
                        }
                    }
                }
                "compression" => h.compression = string(value, "headers.compression")?,
                _ => {
                    h.extra.insert(key.into(), value);
                }
            }
        }
        h.task = task.ok_or(DecodeError::MissingField("headers.task"))?;
        h.id = id.ok_or(DecodeError::MissingField("headers.id"))?;
        Ok(h)
    }

    /// Writes the headers in Celery's form, every field Celery emits included.
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// True when the message was put back by a broker after a failed delivery.
    pub fn redelivered(&self) -> bool {
        self.extra.get("redelivered").and_then(Value::as_bool).unwrap_or(false)
    }
}

/// Serializes straight to Celery's header object (no intermediate map).
impl Serialize for TaskHeaders {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let time = |t: &Option<DateTime<Utc>>| t.as_ref().map(format_iso8601);
        let mut map = serializer.serialize_map(Some(20 + self.extra.len()))?;
        map.serialize_entry("lang", self.lang.as_deref().unwrap_or("rust"))?;
        map.serialize_entry("task", &self.task)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("shadow", &self.shadow)?;
        map.serialize_entry("eta", &time(&self.eta))?;
        map.serialize_entry("expires", &time(&self.expires))?;
        map.serialize_entry("group", &self.group)?;
        map.serialize_entry("group_index", &self.group_index)?;
        map.serialize_entry("retries", &self.retries)?;
        map.serialize_entry(
            "timelimit",
            &[
                self.time_limit.map_or(Value::Null, seconds_value),
                self.soft_time_limit.map_or(Value::Null, seconds_value),
            ],
        )?;
        map.serialize_entry("root_id", self.root_id.as_ref().unwrap_or(&self.id))?;
        map.serialize_entry("parent_id", &self.parent_id)?;
        map.serialize_entry("argsrepr", &self.argsrepr)?;
        map.serialize_entry("kwargsrepr", &self.kwargsrepr)?;
        map.serialize_entry("origin", &self.origin)?;
        map.serialize_entry("ignore_result", &self.ignore_result)?;
        map.serialize_entry("replaced_task_nesting", &self.replaced_task_nesting)?;
        map.serialize_entry("stamped_headers", &self.stamped_headers)?;
        map.serialize_entry("stamps", &self.stamps)?;
        if let Some(compression) = &self.compression {
            map.serialize_entry("compression", compression)?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
