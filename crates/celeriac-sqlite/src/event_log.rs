//! [`EventBus`] for the embedded store: an `events` table with one row per
//! published batch, trimmed to the most recent [`KEPT_BATCHES`].
//!
//! Monitors in this process are woken by a signal; monitors in other
//! processes find new rows by polling every [`POLL`], which bounds how far
//! a dashboard lags behind a separate worker process.

use std::time::Duration;

use async_trait::async_trait;
use celeriac_core::events::{Event, EventBatch, EventBus, EventCursor};
use celeriac_core::BrokerError;
use rusqlite::{params, Connection};

use crate::connection::to_broker_error;
use crate::queue_ops::now_ms;
use crate::store::SqliteStore;

/// Batches the log keeps; older ones are deleted as new ones arrive.
pub(crate) const KEPT_BATCHES: i64 = 100_000;

/// How often a waiting reader looks for other processes' events.
const POLL: Duration = Duration::from_millis(200);

fn append(conn: &Connection, batch: &[u8]) -> Result<(), BrokerError> {
    conn.prepare_cached("INSERT INTO events (at, batch) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![now_ms(), batch]))
        .map_err(to_broker_error)?;
    let id = conn.last_insert_rowid();
    // Trim now and then (the delete is a rowid range, so cheap either way).
    if id % 64 == 0 {
        conn.prepare_cached("DELETE FROM events WHERE id <= ?1")
            .and_then(|mut s| s.execute(params![id - KEPT_BATCHES]))
            .map_err(to_broker_error)?;
    }
    Ok(())
}

fn read_rows(conn: &Connection, after: i64, max: usize) -> Result<EventBatch, BrokerError> {
    let oldest: Option<i64> = conn
        .query_row("SELECT min(id) FROM events", [], |r| r.get(0))
        .map_err(to_broker_error)?;
    let missed = oldest.is_some_and(|oldest| after > 0 && oldest > after + 1);
    let mut stmt = conn
        .prepare_cached("SELECT id, batch FROM events WHERE id > ?1 ORDER BY id LIMIT 256")
        .map_err(to_broker_error)?;
    let mut rows = stmt.query(params![after]).map_err(to_broker_error)?;
    let mut out = EventBatch {
        missed,
        ..EventBatch::default()
    };
    while let Some(row) = rows.next().map_err(to_broker_error)? {
        let id: i64 = row.get(0).map_err(to_broker_error)?;
        let bytes: Vec<u8> = row.get(1).map_err(to_broker_error)?;
        match Event::decode_many(&bytes) {
            Ok(events) => out.events.extend(events),
            // Only this module writes the table; a bad row is skipped, not
            // allowed to stop every monitor forever.
            Err(e) => tracing::warn!(row = id, error = %e, "skipping an unreadable event batch"),
        }
        out.cursor = Some(EventCursor(id.to_string()));
        if out.events.len() >= max {
            break;
        }
    }
    Ok(out)
}

#[async_trait]
impl EventBus for SqliteStore {
    async fn publish(&self, events: &[Event]) -> Result<(), BrokerError> {
        if events.is_empty() {
            return Ok(());
        }
        let batch = Event::encode_many(events);
        self.writer.submit(move |conn, _| append(conn, &batch)).await?;
        self.events.bump();
        Ok(())
    }

    async fn read(&self, after: Option<&EventCursor>, max: usize, wait: Duration) -> Result<EventBatch, BrokerError> {
        let after = match after {
            Some(c) => {
                c.0.parse::<i64>()
                    .map_err(|_| BrokerError::Invalid(format!("not an embedded-store event cursor: {:?}", c.0)))?
            }
            None => 0,
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let seen = self.events.generation();
            let batch = self
                .readers
                .read_blocking(move |conn| read_rows(conn, after, max.max(1)))
                .await?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if batch.cursor.is_some() || batch.missed || left.is_zero() {
                return Ok(batch);
            }
            self.events.changed_since(seen, left.min(POLL)).await;
        }
    }
}
