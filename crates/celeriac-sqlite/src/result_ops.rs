//! Result operations: writes in the writer's transaction, reads on a reader.

use celeriac_core::{BrokerError, TaskResult};
use rusqlite::{params, Connection, OptionalExtension};

use crate::connection::to_broker_error;
use crate::queue_ops::now_ms;
use crate::writer::Effects;

type Res<T> = Result<T, BrokerError>;

/// A result ready for the table.
pub(crate) struct Row {
    task_id: String,
    state: String,
    doc: Vec<u8>,
}

impl Row {
    pub(crate) fn from_result(r: &TaskResult) -> Row {
        Row {
            task_id: r.task_id.clone(),
            state: r.state.as_str().to_owned(),
            doc: r.to_document(),
        }
    }
}

pub(crate) fn store(conn: &Connection, results: &[Row], ttl_ms: Option<i64>, fx: &mut Effects) -> Res<()> {
    let now = now_ms();
    let expires = ttl_ms.map(|ttl| now + ttl);
    // The WHERE clause is TaskResult::may_replace in SQL: SUCCESS is final,
    // and a ready state is replaced only by a ready state; expired rows go.
    let mut upsert = conn
        .prepare_cached(
            "INSERT INTO results(task_id, state, doc, expires_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(task_id) DO UPDATE SET state = excluded.state, doc = excluded.doc, expires_at = excluded.expires_at
             WHERE (results.expires_at IS NOT NULL AND results.expires_at <= ?5)
                OR (results.state <> 'SUCCESS'
                    AND (results.state NOT IN ('FAILURE', 'REVOKED')
                         OR excluded.state IN ('SUCCESS', 'FAILURE', 'REVOKED')))",
        )
        .map_err(to_broker_error)?;
    for r in results {
        upsert
            .execute(params![r.task_id, r.state, r.doc, expires, now])
            .map_err(to_broker_error)?;
    }
    fx.results_changed |= !results.is_empty();
    Ok(())
}

pub(crate) fn get(conn: &Connection, task_id: &str) -> Res<Option<TaskResult>> {
    let doc: Option<Vec<u8>> = conn
        .prepare_cached("SELECT doc FROM results WHERE task_id = ?1 AND (expires_at IS NULL OR expires_at > ?2)")
        .map_err(to_broker_error)?
        .query_row(params![task_id, now_ms()], |row| row.get(0))
        .optional()
        .map_err(to_broker_error)?;
    match doc {
        None => Ok(None),
        Some(doc) => TaskResult::from_document(&doc)
            .map(Some)
            .map_err(|e| BrokerError::Internal(format!("stored result of {task_id} is unreadable: {e}"))),
    }
}

pub(crate) fn forget(conn: &Connection, task_id: &str) -> Res<()> {
    conn.prepare_cached("DELETE FROM results WHERE task_id = ?1")
        .map_err(to_broker_error)?
        .execute([task_id])
        .map_err(to_broker_error)?;
    Ok(())
}

pub(crate) fn expire(conn: &Connection) -> Res<u64> {
    let n = conn
        .prepare_cached("DELETE FROM results WHERE expires_at IS NOT NULL AND expires_at <= ?1")
        .map_err(to_broker_error)?
        .execute([now_ms()])
        .map_err(to_broker_error)?;
    Ok(n as u64)
}
