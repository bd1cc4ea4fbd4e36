//! Group commit: one thread per process owns the write connection and runs
//! every write that arrived while the previous transaction committed in the
//! next transaction, each in its own savepoint.
//!
//! Callers from any number of tasks therefore share commits: under load a
//! commit carries hundreds of operations, and an idle store commits a lone
//! operation at once.

use std::sync::mpsc;
use std::sync::Arc;

use celeriac_core::BrokerError;
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::config::SqliteConfig;
use crate::connection::{open, to_broker_error};
use crate::wake::{Channel, WakeHub};

/// Most operations in one transaction, so a flood cannot delay replies long.
const MAX_BATCH: usize = 1024;

/// Side effects a job reports so the writer can wake others after commit.
#[derive(Default)]
pub(crate) struct Effects {
    pub(crate) queue_changed: bool,
    pub(crate) results_changed: bool,
}

/// A submitted operation: run inside the transaction, answered after commit.
trait Pending: Send {
    /// Runs the operation; false when it failed (its writes are rolled back).
    fn run(&mut self, conn: &Connection, effects: &mut Effects) -> bool;
    /// Answers the caller: the operation's outcome if `commit` succeeded.
    fn finish(self: Box<Self>, commit: Result<(), BrokerError>);
}

struct Operation<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, BrokerError>>,
    reply: oneshot::Sender<Result<T, BrokerError>>,
}

impl<T, F> Pending for Operation<T, F>
where
    T: Send,
    F: FnOnce(&Connection, &mut Effects) -> Result<T, BrokerError> + Send,
{
    fn run(&mut self, conn: &Connection, effects: &mut Effects) -> bool {
        let Some(work) = self.work.take() else { return false };
        let outcome = work(conn, effects);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), BrokerError>) {
        let answer = match (commit, self.outcome) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(BrokerError::Internal("operation was not run".into())),
        };
        let _ = self.reply.send(answer);
    }
}

type Job = Box<dyn Pending>;

/// Handle to the writer thread.
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub(crate) fn start(config: &SqliteConfig, wake: Arc<WakeHub>) -> Result<Writer, BrokerError> {
        let conn = open(config, true)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("celeriac-sqlite-writer".into())
            .spawn(move || run(conn, rx, wake))
            .map_err(|e| BrokerError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` inside a write transaction and returns its result once
    /// the transaction has committed (or the error if it did not).
    pub(crate) async fn submit<T, F>(&self, work: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut Effects) -> Result<T, BrokerError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(Operation {
            work: Some(work),
            outcome: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| BrokerError::Internal("the store's writer thread has stopped".into()))?;
        rx.await
            .map_err(|_| BrokerError::Internal("the store's writer thread dropped a request".into()))?
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<Job>, wake: Arc<WakeHub>) {
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let effects = run_batch(&conn, batch);
        if effects.queue_changed {
            wake.announce(Channel::Queue);
        }
        if effects.results_changed {
            wake.announce(Channel::Results);
        }
    }
}

fn run_batch(conn: &Connection, batch: Vec<Job>) -> Effects {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = to_broker_error(e);
        for job in batch {
            job.finish(Err(BrokerError::Unavailable(e.to_string())));
        }
        return Effects::default();
    }
    let mut effects = Effects::default();
    let mut done = Vec::with_capacity(batch.len());
    if batch.len() == 1 {
        // One operation: its own failure rolls back the whole transaction.
        for mut job in batch {
            if !job.run(conn, &mut effects) {
                let _ = conn.execute_batch("ROLLBACK");
                job.finish(Ok(()));
                return Effects::default();
            }
            done.push(job);
        }
    } else {
        for mut job in batch {
            if let Err(e) = conn.execute_batch("SAVEPOINT job") {
                job.finish(Err(to_broker_error(e)));
                continue;
            }
            let mut job_effects = Effects::default();
            if job.run(conn, &mut job_effects) {
                let _ = conn.execute_batch("RELEASE job");
                effects.queue_changed |= job_effects.queue_changed;
                effects.results_changed |= job_effects.results_changed;
                done.push(job);
            } else {
                // Only this operation's writes are undone; its caller gets its error.
                let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
                job.finish(Ok(()));
            }
        }
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for job in done {
                job.finish(Ok(()));
            }
            effects
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            let e = to_broker_error(e);
            for job in done {
                job.finish(Err(BrokerError::Unavailable(format!("commit failed: {e}"))));
            }
            Effects::default()
        }
    }
}
