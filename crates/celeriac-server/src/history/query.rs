//! What the API and dashboard ask of the history.

use std::collections::BTreeMap;
use std::sync::Arc;

use celeriac_core::BrokerError;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension as _, Row};
use serde::{Deserialize, Serialize};

use super::store::{unix_now, History};

/// Filters of a task listing; `None` fields do not filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFilter {
    /// Celery state: `PENDING`, `RECEIVED`, `STARTED`, `SUCCESS`, `FAILURE`,
    /// `RETRY`, `REVOKED`.
    pub state: Option<String>,
    /// Task name, exact.
    pub name: Option<String>,
    /// Queue, exact.
    pub queue: Option<String>,
    /// Worker hostname, exact.
    pub worker: Option<String>,
    /// Task id or name containing this text.
    pub search: Option<String>,
    /// Updated at or after this unix time.
    pub since: Option<f64>,
    /// Updated before this unix time.
    pub until: Option<f64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<usize>,
    /// Continue after this `next` token of the previous page.
    pub after: Option<i64>,
}

/// One task in a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRow {
    /// Task id.
    pub id: String,
    /// Task name.
    pub name: Option<String>,
    /// Queue it came from.
    pub queue: Option<String>,
    /// Celery state.
    pub state: String,
    /// Worker hostname.
    pub worker: Option<String>,
    /// Retries so far.
    pub retries: i64,
    /// When a worker received it (unix time).
    pub received_at: Option<f64>,
    /// When it started.
    pub started_at: Option<f64>,
    /// When it ended.
    pub finished_at: Option<f64>,
    /// Run time, seconds.
    pub runtime: Option<f64>,
    /// Short rendering of the result.
    pub result: Option<String>,
    /// Short rendering of the exception.
    pub exception: Option<String>,
    /// Last change (unix time).
    pub updated_at: f64,
}

/// A page of tasks, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct TaskPage {
    /// The tasks.
    pub tasks: Vec<TaskRow>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<i64>,
}

/// One event in a task's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Event type (`task-started`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix time.
    pub at: f64,
    /// Who sent it.
    pub hostname: String,
    /// The event's own fields.
    pub fields: serde_json::Value,
}

/// Everything the history knows about one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskDetail {
    /// The listing fields.
    #[serde(flatten)]
    pub row: TaskRow,
    /// Arguments (rendering).
    pub args: Option<String>,
    /// Keyword arguments (rendering).
    pub kwargs: Option<String>,
    /// The failure's traceback or detail.
    pub traceback: Option<String>,
    /// Workflow root.
    pub root_id: Option<String>,
    /// The task that sent it.
    pub parent_id: Option<String>,
    /// Tasks it sent (by parent id).
    pub children: Vec<String>,
    /// ETA, ISO 8601.
    pub eta: Option<String>,
    /// Expiry, ISO 8601.
    pub expires: Option<String>,
    /// Seconds between enqueue and start, when known.
    pub queue_wait: Option<f64>,
    /// Its events in time order (senders' clocks), arrival order for ties.
    pub timeline: Vec<TimelineEntry>,
}

/// A worker as its heartbeats describe it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRow {
    /// Nodename.
    pub hostname: String,
    /// Celeriac worker id, when it is one.
    pub worker_id: Option<String>,
    /// Heartbeat within twice its interval and not gone offline.
    pub alive: bool,
    /// Last heartbeat (unix time).
    pub last_heartbeat: f64,
    /// Tasks running at the last heartbeat.
    pub active: i64,
    /// Tasks run since it started.
    pub processed: i64,
    /// Most tasks at once.
    pub concurrency: Option<i64>,
    /// Queues consumed.
    pub queues: Option<serde_json::Value>,
    /// Software and version.
    pub software: Option<String>,
    /// Load averages.
    pub loadavg: Option<serde_json::Value>,
}

/// Tasks finished in one time bucket.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputPoint {
    /// Bucket start (unix time).
    pub at: f64,
    /// Succeeded.
    pub succeeded: i64,
    /// Failed.
    pub failed: i64,
    /// Mean run time of the bucket, seconds.
    pub mean_runtime: Option<f64>,
    /// Mean time from receipt to start, seconds.
    pub mean_wait: Option<f64>,
}

const ROW_COLUMNS: &str =
    "seq, id, name, queue, state, worker, retries, received_at, started_at, finished_at, runtime, result, exception, updated_at";

fn task_row(r: &Row<'_>) -> rusqlite::Result<(i64, TaskRow)> {
    Ok((
        r.get(0)?,
        TaskRow {
            id: r.get(1)?,
            name: r.get(2)?,
            queue: r.get(3)?,
            state: r.get(4)?,
            worker: r.get(5)?,
            retries: r.get(6)?,
            received_at: r.get(7)?,
            started_at: r.get(8)?,
            finished_at: r.get(9)?,
            runtime: r.get(10)?,
            result: r.get(11)?,
            exception: r.get(12)?,
            updated_at: r.get(13)?,
        },
    ))
}

fn list(conn: &Connection, f: &TaskFilter) -> rusqlite::Result<TaskPage> {
    let limit = f.limit.unwrap_or(50).clamp(1, 500);
    let mut clauses = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    let mut exact = |column: &str, value: &Option<String>| {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?"));
            args.push(SqlValue::Text(v.clone()));
        }
    };
    exact("state", &f.state.as_ref().map(|s| s.to_ascii_uppercase()));
    exact("name", &f.name);
    exact("queue", &f.queue);
    exact("worker", &f.worker);
    if let Some(text) = &f.search {
        clauses.push("(instr(id, ?) > 0 OR instr(coalesce(name, ''), ?) > 0)".into());
        args.push(SqlValue::Text(text.clone()));
        args.push(SqlValue::Text(text.clone()));
    }
    if let Some(since) = f.since {
        clauses.push("updated_at >= ?".into());
        args.push(SqlValue::Real(since));
    }
    if let Some(until) = f.until {
        clauses.push("updated_at < ?".into());
        args.push(SqlValue::Real(until));
    }
    if let Some(after) = f.after {
        clauses.push("seq < ?".into());
        args.push(SqlValue::Integer(after));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    // One more than the page, to know whether there is a next one.
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM tasks {filter} ORDER BY seq DESC LIMIT {}",
        limit + 1
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows: Vec<(i64, TaskRow)> = stmt
        .query_map(params_from_iter(args), task_row)?
        .collect::<Result<_, _>>()?;
    let next = (rows.len() > limit).then(|| rows[limit - 1].0);
    rows.truncate(limit);
    Ok(TaskPage {
        tasks: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    })
}

fn detail(conn: &Connection, id: &str) -> rusqlite::Result<Option<TaskDetail>> {
    // One read transaction: the row, its children and its timeline from the
    // same snapshot (a batch committed between them would show a timeline
    // ahead of the row).
    let tx = conn.unchecked_transaction()?;
    let conn: &Connection = &tx;
    let sql = format!(
        "SELECT {ROW_COLUMNS}, args, kwargs, traceback, root_id, parent_id, eta, expires, queue_wait FROM tasks WHERE id = ?1"
    );
    let found = conn
        .query_row(&sql, [id], |r| {
            let (_, row) = task_row(r)?;
            Ok(TaskDetail {
                row,
                args: r.get(14)?,
                kwargs: r.get(15)?,
                traceback: r.get(16)?,
                root_id: r.get(17)?,
                parent_id: r.get(18)?,
                eta: r.get(19)?,
                expires: r.get(20)?,
                queue_wait: r.get(21)?,
                children: Vec::new(),
                timeline: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut d) = found else { return Ok(None) };
    let mut children = conn.prepare_cached("SELECT id FROM tasks WHERE parent_id = ?1 ORDER BY seq LIMIT 1000")?;
    d.children = children.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let mut events = conn.prepare_cached(
        "SELECT type, at, hostname, fields FROM task_events WHERE task_id = ?1 ORDER BY at, seq LIMIT 1000",
    )?;
    d.timeline = events
        .query_map([id], |r| {
            let fields: String = r.get(3)?;
            Ok(TimelineEntry {
                kind: r.get(0)?,
                at: r.get(1)?,
                hostname: r.get(2)?,
                fields: serde_json::from_str(&fields).unwrap_or(serde_json::Value::Null),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(d))
}

fn workers(conn: &Connection, now: f64) -> rusqlite::Result<Vec<WorkerRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT hostname, worker_id, online, last_heartbeat, freq, active, processed, concurrency, queues, sw, loadavg
         FROM workers ORDER BY hostname",
    )?;
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    let rows = stmt.query_map([], |r| {
        let online: bool = r.get(2)?;
        let last: f64 = r.get(3)?;
        let freq: f64 = r.get(4)?;
        Ok(WorkerRow {
            hostname: r.get(0)?,
            worker_id: r.get(1)?,
            // Celery's monitors: offline after twice the interval.
            alive: online && last + 2.0 * freq >= now,
            last_heartbeat: last,
            active: r.get(5)?,
            processed: r.get(6)?,
            concurrency: r.get(7)?,
            queues: json(r.get(8)?),
            software: r.get(9)?,
            loadavg: json(r.get(10)?),
        })
    })?;
    rows.collect()
}

fn throughput(conn: &Connection, since: f64, bucket: f64) -> rusqlite::Result<Vec<ThroughputPoint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT CAST(finished_at / ?2 AS INTEGER) * ?2 AS b,
                sum(state = 'SUCCESS'), sum(state = 'FAILURE'), avg(runtime), avg(started_at - received_at)
         FROM tasks WHERE finished_at >= ?1 GROUP BY b ORDER BY b",
    )?;
    let rows = stmt.query_map(rusqlite::params![since, bucket], |r| {
        Ok(ThroughputPoint {
            at: r.get(0)?,
            succeeded: r.get(1)?,
            failed: r.get(2)?,
            mean_runtime: r.get(3)?,
            mean_wait: r.get(4)?,
        })
    })?;
    rows.collect()
}

fn rates_per_queue(conn: &Connection, since: f64) -> rusqlite::Result<BTreeMap<String, (i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT queue, sum(state = 'SUCCESS'), sum(state = 'FAILURE') FROM tasks
         WHERE finished_at >= ?1 AND queue IS NOT NULL GROUP BY queue",
    )?;
    let rows = stmt.query_map([since], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?))))?;
    rows.collect()
}

impl History {
    /// Tasks succeeded and failed per queue since `since`.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be read.
    pub async fn rates_per_queue(self: &Arc<Self>, since: f64) -> Result<BTreeMap<String, (i64, i64)>, BrokerError> {
        self.read(move |conn| rates_per_queue(conn, since)).await
    }

    /// A page of tasks matching `filter`, newest first.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be read.
    pub async fn tasks(self: &Arc<Self>, filter: TaskFilter) -> Result<TaskPage, BrokerError> {
        self.read(move |conn| list(conn, &filter)).await
    }

    /// One task with its timeline and children.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be read.
    pub async fn task(self: &Arc<Self>, id: &str) -> Result<Option<TaskDetail>, BrokerError> {
        let id = id.to_owned();
        self.read(move |conn| detail(conn, &id)).await
    }

    /// Every worker heard from, alive or not.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be read.
    pub async fn workers(self: &Arc<Self>) -> Result<Vec<WorkerRow>, BrokerError> {
        self.read(move |conn| workers(conn, unix_now())).await
    }

    /// Tasks finished since `since`, counted per `bucket` seconds.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the file cannot be read.
    pub async fn throughput(self: &Arc<Self>, since: f64, bucket: f64) -> Result<Vec<ThroughputPoint>, BrokerError> {
        let bucket = bucket.max(1.0);
        self.read(move |conn| throughput(conn, since, bucket)).await
    }
}
