//! Result records in Celery's result-document form (PROTOCOL.md §6.2).

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::protocol::time::{format_iso8601, parse_iso8601};
use crate::state::TaskState;

/// An error as Celery stores it: `{"exc_type", "exc_message", "exc_module"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionInfo {
    /// Error kind, e.g. `ValueError`, `NotRegistered`, `io::Error`.
    pub exc_type: String,
    /// The error's arguments; by convention one message string.
    pub exc_message: Vec<Value>,
    /// Module the kind lives in (`builtins`, `celery.exceptions`, `celeriac`).
    pub exc_module: String,
}

impl ExceptionInfo {
    /// An error with one message argument.
    pub fn new(exc_type: impl Into<String>, message: impl Into<String>, module: impl Into<String>) -> Self {
        ExceptionInfo {
            exc_type: exc_type.into(),
            exc_message: vec![Value::String(message.into())],
            exc_module: module.into(),
        }
    }

    /// The message arguments joined into one line.
    pub fn message(&self) -> String {
        self.exc_message
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The JSON form stored in a result document.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("exc_type".into(), Value::String(self.exc_type.clone()));
        map.insert("exc_message".into(), Value::Array(self.exc_message.clone()));
        map.insert("exc_module".into(), Value::String(self.exc_module.clone()));
        Value::Object(map)
    }

    /// Reads the JSON form; `None` when `value` is not an exception object.
    pub fn from_value(value: &Value) -> Option<Self> {
        let map = value.as_object()?;
        let exc_type = map.get("exc_type")?.as_str()?.to_owned();
        let exc_message = match map.get("exc_message") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![other.clone()],
        };
        let exc_module = map
            .get("exc_module")
            .and_then(Value::as_str)
            .unwrap_or("builtins")
            .to_owned();
        Some(ExceptionInfo {
            exc_type,
            exc_message,
            exc_module,
        })
    }
}

/// Fields Celery adds with `result_extended=True`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExtendedMeta {
    /// Task name.
    pub name: Option<String>,
    /// Positional arguments.
    pub args: Option<Vec<Value>>,
    /// Keyword arguments.
    pub kwargs: Option<Map<String, Value>>,
    /// Worker that ran it.
    pub worker: Option<String>,
    /// Retry count.
    pub retries: Option<u32>,
    /// Queue (delivery routing key).
    pub queue: Option<String>,
}

/// The stored outcome of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    /// Task id.
    pub task_id: String,
    /// State.
    pub state: TaskState,
    /// Return value for SUCCESS, exception object for FAILURE/RETRY/REVOKED,
    /// metadata for custom states.
    pub result: Value,
    /// Error detail (Python traceback text, or a Rust error chain).
    pub traceback: Option<String>,
    /// Tasks this one spawned, as `[[id, null], null]` tuples (`None` is
    /// written as `null`, as Celery does for a control revoke).
    pub children: Option<Vec<Value>>,
    /// When the task finished (ready states only).
    pub date_done: Option<DateTime<Utc>>,
    /// Group id, when the task was a group member.
    pub group_id: Option<String>,
    /// Parent task id.
    pub parent_id: Option<String>,
    /// Extended fields, when enabled.
    pub extended: Option<ExtendedMeta>,
}

impl TaskResult {
    /// A result with `state` and `result`, `date_done` set for ready states.
    pub fn new(task_id: impl Into<String>, state: TaskState, result: Value) -> Self {
        let date_done = state.is_ready().then(Utc::now);
        TaskResult {
            task_id: task_id.into(),
            state,
            result,
            traceback: None,
            children: Some(Vec::new()),
            date_done,
            group_id: None,
            parent_id: None,
            extended: None,
        }
    }

    /// A SUCCESS result.
    pub fn success(task_id: impl Into<String>, value: Value) -> Self {
        TaskResult::new(task_id, TaskState::Success, value)
    }

    /// A FAILURE result.
    pub fn failure(task_id: impl Into<String>, error: &ExceptionInfo, traceback: Option<String>) -> Self {
        let mut r = TaskResult::new(task_id, TaskState::Failure, error.to_value());
        r.traceback = traceback;
        r
    }

    /// A REVOKED result; `reason` is `revoked` or `expired` as in Celery.
    pub fn revoked(task_id: impl Into<String>, reason: &str) -> Self {
        let error = ExceptionInfo::new("TaskRevokedError", reason, "celery.exceptions");
        TaskResult::new(task_id, TaskState::Revoked, error.to_value())
    }

    /// The error, for FAILURE, RETRY and REVOKED results.
    pub fn exception(&self) -> Option<ExceptionInfo> {
        match self.state {
            TaskState::Failure | TaskState::Retry | TaskState::Revoked => ExceptionInfo::from_value(&self.result),
            _ => None,
        }
    }

    /// Encodes the Celery result document (`celery-task-meta-<id>` value).
    pub fn to_document(&self) -> Vec<u8> {
        sonic_rs::to_vec(&Document(self)).unwrap_or_default()
    }

    /// The Celery result document as a JSON value.
    pub fn to_document_value(&self) -> Value {
        serde_json::to_value(Document(self)).unwrap_or(Value::Null)
    }

    /// Decodes a Celery result document.
    ///
    /// # Errors
    ///
    /// A description of the problem when `doc` is not a result document.
    pub fn from_document(doc: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(doc).map_err(|e| format!("result document is not JSON: {e}"))?;
        let Value::Object(mut map) = value else {
            return Err("result document is not an object".into());
        };
        let state = match map.remove("status") {
            Some(Value::String(s)) => TaskState::parse(&s),
            _ => return Err("result document has no status".into()),
        };
        let task_id = match map.remove("task_id") {
            Some(Value::String(s)) => s,
            _ => return Err("result document has no task_id".into()),
        };
        let take_str = |map: &mut Map<String, Value>, key: &str| match map.remove(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let traceback = take_str(&mut map, "traceback");
        let date_done = take_str(&mut map, "date_done").and_then(|d| parse_iso8601(&d).ok());
        let group_id = take_str(&mut map, "group_id");
        let parent_id = take_str(&mut map, "parent_id");
        let children = match map.remove("children") {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        };
        let extended = if map.contains_key("name") || map.contains_key("worker") {
            Some(ExtendedMeta {
                name: take_str(&mut map, "name"),
                args: match map.remove("args") {
                    Some(Value::Array(a)) => Some(a),
                    _ => None,
                },
                kwargs: match map.remove("kwargs") {
                    Some(Value::Object(k)) => Some(k),
                    _ => None,
                },
                worker: take_str(&mut map, "worker"),
                retries: map
                    .remove("retries")
                    .and_then(|v| v.as_u64())
                    .and_then(|v| u32::try_from(v).ok()),
                queue: take_str(&mut map, "queue"),
            })
        } else {
            None
        };
        Ok(TaskResult {
            task_id,
            state,
            result: map.remove("result").unwrap_or(Value::Null),
            traceback,
            children,
            date_done,
            group_id,
            parent_id,
            extended,
        })
    }

    /// Whether `self` may replace `existing` in a store: a SUCCESS is final,
    /// and a ready state is never replaced by a non-ready one (a late progress
    /// report must not hide the outcome).
    pub fn may_replace(&self, existing: &TaskState) -> bool {
        match existing {
            TaskState::Success => false,
            s if s.is_ready() => self.state.is_ready(),
            _ => true,
        }
    }
}

/// Serializes a result in Celery's document form, fields in Celery's order
/// (`task_id` last).
struct Document<'a>(&'a TaskResult);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", r.state.as_str())?;
        map.serialize_entry("result", &r.result)?;
        map.serialize_entry("traceback", &r.traceback)?;
        map.serialize_entry("children", &r.children)?;
        map.serialize_entry("date_done", &r.date_done.as_ref().map(format_iso8601))?;
        if let Some(group_id) = &r.group_id {
            map.serialize_entry("group_id", group_id)?;
        }
        if let Some(parent_id) = &r.parent_id {
            map.serialize_entry("parent_id", parent_id)?;
        }
        if let Some(ext) = &r.extended {
            map.serialize_entry("name", &ext.name)?;
            map.serialize_entry("args", &ext.args)?;
            map.serialize_entry("kwargs", &ext.kwargs)?;
            map.serialize_entry("worker", &ext.worker)?;
            map.serialize_entry("retries", &ext.retries)?;
            map.serialize_entry("queue", &ext.queue)?;
        }
        map.serialize_entry("task_id", &r.task_id)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_celery_documents() {
        let doc = br#"{"status": "FAILURE", "result": {"exc_type": "NotRegistered", "exc_message": ["tasks.nope"], "exc_module": "celery.exceptions"}, "traceback": null, "children": [], "date_done": "2026-11-22T01:58:09.753301+00:00", "task_id": "x"}"#;
        let r = TaskResult::from_document(doc).unwrap();
        assert_eq!(r.state, TaskState::Failure);
        let e = r.exception().unwrap();
        assert_eq!(e.exc_type, "NotRegistered");
        assert_eq!(e.message(), "tasks.nope");
        let again = TaskResult::from_document(&r.to_document()).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn success_is_final() {
        let late = TaskResult::new("x", TaskState::Custom("PROGRESS".into()), Value::Null);
        assert!(!late.may_replace(&TaskState::Success));
        assert!(!late.may_replace(&TaskState::Failure));
        assert!(TaskResult::success("x", Value::Null).may_replace(&TaskState::Failure));
        assert!(late.may_replace(&TaskState::Retry));
    }
}
