//! The JSON API under `/api`, described by the OpenAPI document at
//! `/api/openapi.json`. Every route demands [`ReadAccess`] or
//! [`AdminAccess`](crate::auth::AdminAccess); the router must be wrapped in
//! [`crate::auth::protect`], which also adds the session routes.
//!
//! [`ReadAccess`]: crate::auth::ReadAccess

mod dead;
mod fleet;
mod openapi;
mod query;
mod stream;
mod tasks;

use axum::routing::{get, post};
use axum::Router;

pub use openapi::openapi_document;
pub use query::ApiQuery;

use crate::ServerState;

/// The API routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/api/openapi.json", get(openapi::serve))
        .route("/api/info", get(fleet::info))
        .route("/api/tasks", get(tasks::list).post(tasks::submit))
        .route("/api/tasks/{id}", get(tasks::detail))
        .route("/api/tasks/{id}/wait", get(tasks::wait))
        .route("/api/tasks/{id}/revoke", post(tasks::revoke))
        .route("/api/tasks/{id}/events", get(stream::task_events))
        .route("/api/events", get(stream::all_events))
        .route("/api/stats/throughput", get(fleet::throughput))
        .route("/api/queues", get(fleet::queues))
        .route("/api/queues/{name}/pause", post(fleet::pause))
        .route("/api/queues/{name}/resume", post(fleet::resume))
        .route("/api/workers", get(fleet::workers))
        .route("/api/dead", get(dead::list))
        .route("/api/dead/retry", post(dead::retry))
        .route("/api/dead/drop", post(dead::drop))
}
