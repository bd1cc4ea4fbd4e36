//! Task protocol v2 headers, typed.

use chrono::{DateTime, Utc};
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

fn take_string(map: &mut Map<String, Value>, key: &str, field: &'static str) -> Result<Option<String>, DecodeError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(DecodeError::invalid(field, format!("expected a string, got {other}"))),
    }
}

fn take_time(
    map: &mut Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, DecodeError> {
    match take_string(map, key, field)? {
        None => Ok(None),
        Some(text) => parse_iso8601(&text)
            .map(Some)
            .map_err(|e| DecodeError::invalid(field, e)),
    }
}

fn take_u32(map: &mut Map<String, Value>, key: &str, field: &'static str) -> Result<u32, DecodeError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| DecodeError::invalid(field, format!("expected a non-negative integer, got {n}"))),
        Some(other) => Err(DecodeError::invalid(field, format!("expected an integer, got {other}"))),
    }
}

fn limit_value(value: Option<&Value>, field: &'static str) -> Result<Option<f64>, DecodeError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(DecodeError::invalid(field, format!("expected seconds, got {other}"))),
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

fn string_or_null(value: &Option<String>) -> Value {
    value.clone().map_or(Value::Null, Value::String)
}

impl TaskHeaders {
    /// Reads protocol v2 headers from a header map.
    ///
    /// # Errors
    ///
    /// [`DecodeError::MissingField`] when `task` or `id` is absent, and
    /// [`DecodeError::InvalidField`] for a field of the wrong type or an
    /// unparsable `eta`/`expires`.
    pub fn from_map(mut map: Map<String, Value>) -> Result<Self, DecodeError> {
        let task = take_string(&mut map, "task", "headers.task")?.ok_or(DecodeError::MissingField("headers.task"))?;
        let id = take_string(&mut map, "id", "headers.id")?.ok_or(DecodeError::MissingField("headers.id"))?;
        let (time_limit, soft_time_limit) = match map.remove("timelimit") {
            None | Some(Value::Null) => (None, None),
            Some(Value::Array(pair)) if pair.len() == 2 => (
                limit_value(pair.first(), "headers.timelimit")?,
                limit_value(pair.get(1), "headers.timelimit")?,
            ),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "headers.timelimit",
                    format!("expected [hard, soft], got {other}"),
                ))
            }
        };
        let group_index = match map.remove("group_index") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_i64(),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "headers.group_index",
                    format!("expected an integer, got {other}"),
                ))
            }
        };
        let ignore_result = match map.remove("ignore_result") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "headers.ignore_result",
                    format!("expected a boolean, got {other}"),
                ))
            }
        };
        let stamped_headers = match map.remove("stamped_headers") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            ),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "headers.stamped_headers",
                    format!("expected a list, got {other}"),
                ))
            }
        };
        let stamps = match map.remove("stamps") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(DecodeError::invalid(
                    "headers.stamps",
                    format!("expected an object, got {other}"),
                ))
            }
        };
        Ok(TaskHeaders {
            lang: take_string(&mut map, "lang", "headers.lang")?,
            shadow: take_string(&mut map, "shadow", "headers.shadow")?,
            eta: take_time(&mut map, "eta", "headers.eta")?,
            expires: take_time(&mut map, "expires", "headers.expires")?,
            group: take_string(&mut map, "group", "headers.group")?,
            retries: take_u32(&mut map, "retries", "headers.retries")?,
            root_id: take_string(&mut map, "root_id", "headers.root_id")?,
            parent_id: take_string(&mut map, "parent_id", "headers.parent_id")?,
            argsrepr: take_string(&mut map, "argsrepr", "headers.argsrepr")?,
            kwargsrepr: take_string(&mut map, "kwargsrepr", "headers.kwargsrepr")?,
            origin: take_string(&mut map, "origin", "headers.origin")?,
            replaced_task_nesting: take_u32(&mut map, "replaced_task_nesting", "headers.replaced_task_nesting")?,
            compression: take_string(&mut map, "compression", "headers.compression")?,
            task,
            id,
            time_limit,
            soft_time_limit,
            group_index,
            ignore_result,
            stamped_headers,
            stamps,
            extra: map,
        })
    }

    /// Writes the headers in Celery's form, every field Celery emits included.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert(
            "lang".into(),
            Value::String(self.lang.clone().unwrap_or_else(|| "rust".into())),
        );
        map.insert("task".into(), Value::String(self.task.clone()));
        map.insert("id".into(), Value::String(self.id.clone()));
        map.insert("shadow".into(), string_or_null(&self.shadow));
        map.insert(
            "eta".into(),
            self.eta
                .as_ref()
                .map_or(Value::Null, |t| Value::String(format_iso8601(t))),
        );
        map.insert(
            "expires".into(),
            self.expires
                .as_ref()
                .map_or(Value::Null, |t| Value::String(format_iso8601(t))),
        );
        map.insert("group".into(), string_or_null(&self.group));
        map.insert("group_index".into(), self.group_index.map_or(Value::Null, Value::from));
        map.insert("retries".into(), Value::from(self.retries));
        map.insert(
            "timelimit".into(),
            Value::Array(vec![
                self.time_limit.map_or(Value::Null, seconds_value),
                self.soft_time_limit.map_or(Value::Null, seconds_value),
            ]),
        );
        map.insert(
            "root_id".into(),
            Value::String(self.root_id.clone().unwrap_or_else(|| self.id.clone())),
        );
        map.insert("parent_id".into(), string_or_null(&self.parent_id));
        map.insert("argsrepr".into(), string_or_null(&self.argsrepr));
        map.insert("kwargsrepr".into(), string_or_null(&self.kwargsrepr));
        map.insert("origin".into(), string_or_null(&self.origin));
        map.insert(
            "ignore_result".into(),
            self.ignore_result.map_or(Value::Null, Value::Bool),
        );
        map.insert("replaced_task_nesting".into(), Value::from(self.replaced_task_nesting));
        map.insert(
            "stamped_headers".into(),
            self.stamped_headers.as_ref().map_or(Value::Null, |h| {
                Value::Array(h.iter().cloned().map(Value::String).collect())
            }),
        );
        map.insert("stamps".into(), Value::Object(self.stamps.clone()));
        if let Some(compression) = &self.compression {
            map.insert("compression".into(), Value::String(compression.clone()));
        }
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        map
    }

    /// True when the message was put back by a broker after a failed delivery.
    pub fn redelivered(&self) -> bool {
        self.extra.get("redelivered").and_then(Value::as_bool).unwrap_or(false)
    }
}
