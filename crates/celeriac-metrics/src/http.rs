//! `GET /metrics` as an axum [`Router`], and a server for a worker's
//! `--metrics-addr`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::Metrics;

/// The `Content-Type` of a scrape: Prometheus' text format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Longest a scrape waits for its [`Refresh`] hook before rendering what it
/// has: a scrape that answers with slightly stale gauges beats one that
/// times out with none.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(5);

/// What a [`Refresh`] hook returns.
pub type RefreshFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Called at each scrape, before rendering, to update gauges that are read
/// rather than fed, such as queue depths from the broker:
///
/// ```no_run
/// # use std::sync::Arc;
/// # use celeriac_core::Broker;
/// # use celeriac_metrics::{Metrics, Refresh, RefreshFuture};
/// # fn hook(metrics: Arc<Metrics>, broker: Arc<dyn Broker>) -> Refresh {
/// Arc::new(move || -> RefreshFuture {
///     let (metrics, broker) = (Arc::clone(&metrics), Arc::clone(&broker));
///     Box::pin(async move {
///         if let Ok(stats) = broker.stats().await {
///             metrics.set_queues(&stats);
///         }
///         if let Ok(workers) = broker.workers().await {
///             metrics.set_workers(&workers);
///         }
///     })
/// })
/// # }
/// ```
///
/// Concurrent scrapes call it concurrently. A hook that fails should leave
/// the gauges as they were; one that takes longer than
/// [`REFRESH_TIMEOUT`] is abandoned for that scrape.
pub type Refresh = Arc<dyn Fn() -> RefreshFuture + Send + Sync>;

#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    refresh: Option<Refresh>,
}

/// `GET /metrics`, rendering `metrics`; ready to serve or to merge into
/// another app.
pub fn router(metrics: Arc<Metrics>) -> Router {
    routes(Scrape { metrics, refresh: None })
}

/// [`router`], calling `refresh` before each render (see [`Refresh`]).
pub fn router_with_refresh(metrics: Arc<Metrics>, refresh: Refresh) -> Router {
    routes(Scrape {
        metrics,
        refresh: Some(refresh),
    })
}

fn routes(state: Scrape) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(state): State<Scrape>) -> impl IntoResponse {
    if let Some(refresh) = &state.refresh {
        if tokio::time::timeout(REFRESH_TIMEOUT, refresh()).await.is_err() {
            tracing::warn!(
                timeout_secs = REFRESH_TIMEOUT.as_secs(),
                "metrics refresh timed out; serving the last values"
            );
        }
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], state.metrics.render())
}

/// Binds `addr`, then serves [`router`] until `shutdown` is cancelled.
/// Tells the bound address to `on_bound` (useful with port 0).
///
/// # Errors
///
/// The I/O error when the address cannot be bound or serving fails.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, router(metrics))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
