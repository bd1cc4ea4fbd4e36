//! Record operations: writes in the writer's transaction, reads on a reader.

use celeriac_core::{BrokerError, Record};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::connection::to_broker_error;
use crate::queue_ops::now_ms;

type Res<T> = Result<T, BrokerError>;

/// A record ready for the table: the document already encoded.
pub(crate) struct NewRecord {
    pub(crate) collection: String,
    pub(crate) id: String,
    pub(crate) doc: Vec<u8>,
    pub(crate) expires_at: Option<i64>,
}

pub(crate) fn put(conn: &Connection, record: &NewRecord) -> Res<()> {
    let now = now_ms();
    // An expired record of the same id is gone: the new one is created now
    // and takes a fresh place in the order.
    conn.prepare_cached(
        "DELETE FROM records WHERE collection = ?1 AND id = ?2 AND expires_at IS NOT NULL AND expires_at <= ?3",
    )
    .map_err(to_broker_error)?
    .execute(params![record.collection, record.id, now])
    .map_err(to_broker_error)?;
    conn.prepare_cached(
        "INSERT INTO records(collection, id, created_at, expires_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(collection, id) DO UPDATE SET doc = excluded.doc, expires_at = excluded.expires_at",
    )
    .map_err(to_broker_error)?
    .execute(params![
        record.collection,
        record.id,
        now,
        record.expires_at,
        record.doc
    ])
    .map_err(to_broker_error)?;
    Ok(())
}

/// Reads the columns `id, created_at, doc`.
fn from_row(row: &Row<'_>) -> rusqlite::Result<(String, i64, Vec<u8>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn decode(collection: &str, (id, created_ms, doc): (String, i64, Vec<u8>)) -> Res<Record> {
    let doc = serde_json::from_slice(&doc)
        .map_err(|e| BrokerError::Internal(format!("record {collection}/{id} is not valid JSON: {e}")))?;
    let created_at = DateTime::<Utc>::from_timestamp_millis(created_ms).unwrap_or_default();
    Ok(Record { id, created_at, doc })
}

pub(crate) fn get(conn: &Connection, collection: &str, id: &str) -> Res<Option<Record>> {
    let row = conn
        .prepare_cached(
            "SELECT id, created_at, doc FROM records
             WHERE collection = ?1 AND id = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
        )
        .map_err(to_broker_error)?
        .query_row(params![collection, id, now_ms()], from_row)
        .optional()
        .map_err(to_broker_error)?;
    row.map(|row| decode(collection, row)).transpose()
}

pub(crate) fn recent(conn: &Connection, collection: &str, limit: usize) -> Res<Vec<Record>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows: Vec<(String, i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT id, created_at, doc FROM records
             WHERE collection = ?1 AND (expires_at IS NULL OR expires_at > ?2)
             ORDER BY seq DESC LIMIT ?3",
        )
        .map_err(to_broker_error)?
        .query_map(params![collection, now_ms(), limit], from_row)
        .map_err(to_broker_error)?
        .collect::<Result<_, _>>()
        .map_err(to_broker_error)?;
    rows.into_iter().map(|row| decode(collection, row)).collect()
}

/// Deletes the record; true if it was there and live.
pub(crate) fn delete(conn: &Connection, collection: &str, id: &str) -> Res<bool> {
    let expires_at: Option<Option<i64>> = conn
        .prepare_cached("DELETE FROM records WHERE collection = ?1 AND id = ?2 RETURNING expires_at")
        .map_err(to_broker_error)?
        .query_row([collection, id], |row| row.get(0))
        .optional()
        .map_err(to_broker_error)?;
    Ok(expires_at.is_some_and(|e| e.is_none_or(|at| at > now_ms())))
}

/// Deletes records whose time to live has passed; returns how many.
pub(crate) fn expire(conn: &Connection, now: i64) -> Res<usize> {
    conn.prepare_cached("DELETE FROM records WHERE expires_at IS NOT NULL AND expires_at <= ?1")
        .map_err(to_broker_error)?
        .execute([now])
        .map_err(to_broker_error)
}
