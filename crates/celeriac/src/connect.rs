//! Opening brokers and result backends from URLs.

use std::sync::Arc;

use celeriac_core::events::{EventBus, MemoryEventBus};
use celeriac_core::memory::{MemoryBackend, MemoryBlobStore, MemoryBroker, MemoryRecordStore};
use celeriac_core::{BlobStore, Broker, BrokerError, RecordStore, Resources, ResultBackend};

/// A broker, the result backend that goes with it, and the broker store's
/// blob and record stores.
#[derive(Clone)]
pub struct Backends {
    /// The broker.
    pub broker: Arc<dyn Broker>,
    /// The result backend.
    pub backend: Arc<dyn ResultBackend>,
    /// Blobs (photos and files tasks read by key), in the broker's store.
    pub blobs: Arc<dyn BlobStore>,
    /// Records (an app's state that outlives its processes), in the
    /// broker's store.
    pub records: Arc<dyn RecordStore>,
    /// The event bus (task events and worker heartbeats), in the broker's
    /// store: workers publish to it, the server's history reads it.
    pub events: Arc<dyn EventBus>,
    /// The URL the broker was opened from (the default store spelled out),
    /// with any password replaced by `***`: it is for logs and pages.
    pub broker_url: String,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends")
            .field("broker_url", &self.broker_url)
            .finish()
    }
}

impl Backends {
    /// The blob and record stores as worker resources, so tasks reach them
    /// with `ctx.resource::<Arc<dyn BlobStore>>()` (and `RecordStore`).
    pub fn resources(&self) -> Resources {
        Resources::new().with(self.blobs.clone()).with(self.records.clone())
    }
}

/// The URL of the per-user default store.
///
/// # Errors
///
/// [`BrokerError::Invalid`] when no home directory is known.
#[cfg(feature = "sqlite")]
pub fn default_broker_url() -> Result<String, BrokerError> {
    Ok(format!(
        "sqlite://{}",
        celeriac_sqlite::SqliteConfig::default_path()?.display()
    ))
}

/// Opens a broker URL, and a result backend (`result_url`, or the broker's
/// own store when `None`).
///
/// - no URL: the per-user embedded store (`sqlite://~/.local/share/celeriac/celeriac.db`);
/// - `sqlite:///path/to/file.db[?synchronous=full&result_ttl=SECONDS]`: an embedded store;
/// - `memory://`: in this process only (tests, embedding).
///
/// # Errors
///
/// [`BrokerError::Invalid`] for an unknown scheme or bad URL,
/// [`BrokerError::Unavailable`] when the store cannot be opened.
pub fn connect(broker_url: Option<&str>, result_url: Option<&str>) -> Result<Backends, BrokerError> {
    let broker_url = match broker_url.filter(|u| !u.trim().is_empty()) {
        Some(url) => url.trim().to_owned(),
        #[cfg(feature = "sqlite")]
        None => default_broker_url()?,
        #[cfg(not(feature = "sqlite"))]
        None => "memory://".to_owned(),
    };
    let (broker, own_backend, blobs, records, events) = open_one(&broker_url)?;
    let backend = match result_url.filter(|u| !u.trim().is_empty()) {
        None => own_backend,
        Some(url) if url.trim() == broker_url => own_backend,
        Some(url) => open_one(url.trim())?.1,
    };
    Ok(Backends {
        broker,
        backend,
        blobs,
        records,
        events,
        broker_url: celeriac_core::redact_password(&broker_url),
    })
}

/// A broker, the result backend, blob store, record store and event bus of
/// one store.
type Opened = (
    Arc<dyn Broker>,
    Arc<dyn ResultBackend>,
    Arc<dyn BlobStore>,
    Arc<dyn RecordStore>,
    Arc<dyn EventBus>,
);

fn open_one(url: &str) -> Result<Opened, BrokerError> {
    let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
    match scheme {
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let store = Arc::new(celeriac_sqlite::SqliteStore::open_url(url)?);
            Ok((store.clone(), store.clone(), store.clone(), store.clone(), store))
        }
        "memory" => Ok((
            Arc::new(MemoryBroker::new()),
            Arc::new(MemoryBackend::default()),
            Arc::new(MemoryBlobStore::new()),
            Arc::new(MemoryRecordStore::new()),
            Arc::new(MemoryEventBus::default()),
        )),
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "redis+unix" | "unix" => {
            let store = Arc::new(celeriac_redis::RedisStore::open_url(url)?);
            Ok((store.clone(), store.clone(), store.clone(), store.clone(), store))
        }
        "amqp" | "amqps" | "postgres" | "postgresql" => Err(BrokerError::Invalid(format!(
            "`{url}`: the {scheme} backend is not part of this build yet (available: sqlite://, redis://, memory://)"
        ))),
        _ => Err(BrokerError::Invalid(format!(
            "`{url}` is not a broker URL (expected sqlite:///path/to/file.db, redis://host:port/db or memory://)"
        ))),
    }
}
