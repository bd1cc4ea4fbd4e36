//! The store handle: one writer thread, a reader pool and the wake channels.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use celeriac_core::BrokerError;

use crate::checkpoint::Checkpointer;
use crate::config::SqliteConfig;
use crate::connection::initialize;
use crate::queue_ops::now_ms;
use crate::reader::Readers;
use crate::wake::WakeHub;
use crate::writer::Writer;

/// How often a process looks for consumers that stopped heartbeating.
pub(crate) const MAINTENANCE_EVERY_MS: i64 = 1_000;

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The embedded broker and result store.
///
/// Every process on the host opens the same file; a web server can enqueue
/// while separate worker processes consume, and each is woken by the
/// others' commits through inotify. Use it as both a [`Broker`] and a
/// [`ResultBackend`] (it implements both, and [`BlobStore`] and
/// [`RecordStore`] for the data tasks and apps share):
///
/// ```no_run
/// # async fn demo() -> Result<(), celeriac_core::BrokerError> {
/// use std::sync::Arc;
/// use celeriac_core::{Broker, ResultBackend};
/// use celeriac_sqlite::{SqliteConfig, SqliteStore};
/// let store = Arc::new(SqliteStore::open(SqliteConfig::new("/tmp/celeriac.db"))?);
/// let broker: Arc<dyn Broker> = store.clone();
/// let results: Arc<dyn ResultBackend> = store;
/// # Ok(()) }
/// ```
///
/// [`Broker`]: celeriac_core::Broker
/// [`ResultBackend`]: celeriac_core::ResultBackend
/// [`BlobStore`]: celeriac_core::BlobStore
/// [`RecordStore`]: celeriac_core::RecordStore
pub struct SqliteStore {
    pub(crate) config: SqliteConfig,
    pub(crate) writer: Writer,
    pub(crate) readers: Arc<Readers>,
    pub(crate) wake: Arc<WakeHub>,
    next_maintenance_ms: AtomicI64,
    /// Bumped after this process appends events (other processes' appends
    /// are found by polling the log).
    pub(crate) events: celeriac_core::Signal,
    _checkpointer: Option<Checkpointer>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.config.path).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store described by `config`.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be opened or
    /// created, [`BrokerError::Invalid`] when it belongs to a newer version.
    pub fn open(config: SqliteConfig) -> Result<Self, BrokerError> {
        initialize(&config)?;
        let wake = Arc::new(WakeHub::open(&config.path));
        let writer = Writer::start(&config, wake.clone())?;
        let readers = Readers::new(config.clone());
        let checkpointer = Checkpointer::start(&config);
        Ok(SqliteStore {
            config,
            writer,
            readers,
            wake,
            next_maintenance_ms: AtomicI64::new(0),
            events: celeriac_core::Signal::default(),
            _checkpointer: checkpointer,
        })
    }

    /// Opens the store at a `sqlite://` URL.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`], and [`BrokerError::Invalid`] for a bad URL.
    pub fn open_url(url: &str) -> Result<Self, BrokerError> {
        SqliteStore::open(SqliteConfig::from_url(url)?)
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &SqliteConfig {
        &self.config
    }

    /// The result TTL in milliseconds, `None` for no expiry.
    pub(crate) fn result_ttl_ms(&self) -> Option<i64> {
        self.config
            .result_ttl
            .map(|t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX))
    }

    /// True if this call should run the lease sweep (at most once a second
    /// per process, so the hot path stays an index probe).
    pub(crate) fn maintenance_due(&self) -> bool {
        let now = now_ms();
        let next = self.next_maintenance_ms.load(Ordering::Relaxed);
        now >= next
            && self
                .next_maintenance_ms
                .compare_exchange(next, now + MAINTENANCE_EVERY_MS, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Longest sleep between checks when nothing wakes us: without inotify
    /// we must poll; with it we still look now and then for dead consumers.
    pub(crate) fn idle_check(&self) -> Duration {
        if self.wake.is_push() {
            Duration::from_millis(MAINTENANCE_EVERY_MS as u64)
        } else {
            Duration::from_millis(20)
        }
    }
}
