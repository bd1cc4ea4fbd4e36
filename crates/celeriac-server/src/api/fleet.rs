//! Queues, workers, throughput: the fleet at a glance.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{json, Value};

use super::query::ApiQuery;
use crate::auth::{AdminAccess, ReadAccess};
use crate::{ApiError, ApiJson, ServerState};

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `GET /api/info`: what this server runs (for the dashboard's header).
pub(crate) async fn info(_: ReadAccess, State(state): State<ServerState>) -> impl IntoResponse {
    let apps: Vec<Value> = state
        .apps
        .iter()
        .map(|a| json!({"path": a.path, "title": a.title, "description": a.description}))
        .collect();
    ApiJson(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "broker": state.broker_url,
        "broker_kind": state.broker.capabilities().backend,
        "results": state.backend.capabilities().backend,
        "history": state.history.as_ref().map(|h| h.config().path.display().to_string()),
        "worker": state.worker.as_ref().map(|w| json!({"id": w.id, "queues": w.queues, "concurrency": w.concurrency})),
        "apps": apps,
        "submit_allowlist": state.submit_allowlist,
    }))
}

/// `GET /api/queues`: depth, in flight, delayed, dead and paused for each
/// queue, with tasks finished per queue over the last minute.
pub(crate) async fn queues(_: ReadAccess, State(state): State<ServerState>) -> Result<impl IntoResponse, ApiError> {
    let stats = state.broker.stats().await?;
    let paused = match state.broker.paused_queues().await {
        Ok(p) => p,
        Err(celeriac_core::BrokerError::Unsupported(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let rates = match &state.history {
        Some(h) => h.rates_per_queue(now() - 60.0).await?,
        None => BTreeMap::new(),
    };
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for s in stats {
        let (ok, failed) = rates.get(&s.queue).copied().unwrap_or((0, 0));
        out.insert(
            s.queue.clone(),
            json!({
                "name": s.queue, "ready": s.ready, "in_flight": s.in_flight, "delayed": s.delayed,
                "dead": s.dead, "paused": paused.contains(&s.queue),
                "succeeded_last_minute": ok, "failed_last_minute": failed,
            }),
        );
    }
    // A paused queue that never held a message is still listed.
    for q in paused {
        out.entry(q.clone()).or_insert_with(|| {
            json!({"name": q, "ready": 0, "in_flight": 0, "delayed": 0, "dead": 0, "paused": true,
                   "succeeded_last_minute": 0, "failed_last_minute": 0})
        });
    }
    Ok(ApiJson(json!({"queues": out.into_values().collect::<Vec<_>>()})))
}

fn check_queue(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("a queue name is 1 to 200 printable characters"));
    }
    Ok(())
}

/// `POST /api/queues/{name}/pause`: workers stop taking from it.
pub(crate) async fn pause(
    _: AdminAccess,
    State(state): State<ServerState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    check_queue(&name)?;
    state.broker.set_paused(&name, true).await?;
    Ok(ApiJson(json!({"name": name, "paused": true})))
}

/// `POST /api/queues/{name}/resume`: workers take from it again.
pub(crate) async fn resume(
    _: AdminAccess,
    State(state): State<ServerState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    check_queue(&name)?;
    state.broker.set_paused(&name, false).await?;
    Ok(ApiJson(json!({"name": name, "paused": false})))
}

/// `GET /api/workers`: workers from their heartbeats (the history) merged
/// with the broker's registry (leases and messages held).
pub(crate) async fn workers(_: ReadAccess, State(state): State<ServerState>) -> Result<impl IntoResponse, ApiError> {
    let heard = match &state.history {
        Some(h) => h.workers().await?,
        None => Vec::new(),
    };
    let registered = state.broker.workers().await?;
    let mut out = Vec::new();
    for w in &heard {
        let reg = registered
            .iter()
            .find(|r| w.worker_id.as_deref() == Some(r.info.id.as_str()));
        let mut v = serde_json::to_value(w).unwrap_or_default();
        if let (Some(obj), Some(r)) = (v.as_object_mut(), reg) {
            obj.insert("held".into(), json!(r.in_flight));
            obj.insert("lease_alive".into(), json!(r.alive));
        }
        out.push(v);
    }
    // Registered workers that sent no events (events off) are listed too.
    for r in registered
        .iter()
        .filter(|r| !heard.iter().any(|w| w.worker_id.as_deref() == Some(r.info.id.as_str())))
    {
        out.push(json!({
            "hostname": r.info.hostname, "worker_id": r.info.id, "alive": r.alive,
            "last_heartbeat": r.last_heartbeat.timestamp_millis() as f64 / 1000.0,
            "active": null, "processed": null, "concurrency": r.info.concurrency,
            "queues": r.info.queues, "software": format!("celeriac {}", r.info.version),
            "held": r.in_flight, "lease_alive": r.alive, "events": false,
        }));
    }
    Ok(ApiJson(json!({"workers": out})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ThroughputQuery {
    /// Seconds back from now (default 3600, at most 7 days).
    window: Option<f64>,
    /// Bucket width in seconds (default 60).
    bucket: Option<f64>,
}

/// `GET /api/stats/throughput`: tasks finished per bucket, failures, mean
/// run time and wait, for the dashboard's charts.
pub(crate) async fn throughput(
    _: ReadAccess,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<ThroughputQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let window = q.window.unwrap_or(3600.0);
    let bucket = q.bucket.unwrap_or(60.0);
    if !(window.is_finite() && window > 0.0 && window <= 7.0 * 86400.0) {
        return Err(ApiError::bad_request("window must be between 0 and 604800 seconds"));
    }
    if !(bucket.is_finite() && bucket >= 1.0 && window / bucket <= 10_000.0) {
        return Err(ApiError::bad_request(
            "bucket must be at least 1 second and at most 10,000 buckets",
        ));
    }
    let history = state
        .history
        .as_ref()
        .ok_or_else(|| ApiError::not_implemented("this server keeps no task history"))?;
    let points = history.throughput(now() - window, bucket).await?;
    Ok(ApiJson(json!({"bucket": bucket, "points": points})))
}
