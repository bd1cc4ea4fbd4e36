//! The worker: fetch loop, dispatch, heartbeats, completer, shutdown.

use std::fs::OpenOptions;
use std::sync::Arc;
use std::time::Duration;

use celeriac_core::events::EventBus;
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
use crate::events::{self, EventObserver};
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
    event_bus: Option<Arc<dyn EventBus>>,
    event_observers: Vec<EventObserver>,
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
            event_bus: None,
            event_observers: Vec::new(),
        }
    }

    /// Sends task events and heartbeats to `bus` (unless
    /// [`WorkerConfig::events`] is off).
    #[must_use]
    pub fn with_events(mut self, bus: Arc<dyn EventBus>) -> Worker {
        self.event_bus = Some(bus);
        self
    }

    /// Hands every batch of events to `observer` too (a worker's own
    /// metrics), whether or not they are published.
    #[must_use]
    pub fn with_event_observer(mut self, observer: EventObserver) -> Worker {
        self.event_observers.push(observer);
        self
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
        let stop_events = CancellationToken::new();
        let bus = self.event_bus.filter(|_| self.config.events);
        let (events, event_flusher) =
            events::start(&self.config.hostname, bus, self.event_observers, stop_events.clone());
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
            events,
            terminable: Default::default(),
            paused: Default::default(),
            consumers: Default::default(),
        });
        if shared.events.enabled() {
            let online = events::worker_event(&shared.events, "worker-online", &shared.heartbeat_facts());
            shared.events.send(Some(online));
        }
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
        let control = tokio::spawn(control_loop(shared.clone(), stop_heartbeat.clone()));
        let event_heartbeat = shared
            .events
            .enabled()
            .then(|| tokio::spawn(events::heartbeat_loop(shared.clone(), stop_heartbeat.clone())));

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
        let _ = control.await;
        if let Some(h) = event_heartbeat {
            let _ = h.await;
            let offline = events::worker_event(&shared.events, "worker-offline", &shared.heartbeat_facts());
            shared.events.send(Some(offline));
        }
        stop_events.cancel();
        if let Some(flusher) = event_flusher {
            // Bounded: a bus that is down must not hold the shutdown.
            if tokio::time::timeout(Duration::from_secs(5), flusher).await.is_err() {
                tracing::warn!("the last events could not be published in time");
            }
        }
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
        let queues = shared.active_queues();
        if queues.is_empty() {
            // Every queue is paused: hold the slots and look again shortly.
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(CONTROL_EVERY) => continue,
            }
        }
        let request = FetchRequest {
            consumer: &shared.info.id,
            queues: &queues,
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

/// How often the worker looks for paused queues and termination requests.
const CONTROL_EVERY: Duration = Duration::from_millis(500);

/// Follows fleet-wide control: which queues are paused, and which of the
/// running tasks someone asked to terminate. Each look is one or two cheap
/// reads; a store that cannot pause queues is asked once.
async fn control_loop(shared: Arc<Shared>, stop: CancellationToken) {
    let mut pausing = true;
    loop {
        // Remote-control commands where the broker has a channel (Redis:
        // Celery's pidbox); elsewhere this just waits.
        let commands = tokio::select! {
            _ = stop.cancelled() => return,
            c = shared.broker.next_control(CONTROL_EVERY) => c,
        };
        match commands {
            Ok(commands) => {
                for command in commands {
                    crate::control::handle(&shared, command).await;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "control channel unavailable");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(CONTROL_EVERY) => {}
                }
            }
        }
        if pausing {
            match shared.broker.paused_queues().await {
                Ok(paused) => {
                    if let Ok(mut p) = shared.paused.lock() {
                        if *p != paused {
                            tracing::info!(?paused, "paused queues changed");
                        }
                        *p = paused;
                    }
                }
                Err(BrokerError::Unsupported(_)) => pausing = false,
                Err(e) => tracing::debug!(error = %e, "could not read the paused queues"),
            }
        }
        let running = shared.terminable.ids();
        if running.is_empty() {
            continue;
        }
        match shared.broker.terminations(&running).await {
            Ok(ids) => {
                for id in ids {
                    tracing::info!(task_id = %id, "termination requested");
                    shared.terminable.terminate(&id);
                }
            }
            Err(e) => tracing::debug!(error = %e, "could not read termination requests"),
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
