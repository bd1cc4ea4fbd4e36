//! Read-only listings: queue statistics, workers, dead letters.

use celeriac_core::{BrokerError, DeadLetter, QueueStats, WorkerInfo, WorkerStatus};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection};

use crate::connection::to_broker_error;
use crate::queue_ops::now_ms;

type Res<T> = Result<T, BrokerError>;

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn stats(conn: &Connection) -> Res<Vec<QueueStats>> {
    let queues: Vec<String> = conn
        .prepare("SELECT name FROM queues UNION SELECT DISTINCT queue FROM dead_letters ORDER BY 1")
        .map_err(to_broker_error)?
        .query_map([], |row| row.get(0))
        .map_err(to_broker_error)?
        .collect::<Result<_, _>>()
        .map_err(to_broker_error)?;
    let mut out = Vec::with_capacity(queues.len());
    for queue in queues {
        // Each count walks only its state's partial index.
        let count = |sql: &str| -> Res<u64> {
            conn.prepare_cached(sql)
                .map_err(to_broker_error)?
                .query_row([&queue], |row| row.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(to_broker_error)
        };
        out.push(QueueStats {
            ready: count("SELECT count(*) FROM messages WHERE state = 0 AND queue = ?1")?,
            in_flight: count("SELECT count(*) FROM messages WHERE state = 1 AND queue = ?1")?,
            delayed: count("SELECT count(*) FROM messages WHERE state = 2 AND queue = ?1")?,
            dead: count("SELECT count(*) FROM dead_letters WHERE queue = ?1")?,
            queue,
        });
    }
    Ok(out)
}

pub(crate) fn workers(conn: &Connection) -> Res<Vec<WorkerStatus>> {
    let now = now_ms();
    // One scan for every worker's count (leases are not indexed by owner).
    let rows: Vec<(String, i64, i64, i64)> = conn
        .prepare(
            "WITH held AS (SELECT owner, count(*) AS n FROM messages WHERE state = 1 GROUP BY owner)
             SELECT w.info, w.lease_until, w.last_heartbeat, coalesce(held.n, 0)
             FROM workers w LEFT JOIN held ON held.owner = w.id
             WHERE w.info IS NOT NULL ORDER BY w.name",
        )
        .map_err(to_broker_error)?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .map_err(to_broker_error)?
        .collect::<Result<_, _>>()
        .map_err(to_broker_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for (info, lease_until, last, in_flight) in rows {
        let Ok(info) = serde_json::from_str::<WorkerInfo>(&info) else {
            continue; // written by an incompatible version; not ours to show
        };
        out.push(WorkerStatus {
            info,
            last_heartbeat: time(last),
            alive: lease_until > now,
            in_flight: in_flight as u64,
        });
    }
    Ok(out)
}

pub(crate) fn dead_letters(conn: &Connection, queue: Option<&str>, limit: usize) -> Res<Vec<DeadLetter>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, queue, task_id, reason, body, deliveries, dead_at FROM dead_letters
             WHERE ?1 IS NULL OR queue = ?1 ORDER BY id LIMIT ?2",
        )
        .map_err(to_broker_error)?;
    let rows = stmt
        .query_map(params![queue, limit as i64], |row| {
            Ok(DeadLetter {
                id: row.get::<_, i64>(0)?.to_string(),
                queue: row.get(1)?,
                task_id: row.get(2)?,
                reason: row.get(3)?,
                payload: row.get(4)?,
                deliveries: u32::try_from(row.get::<_, i64>(5)?).unwrap_or(0),
                dead_at: time(row.get(6)?),
            })
        })
        .map_err(to_broker_error)?
        .collect::<Result<_, _>>()
        .map_err(to_broker_error)?;
    Ok(rows)
}
