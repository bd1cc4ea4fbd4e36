//! Blob operations: writes in the writer's transaction, reads on a reader.

use celeriac_core::{Blob, BrokerError};
use rusqlite::{params, Connection, OptionalExtension};

use crate::connection::to_broker_error;
use crate::queue_ops::now_ms;

type Res<T> = Result<T, BrokerError>;

pub(crate) fn put(conn: &Connection, key: &str, content_type: &str, data: &[u8], expires_at: Option<i64>) -> Res<()> {
    conn.prepare_cached("INSERT INTO blobs(key, content_type, expires_at, data) VALUES (?1, ?2, ?3, ?4)")
        .map_err(to_broker_error)?
        .execute(params![key, content_type, expires_at, data])
        .map_err(to_broker_error)?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, key: &str) -> Res<Option<Blob>> {
    conn.prepare_cached(
        "SELECT content_type, data FROM blobs WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
    )
    .map_err(to_broker_error)?
    .query_row(params![key, now_ms()], |row| {
        Ok(Blob {
            content_type: row.get(0)?,
            data: row.get(1)?,
        })
    })
    .optional()
    .map_err(to_broker_error)
}

/// Deletes the blob; true if it was there and live.
pub(crate) fn delete(conn: &Connection, key: &str) -> Res<bool> {
    let expires_at: Option<Option<i64>> = conn
        .prepare_cached("DELETE FROM blobs WHERE key = ?1 RETURNING expires_at")
        .map_err(to_broker_error)?
        .query_row([key], |row| row.get(0))
        .optional()
        .map_err(to_broker_error)?;
    Ok(expires_at.is_some_and(|e| e.is_none_or(|at| at > now_ms())))
}

/// Deletes blobs whose time to live has passed; returns how many.
pub(crate) fn expire(conn: &Connection, now: i64) -> Res<usize> {
    conn.prepare_cached("DELETE FROM blobs WHERE expires_at IS NOT NULL AND expires_at <= ?1")
        .map_err(to_broker_error)?
        .execute([now])
        .map_err(to_broker_error)
}
