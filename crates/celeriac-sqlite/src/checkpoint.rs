//! Checkpoints run on their own thread, so the writer never stalls on the
//! fsyncs a checkpoint makes (they showed up as multi-millisecond pauses in
//! enqueue-to-start latency when the writer checkpointed inline).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::config::SqliteConfig;
use crate::connection::open;

/// How often the WAL is copied back into the database file.
const INTERVAL: Duration = Duration::from_millis(100);

/// WAL frames above which a checkpoint that cannot keep up (the WAL never
/// restarts while writes arrive during every passive checkpoint) makes room
/// with a RESTART checkpoint, briefly holding writers back.
const RESTART_FRAMES: i64 = 32_768;

/// Stops the thread when dropped.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl Checkpointer {
    pub(crate) fn start(config: &SqliteConfig) -> Option<Checkpointer> {
        let conn = match open(config, false) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "no checkpoint thread; SQLite checkpoints on close");
                return None;
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("celeriac-checkpoint".into())
            .spawn(move || run(&conn, &flag));
        spawned.ok().map(|_| Checkpointer { stop })
    }
}

fn checkpoint(conn: &Connection, mode: &str) -> Option<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
    .ok()
}

fn run(conn: &Connection, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(INTERVAL);
        if let Some((_, log, _)) = checkpoint(conn, "PASSIVE") {
            if log > RESTART_FRAMES {
                tracing::debug!(frames = log, "WAL large; restarting it");
                checkpoint(conn, "RESTART");
            }
        }
    }
}
