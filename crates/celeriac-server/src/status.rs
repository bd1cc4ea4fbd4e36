//! `/health`, for load balancers and the tests that wait for a server.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use serde_json::json;

use crate::ServerState;

/// `/health`: 200 when the broker answers, 503 otherwise.
pub(crate) async fn health(State(state): State<ServerState>) -> impl IntoResponse {
    match state.broker.stats().await {
        Ok(stats) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "broker": state.broker.capabilities().backend,
                "queues": stats.len(),
            })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": e.to_string()})),
        ),
    }
}
