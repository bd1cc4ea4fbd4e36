//! Worker settings.

use std::path::PathBuf;
use std::time::Duration;

use celeriac_core::DecodeLimits;

/// How a worker consumes and runs tasks.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Queues to consume, each served fairly (default `["celery"]`).
    pub queues: Vec<String>,
    /// Most tasks running at once.
    pub concurrency: usize,
    /// Most messages held at once, running and waiting (≥ concurrency).
    pub prefetch: usize,
    /// Threads of the `cpu` pool (default: the number of cores).
    pub cpu_threads: usize,
    /// Lease length: if this worker stops heartbeating for this long, its
    /// messages go back to the queue. Heartbeats are sent every third of it.
    pub lease: Duration,
    /// How long a graceful shutdown waits for running tasks before
    /// returning them to the queue.
    pub shutdown_grace: Duration,
    /// Limits for decoding incoming messages.
    pub decode_limits: DecodeLimits,
    /// Store STARTED when a task starts (Celery's `task_track_started`).
    pub track_started: bool,
    /// Add name, args, kwargs, worker, retries and queue to results
    /// (Celery's `result_extended`).
    pub result_extended: bool,
    /// Append each execution's task id to this file (an audit record that
    /// does not depend on the broker or the result store).
    pub execution_log: Option<PathBuf>,
    /// The worker's nodename in events, the registry and results (default
    /// `celeriac.<pid>@<host>`, unique per process so that several workers
    /// on one host show as several; Celery's `-n`).
    pub hostname: String,
    /// Send task events and worker heartbeats to the event bus given by
    /// [`Worker::with_events`](crate::Worker::with_events) (default on; the
    /// dashboard's history is built from them).
    pub events: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        WorkerConfig {
            queues: vec![celeriac_core::DEFAULT_QUEUE.into()],
            concurrency: 64,
            prefetch: 256,
            cpu_threads: cores,
            lease: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            decode_limits: DecodeLimits::default(),
            track_started: false,
            result_extended: false,
            execution_log: None,
            hostname: format!("celeriac.{}@{}", std::process::id(), celeriac_core::host::hostname()),
            events: true,
        }
    }
}

impl WorkerConfig {
    /// Prefetch never below concurrency, both at least one.
    pub(crate) fn normalized(mut self) -> Self {
        self.concurrency = self.concurrency.max(1);
        self.prefetch = self.prefetch.max(self.concurrency);
        self.cpu_threads = self.cpu_threads.max(1);
        if self.queues.is_empty() {
            self.queues.push(celeriac_core::DEFAULT_QUEUE.into());
        }
        self
    }
}
