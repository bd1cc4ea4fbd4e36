//! Opening connections with the pragmas every role needs.

use std::time::Duration;

use celeriac_core::BrokerError;
use rusqlite::{Connection, OpenFlags};

use crate::config::{Durability, SqliteConfig};
use crate::schema::{LATER_TABLES, SCHEMA, SCHEMA_VERSION};

/// Maps a SQLite error to a broker error: lock contention and I/O are
/// transient, the rest is not.
pub(crate) fn to_broker_error(e: rusqlite::Error) -> BrokerError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::SystemIoFailure | ErrorCode::DiskFull
            ) =>
        {
            BrokerError::Unavailable(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::CannotOpen => {
            BrokerError::Unavailable(format!("cannot open the store: {e}"))
        }
        _ => BrokerError::Internal(e.to_string()),
    }
}

/// Another process holds the write lock for microseconds at a time; SQLite's
/// default handler sleeps whole milliseconds, which would cap throughput and
/// latency, so spin briefly first, then back off.
fn busy_handler(attempt: i32) -> bool {
    match attempt {
        0..=15 => std::thread::yield_now(),
        16..=2_000 => std::thread::sleep(Duration::from_micros(20)),
        // About 30 s in all, then the caller gets SQLITE_BUSY (transient).
        2_001..=31_000 => std::thread::sleep(Duration::from_millis(1)),
        _ => return false,
    }
    true
}

/// SQLite's usual 4 KiB pages. 8 and 16 KiB pages were measured too: fewer
/// b-tree rebalances, but every commit writes whole pages to the WAL, and
/// end-to-end throughput was no better and varied more.
const PAGE_SIZE: u32 = 4096;

/// Opens a connection. The writer gets a larger cache; readers are light.
pub(crate) fn open(config: &SqliteConfig, writer: bool) -> Result<Connection, BrokerError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let mut conn = Connection::open_with_flags(&config.path, flags)
        .map_err(|e| BrokerError::Unavailable(format!("cannot open {}: {e}", config.path.display())))?;
    conn.busy_handler(Some(busy_handler)).map_err(to_broker_error)?;
    let synchronous = match config.durability {
        Durability::Process => "NORMAL",
        Durability::PowerLoss => "FULL",
    };
    let cache_kib = if writer { 16_000 } else { 2_000 };
    // The checkpoint thread (checkpoint.rs) does this work off the writer.
    let checkpoint_pages = 0;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous};
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA foreign_keys = OFF;
         PRAGMA wal_autocheckpoint = {checkpoint_pages};
         PRAGMA journal_size_limit = 268435456;"
    ))
    .map_err(to_broker_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Switches the file to WAL mode. When several processes create the same
/// new file at once, all but one get SQLITE_BUSY here without the busy
/// handler being called (SQLite does not wait where waiting could
/// deadlock), so retry until the first one is done.
fn switch_to_wal(conn: &Connection, config: &SqliteConfig) -> Result<String, BrokerError> {
    let deadline = std::time::Instant::now() + config.busy_timeout;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Ok(mode) => return Ok(mode),
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(to_broker_error(e)),
        }
    }
}

/// True when every table in `names` exists (a read: no write lock taken).
fn has_tables(conn: &Connection, names: &[&str]) -> Result<bool, BrokerError> {
    let mut query = conn
        .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1")
        .map_err(to_broker_error)?;
    for name in names {
        let found: i64 = query.query_row([name], |row| row.get(0)).map_err(to_broker_error)?;
        if found == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Creates the directory, switches the file to WAL and creates the schema
/// (idempotent; safe when several processes start together).
pub(crate) fn initialize(config: &SqliteConfig) -> Result<(), BrokerError> {
    if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| BrokerError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
    }
    let conn = open(config, false)?;
    // Only takes effect on a new, empty file (before WAL and tables exist).
    conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))
        .map_err(to_broker_error)?;
    let mode = switch_to_wal(&conn, config)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(BrokerError::Internal(format!(
            "{} could not be switched to WAL mode (it is in {mode} mode)",
            config.path.display()
        )));
    }
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(to_broker_error)?;
    if version > SCHEMA_VERSION {
        return Err(BrokerError::Invalid(format!(
            "{} was created by a newer Celeriac (schema {version}, this one knows {SCHEMA_VERSION})",
            config.path.display()
        )));
    }
    if version < SCHEMA_VERSION || !has_tables(&conn, &LATER_TABLES)? {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))
        .map_err(to_broker_error)?;
    }
    Ok(())
}
