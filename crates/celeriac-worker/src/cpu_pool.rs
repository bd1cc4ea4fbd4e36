//! A dedicated thread pool for `cpu` tasks, so heavy computation never
//! occupies the async runtime's threads.
//!
//! A thread cannot be killed safely. When a `cpu` task passes its hard time
//! limit the worker abandons it: the pool starts a replacement thread so its
//! capacity is kept, and the abandoned thread exits when the task finally
//! returns. A job abandoned before it started never runs.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const ABANDONED: u8 = 3;

struct Job {
    run: Box<dyn FnOnce() + Send>,
    state: Arc<AtomicU8>,
}

/// Lets the submitter give up on a job.
#[derive(Clone)]
pub struct JobHandle {
    state: Arc<AtomicU8>,
    pool: CpuPool,
}

impl JobHandle {
    /// Gives up on the job: if queued it will not run; if running, its
    /// thread is replaced and leaves once the job returns.
    pub fn abandon(&self) {
        if self
            .state
            .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return;
        }
        if self
            .state
            .compare_exchange(RUNNING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.pool.spawn_thread();
        }
    }
}

/// The `cpu` execution pool.
#[derive(Clone)]
pub struct CpuPool {
    sender: Sender<Job>,
    jobs: Receiver<Job>,
    live: Arc<AtomicUsize>,
}

impl std::fmt::Debug for CpuPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuPool")
            .field("live_threads", &self.live_threads())
            .finish()
    }
}

impl CpuPool {
    /// A pool of `threads` threads.
    pub fn new(threads: usize) -> CpuPool {
        let (sender, jobs) = unbounded();
        let pool = CpuPool {
            sender,
            jobs,
            live: Arc::new(AtomicUsize::new(0)),
        };
        for _ in 0..threads.max(1) {
            pool.spawn_thread();
        }
        pool
    }

    fn spawn_thread(&self) {
        let jobs = self.jobs.clone();
        let live = self.live.clone();
        live.fetch_add(1, Ordering::AcqRel);
        let spawned = std::thread::Builder::new().name("celeriac-cpu".into()).spawn(move || {
            while let Ok(job) = jobs.recv() {
                if job
                    .state
                    .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    continue; // abandoned before it started
                }
                (job.run)();
                if job
                    .state
                    .compare_exchange(RUNNING, DONE, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    break; // abandoned while running: a replacement took our place
                }
            }
            live.fetch_sub(1, Ordering::AcqRel);
        });
        if spawned.is_err() {
            self.live.fetch_sub(1, Ordering::AcqRel);
            tracing::error!("could not start a cpu pool thread");
        }
    }

    /// Queues `run` on the pool.
    pub fn execute(&self, run: impl FnOnce() + Send + 'static) -> JobHandle {
        let state = Arc::new(AtomicU8::new(QUEUED));
        // The receiver is held by this handle, so sending cannot fail.
        let _ = self.sender.send(Job {
            run: Box::new(run),
            state: state.clone(),
        });
        JobHandle {
            state,
            pool: self.clone(),
        }
    }

    /// Threads alive, abandoned ones still running included.
    pub fn live_threads(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn wait_for(cond: impl Fn() -> bool) -> bool {
        let start = std::time::Instant::now();
        while !cond() {
            if start.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    #[test]
    fn abandoned_running_job_is_replaced() {
        let pool = CpuPool::new(1);
        let gate = Arc::new(std::sync::Barrier::new(2));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let inner = gate.clone();
        let stuck = pool.execute(move || {
            started_tx.send(()).unwrap();
            inner.wait();
        });
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        stuck.abandon();
        let (tx, rx) = std::sync::mpsc::channel();
        pool.execute(move || tx.send(42).unwrap());
        // Runs although the only original thread is blocked.
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 42);
        assert_eq!(pool.live_threads(), 2);
        gate.wait();
        assert!(
            wait_for(|| pool.live_threads() == 1),
            "the abandoned thread should leave"
        );
        let (tx, rx) = std::sync::mpsc::channel();
        pool.execute(move || tx.send(7).unwrap());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 7);
    }

    #[test]
    fn abandoned_queued_job_never_runs() {
        let pool = CpuPool::new(1);
        let gate = Arc::new(std::sync::Barrier::new(2));
        let inner = gate.clone();
        pool.execute(move || {
            inner.wait();
        });
        let ran = Arc::new(AtomicU8::new(0));
        let flag = ran.clone();
        pool.execute(move || flag.store(1, Ordering::SeqCst)).abandon();
        gate.wait();
        let (tx, rx) = std::sync::mpsc::channel();
        pool.execute(move || tx.send(()).unwrap());
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(pool.live_threads(), 1);
    }
}
