//! Queue operations, each run inside the writer's transaction.

use std::collections::HashSet;

use celeriac_core::{BrokerError, DeadSelector, Delivery, DeliveryTag, NewMessage};
use rusqlite::{params, Connection, OptionalExtension};

use crate::connection::to_broker_error;
use crate::schema::{DELAYED, READY};
use crate::writer::Effects;

type Res<T> = Result<T, BrokerError>;

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn tag(id: i64, lease: i64) -> DeliveryTag {
    DeliveryTag(format!("{id}:{lease}"))
}

fn parse_tag(t: &DeliveryTag) -> Res<(i64, i64)> {
    t.0.split_once(':')
        .and_then(|(id, n)| Some((id.parse().ok()?, n.parse().ok()?)))
        .ok_or_else(|| BrokerError::Invalid(format!("`{}` is not a delivery tag of this store", t.0)))
}

/// Rows per multi-row INSERT: one statement execution carries many rows,
/// which shortens the write lock a large batch holds.
const INSERT_CHUNK: usize = 32;

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO messages(queue, priority, state, due, task_id, body) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?)");
    }
    sql
}

pub(crate) fn enqueue(conn: &Connection, messages: &[NewMessage], fx: &mut Effects) -> Res<()> {
    let now = now_ms();
    let full = insert_sql(INSERT_CHUNK);
    for chunk in messages.chunks(INSERT_CHUNK) {
        let sql = if chunk.len() == INSERT_CHUNK {
            full.clone()
        } else {
            insert_sql(chunk.len())
        };
        let mut insert = conn.prepare_cached(&sql).map_err(to_broker_error)?;
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 6);
        let fields: Vec<(i64, i64, i64)> = chunk
            .iter()
            .map(|m| {
                let due = m.eta.map_or(0, |eta| eta.timestamp_millis());
                let state = if due > now { DELAYED } else { READY };
                (i64::from(m.priority.min(9)), state, due)
            })
            .collect();
        for (m, (priority, state, due)) in chunk.iter().zip(&fields) {
            values.extend([
                &m.queue as &dyn rusqlite::ToSql,
                priority,
                state,
                due,
                &m.task_id,
                &m.payload,
            ]);
        }
        insert.execute(values.as_slice()).map_err(to_broker_error)?;
    }
    let seen: HashSet<&str> = messages.iter().map(|m| m.queue.as_str()).collect();
    let mut known = conn
        .prepare_cached("INSERT OR IGNORE INTO queues(name) VALUES (?1)")
        .map_err(to_broker_error)?;
    for q in seen {
        known.execute([q]).map_err(to_broker_error)?;
    }
    fx.queue_changed = true;
    Ok(())
}

/// Registers (or renews) a consumer; returns its row id.
pub(crate) fn touch_consumer(conn: &Connection, name: &str, lease_ms: i64) -> Res<i64> {
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO workers(name, lease_until, last_heartbeat) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET lease_until = excluded.lease_until, last_heartbeat = excluded.last_heartbeat
         RETURNING id",
    )
    .map_err(to_broker_error)?
    .query_row(params![name, now + lease_ms, now], |row| row.get(0))
    .map_err(to_broker_error)
}

/// Returns the messages of consumers whose lease ran out to their queues
/// (and forgets those consumers), puts due delayed messages on theirs, and
/// deletes expired revocations, blobs and records. Returns true if any
/// message became ready.
pub(crate) fn maintain(conn: &Connection) -> Res<bool> {
    let now = now_ms();
    let dead: Vec<i64> = conn
        .prepare_cached("SELECT id FROM workers WHERE lease_until < ?1")
        .map_err(to_broker_error)?
        .query_map([now], |row| row.get(0))
        .map_err(to_broker_error)?
        .collect::<Result<_, _>>()
        .map_err(to_broker_error)?;
    let mut orphans = 0;
    if !dead.is_empty() {
        // Leased messages have no index by owner (it would cost two index
        // writes per task); this scan runs only when a consumer has died.
        let mut release = conn
            .prepare_cached("UPDATE messages SET state = 0 WHERE state = 1 AND owner = ?1")
            .map_err(to_broker_error)?;
        let mut forget = conn
            .prepare_cached("DELETE FROM workers WHERE id = ?1")
            .map_err(to_broker_error)?;
        for id in &dead {
            orphans += release.execute([id]).map_err(to_broker_error)?;
            forget.execute([id]).map_err(to_broker_error)?;
        }
        if orphans > 0 {
            tracing::warn!(
                messages = orphans,
                "returned messages of consumers that stopped heartbeating"
            );
        }
    }
    let due = conn
        .prepare_cached("UPDATE messages SET state = 0 WHERE state = 2 AND due <= ?1")
        .map_err(to_broker_error)?
        .execute([now])
        .map_err(to_broker_error)?;
    conn.prepare_cached("DELETE FROM revoked WHERE expires_at <= ?1")
        .map_err(to_broker_error)?
        .execute([now])
        .map_err(to_broker_error)?;
    crate::blob_ops::expire(conn, now)?;
    crate::record_ops::expire(conn, now)?;
    Ok(orphans + due > 0)
}

/// A ready message as read before it is leased.
struct ReadyRow {
    id: i64,
    deliveries: i64,
    lease: i64,
    task_id: Option<String>,
    body: Vec<u8>,
}

/// A dead letter on its way back to its queue.
struct DeadRow {
    id: i64,
    queue: String,
    priority: i64,
    task_id: Option<String>,
    body: Vec<u8>,
}

/// What a fetch found: deliveries, or when the next delayed message is due.
pub(crate) struct Fetched {
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) next_due_ms: Option<i64>,
}

pub(crate) fn fetch(
    conn: &Connection,
    consumer: &str,
    queues: &[String],
    max: usize,
    lease_ms: i64,
    run_maintenance: bool,
    fx: &mut Effects,
) -> Res<Fetched> {
    let owner = touch_consumer(conn, consumer, lease_ms)?;
    let now = now_ms();
    if run_maintenance {
        if maintain(conn)? {
            fx.queue_changed = true;
        }
    } else {
        // Due delayed messages are promoted on every fetch: one index probe.
        conn.prepare_cached("UPDATE messages SET state = 0 WHERE state = 2 AND due <= ?1")
            .map_err(to_broker_error)?
            .execute([now])
            .map_err(to_broker_error)?;
    }
    // Select, then lease row by row: an UPDATE ... RETURNING would buffer
    // every returned row (bodies included) in a temporary b-tree first.
    let mut ready = conn
        .prepare_cached(
            "SELECT id, deliveries, lease, task_id, body FROM messages
             WHERE state = 0 AND queue = ?1 ORDER BY priority, id LIMIT ?2",
        )
        .map_err(to_broker_error)?;
    let any_revoked: bool = conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM revoked)")
        .map_err(to_broker_error)?
        .query_row([], |row| row.get(0))
        .map_err(to_broker_error)?;
    let mut deliveries = Vec::new();
    for queue in queues {
        let room = max.saturating_sub(deliveries.len());
        if room == 0 {
            break;
        }
        let rows: Vec<ReadyRow> = ready
            .query_map(params![queue, room as i64], |row| {
                Ok(ReadyRow {
                    id: row.get(0)?,
                    deliveries: row.get(1)?,
                    lease: row.get(2)?,
                    task_id: row.get(3)?,
                    body: row.get(4)?,
                })
            })
            .map_err(to_broker_error)?
            .collect::<Result<_, _>>()
            .map_err(to_broker_error)?;
        let mut lease = conn
            .prepare_cached("UPDATE messages SET state = 1, owner = ?2, deliveries = ?3, lease = ?4 WHERE id = ?1")
            .map_err(to_broker_error)?;
        for ReadyRow {
            id,
            deliveries: n,
            lease: serial,
            task_id,
            body: payload,
        } in rows
        {
            let (n, serial) = (n + 1, serial + 1);
            lease.execute(params![id, owner, n, serial]).map_err(to_broker_error)?;
            let revoked = match (&task_id, any_revoked) {
                (Some(t), true) => is_revoked(conn, t)?,
                _ => false,
            };
            deliveries.push(Delivery {
                tag: tag(id, serial),
                queue: queue.clone(),
                payload,
                deliveries: u32::try_from(n).unwrap_or(u32::MAX),
                task_id,
                revoked,
            });
        }
    }
    let next_due_ms = if deliveries.is_empty() {
        conn.prepare_cached("SELECT min(due) FROM messages WHERE state = 2")
            .map_err(to_broker_error)?
            .query_row([], |row| row.get(0))
            .map_err(to_broker_error)?
    } else {
        None
    };
    Ok(Fetched {
        deliveries,
        next_due_ms,
    })
}

pub(crate) fn is_revoked(conn: &Connection, task_id: &str) -> Res<bool> {
    conn.prepare_cached("SELECT EXISTS(SELECT 1 FROM revoked WHERE task_id = ?1 AND expires_at > ?2)")
        .map_err(to_broker_error)?
        .query_row(params![task_id, now_ms()], |row| row.get(0))
        .map_err(to_broker_error)
}

/// Deletes current deliveries; returns how many tags were current.
pub(crate) fn ack(conn: &Connection, tags: &[DeliveryTag]) -> Res<u64> {
    let mut delete = conn
        .prepare_cached("DELETE FROM messages WHERE id = ?1 AND lease = ?2 AND state = 1")
        .map_err(to_broker_error)?;
    let mut n = 0;
    for t in tags {
        let (id, serial) = parse_tag(t)?;
        n += delete.execute(params![id, serial]).map_err(to_broker_error)? as u64;
    }
    Ok(n)
}

pub(crate) fn requeue(conn: &Connection, tags: &[DeliveryTag], fx: &mut Effects) -> Res<u64> {
    let mut update = conn
        .prepare_cached("UPDATE messages SET state = 0 WHERE id = ?1 AND lease = ?2 AND state = 1")
        .map_err(to_broker_error)?;
    let mut n = 0;
    for t in tags {
        let (id, serial) = parse_tag(t)?;
        n += update.execute(params![id, serial]).map_err(to_broker_error)? as u64;
    }
    fx.queue_changed |= n > 0;
    Ok(n)
}

pub(crate) fn defer(conn: &Connection, t: &DeliveryTag, due_ms: i64, fx: &mut Effects) -> Res<()> {
    let (id, serial) = parse_tag(t)?;
    // Waiting for an ETA is not a delivery: undo the count the fetch added.
    conn.prepare_cached(
        "UPDATE messages SET state = 2, due = ?3, deliveries = deliveries - 1
         WHERE id = ?1 AND lease = ?2 AND state = 1",
    )
    .map_err(to_broker_error)?
    .execute(params![id, serial, due_ms])
    .map_err(to_broker_error)?;
    // A waiting fetch must recompute when to wake up.
    fx.queue_changed = true;
    Ok(())
}

pub(crate) fn dead_letter(conn: &Connection, t: &DeliveryTag, reason: &str) -> Res<()> {
    let (id, serial) = parse_tag(t)?;
    let moved = conn
        .prepare_cached(
            "INSERT INTO dead_letters(queue, priority, task_id, reason, body, deliveries, dead_at)
             SELECT queue, priority, task_id, ?3, body, deliveries, ?4
             FROM messages WHERE id = ?1 AND lease = ?2 AND state = 1",
        )
        .map_err(to_broker_error)?
        .execute(params![id, serial, reason, now_ms()])
        .map_err(to_broker_error)?;
    if moved == 1 {
        conn.prepare_cached("DELETE FROM messages WHERE id = ?1")
            .map_err(to_broker_error)?
            .execute([id])
            .map_err(to_broker_error)?;
    }
    Ok(())
}

pub(crate) fn purge(conn: &Connection, queue: &str) -> Res<u64> {
    let n = conn
        .execute("DELETE FROM messages WHERE queue = ?1 AND state IN (0, 2)", [queue])
        .map_err(to_broker_error)?;
    Ok(n as u64)
}

pub(crate) fn revoke(conn: &Connection, task_id: &str, ttl_ms: i64) -> Res<()> {
    conn.execute(
        "INSERT INTO revoked(task_id, expires_at) VALUES (?1, ?2)
         ON CONFLICT(task_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
        params![task_id, now_ms() + ttl_ms],
    )
    .map_err(to_broker_error)?;
    Ok(())
}

fn dead_filter(which: &DeadSelector) -> (&'static str, Option<String>) {
    match which {
        DeadSelector::All => ("1 = 1 OR ?1 IS NULL", None),
        DeadSelector::Queue(q) => ("queue = ?1", Some(q.clone())),
        DeadSelector::Id(id) => ("CAST(id AS TEXT) = ?1", Some(id.clone())),
    }
}

pub(crate) fn retry_dead(conn: &Connection, which: &DeadSelector, fx: &mut Effects) -> Res<u64> {
    let (filter, arg) = dead_filter(which);
    let rows: Vec<DeadRow> = conn
        .prepare(&format!(
            "SELECT id, queue, priority, task_id, body FROM dead_letters WHERE {filter} ORDER BY id"
        ))
        .map_err(to_broker_error)?
        .query_map([&arg], |row| {
            Ok(DeadRow {
                id: row.get(0)?,
                queue: row.get(1)?,
                priority: row.get(2)?,
                task_id: row.get(3)?,
                body: row.get(4)?,
            })
        })
        .map_err(to_broker_error)?
        .collect::<Result<_, _>>()
        .map_err(to_broker_error)?;
    for DeadRow {
        id,
        queue,
        priority,
        task_id,
        body,
    } in &rows
    {
        conn.execute(
            "INSERT INTO messages(queue, priority, state, due, deliveries, task_id, body)
             VALUES (?1, ?2, 0, 0, 0, ?3, ?4)",
            params![queue, priority, task_id, body],
        )
        .map_err(to_broker_error)?;
        conn.execute("DELETE FROM dead_letters WHERE id = ?1", [id])
            .map_err(to_broker_error)?;
    }
    fx.queue_changed |= !rows.is_empty();
    Ok(rows.len() as u64)
}

pub(crate) fn drop_dead(conn: &Connection, which: &DeadSelector) -> Res<u64> {
    let (filter, arg) = dead_filter(which);
    let n = conn
        .execute(&format!("DELETE FROM dead_letters WHERE {filter}"), [&arg])
        .map_err(to_broker_error)?;
    Ok(n as u64)
}

pub(crate) fn heartbeat(conn: &Connection, name: &str, info_json: &str, lease_ms: i64) -> Res<()> {
    touch_consumer(conn, name, lease_ms)?;
    conn.prepare_cached("UPDATE workers SET info = ?2 WHERE name = ?1")
        .map_err(to_broker_error)?
        .execute(params![name, info_json])
        .map_err(to_broker_error)?;
    Ok(())
}

pub(crate) fn deregister(conn: &Connection, name: &str, fx: &mut Effects) -> Res<()> {
    let id: Option<i64> = conn
        .query_row("SELECT id FROM workers WHERE name = ?1", [name], |row| row.get(0))
        .optional()
        .map_err(to_broker_error)?;
    if let Some(id) = id {
        let n = conn
            .execute("UPDATE messages SET state = 0 WHERE state = 1 AND owner = ?1", [id])
            .map_err(to_broker_error)?;
        conn.execute("DELETE FROM workers WHERE id = ?1", [id])
            .map_err(to_broker_error)?;
        fx.queue_changed |= n > 0;
    }
    Ok(())
}
