//! Read-only work on pooled connections: WAL readers never wait for writers.

use std::sync::{Arc, Mutex};

use celeriac_core::BrokerError;
use rusqlite::Connection;

use crate::config::SqliteConfig;
use crate::connection::open;

/// A small pool of reader connections.
pub(crate) struct Readers {
    config: SqliteConfig,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(config: SqliteConfig) -> Arc<Readers> {
        Arc::new(Readers {
            config,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs a short read (an index lookup) on the calling thread.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, BrokerError>) -> Result<T, BrokerError> {
        let conn = match self.idle.lock().map(|mut idle| idle.pop()) {
            Ok(Some(conn)) => conn,
            _ => open(&self.config, false)?,
        };
        let out = f(&conn);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < 4 {
                idle.push(conn);
            }
        }
        out
    }

    /// Runs a read that may scan (statistics, listings) off the async threads.
    pub(crate) async fn read_blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, BrokerError> + Send + 'static,
    {
        let readers = self.clone();
        tokio::task::spawn_blocking(move || readers.read(f))
            .await
            .map_err(|e| BrokerError::Internal(format!("reader task failed: {e}")))?
    }
}
