//! Signatures: a task call in Celery's canvas form, and chains of them.

use std::marker::PhantomData;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::time::format_iso8601;

/// A task call that can be sent now or embedded in another message: the task
/// name, its arguments and its apply options.
///
/// This is exactly the JSON form Celery calls a signature (`{"task", "args",
/// "kwargs", "options", "subtask_type", "immutable"}`); unknown keys are kept.
/// `T` is the task's return type, used only so that sending a signature gives
/// a typed [`AsyncResult`](crate::AsyncResult); it defaults to any JSON value.
///
/// ```
/// use celeriac_core::Signature;
/// use std::time::Duration;
///
/// let sig = Signature::new("tasks.add")
///     .args([2, 3])
///     .queue("math")
///     .priority(1)
///     .countdown(Duration::from_secs(10));
/// assert_eq!(sig.queue_name(), Some("math"));
/// ```
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Signature<T = Value> {
    /// Registered task name, e.g. `tasks.add`.
    pub task: String,
    /// Positional arguments.
    #[serde(default)]
    pub args: Vec<Value>,
    /// Keyword arguments.
    #[serde(default)]
    pub kwargs: Map<String, Value>,
    /// Apply options: `task_id`, `queue`, `priority`, `countdown`, `eta`,
    /// `expires`, `link`, `link_error`, and any Celery adds.
    #[serde(default)]
    pub options: Map<String, Value>,
    /// `null` for a plain task, or `chain`/`group`/`chord` for canvas nodes.
    #[serde(default)]
    pub subtask_type: Option<String>,
    /// When true, a parent's result is not prepended to the arguments.
    #[serde(default)]
    pub immutable: bool,
    /// Keys Celery may add that Celeriac does not interpret; kept on re-encode.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(skip)]
    output: PhantomData<fn() -> T>,
}

impl<T> Clone for Signature<T> {
    fn clone(&self) -> Self {
        Signature {
            task: self.task.clone(),
            args: self.args.clone(),
            kwargs: self.kwargs.clone(),
            options: self.options.clone(),
            subtask_type: self.subtask_type.clone(),
            immutable: self.immutable,
            extra: self.extra.clone(),
            output: PhantomData,
        }
    }
}

impl<T> PartialEq for Signature<T> {
    fn eq(&self, other: &Self) -> bool {
        self.task == other.task
            && self.args == other.args
            && self.kwargs == other.kwargs
            && self.options == other.options
            && self.subtask_type == other.subtask_type
            && self.immutable == other.immutable
            && self.extra == other.extra
    }
}

impl Signature<Value> {
    /// A call of the task registered under `task`, with no arguments.
    pub fn new(task: impl Into<String>) -> Self {
        Signature::typed(task)
    }
}

impl<T> Signature<T> {
    /// Like [`Signature::new`], with the task's return type `T` known.
    pub fn typed(task: impl Into<String>) -> Self {
        Signature {
            task: task.into(),
            args: Vec::new(),
            kwargs: Map::new(),
            options: Map::new(),
            subtask_type: None,
            immutable: false,
            extra: Map::new(),
            output: PhantomData,
        }
    }

    /// Forgets the return type.
    pub fn untyped(self) -> Signature<Value> {
        self.retype()
    }

    /// Reinterprets the return type (the wire form does not carry it).
    pub fn retype<U>(self) -> Signature<U> {
        Signature {
            task: self.task,
            args: self.args,
            kwargs: self.kwargs,
            options: self.options,
            subtask_type: self.subtask_type,
            immutable: self.immutable,
            extra: self.extra,
            output: PhantomData,
        }
    }

    /// Sets the positional arguments from anything serializable to a JSON
    /// array; a non-array value becomes the single argument.
    pub fn args(mut self, args: impl Serialize) -> Self {
        self.args = match serde_json::to_value(args) {
            Ok(Value::Array(items)) => items,
            Ok(Value::Null) => Vec::new(),
            Ok(other) => vec![other],
            Err(_) => Vec::new(),
        };
        self
    }

    /// Adds one keyword argument.
    pub fn kwarg(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.kwargs.insert(name.into(), value);
        self
    }

    /// Sets an apply option by its Celery name.
    pub fn option(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.options.insert(name.into(), value.into());
        self
    }

    /// Sends to this queue instead of the task's default.
    pub fn queue(self, queue: impl Into<String>) -> Self {
        self.option("queue", queue.into())
    }

    /// Priority 0–9, 0 served first (values above 9 are clamped).
    pub fn priority(self, priority: u8) -> Self {
        self.option("priority", priority.min(9))
    }

    /// Runs no earlier than `delay` from when it is sent.
    pub fn countdown(self, delay: Duration) -> Self {
        self.option("countdown", delay.as_secs_f64())
    }

    /// Runs no earlier than `eta`.
    pub fn eta(self, eta: DateTime<Utc>) -> Self {
        self.option("eta", format_iso8601(&eta))
    }

    /// Is discarded (recorded REVOKED) if not started within `ttl` of sending.
    pub fn expires_in(self, ttl: Duration) -> Self {
        self.option("expires", ttl.as_secs_f64())
    }

    /// Is discarded (recorded REVOKED) if not started by `at`.
    pub fn expires_at(self, at: DateTime<Utc>) -> Self {
        self.option("expires", format_iso8601(&at))
    }

    /// Uses this task id instead of a fresh UUID.
    pub fn task_id(self, id: impl Into<String>) -> Self {
        self.option("task_id", id.into())
    }

    /// Overrides the task's hard time limit.
    pub fn time_limit(self, limit: Duration) -> Self {
        self.option("time_limit", limit.as_secs_f64())
    }

    /// Overrides the task's soft time limit.
    pub fn soft_time_limit(self, limit: Duration) -> Self {
        self.option("soft_time_limit", limit.as_secs_f64())
    }

    /// Stores no result for this call.
    pub fn ignore_result(self) -> Self {
        self.option("ignore_result", true)
    }

    /// Marks the call immutable: a parent's result is not prepended.
    pub fn immutable(mut self) -> Self {
        self.immutable = true;
        self
    }

    /// Adds a callback run with this task's result when it succeeds (`link`).
    pub fn link<U>(mut self, callback: Signature<U>) -> Self {
        push_option_list(&mut self.options, "link", callback.untyped());
        self
    }

    /// Adds an errback run with this task's id when it fails (`link_error`).
    pub fn link_error<U>(mut self, errback: Signature<U>) -> Self {
        push_option_list(&mut self.options, "link_error", errback.untyped());
        self
    }

    /// Chains `next` after this call: `next` receives this call's result as
    /// its first argument (unless immutable) and runs only if this succeeds.
    pub fn then<U>(self, next: Signature<U>) -> Chain<U> {
        Chain {
            steps: vec![self.untyped(), next.untyped()],
            output: PhantomData,
        }
    }

    /// The `queue` option, if set.
    pub fn queue_name(&self) -> Option<&str> {
        self.options.get("queue").and_then(Value::as_str)
    }

    /// The `task_id` option, if set.
    pub fn id(&self) -> Option<&str> {
        self.options.get("task_id").and_then(Value::as_str)
    }
}

fn push_option_list(options: &mut Map<String, Value>, key: &str, sig: Signature) {
    let value = serde_json::to_value(sig).unwrap_or(Value::Null);
    match options.get_mut(key) {
        Some(Value::Array(list)) => list.push(value),
        _ => {
            options.insert(key.to_owned(), Value::Array(vec![value]));
        }
    }
}

/// Signatures run one after another, each receiving the previous result.
///
/// Sent the way Celery sends a chain: only the first task is published and the
/// rest travel in its `embed.chain`, in reverse order.
#[derive(Debug)]
pub struct Chain<T = Value> {
    steps: Vec<Signature>,
    output: PhantomData<fn() -> T>,
}

impl<T> Clone for Chain<T> {
    fn clone(&self) -> Self {
        Chain {
            steps: self.steps.clone(),
            output: PhantomData,
        }
    }
}

impl<T> Chain<T> {
    /// Appends `next`, which receives the chain's current last result.
    pub fn then<U>(mut self, next: Signature<U>) -> Chain<U> {
        self.steps.push(next.untyped());
        Chain {
            steps: self.steps,
            output: PhantomData,
        }
    }

    /// The steps, first to run first.
    pub fn steps(&self) -> &[Signature] {
        &self.steps
    }

    /// Consumes the chain, giving its steps in running order.
    pub fn into_steps(self) -> Vec<Signature> {
        self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn celery_signature_round_trips() {
        let raw = json!({"task": "tasks.mul", "args": [10], "kwargs": {}, "options": {"task_id": "t1", "reply_to": "r"}, "subtask_type": null, "immutable": false, "chord_size": null});
        let sig: Signature = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(sig.task, "tasks.mul");
        assert_eq!(sig.id(), Some("t1"));
        assert_eq!(serde_json::to_value(&sig).unwrap(), raw);
    }

    #[test]
    fn chain_keeps_order() {
        let c = Signature::new("a").then(Signature::new("b")).then(Signature::new("c"));
        let names: Vec<_> = c.steps().iter().map(|s| s.task.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn link_accumulates() {
        let s = Signature::new("a").link(Signature::new("b")).link(Signature::new("c"));
        assert_eq!(s.options["link"].as_array().unwrap().len(), 2);
    }
}
