//! Turning events into rows: a task's state and facts, its timeline, and
//! the workers' last heartbeats.

use celeriac_core::events::Event;
use rusqlite::{params, Connection};
use serde_json::{Map, Value};

/// The state a task event moves a task to, Celery's names.
pub(crate) fn state_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "task-sent" => "PENDING",
        "task-received" => "RECEIVED",
        "task-started" => "STARTED",
        "task-succeeded" => "SUCCESS",
        "task-failed" => "FAILURE",
        "task-retried" => "RETRY",
        "task-revoked" => "REVOKED",
        "task-rejected" => "REJECTED",
        _ => return None,
    })
}

fn is_final(state: &str) -> bool {
    matches!(state, "SUCCESS" | "FAILURE" | "REVOKED" | "REJECTED")
}

const UPSERT: &str = "
INSERT INTO tasks (id, name, queue, state, state_at, worker, args, kwargs, result, exception, traceback,
                   retries, root_id, parent_id, eta, expires, received_at, started_at, finished_at, runtime,
                   queue_wait, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, coalesce(?12, 0), ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
        ?21, ?22)
ON CONFLICT(id) DO UPDATE SET
    name = coalesce(excluded.name, name),
    queue = coalesce(excluded.queue, queue),
    state = CASE WHEN excluded.state_at >= state_at THEN excluded.state ELSE state END,
    state_at = max(state_at, excluded.state_at),
    worker = coalesce(excluded.worker, worker),
    args = coalesce(excluded.args, args),
    kwargs = coalesce(excluded.kwargs, kwargs),
    result = coalesce(excluded.result, result),
    exception = CASE WHEN excluded.state = 'SUCCESS' AND excluded.state_at >= state_at THEN NULL
                     ELSE coalesce(excluded.exception, exception) END,
    traceback = CASE WHEN excluded.state = 'SUCCESS' AND excluded.state_at >= state_at THEN NULL
                     ELSE coalesce(excluded.traceback, traceback) END,
    retries = max(retries, coalesce(?12, retries)),
    root_id = coalesce(excluded.root_id, root_id),
    parent_id = coalesce(excluded.parent_id, parent_id),
    eta = coalesce(excluded.eta, eta),
    expires = coalesce(excluded.expires, expires),
    received_at = coalesce(excluded.received_at, received_at),
    started_at = coalesce(excluded.started_at, started_at),
    finished_at = coalesce(excluded.finished_at, finished_at),
    runtime = coalesce(excluded.runtime, runtime),
    queue_wait = coalesce(excluded.queue_wait, queue_wait),
    updated_at = max(updated_at, excluded.updated_at)
";

/// Fields of the timeline: everything but the standard ones, which have
/// their own columns.
fn timeline_fields(e: &Event) -> String {
    let mut fields: Map<String, Value> = e.fields.clone();
    fields.remove("uuid");
    serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into())
}

/// Applies one task event.
fn apply_task(conn: &Connection, e: &Event, now: f64) -> rusqlite::Result<()> {
    let (Some(id), Some(state)) = (e.uuid(), state_of(&e.kind)) else {
        return Ok(());
    };
    let s = |k: &str| e.str_field(k).filter(|v| !v.is_empty());
    let f = |k: &str| e.f64_field(k);
    let at = e.timestamp;
    let worker = (e.kind != "task-sent").then_some(e.hostname.as_str());
    let (received, started) = match e.kind.as_str() {
        "task-received" => (Some(at), None),
        "task-started" => (None, Some(at)),
        _ => (None, None),
    };
    let finished = is_final(state).then_some(at);
    conn.prepare_cached(UPSERT)?.execute(params![
        id,
        s("name"),
        s("queue").or_else(|| s("routing_key")),
        state,
        at,
        worker,
        s("args"),
        s("kwargs"),
        s("result"),
        s("exception"),
        s("traceback"),
        e.fields.get("retries").and_then(Value::as_i64),
        s("root_id"),
        s("parent_id"),
        s("eta"),
        s("expires"),
        received,
        started,
        finished,
        f("runtime"),
        f("queue_wait"),
        now,
    ])?;
    conn.prepare_cached("INSERT INTO task_events (task_id, type, at, hostname, fields) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![id, e.kind, at, e.hostname, timeline_fields(e)])?;
    Ok(())
}

/// Applies one worker event.
fn apply_worker(conn: &Connection, e: &Event) -> rusqlite::Result<()> {
    let online = e.kind != "worker-offline";
    let json = |k: &str| e.fields.get(k).map(Value::to_string);
    let sw = match (e.str_field("sw_ident"), e.str_field("sw_ver")) {
        (Some(ident), Some(ver)) => Some(format!("{ident} {ver}")),
        (Some(ident), None) => Some(ident.to_owned()),
        _ => None,
    };
    conn.prepare_cached(
        "INSERT INTO workers (hostname, worker_id, online, last_heartbeat, freq, active, processed, concurrency,
                              queues, sw, loadavg)
         VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, 0), coalesce(?7, 0), ?8, ?9, ?10, ?11)
         ON CONFLICT(hostname) DO UPDATE SET
             worker_id = coalesce(excluded.worker_id, worker_id),
             online = CASE WHEN excluded.last_heartbeat >= last_heartbeat THEN excluded.online ELSE online END,
             last_heartbeat = max(last_heartbeat, excluded.last_heartbeat),
             freq = excluded.freq,
             active = excluded.active,
             processed = excluded.processed,
             concurrency = coalesce(excluded.concurrency, concurrency),
             queues = coalesce(excluded.queues, queues),
             sw = coalesce(excluded.sw, sw),
             loadavg = coalesce(excluded.loadavg, loadavg)",
    )?
    .execute(params![
        e.hostname,
        e.str_field("worker_id"),
        online,
        e.timestamp,
        e.f64_field("freq")
            .unwrap_or(celeriac_core::events::HEARTBEAT_FREQ_SECS),
        e.fields.get("active").and_then(Value::as_i64),
        e.fields.get("processed").and_then(Value::as_i64),
        e.fields.get("concurrency").and_then(Value::as_i64),
        json("queues"),
        sw,
        json("loadavg"),
    ])?;
    Ok(())
}

/// Applies a batch and moves the stored cursor, in one transaction: after
/// a crash the batch is either fully applied with its cursor or not at all.
pub(crate) fn apply_batch(
    conn: &mut Connection,
    events: &[Event],
    cursor: Option<(&str, &str)>,
    now: f64,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for e in events {
        if e.is_task() {
            apply_task(&tx, e, now)?;
        } else if e.is_worker() {
            apply_worker(&tx, e)?;
        }
    }
    if let Some((bus, cursor)) = cursor {
        tx.prepare_cached("INSERT OR REPLACE INTO cursors (bus, cursor) VALUES (?1, ?2)")?
            .execute(params![bus, cursor])?;
    }
    tx.commit()
}

/// Deletes tasks not updated since `before` and the oldest beyond
/// `max_tasks`, with their timelines; returns how many tasks went.
pub(crate) fn prune(conn: &mut Connection, before: f64, max_tasks: u64) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let max = i64::try_from(max_tasks).unwrap_or(i64::MAX);
    let mut gone = tx.execute("DELETE FROM tasks WHERE updated_at < ?1", params![before])?;
    // Upserts leave gaps in `seq`, so the cut is found by counting.
    gone += tx.execute(
        "DELETE FROM tasks WHERE seq <= (SELECT seq FROM tasks ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
        params![max],
    )?;
    if gone > 0 {
        // Timelines of tasks that are gone; task_events(task_id) makes the
        // probe an index lookup per event row of the oldest tasks.
        tx.execute(
            "DELETE FROM task_events WHERE at < ?1 OR task_id NOT IN (SELECT id FROM tasks)",
            params![before],
        )?;
    }
    // Workers silent for a day (restarted ones have a new nodename).
    tx.execute(
        "DELETE FROM workers WHERE last_heartbeat < ?1",
        params![super::store::unix_now() - 86_400.0],
    )?;
    tx.commit()?;
    Ok(gone)
}
