//! Celeriac's HTTP server, as an axum [`Router`] other apps can mount.
//!
//! Today: `/` (what is running: broker, queues, workers) and `/health`.
#![deny(missing_docs)]

mod html;
mod status;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use celeriac_core::{Broker, ResultBackend, WorkerInfo};
use tokio_util::sync::CancellationToken;

pub use html::escape;

/// What the handlers need.
#[derive(Clone)]
pub struct ServerState {
    /// The broker the server reports on.
    pub broker: Arc<dyn Broker>,
    /// The result backend.
    pub backend: Arc<dyn ResultBackend>,
    /// The broker URL, for display.
    pub broker_url: String,
    /// The worker running in the same process, if any.
    pub worker: Option<WorkerInfo>,
}

/// The routes, ready to serve or to nest in another app.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/", get(status::index))
        .route("/health", get(status::health))
        .with_state(state)
}

/// Binds `addr`, then serves until `shutdown` is cancelled. Returns the
/// bound address through `on_bound` (useful with port 0).
///
/// # Errors
///
/// The I/O error when the address cannot be bound or serving fails.
pub async fn serve(
    addr: SocketAddr,
    state: ServerState,
    shutdown: CancellationToken,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
