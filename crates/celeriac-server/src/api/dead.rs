//! Dead letters: list with reasons, retry, drop.

use axum::extract::State;
use axum::response::IntoResponse;
use celeriac_core::DeadSelector;
use serde::Deserialize;
use serde_json::json;

use super::query::ApiQuery;
use crate::auth::{AdminAccess, ReadAccess};
use crate::{ApiError, ApiJson, ServerState};

/// Bytes of a dead message shown in a listing.
const PREVIEW: usize = 2_048;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeadQuery {
    queue: Option<String>,
    /// Most entries (default 100, at most 1000).
    limit: Option<usize>,
}

/// `GET /api/dead`: dead letters, oldest first, with why they died.
pub(crate) async fn list(
    _: ReadAccess,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<DeadQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let dead = state.broker.dead_letters(q.queue.as_deref(), limit).await?;
    let items: Vec<_> = dead
        .into_iter()
        .map(|d| {
            let text = String::from_utf8_lossy(&d.payload[..d.payload.len().min(PREVIEW)]).into_owned();
            json!({
                "id": d.id, "queue": d.queue, "task_id": d.task_id, "reason": d.reason,
                "deliveries": d.deliveries, "dead_at": d.dead_at, "size": d.payload.len(),
                "payload_preview": text,
            })
        })
        .collect();
    Ok(ApiJson(json!({"dead": items})))
}

/// Which dead letters: exactly one of `id`, `queue` or `all: true`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Selector {
    id: Option<String>,
    queue: Option<String>,
    #[serde(default)]
    all: bool,
}

impl Selector {
    fn into_selector(self) -> Result<DeadSelector, ApiError> {
        match (self.id, self.queue, self.all) {
            (Some(id), None, false) => Ok(DeadSelector::Id(id)),
            (None, Some(q), false) => Ok(DeadSelector::Queue(q)),
            (None, None, true) => Ok(DeadSelector::All),
            _ => Err(ApiError::bad_request(
                "say which dead letters: exactly one of {\"id\": …}, {\"queue\": …} or {\"all\": true}",
            )),
        }
    }
}

/// `POST /api/dead/retry`: back on their queues, ready now.
pub(crate) async fn retry(
    _: AdminAccess,
    State(state): State<ServerState>,
    ApiJson(sel): ApiJson<Selector>,
) -> Result<impl IntoResponse, ApiError> {
    let n = state.broker.retry_dead(&sel.into_selector()?).await?;
    Ok(ApiJson(json!({"retried": n})))
}

/// `POST /api/dead/drop`: deleted for good.
pub(crate) async fn drop(
    _: AdminAccess,
    State(state): State<ServerState>,
    ApiJson(sel): ApiJson<Selector>,
) -> Result<impl IntoResponse, ApiError> {
    let n = state.broker.drop_dead(&sel.into_selector()?).await?;
    Ok(ApiJson(json!({"dropped": n})))
}
