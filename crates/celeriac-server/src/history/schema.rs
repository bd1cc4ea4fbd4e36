//! The history's tables. Each filter the API offers has an index that
//! orders by `seq` (arrival order), so a filtered page is an index range.

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    queue TEXT,
    state TEXT NOT NULL,
    -- Timestamp of the event that set `state`: an older event arriving
    -- late (another worker's clock, a redelivery) does not move it back.
    state_at REAL NOT NULL,
    worker TEXT,
    args TEXT,
    kwargs TEXT,
    result TEXT,
    exception TEXT,
    traceback TEXT,
    retries INTEGER NOT NULL DEFAULT 0,
    root_id TEXT,
    parent_id TEXT,
    eta TEXT,
    expires TEXT,
    received_at REAL,
    started_at REAL,
    finished_at REAL,
    runtime REAL,
    queue_wait REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state, seq);
CREATE INDEX IF NOT EXISTS tasks_name ON tasks(name, seq);
CREATE INDEX IF NOT EXISTS tasks_queue ON tasks(queue, seq);
CREATE INDEX IF NOT EXISTS tasks_worker ON tasks(worker, seq);
CREATE INDEX IF NOT EXISTS tasks_parent ON tasks(parent_id);
CREATE INDEX IF NOT EXISTS tasks_updated ON tasks(updated_at);
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks(finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS task_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    type TEXT NOT NULL,
    at REAL NOT NULL,
    hostname TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS task_events_task ON task_events(task_id, seq);
CREATE TABLE IF NOT EXISTS workers (
    hostname TEXT PRIMARY KEY,
    worker_id TEXT,
    online INTEGER NOT NULL,
    last_heartbeat REAL NOT NULL,
    freq REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    processed INTEGER NOT NULL DEFAULT 0,
    concurrency INTEGER,
    queues TEXT,
    sw TEXT,
    loadavg TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors (
    bus TEXT PRIMARY KEY,
    cursor TEXT NOT NULL
) WITHOUT ROWID;
";
