//! The history keeper: reads the event bus from the stored cursor, applies
//! each batch to the history, passes it to live listeners (the SSE
//! streams), and prunes by retention now and then.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::events::{Event, EventBus};
use celeriac_core::BrokerError;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::History;

/// Most events applied in one transaction.
const MAX_BATCH: usize = 5_000;

/// How often old tasks are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The running keeper: subscribe to the events it applies.
#[derive(Debug, Clone)]
pub struct KeeperHandle {
    live: broadcast::Sender<Arc<Vec<Event>>>,
}

impl KeeperHandle {
    /// Batches of events as they are applied. A listener that falls more
    /// than a few hundred batches behind loses the oldest (it is told by
    /// `RecvError::Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Vec<Event>>> {
        self.live.subscribe()
    }
}

/// Starts the keeper for `bus`, named `bus_name` in the stored cursors (so
/// one history can follow a given store across restarts).
pub fn spawn_keeper(
    history: Arc<History>,
    bus: Arc<dyn EventBus>,
    bus_name: String,
    shutdown: CancellationToken,
) -> KeeperHandle {
    let (live, _) = broadcast::channel(1024);
    let handle = KeeperHandle { live: live.clone() };
    tokio::spawn(async move {
        if let Err(e) = keep(&history, bus.as_ref(), &bus_name, &live, &shutdown).await {
            tracing::error!(error = %e, "the history keeper stopped");
        }
    });
    handle
}

async fn keep(
    history: &Arc<History>,
    bus: &dyn EventBus,
    bus_name: &str,
    live: &broadcast::Sender<Arc<Vec<Event>>>,
    shutdown: &CancellationToken,
) -> Result<(), BrokerError> {
    let mut cursor = history.cursor(bus_name).await?;
    let mut backoff = Duration::from_millis(100);
    let mut next_prune = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_prune {
            match history.prune().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tasks = n, "pruned old tasks from the history"),
                Err(e) => tracing::warn!(error = %e, "could not prune the history"),
            }
            next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
        }
        let read = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Ok(()),
            r = bus.read(cursor.as_ref(), MAX_BATCH, Duration::from_secs(1)) => r,
        };
        let batch = match read {
            Ok(b) => b,
            Err(BrokerError::Invalid(why)) => {
                // The stored cursor belongs to another store (the bus was
                // reset or replaced): start from what this one keeps.
                tracing::warn!(%why, "the stored event cursor is not valid here; reading from the oldest event kept");
                cursor = None;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading events failed; retrying in {backoff:?}");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        if batch.missed {
            tracing::warn!(
                "the event log dropped events before the history read them (the server was behind or down for long)"
            );
        }
        let Some(next) = batch.cursor else { continue };
        let events = batch.events;
        let mut delay = Duration::from_millis(100);
        loop {
            match history.apply(events.clone(), bus_name, Some(next.clone())).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "writing the history failed; retrying in {delay:?}");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        cursor = Some(next);
        if !events.is_empty() {
            // No listener is not an error.
            let _ = live.send(Arc::new(events));
        }
    }
}
