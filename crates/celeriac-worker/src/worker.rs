//! The worker: fetch loop, dispatch, heartbeats, completer, shutdown.

use std::fs::OpenOptions;
use std::sync::Arc;
use std::time::Duration;

use celeriac_core::task::TaskRegistry;
use celeriac_core::{Broker, BrokerError, Delivery, FetchRequest, Resources, ResultBackend, WorkerInfo};
use chrono::Utc;
use thiserror::Error;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::completion::run_completer;
use crate::config::WorkerConfig;
use crate::cpu_pool::CpuPool;
use crate::process::process;
use crate::shared::{Counters, RunningSet, Shared};

/// Why a worker could not start.
#[derive(Debug, Error)]
pub enum WorkerError {
    /// The execution log could not be opened.
    #[error("cannot open the execution log {path}: {source}")]
    ExecutionLog {
        /// The configured path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The broker refused the worker's registration.
    #[error("cannot register with the broker: {0}")]
    Broker(#[from] BrokerError),
}

/// What a worker did, returned when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSummary {
    /// Tasks run.
    pub processed: u64,
    /// Tasks that succeeded.
    pub succeeded: u64,
    /// Tasks recorded FAILURE.
    pub failed: u64,
    /// Deliveries returned to the queue at shutdown.
    pub returned: u64,
}

/// A worker consuming queues from a broker and storing results.
///
/// ```no_run
/// # async fn demo(broker: std::sync::Arc<dyn celeriac_core::Broker>, backend: std::sync::Arc<dyn celeriac_core::ResultBackend>) -> Result<(), Box<dyn std::error::Error>> {
/// use celeriac_core::TaskRegistry;
/// use celeriac_worker::{shutdown_on_signals, Worker, WorkerConfig};
/// let worker = Worker::new(broker, backend, TaskRegistry::new(), WorkerConfig::default());
/// worker.run(shutdown_on_signals()).await?;
/// # Ok(()) }
/// ```
pub struct Worker {
    broker: Arc<dyn Broker>,
    backend: Arc<dyn ResultBackend>,
    registry: TaskRegistry,
    config: WorkerConfig,
    info: WorkerInfo,
    counters: Arc<Counters>,
    resources: Arc<Resources>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("info", &self.info).finish()
    }
}

impl Worker {
    /// A worker for `registry`'s tasks.
    pub fn new(
        broker: Arc<dyn Broker>,
        backend: Arc<dyn ResultBackend>,
        registry: TaskRegistry,
        config: WorkerConfig,
    ) -> Worker {
        let config = config.normalized();
        let pid = std::process::id();
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let info = WorkerInfo {
            id: format!("{}:{pid}:{}", config.hostname, &suffix[..8]),
            hostname: config.hostname.clone(),
            pid,
            queues: config.queues.clone(),
            concurrency: config.concurrency,
            prefetch: config.prefetch,
            started_at: Utc::now(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            tasks: registry.names().into_iter().map(str::to_owned).collect(),
        };
        Worker {
            broker,
            backend,
            registry,
            config,
            info,
            counters: Arc::new(Counters::default()),
            resources: Arc::default(),
        }
    }

    /// Hands `resources` (a blob store, a database pool…) to every task,
    /// through [`TaskContext::resource`](celeriac_core::TaskContext::resource).
    #[must_use]
    pub fn with_resources(mut self, resources: Resources) -> Worker {
        self.resources = Arc::new(resources);
        self
    }

    /// How the worker describes itself in the registry.
    pub fn info(&self) -> &WorkerInfo {
        &self.info
    }

    /// Live counters (shared; readable while the worker runs).
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Runs until `shutdown` is cancelled, then stops fetching, gives the
    /// running tasks the grace period, returns the rest to the queue and
    /// deregisters.
    ///
    /// # Errors
    ///
    /// [`WorkerError`] when the worker cannot start; once running, broker
    /// failures are retried and logged, never fatal.
    pub async fn run(self, shutdown: CancellationToken) -> Result<WorkerSummary, WorkerError> {
        let execution_log = match &self.config.execution_log {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| WorkerError::ExecutionLog {
                        path: path.display().to_string(),
                        source,
                    })?,
            ),
            None => None,
        };
        self.broker.heartbeat(&self.info, self.config.lease).await?;
        tracing::info!(
            worker = %self.info.id,
            queues = ?self.config.queues,
            concurrency = self.config.concurrency,
            prefetch = self.config.prefetch,
            tasks = self.registry.len(),
            broker = self.broker.capabilities().backend,
            "worker started"
        );
        let (completions, completion_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            broker: self.broker.clone(),
            backend: self.backend.clone(),
            registry: self.registry,
            cpu: CpuPool::new(self.config.cpu_threads),
            config: self.config,
            info: self.info,
            completions,
            execution_log,
            origin: celeriac_core::host::origin(),
            counters: self.counters.clone(),
            running: RunningSet::default(),
            resources: self.resources,
        });
        let stop_completer = CancellationToken::new();
        let completer = tokio::spawn(run_completer(
            completion_rx,
            shared.broker.clone(),
            shared.backend.clone(),
            shared.counters.clone(),
            shared.registry.clone(),
            stop_completer.clone(),
        ));
        let stop_heartbeat = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat_loop(shared.clone(), stop_heartbeat.clone()));

        let slots = Arc::new(Semaphore::new(shared.config.prefetch));
        let runs = Arc::new(Semaphore::new(shared.config.concurrency));
        let (dispatch_tx, mut dispatch_rx) = mpsc::unbounded_channel::<(Delivery, OwnedSemaphorePermit)>();
        let fetcher = tokio::spawn(fetch_loop(shared.clone(), slots.clone(), dispatch_tx, shutdown.clone()));

        let tracker = TaskTracker::new();
        let mut returned = Vec::new();
        loop {
            let next = tokio::select! {
                biased;
                _ = shutdown.cancelled() => None,
                next = dispatch_rx.recv() => next,
            };
            let Some((delivery, slot)) = next else { break };
            let run = tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    returned.push(delivery.tag);
                    break;
                }
                run = runs.clone().acquire_owned() => run,
            };
            let Ok(run) = run else { break };
            tracker.spawn(process(shared.clone(), delivery, slot, run));
        }

        // Shutdown: nothing new starts; prefetched messages go straight back.
        let _ = fetcher.await;
        dispatch_rx.close();
        while let Ok((delivery, _slot)) = dispatch_rx.try_recv() {
            returned.push(delivery.tag);
        }
        let mut returned_count = return_to_queue(&shared, &returned, "unstarted").await;
        tracker.close();
        let grace = shared.config.shutdown_grace;
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            let abandoned = shared.running.snapshot();
            tracing::warn!(
                tasks = abandoned.len(),
                ?grace,
                "tasks still running after the grace period go back to the queue"
            );
            returned_count += return_to_queue(&shared, &abandoned, "still running").await;
        }
        stop_completer.cancel();
        let _ = completer.await;
        stop_heartbeat.cancel();
        let _ = heartbeat.await;
        if let Err(e) = shared.broker.deregister(&shared.info.id).await {
            tracing::warn!(error = %e, "could not deregister; the registry will notice the silence");
        }
        let summary = WorkerSummary {
            processed: shared.counters.processed.get(),
            succeeded: shared.counters.succeeded.get(),
            failed: shared.counters.failed.get(),
            returned: returned_count,
        };
        tracing::info!(?summary, "worker stopped");
        Ok(summary)
    }
}

/// Gives deliveries back to the head of their queues; returns how many.
async fn return_to_queue(shared: &Shared, tags: &[celeriac_core::DeliveryTag], what: &str) -> u64 {
    if tags.is_empty() {
        return 0;
    }
    match shared.broker.requeue(tags).await {
        Ok(n) => {
            tracing::info!(messages = n, "returned {what} messages to their queues");
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not return {what} messages; their lease will");
            0
        }
    }
}

/// Keeps the prefetch buffer full: waits for free slots, leases that many
/// messages in one call, and passes them on with their slots.
async fn fetch_loop(
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    dispatch: mpsc::UnboundedSender<(Delivery, OwnedSemaphorePermit)>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(50);
    let max_batch = shared.config.prefetch.min(1024);
    loop {
        let first = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            p = slots.clone().acquire_owned() => p,
        };
        let Ok(first) = first else { return };
        let mut permits = vec![first];
        while permits.len() < max_batch {
            match slots.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        let request = FetchRequest {
            consumer: &shared.info.id,
            queues: &shared.config.queues,
            max: permits.len(),
            wait: Duration::from_secs(1),
            lease: shared.config.lease,
        };
        let fetched = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            r = shared.broker.fetch(request) => r,
        };
        match fetched {
            Ok(deliveries) => {
                backoff = Duration::from_millis(50);
                for (delivery, permit) in deliveries.into_iter().zip(permits.drain(..)) {
                    if dispatch.send((delivery, permit)).is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "fetch failed; retrying in {backoff:?}");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Renews this worker's lease every third of its length.
async fn heartbeat_loop(shared: Arc<Shared>, stop: CancellationToken) {
    let every = shared.config.lease / 3;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = shared.broker.heartbeat(&shared.info, shared.config.lease).await {
            tracing::warn!(error = %e, "heartbeat failed; will retry");
        }
    }
}
