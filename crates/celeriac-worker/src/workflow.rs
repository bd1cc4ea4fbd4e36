//! Messages a finished task sends on: chain hops, link callbacks, errbacks
//! and retries, exactly as Celery's worker builds them.

use celeriac_core::task::TaskRegistry;
use celeriac_core::trace::{task_span_id, TraceParent};
use celeriac_core::{
    build_message, ChordPart, NewMessage, Parent, SendError, Signature, TaskMessage, TaskResult, TaskState,
    DEFAULT_QUEUE,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A message to publish plus the child tuple recorded in the parent's result.
pub(crate) struct FollowUp {
    pub(crate) message: NewMessage,
    pub(crate) child_id: String,
}

/// Celery's `[[id, null], null]` child tuple.
pub(crate) fn child_tuple(id: &str) -> Value {
    serde_json::json!([[id, null], null])
}

fn routed(mut sig: Signature, registry: &TaskRegistry) -> Signature {
    // A hop without an explicit queue goes to the task's own default queue.
    if sig.queue_name().is_none() {
        let queue = registry
            .get(&sig.task)
            .and_then(|t| t.options.queue.clone())
            .unwrap_or_else(|| DEFAULT_QUEUE.to_owned());
        sig.options.insert("queue".into(), Value::String(queue));
    }
    if !sig.options.contains_key("priority") {
        if let Some(p) = registry.get(&sig.task).and_then(|t| t.options.priority) {
            sig.options.insert("priority".into(), Value::from(p));
        }
    }
    sig
}

fn publish(
    sig: Signature,
    prepend: Option<&Value>,
    parent: &Parent,
    chain: Option<Vec<Signature>>,
    registry: &TaskRegistry,
    origin: &str,
) -> Result<FollowUp, SendError> {
    let mut sig = routed(sig, registry);
    if let (Some(value), false) = (prepend, sig.immutable) {
        sig.args.insert(0, value.clone());
    }
    let message = build_message(&sig, Some(parent), chain, DEFAULT_QUEUE, origin)?;
    let child_id = message.headers.id.clone();
    Ok(FollowUp {
        message: NewMessage {
            queue: message.properties.routing_key.clone(),
            priority: message.properties.priority.min(9),
            eta: message.headers.eta,
            task_id: Some(child_id.clone()),
            payload: message.encode(),
        },
        child_id,
    })
}

fn parent_of(message: &TaskMessage) -> Parent {
    Parent {
        id: message.headers.id.clone(),
        root_id: message
            .headers
            .root_id
            .clone()
            .unwrap_or_else(|| message.headers.id.clone()),
        // Follow-ups continue the trace with this run as their parent span.
        traceparent: TraceParent::from_headers(&message.headers.extra)
            .map(|t| t.with_parent(&task_span_id(&message.headers.id)).to_header()),
    }
}

/// After success: the next chain step (given the remaining chain) and every
/// link callback, each receiving `result` first unless immutable.
pub(crate) fn on_success(
    message: &TaskMessage,
    result: &Value,
    registry: &TaskRegistry,
    origin: &str,
) -> (Vec<FollowUp>, Vec<String>) {
    let parent = parent_of(message);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    if let Some(mut chain) = message.embed.chain.clone() {
        if let Some(next) = chain.pop() {
            match publish(next, Some(result), &parent, Some(chain), registry, origin) {
                Ok(f) => out.push(f),
                Err(e) => errors.push(format!("chain step: {e}")),
            }
        }
    }
    for callback in message.embed.callbacks.iter().flatten() {
        match publish(callback.clone(), Some(result), &parent, None, registry, origin) {
            Ok(f) => out.push(f),
            Err(e) => errors.push(format!("callback {}: {e}", callback.task)),
        }
    }
    (out, errors)
}

/// After a final failure: every errback, receiving the failed task's id
/// first (Celery's calling convention for errbacks sent as messages).
pub(crate) fn on_failure(message: &TaskMessage, registry: &TaskRegistry, origin: &str) -> (Vec<FollowUp>, Vec<String>) {
    let parent = parent_of(message);
    let id = Value::String(message.headers.id.clone());
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for errback in message.embed.errbacks.iter().flatten() {
        match publish(errback.clone(), Some(&id), &parent, None, registry, origin) {
            Ok(f) => out.push(f),
            Err(e) => errors.push(format!("errback {}: {e}", errback.task)),
        }
    }
    (out, errors)
}

/// The retry re-publish: same id, `retries + 1`, the new ETA, and the task
/// itself as parent (as Celery does); arguments and workflow kept.
pub(crate) fn retry_message(message: &TaskMessage, eta: DateTime<Utc>, origin: &str) -> NewMessage {
    let mut next = message.clone();
    next.headers.retries = message.headers.retries.saturating_add(1);
    next.headers.eta = Some(eta);
    next.headers.parent_id = Some(message.headers.id.clone());
    if next.headers.root_id.is_none() {
        next.headers.root_id = Some(message.headers.id.clone());
    }
    if next.headers.origin.is_none() {
        next.headers.origin = Some(origin.to_owned());
    }
    next.headers.extra.remove("redelivered");
    next.properties.delivery_info_extra.remove("redelivered");
    next.properties.delivery_tag = celeriac_core::new_uuid4();
    NewMessage {
        queue: next.properties.routing_key.clone(),
        priority: next.properties.priority.min(9),
        eta: Some(eta),
        task_id: Some(next.headers.id.clone()),
        payload: next.encode(),
    }
}

/// What a chord header task carries: its group, position, and the chord's
/// callback (`embed.chord`).
pub(crate) struct ChordHeader {
    group_id: String,
    group_index: Option<i64>,
    task_id: String,
    callback: Value,
    parent: Parent,
    origin: String,
}

/// A header task's outcome, ready to be joined by the completer after its
/// own result is stored.
pub(crate) struct ChordStep {
    pub(crate) part: ChordPart,
    callback: Value,
    parent: Parent,
    origin: String,
}

impl ChordHeader {
    /// The chord a message belongs to as a header task, if any.
    pub(crate) fn of(message: &TaskMessage) -> Option<ChordHeader> {
        Some(ChordHeader {
            group_id: message.headers.group.clone()?,
            callback: message.embed.chord.clone()?,
            group_index: message.headers.group_index,
            task_id: message.headers.id.clone(),
            parent: parent_of(message),
            origin: message.headers.origin.clone().unwrap_or_default(),
        })
    }

    /// The join step once the task's outcome is final (none while it waits
    /// for its ETA or a retry).
    pub(crate) fn step(self, result: Option<&TaskResult>) -> Option<ChordStep> {
        let result = result.filter(|r| r.state.is_ready())?;
        Some(ChordStep {
            part: ChordPart {
                group_id: self.group_id,
                group_index: self.group_index,
                task_id: self.task_id,
                state: result.state.clone(),
                result: result.result.clone(),
            },
            callback: self.callback,
            parent: self.parent,
            origin: self.origin,
        })
    }
}

/// What completing a chord leads to.
pub(crate) enum ChordOutcome {
    /// Publish the callback with the header results.
    Callback(NewMessage),
    /// A header task failed: record the callback FAILURE (ChordError).
    Failed(Box<TaskResult>),
}

/// Builds the chord callback from the header outcomes (in header order),
/// as Celery does: the list of results as its first argument, the chord's
/// group id, the last header task as parent.
pub(crate) fn chord_outcome(
    step: &ChordStep,
    outcomes: &[(String, TaskState, Value)],
    registry: &TaskRegistry,
) -> Result<ChordOutcome, String> {
    let sig: Signature =
        serde_json::from_value(step.callback.clone()).map_err(|e| format!("bad chord callback: {e}"))?;
    if let Some((id, state, value)) = outcomes
        .iter()
        .find(|(_, s, _)| matches!(s, TaskState::Failure | TaskState::Revoked))
    {
        let callback_id = sig.id().map_or_else(celeriac_core::new_task_id, str::to_owned);
        let cause = celeriac_core::ExceptionInfo::from_value(value)
            .map_or_else(|| value.to_string(), |e| format!("{}({})", e.exc_type, e.message()));
        let error = celeriac_core::ExceptionInfo::new(
            "ChordError",
            format!("Dependency {id} raised {cause} ({state})"),
            "celery.exceptions",
        );
        let mut result = TaskResult::failure(callback_id, &error, None);
        result.group_id = Some(step.part.group_id.clone());
        result.parent_id = Some(step.parent.id.clone());
        return Ok(ChordOutcome::Failed(Box::new(result)));
    }
    let mut sig = sig;
    sig.options
        .insert("group_id".into(), Value::String(step.part.group_id.clone()));
    let values = Value::Array(outcomes.iter().map(|(_, _, v)| v.clone()).collect());
    let follow_up =
        publish(sig, Some(&values), &step.parent, None, registry, &step.origin).map_err(|e| e.to_string())?;
    Ok(ChordOutcome::Callback(follow_up.message))
}
