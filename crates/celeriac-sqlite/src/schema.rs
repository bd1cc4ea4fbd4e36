//! Tables and indexes. Every state has its own partial index, so that no
//! operation on the hot path scans more than the rows it touches.

// Message states stored in `messages.state` (the SQL below spells them as
// literals so the partial indexes match): 0 ready, 1 leased, 2 delayed.
pub(crate) const READY: i64 = 0;
pub(crate) const DELAYED: i64 = 2;

pub(crate) const SCHEMA_VERSION: i64 = 1;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state INTEGER NOT NULL,
    due INTEGER NOT NULL DEFAULT 0,
    owner INTEGER NOT NULL DEFAULT 0,
    deliveries INTEGER NOT NULL DEFAULT 0,
    -- Bumped by every lease and never lowered, so a delivery tag
    -- (id:lease) is stale once the message was deferred or redelivered.
    lease INTEGER NOT NULL DEFAULT 0,
    task_id TEXT,
    -- Last, so the small columns are read without walking past it.
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages(queue, priority, id) WHERE state = 0;
CREATE INDEX IF NOT EXISTS messages_delayed ON messages(due) WHERE state = 2;
-- AUTOINCREMENT: an id shown by `dead list` never names a later entry.
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL,
    task_id TEXT,
    reason TEXT NOT NULL,
    body BLOB NOT NULL,
    deliveries INTEGER NOT NULL,
    dead_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queues (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    info TEXT,
    lease_until INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked (
    task_id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS results (
    task_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    doc BLOB NOT NULL,
    expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS results_expiry ON results(expires_at) WHERE expires_at IS NOT NULL;
-- Blobs (a photo a task will read): a rowid table, since rows are large
-- and WITHOUT ROWID tables keep whole rows in the key's b-tree.
CREATE TABLE IF NOT EXISTS blobs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    expires_at INTEGER,
    -- Last, so the small columns are read without walking past it.
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS blobs_expiry ON blobs(expires_at) WHERE expires_at IS NOT NULL;
-- Records (an app's list of recent uploads): `seq` orders a collection by
-- creation, and an upsert keeps it.
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    doc BLOB NOT NULL,
    UNIQUE (collection, id)
);
CREATE INDEX IF NOT EXISTS records_recent ON records(collection, seq);
CREATE INDEX IF NOT EXISTS records_expiry ON records(expires_at) WHERE expires_at IS NOT NULL;
-- The event log (task events, worker heartbeats): one row per published
-- batch, read by monitors with the id as cursor. AUTOINCREMENT keeps ids
-- rising even after the log was trimmed to nothing.
-- Queues no worker may take from until resumed (the dashboard's pause).
CREATE TABLE IF NOT EXISTS paused_queues (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    batch BLOB NOT NULL
);
";

/// Tables added to schema 1 before its first release: a store created
/// before them gets them when opened (the schema is idempotent).
pub(crate) const LATER_TABLES: [&str; 4] = ["blobs", "records", "events", "paused_queues"];
