//! Messages a finished task sends on: chain hops, link callbacks, errbacks
//! and retries, exactly as Celery's worker builds them.

use celeriac_core::task::TaskRegistry;
use celeriac_core::{build_message, NewMessage, Parent, SendError, Signature, TaskMessage, DEFAULT_QUEUE};
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
