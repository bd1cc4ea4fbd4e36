//! Celeriac's HTTP server, as an axum [`Router`] other apps can mount.
//!
//! `/` is the dashboard (a static page whose scripts read the JSON API under
//! `/api`), beside `/health` and `/metrics`. Apps such as the photo app are
//! nested into the same [`Router`], so whatever layers guard the server
//! ([`auth::protect`]) guard them too.
#![deny(missing_docs)]

pub mod api;
pub mod api_error;
pub mod auth;
mod dashboard;
pub mod history;
mod html;
mod metrics;
mod status;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use celeriac_core::events::EventBus;
use celeriac_core::{Broker, Client, ResultBackend, WorkerInfo};
use history::{History, KeeperHandle};
use tokio_util::sync::CancellationToken;

pub use api_error::{ApiError, ApiJson};
pub use html::escape;
pub use metrics::feed_metrics;

/// An app mounted in the same server, linked from the dashboard's header.
#[derive(Debug, Clone)]
pub struct MountedApp {
    /// Where it is mounted, e.g. `/photos/`.
    pub path: String,
    /// Its name, e.g. `Photo faces`.
    pub title: String,
    /// One sentence on what it shows.
    pub description: String,
}

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
    /// Apps mounted beside these routes, linked from the dashboard.
    pub apps: Vec<MountedApp>,
    /// The task history, when the server keeps one.
    pub history: Option<Arc<History>>,
    /// The history keeper, whose live events feed the SSE streams.
    pub keeper: Option<KeeperHandle>,
    /// The event bus (the API publishes `task-sent` for tasks it submits).
    pub events: Option<Arc<dyn EventBus>>,
    /// Task names that may be submitted over HTTP; empty: none.
    pub submit_allowlist: Vec<String>,
    /// Fleet metrics for `/metrics`, fed by the keeper's events.
    pub metrics: Option<Arc<celeriac_metrics::Metrics>>,
}

impl ServerState {
    /// A state with no history, events, allowlist or metrics.
    pub fn new(broker: Arc<dyn Broker>, backend: Arc<dyn ResultBackend>, broker_url: impl Into<String>) -> ServerState {
        ServerState {
            broker,
            backend,
            broker_url: broker_url.into(),
            worker: None,
            apps: Vec::new(),
            history: None,
            keeper: None,
            events: None,
            submit_allowlist: Vec::new(),
            metrics: None,
        }
    }

    /// A client on the server's broker and backend.
    pub(crate) fn client(&self) -> Client {
        Client::new(self.broker.clone(), self.backend.clone())
    }
}

/// The routes, ready to serve or to nest in another app. Unprotected:
/// wrap the finished router (with any apps nested in) in
/// [`auth::protect`], which the API's extractors require.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/health", get(status::health))
        .route("/metrics", get(metrics::scrape))
        .merge(api::routes())
        .merge(dashboard::routes())
        .with_state(state)
}

/// Binds `addr`, then serves [`router`] until `shutdown` is cancelled.
/// Returns the bound address through `on_bound` (useful with port 0).
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
    serve_router(addr, router(state), shutdown, on_bound).await
}

/// [`serve`] for any router: the server's own routes with apps nested in.
///
/// # Errors
///
/// The I/O error when the address cannot be bound or serving fails.
pub async fn serve_router(
    addr: SocketAddr,
    app: Router,
    shutdown: CancellationToken,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
