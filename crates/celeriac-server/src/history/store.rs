//! The history file: one write connection (the keeper's) and a few read
//! connections for queries, in WAL mode so reads never wait for writes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use celeriac_core::events::{Event, EventCursor};
use celeriac_core::BrokerError;
use rusqlite::{Connection, OptionalExtension as _};

use super::apply;
use super::schema::SCHEMA;

/// Where the history lives and how long it keeps tasks.
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// The SQLite file (created if missing).
    pub path: PathBuf,
    /// Tasks not updated for this long are deleted (default 7 days).
    pub retention: Duration,
    /// At most this many tasks are kept, the oldest going first (default
    /// 1,000,000).
    pub max_tasks: u64,
}

impl HistoryConfig {
    /// Defaults for a history at `path`.
    pub fn new(path: impl Into<PathBuf>) -> HistoryConfig {
        HistoryConfig {
            path: path.into(),
            retention: Duration::from_secs(7 * 24 * 3600),
            max_tasks: 1_000_000,
        }
    }
}

/// The server's task history.
pub struct History {
    config: HistoryConfig,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("path", &self.config.path).finish()
    }
}

pub(crate) fn db_error(e: rusqlite::Error) -> BrokerError {
    BrokerError::Unavailable(format!("history store: {e}"))
}

fn open_connection(path: &std::path::Path) -> Result<Connection, BrokerError> {
    let conn = Connection::open(path).map_err(db_error)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(db_error)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;")
        .map_err(db_error)?;
    Ok(conn)
}

pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl History {
    /// Opens (creating if needed) the history at `config.path`.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be opened or its
    /// directory created.
    pub fn open(config: HistoryConfig) -> Result<Arc<History>, BrokerError> {
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| BrokerError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let writer = open_connection(&config.path)?;
        writer.execute_batch(SCHEMA).map_err(db_error)?;
        Ok(Arc::new(History {
            config,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        }))
    }

    /// Its configuration.
    pub fn config(&self) -> &HistoryConfig {
        &self.config
    }

    /// Runs `f` on a read connection, off the async threads.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match this.readers.lock().map(|mut r| r.pop()) {
                Ok(Some(c)) => c,
                _ => open_connection(&this.config.path)?,
            };
            let out = f(&conn).map_err(db_error);
            if let Ok(mut idle) = this.readers.lock() {
                if idle.len() < 4 {
                    idle.push(conn);
                }
            }
            out
        })
        .await
        .map_err(|e| BrokerError::Internal(format!("history reader failed: {e}")))?
    }

    async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = this
                .writer
                .lock()
                .map_err(|_| BrokerError::Internal("history writer lock poisoned".into()))?;
            f(&mut conn).map_err(db_error)
        })
        .await
        .map_err(|e| BrokerError::Internal(format!("history writer failed: {e}")))?
    }

    /// Applies a batch of events read from `bus` up to `cursor`, in one
    /// transaction with the cursor.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be written.
    pub async fn apply(
        self: &Arc<Self>,
        events: Vec<Event>,
        bus: &str,
        cursor: Option<EventCursor>,
    ) -> Result<(), BrokerError> {
        let bus = bus.to_owned();
        self.write(move |conn| {
            let cursor = cursor.as_ref().map(|c| (bus.as_str(), c.0.as_str()));
            apply::apply_batch(conn, &events, cursor, unix_now())
        })
        .await
    }

    /// Where reading `bus` stopped last time.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be read.
    pub async fn cursor(self: &Arc<Self>, bus: &str) -> Result<Option<EventCursor>, BrokerError> {
        let bus = bus.to_owned();
        self.read(move |conn| {
            conn.query_row("SELECT cursor FROM cursors WHERE bus = ?1", [bus], |r| r.get(0))
                .optional()
                .map(|c: Option<String>| c.map(EventCursor))
        })
        .await
    }

    /// Deletes what retention says is too old; returns how many tasks went.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be written.
    pub async fn prune(self: &Arc<Self>) -> Result<usize, BrokerError> {
        let before = unix_now() - self.config.retention.as_secs_f64();
        let max = self.config.max_tasks;
        self.write(move |conn| apply::prune(conn, before, max)).await
    }
}
