//! Tasks: list, detail, long-poll, submit, revoke and terminate.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use celeriac_core::events::Event;
use celeriac_core::{SendError, Signature, TaskResult};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::query::ApiQuery;
use crate::auth::{AdminAccess, ReadAccess};
use crate::history::TaskFilter;
use crate::{ApiError, ApiJson, ServerState};

/// Revocations are remembered this long (as Celery's default).
const REVOKE_TTL: Duration = Duration::from_secs(3 * 3600);

/// Longest long-poll a client may ask for.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Task ids are Celery's: a uuid, but any printable id a client chose is
/// accepted; this bounds them.
fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 255 || id.chars().any(char::is_control) {
        return Err(ApiError::bad_request("a task id is 1 to 255 printable characters"));
    }
    Ok(())
}

fn history(state: &ServerState) -> Result<&std::sync::Arc<crate::history::History>, ApiError> {
    state
        .history
        .as_ref()
        .ok_or_else(|| ApiError::not_implemented("this server keeps no task history"))
}

/// `GET /api/tasks`: a page of tasks from the history, newest first.
pub(crate) async fn list(
    _: ReadAccess,
    State(state): State<ServerState>,
    ApiQuery(filter): ApiQuery<TaskFilter>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(s) = &filter.state {
        let known = [
            "PENDING", "RECEIVED", "STARTED", "SUCCESS", "FAILURE", "RETRY", "REVOKED", "REJECTED",
        ];
        if !known.contains(&s.to_ascii_uppercase().as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown state `{s}` (one of {})",
                known.join(", ")
            )));
        }
    }
    Ok(ApiJson(history(&state)?.tasks(filter).await?))
}

/// The result document of a stored result, as the API shows it.
fn result_json(r: &TaskResult) -> Value {
    json!({
        "state": r.state.as_str(),
        "result": r.result,
        "traceback": r.traceback,
        "date_done": r.date_done,
        "children": r.children,
    })
}

/// `GET /api/tasks/{id}`: what the history knows, and the stored result.
pub(crate) async fn detail(
    _: ReadAccess,
    State(state): State<ServerState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    check_id(&id)?;
    let known = match &state.history {
        Some(h) => h.task(&id).await?,
        None => None,
    };
    let stored = state.backend.get(&id).await?;
    if known.is_none() && stored.is_none() {
        return Err(ApiError::not_found(format!(
            "no task `{id}` in the history or the result store"
        )));
    }
    let mut body = match known {
        Some(d) => serde_json::to_value(d).unwrap_or_default(),
        None => json!({"id": id, "state": "PENDING", "timeline": []}),
    };
    if let (Some(obj), Some(r)) = (body.as_object_mut(), stored.as_ref()) {
        obj.insert("stored".into(), result_json(r));
        // The result store is the authority on the final state.
        if r.state.is_ready() {
            obj.insert("state".into(), Value::String(r.state.as_str().to_owned()));
        }
    }
    Ok(ApiJson(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitQuery {
    /// Seconds to wait, at most 60 (default 30).
    timeout: Option<f64>,
}

/// `GET /api/tasks/{id}/wait?timeout=30`: answers when the task is ready
/// or the timeout passed (`ready: false`).
pub(crate) async fn wait(
    _: ReadAccess,
    State(state): State<ServerState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<WaitQuery>,
) -> Result<impl IntoResponse, ApiError> {
    check_id(&id)?;
    let secs = q.timeout.unwrap_or(30.0);
    if !secs.is_finite() || secs < 0.0 {
        return Err(ApiError::bad_request(
            "timeout must be a non-negative number of seconds",
        ));
    }
    let timeout = Duration::from_secs_f64(secs).min(MAX_WAIT);
    let got = state.backend.wait(&id, timeout).await?;
    Ok(ApiJson(match got {
        Some(r) if r.state.is_ready() => json!({"id": id, "ready": true, "result": result_json(&r)}),
        Some(r) => json!({"id": id, "ready": false, "state": r.state.as_str()}),
        None => json!({"id": id, "ready": false, "state": "PENDING"}),
    }))
}

/// What `POST /api/tasks` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submit {
    name: String,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    kwargs: Map<String, Value>,
    /// Celery's `apply_async` options: queue, countdown, eta, expires,
    /// priority, time_limit, soft_time_limit, task_id.
    #[serde(default)]
    options: Map<String, Value>,
}

const SUBMIT_OPTIONS: [&str; 8] = [
    "queue",
    "countdown",
    "eta",
    "expires",
    "priority",
    "time_limit",
    "soft_time_limit",
    "task_id",
];

/// `POST /api/tasks`: sends a task on the allowlist; answers 202 with its id.
pub(crate) async fn submit(
    _: AdminAccess,
    State(state): State<ServerState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Submit>,
) -> Result<impl IntoResponse, ApiError> {
    if !state.submit_allowlist.iter().any(|n| n == &body.name) {
        return Err(ApiError::forbidden(format!(
            "task `{}` is not on this server's submit allowlist (--allow-submit)",
            body.name
        )));
    }
    let mut sig = Signature::new(body.name.clone());
    sig.args = body.args;
    sig.kwargs = body.kwargs;
    for (k, v) in body.options {
        if !SUBMIT_OPTIONS.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown option `{k}` (allowed: {})",
                SUBMIT_OPTIONS.join(", ")
            )));
        }
        sig = sig.option(k, v);
    }
    if let Some(trace) = trace_headers(&headers) {
        sig = sig.option("headers", trace);
    }
    let queue = sig.queue_name().unwrap_or(celeriac_core::DEFAULT_QUEUE).to_owned();
    // task-sent, as Celery clients send it when asked, so the history shows
    // the task as PENDING before a worker takes it. Stamped before the
    // send: a worker's events about the task come after it in time.
    let id = sig.id().map_or_else(celeriac_core::new_task_id, str::to_owned);
    let sig = sig.option("task_id", id.clone());
    let sent_event = Event::task("task-sent", celeriac_core::host::origin(), 0, &id)
        .with("name", body.name.as_str())
        .with("queue", queue.as_str())
        .with("retries", 0);
    state.client().send(sig).await.map_err(|e| match e {
        SendError::Broker(b) => ApiError::from(b),
        other => ApiError::bad_request(other.to_string()),
    })?;
    if let Some(bus) = &state.events {
        if let Err(e) = bus.publish(&[sent_event]).await {
            tracing::warn!(error = %e, "could not publish task-sent");
        }
    }
    Ok((StatusCode::ACCEPTED, ApiJson(json!({"id": id, "state": "PENDING"}))))
}

/// The request's W3C trace context, for the task's headers: the trace of
/// the request that submitted it continues in the worker. An invalid
/// `traceparent` is ignored, as the W3C rules say.
fn trace_headers(headers: &HeaderMap) -> Option<Value> {
    let value = headers.get(celeriac_core::trace::TRACEPARENT)?.to_str().ok()?;
    let parent = celeriac_core::trace::TraceParent::parse(value)?;
    let mut out = Map::new();
    out.insert("traceparent".into(), Value::String(parent.to_header()));
    if let Some(state) = headers
        .get(celeriac_core::trace::TRACESTATE)
        .and_then(|v| v.to_str().ok())
        .filter(|s| s.len() <= 512)
    {
        out.insert("tracestate".into(), Value::String(state.to_owned()));
    }
    Some(Value::Object(out))
}

/// What `POST /api/tasks/{id}/revoke` takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Revoke {
    /// Also stop it if it is running.
    #[serde(default)]
    terminate: bool,
}

/// `POST /api/tasks/{id}/revoke`: a queued task will not run; with
/// `terminate`, a running one is stopped.
pub(crate) async fn revoke(
    _: AdminAccess,
    State(state): State<ServerState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    check_id(&id)?;
    // The body is optional: no body is a plain revoke.
    let Revoke { terminate } = if body.iter().all(u8::is_ascii_whitespace) {
        Revoke::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?
    };
    if terminate {
        state.broker.terminate(&id, REVOKE_TTL).await?;
    } else {
        state.broker.revoke(&id, REVOKE_TTL).await?;
    }
    // Also Celery's broadcast: Python workers holding or running the task
    // act on it, and Celeriac workers without waiting for their next look.
    let mut arguments = serde_json::Map::new();
    arguments.insert("task_id".into(), json!([id]));
    arguments.insert("terminate".into(), json!(terminate));
    arguments.insert("signal".into(), json!("SIGTERM"));
    let command = celeriac_core::control::ControlCommand::broadcast("revoke", arguments);
    if let Err(e) = state.broker.broadcast_control(&command).await {
        tracing::warn!(error = %e, "could not broadcast the revocation");
    }
    Ok(ApiJson(json!({"id": id, "revoked": true, "terminate": terminate})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_trace_context_goes_into_the_task_headers() {
        let mut headers = HeaderMap::new();
        assert!(trace_headers(&headers).is_none());
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .expect("value"),
        );
        headers.insert("tracestate", "vendor=x".parse().expect("value"));
        let got = trace_headers(&headers).expect("traced");
        assert_eq!(
            got["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(got["tracestate"], "vendor=x");
        headers.insert("traceparent", "garbage".parse().expect("value"));
        assert!(trace_headers(&headers).is_none(), "an invalid traceparent is ignored");
    }
}
