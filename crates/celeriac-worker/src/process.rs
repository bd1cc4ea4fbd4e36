//! Processing one delivery: decode, check, run, and decide what it leaves.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use celeriac_core::events::{exception_repr, value_repr, Event};
use celeriac_core::task::RegisteredTask;
use celeriac_core::trace::{task_span_id, TraceParent};
use celeriac_core::{
    Delivery, ExceptionInfo, ExtendedMeta, TaskArgs, TaskContext, TaskError, TaskMessage, TaskResult, TaskState,
};
use chrono::Utc;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument as _;

use crate::completion::{Completion, Settle};
use crate::executor::{self, Limits, RunOutcome};
use crate::shared::Shared;
use crate::workflow;
use crate::workflow::{ChordHeader, ChordStep};

/// Decodes and checks a delivery, runs it if it may run, and hands the
/// outcome to the completer. Never panics on bad input.
pub(crate) async fn process(
    shared: Arc<Shared>,
    delivery: Delivery,
    slot: OwnedSemaphorePermit,
    run: OwnedSemaphorePermit,
) {
    let tag = delivery.tag.clone();
    shared.running.insert(&tag);
    let ((settle, result, publish), chord) = decide(&shared, delivery).await;
    drop(run);
    shared.running.remove(&tag);
    let _ = shared.completions.send(Completion {
        tag,
        settle,
        result,
        publish,
        chord,
        _slot: slot,
    });
}

type Decision = (Settle, Option<TaskResult>, Vec<celeriac_core::NewMessage>);

fn dead(reason: String) -> Decision {
    (Settle::DeadLetter(reason), None, Vec::new())
}

async fn decide(shared: &Shared, delivery: Delivery) -> (Decision, Option<ChordStep>) {
    let message = match TaskMessage::decode(&delivery.payload, &shared.config.decode_limits) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(queue = %delivery.queue, error = %e, "undecodable message dead-lettered");
            return (dead(format!("undecodable message: {e}")), None);
        }
    };
    let header = ChordHeader::of(&message);
    let decision = decide_message(shared, delivery, message).await;
    // A chord header task joins its chord once its outcome is final.
    let step = header.and_then(|h| h.step(decision.1.as_ref()));
    (decision, step)
}

async fn decide_message(shared: &Shared, delivery: Delivery, message: TaskMessage) -> Decision {
    let id = message.headers.id.clone();
    let now = Utc::now();
    let Some(task) = shared.registry.get(&message.headers.task).cloned() else {
        shared.counters.failed.inc();
        tracing::error!(task = %message.headers.task, %id, "received unregistered task");
        let error = ExceptionInfo::new("NotRegistered", message.headers.task.clone(), "celery.exceptions");
        let result = decorate(shared, &message, None, TaskResult::failure(&id, &error, None));
        let reason = format!("unknown task name `{}` (NotRegistered)", message.headers.task);
        shared.events.send(shared.events.task("task-failed", &id).map(|e| {
            e.with("exception", exception_repr("NotRegistered", &message.headers.task))
                .with("name", message.headers.task.as_str())
                .with("queue", delivery.queue.as_str())
        }));
        return (Settle::DeadLetter(reason), Some(result), Vec::new());
    };
    let skip = if delivery.revoked {
        Some("revoked")
    } else if message.headers.expires.is_some_and(|expires| expires <= now) {
        Some("expired")
    } else {
        None
    };
    if let Some(reason) = skip {
        shared.counters.revoked.inc();
        tracing::info!(%id, task = %task.name, reason, "not running the task");
        shared.events.send(shared.events.task("task-revoked", &id).map(|e| {
            e.with("terminated", false)
                .with("signum", Value::Null)
                .with("expired", reason == "expired")
                .with("name", task.name.as_str())
                .with("queue", delivery.queue.as_str())
        }));
        let result = decorate(shared, &message, Some(&task), TaskResult::revoked(&id, reason));
        return (Settle::Ack, Some(result), Vec::new());
    }
    if let Some(eta) = message
        .headers
        .eta
        .filter(|eta| *eta > now + chrono::Duration::milliseconds(1))
    {
        // Wait in the broker, not under this worker's lease.
        return (Settle::Defer(eta), None, Vec::new());
    }
    shared.events.send(received_event(shared, &delivery, &message));
    let ignore_result = task.options.ignore_result || message.headers.ignore_result == Some(true);
    let mut settle_early = false;
    if !task.options.acks_late {
        // At-most-once: acknowledged before running, as the task asked.
        if let Err(e) = shared.broker.ack(std::slice::from_ref(&delivery.tag)).await {
            tracing::warn!(%id, error = %e, "early ack failed; running anyway");
        }
        settle_early = true;
    }
    if shared.config.track_started && !ignore_result {
        let started = decorate(
            shared,
            &message,
            Some(&task),
            TaskResult::new(&id, TaskState::Started, Value::Null),
        );
        if let Err(e) = shared.backend.store(started).await {
            tracing::warn!(%id, error = %e, "could not store STARTED");
        }
    }
    let message = Arc::new(message);
    let (settle, result, publish) = execute(shared, &delivery, &message, &task, ignore_result).await;
    let settle = match settle {
        // Acknowledged before running: the message is gone, so a failure
        // keeps its FAILURE result but cannot be dead-lettered.
        Settle::Ack | Settle::DeadLetter(_) if settle_early => Settle::Settled,
        other => other,
    };
    (settle, result, publish)
}

fn limits(message: &TaskMessage, task: &RegisteredTask) -> Limits {
    let secs = |s: Option<f64>| s.filter(|s| s.is_finite() && *s > 0.0).map(Duration::from_secs_f64);
    Limits {
        soft: secs(message.headers.soft_time_limit).or(task.options.soft_time_limit),
        hard: secs(message.headers.time_limit).or(task.options.time_limit),
    }
}

async fn execute(
    shared: &Shared,
    delivery: &Delivery,
    message: &Arc<TaskMessage>,
    task: &Arc<RegisteredTask>,
    ignore_result: bool,
) -> Decision {
    let id = &message.headers.id;
    shared.log_execution(id);
    let ctx = TaskContext::new(
        message.clone(),
        delivery.queue.clone(),
        delivery.deliveries,
        shared.info.id.clone(),
        Some(shared.backend.clone()),
    )
    .with_resources(shared.resources.clone());
    let args = TaskArgs {
        args: message.args.clone(),
        kwargs: message.kwargs.clone(),
    };
    let queue = delivery.queue.as_str();
    let tagged = |e: Event| e.with("name", task.name.as_str()).with("queue", queue);
    shared.events.send(
        shared
            .events
            .task("task-started", id)
            .map(|e| match queue_wait(message) {
                Some(wait) => tagged(e).with("queue_wait", wait),
                None => tagged(e),
            }),
    );
    let started = Instant::now();
    let terminate = shared.terminable.insert(id);
    let span = task_span(message, &task.name, queue);
    let outcome = executor::run(task, ctx, args, limits(message, task), &shared.cpu, &terminate)
        .instrument(span)
        .await;
    shared.terminable.remove(id);
    let runtime = started.elapsed();
    shared.counters.processed.inc();
    let error = match outcome {
        RunOutcome::Returned(Ok(value)) => {
            shared.counters.succeeded.inc();
            tracing::debug!(%id, task = %task.name, ?runtime, "succeeded");
            shared.events.send(shared.events.task("task-succeeded", id).map(|e| {
                tagged(e)
                    .with("result", value_repr(&value))
                    .with("runtime", runtime.as_secs_f64())
            }));
            let (follow_ups, errors) = workflow::on_success(message, &value, &shared.registry, &shared.origin);
            for e in errors {
                tracing::error!(%id, "could not continue the workflow: {e}");
            }
            let mut result = TaskResult::success(id, value);
            result.children = Some(follow_ups.iter().map(|f| workflow::child_tuple(&f.child_id)).collect());
            let result = (!ignore_result).then(|| decorate(shared, message, Some(task), result));
            return (Settle::Ack, result, follow_ups.into_iter().map(|f| f.message).collect());
        }
        RunOutcome::Returned(Err(e)) => e,
        RunOutcome::Panicked(msg) => {
            tracing::error!(%id, task = %task.name, "task panicked: {msg}");
            TaskError::new("Panic", msg)
        }
        RunOutcome::Terminated => {
            shared.counters.revoked.inc();
            tracing::warn!(%id, task = %task.name, "task terminated on request");
            shared.events.send(shared.events.task("task-revoked", id).map(|e| {
                tagged(e)
                    .with("terminated", true)
                    .with("signum", 15)
                    .with("expired", false)
            }));
            let result =
                (!ignore_result).then(|| decorate(shared, message, Some(task), TaskResult::revoked(id, "terminated")));
            return (Settle::Ack, result, Vec::new());
        }
        RunOutcome::TimedOut(limit) => {
            tracing::error!(%id, task = %task.name, ?limit, "hard time limit exceeded; task abandoned");
            TaskError::new(
                "TimeLimitExceeded",
                format!("task exceeded its hard time limit of {limit:?}"),
            )
            .with_module("celery.exceptions")
        }
    };
    fail_or_retry(shared, message, task, ignore_result, error, (queue, runtime))
}

fn fail_or_retry(
    shared: &Shared,
    message: &TaskMessage,
    task: &Arc<RegisteredTask>,
    ignore_result: bool,
    error: TaskError,
    (queue, runtime): (&str, Duration),
) -> Decision {
    let id = &message.headers.id;
    let retries = message.headers.retries;
    let wants_retry = error.retry_request().is_some() || task.options.autoretry_for.iter().any(|k| k == error.kind());
    let may_retry = task.options.max_retries.is_none_or(|max| retries < max);
    if wants_retry && may_retry {
        let countdown = error
            .retry_request()
            .and_then(|r| r.countdown)
            .unwrap_or_else(|| task.options.backoff.delay(retries));
        let eta = Utc::now() + chrono::Duration::from_std(countdown).unwrap_or_else(|_| chrono::Duration::days(365));
        shared.counters.retried.inc();
        tracing::info!(%id, task = %task.name, retry = retries + 1, ?countdown, error = %error, "retrying");
        shared.events.send(shared.events.task("task-retried", id).map(|e| {
            e.with("exception", exception_repr(error.kind(), error.message()))
                .with("traceback", error.detail().unwrap_or_default())
                .with("name", task.name.as_str())
                .with("queue", queue)
                .with("runtime", runtime.as_secs_f64())
        }));
        let mut result = TaskResult::new(id, TaskState::Retry, error.to_exception_info().to_value());
        result.traceback = error.detail().map(str::to_owned);
        let result = (!ignore_result).then(|| decorate(shared, message, Some(task), result));
        return (
            Settle::Ack,
            result,
            vec![workflow::retry_message(message, eta, &shared.origin)],
        );
    }
    let error = if wants_retry && error.retry_request().is_some() && error.kind() == "Retry" {
        TaskError::new(
            "MaxRetriesExceededError",
            format!(
                "{}[{id}] gave up after {retries} retries: {}",
                task.name,
                error.message()
            ),
        )
        .with_module("celery.exceptions")
    } else {
        error
    };
    shared.counters.failed.inc();
    tracing::warn!(%id, task = %task.name, retries, error = %error, "task failed");
    let info = error.to_exception_info();
    shared.events.send(shared.events.task("task-failed", id).map(|e| {
        e.with("exception", exception_repr(&info.exc_type, &info.message()))
            .with("traceback", error.detail().unwrap_or_default())
            .with("name", task.name.as_str())
            .with("queue", queue)
            .with("runtime", runtime.as_secs_f64())
    }));
    let (follow_ups, errors) = workflow::on_failure(message, &shared.registry, &shared.origin);
    for e in errors {
        tracing::error!(%id, "could not send an errback: {e}");
    }
    let mut result = TaskResult::failure(id, &info, error.detail().map(str::to_owned));
    result.children = Some(follow_ups.iter().map(|f| workflow::child_tuple(&f.child_id)).collect());
    let result = (!ignore_result).then(|| decorate(shared, message, Some(task), result));
    let reason = format!("FAILURE after {retries} retries: {}: {}", info.exc_type, info.message());
    (
        Settle::DeadLetter(reason),
        result,
        follow_ups.into_iter().map(|f| f.message).collect(),
    )
}

/// Seconds from when the message was sent (or its ETA, if later) to now,
/// when its sender stamped it.
fn queue_wait(message: &TaskMessage) -> Option<f64> {
    let sent = message
        .headers
        .extra
        .get(celeriac_core::events::SENT_AT_HEADER)
        .and_then(Value::as_f64)?;
    let due = message
        .headers
        .eta
        .map_or(sent, |eta| sent.max(eta.timestamp_micros() as f64 / 1e6));
    let now = Utc::now().timestamp_micros() as f64 / 1e6;
    Some((now - due).max(0.0))
}

/// The span of one task run. With a `traceparent` header it names the trace
/// and the parent span (the web request or task that sent it), so a
/// collector joins it to the trace; its own span id is the one follow-up
/// messages name as their parent.
fn task_span(message: &TaskMessage, name: &str, queue: &str) -> tracing::Span {
    let id = message.headers.id.as_str();
    match TraceParent::from_headers(&message.headers.extra) {
        Some(tp) => tracing::info_span!(
            "task",
            task_id = id,
            task = name,
            queue,
            trace_id = tp.trace_id.as_str(),
            parent_span_id = tp.parent_id.as_str(),
            span_id = task_span_id(id).as_str(),
        ),
        None => tracing::info_span!("task", task_id = id, task = name, queue),
    }
}

/// `task-received`, with Celery's fields and the queue.
fn received_event(shared: &Shared, delivery: &Delivery, message: &TaskMessage) -> Option<Event> {
    let h = &message.headers;
    let event = shared.events.task("task-received", &h.id)?;
    let time = |t: Option<chrono::DateTime<Utc>>| t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()));
    Some(
        event
            .with("name", h.task.as_str())
            .with(
                "args",
                h.argsrepr
                    .clone()
                    .unwrap_or_else(|| value_repr(&Value::Array(message.args.clone()))),
            )
            .with(
                "kwargs",
                h.kwargsrepr
                    .clone()
                    .unwrap_or_else(|| value_repr(&Value::Object(message.kwargs.clone()))),
            )
            .with("root_id", h.root_id.clone().map_or(Value::Null, Value::String))
            .with("parent_id", h.parent_id.clone().map_or(Value::Null, Value::String))
            .with("retries", h.retries)
            .with("eta", time(h.eta))
            .with("expires", time(h.expires))
            .with("queue", delivery.queue.as_str()),
    )
}

/// Adds the parent/group ids and, when enabled, the extended fields.
fn decorate(
    shared: &Shared,
    message: &TaskMessage,
    task: Option<&Arc<RegisteredTask>>,
    mut r: TaskResult,
) -> TaskResult {
    r.parent_id = message.headers.parent_id.clone();
    r.group_id = message.headers.group.clone();
    if shared.config.result_extended {
        r.extended = Some(ExtendedMeta {
            name: Some(task.map_or_else(|| message.headers.task.clone(), |t| t.name.clone())),
            args: Some(message.args.clone()),
            kwargs: Some(message.kwargs.clone()),
            worker: Some(shared.config.hostname.clone()),
            retries: Some(message.headers.retries),
            queue: Some(message.properties.routing_key.clone()),
        });
    }
    r
}

impl Shared {
    fn log_execution(&self, id: &str) {
        if let Some(file) = &self.execution_log {
            // One write per line: O_APPEND makes each line atomic.
            let line = format!("{id}\n");
            if let Err(e) = (&*file).write_all(line.as_bytes()) {
                tracing::warn!(error = %e, "could not write the execution log");
            }
        }
    }
}
