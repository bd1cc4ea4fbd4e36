//! `/metrics`: the fleet's Prometheus metrics, fed by the keeper's events;
//! queue depths and workers are read from the broker at scrape time.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use celeriac_metrics::Metrics;

use crate::auth::ReadAccess;
use crate::history::KeeperHandle;
use crate::{ApiError, ServerState};

/// `GET /metrics` (read access: Prometheus sends the bearer token).
pub(crate) async fn scrape(_: ReadAccess, State(state): State<ServerState>) -> Result<impl IntoResponse, ApiError> {
    let metrics = state
        .metrics
        .as_ref()
        .ok_or_else(|| ApiError::not_implemented("this server keeps no metrics"))?;
    match state.broker.stats().await {
        Ok(stats) => metrics.set_queues(&stats),
        Err(e) => tracing::warn!(error = %e, "metrics: queue statistics unavailable"),
    }
    match state.broker.workers().await {
        Ok(workers) => metrics.set_workers(&workers),
        Err(e) => tracing::warn!(error = %e, "metrics: worker registry unavailable"),
    }
    Ok(([(CONTENT_TYPE, celeriac_metrics::CONTENT_TYPE)], metrics.render()))
}

/// Feeds `metrics` with every batch the keeper applies, until it stops.
pub fn feed_metrics(keeper: &KeeperHandle, metrics: Arc<Metrics>) {
    let mut rx = keeper.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(batch) => metrics.observe_all(&batch),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(batches = n, "metrics fell behind the event stream; counts are low");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
