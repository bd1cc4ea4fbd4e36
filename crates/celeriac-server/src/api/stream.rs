//! Server-sent events: one task's events, or all events with filters.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use celeriac_core::events::Event;
use futures::stream::{self, Stream, StreamExt as _};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::query::ApiQuery;
use crate::auth::ReadAccess;
use crate::{ApiError, ServerState};

/// Filters of `GET /api/events`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventFilter {
    /// Event type, or a prefix ending in `-` (`task-`, `worker-`).
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Task name (events without a name pass when their task is unknown).
    name: Option<String>,
    /// Queue.
    queue: Option<String>,
    /// Sender hostname.
    worker: Option<String>,
}

impl EventFilter {
    fn accepts(&self, e: &Event) -> bool {
        let kind_ok = self.kind.as_deref().is_none_or(|k| {
            if k.ends_with('-') {
                e.kind.starts_with(k)
            } else {
                e.kind == k
            }
        });
        let field_ok =
            |want: &Option<String>, key: &str| want.as_deref().is_none_or(|w| e.str_field(key).is_none_or(|v| v == w));
        kind_ok
            && field_ok(&self.name, "name")
            && field_ok(&self.queue, "queue")
            && self.worker.as_deref().is_none_or(|w| e.hostname == w)
    }
}

fn live(state: &ServerState) -> Result<broadcast::Receiver<Arc<Vec<Event>>>, ApiError> {
    state
        .keeper
        .as_ref()
        .map(|k| k.subscribe())
        .ok_or_else(|| ApiError::not_implemented("this server follows no event bus"))
}

/// Events as SSE messages (`event: <type>`, `data: <Celery JSON>`), from
/// the keeper's live batches. A listener that falls behind gets a `lagged`
/// message saying how many batches it missed, and goes on.
fn to_sse(
    rx: broadcast::Receiver<Arc<Vec<Event>>>,
    keep: impl Fn(&Event) -> bool + Send + 'static,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold((rx, keep), |(mut rx, keep)| async move {
        loop {
            match rx.recv().await {
                Ok(batch) => {
                    let out: Vec<Result<SseEvent, Infallible>> = batch
                        .iter()
                        .filter(|e| keep(e))
                        .map(|e| {
                            Ok(SseEvent::default()
                                .event(e.kind.as_str())
                                .data(serde_json::to_string(e).unwrap_or_default()))
                        })
                        .collect();
                    if !out.is_empty() {
                        return Some((stream::iter(out), (rx, keep)));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let note = SseEvent::default().event("lagged").data(n.to_string());
                    return Some((stream::iter(vec![Ok(note)]), (rx, keep)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .flatten()
}

/// `GET /api/events`: every event as it is recorded, filtered.
pub(crate) async fn all_events(
    _: ReadAccess,
    State(state): State<ServerState>,
    ApiQuery(filter): ApiQuery<EventFilter>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let rx = live(&state)?;
    Ok(Sse::new(to_sse(rx, move |e| filter.accepts(e))).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// `GET /api/tasks/{id}/events`: the task's timeline so far, then its new
/// events as they come.
pub(crate) async fn task_events(
    _: ReadAccess,
    State(state): State<ServerState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    // Subscribed before reading the timeline: an event between the two is
    // sent twice rather than lost.
    let rx = live(&state)?;
    let past = match &state.history {
        Some(h) => h.task(&id).await?.map(|d| d.timeline).unwrap_or_default(),
        None => Vec::new(),
    };
    let past: Vec<Result<SseEvent, Infallible>> = past
        .into_iter()
        .map(|t| {
            let mut fields = match t.fields {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            };
            fields.insert("uuid".into(), serde_json::Value::String(id.clone()));
            fields.insert("type".into(), serde_json::Value::String(t.kind.clone()));
            fields.insert("timestamp".into(), serde_json::json!(t.at));
            fields.insert("hostname".into(), serde_json::Value::String(t.hostname));
            Ok(SseEvent::default()
                .event(t.kind)
                .data(serde_json::Value::Object(fields).to_string()))
        })
        .collect();
    let wanted = id.clone();
    let stream = stream::iter(past).chain(to_sse(rx, move |e| e.uuid() == Some(wanted.as_str())));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
