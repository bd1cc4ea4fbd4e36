//! State shared by the worker's loops and its running tasks.

use std::collections::HashSet;
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use celeriac_core::task::TaskRegistry;
use celeriac_core::{Broker, DeliveryTag, Resources, ResultBackend, WorkerInfo};
use tokio::sync::mpsc;

use crate::completion::Completion;
use crate::config::WorkerConfig;
use crate::cpu_pool::CpuPool;
use crate::events::{Emitter, HeartbeatFacts};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn inc(&self) {
        self.add(1);
    }

    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What the worker has done since it started.
#[derive(Debug, Default)]
pub struct Counters {
    /// Tasks run (whatever the outcome).
    pub processed: Counter,
    /// Tasks that returned a value.
    pub succeeded: Counter,
    /// Tasks recorded FAILURE (including unknown names).
    pub failed: Counter,
    /// Retries scheduled.
    pub retried: Counter,
    /// Tasks recorded REVOKED (revoked or expired).
    pub revoked: Counter,
    /// Deliveries moved to the dead-letter store.
    pub dead_lettered: Counter,
    /// Deliveries whose outcome (result, follow-ups, ack) has been written.
    pub settled: Counter,
}

/// Tags of deliveries being processed, to return them at shutdown.
#[derive(Default)]
pub(crate) struct RunningSet(Mutex<HashSet<DeliveryTag>>);

impl RunningSet {
    pub(crate) fn insert(&self, tag: &DeliveryTag) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(tag.clone());
        }
    }

    pub(crate) fn remove(&self, tag: &DeliveryTag) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(tag);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().map(|set| set.len()).unwrap_or(0)
    }

    pub(crate) fn snapshot(&self) -> Vec<DeliveryTag> {
        self.0
            .lock()
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Running tasks that can be asked to stop, by task id.
#[derive(Default)]
pub(crate) struct Terminable(Mutex<std::collections::HashMap<String, tokio_util::sync::CancellationToken>>);

impl Terminable {
    /// Registers a run; the token is cancelled if its termination is asked.
    pub(crate) fn insert(&self, task_id: &str) -> tokio_util::sync::CancellationToken {
        let token = tokio_util::sync::CancellationToken::new();
        if let Ok(mut map) = self.0.lock() {
            map.insert(task_id.to_owned(), token.clone());
        }
        token
    }

    pub(crate) fn remove(&self, task_id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(task_id);
        }
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.0.lock().map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    pub(crate) fn terminate(&self, task_id: &str) {
        if let Some(token) = self.0.lock().ok().and_then(|m| m.get(task_id).cloned()) {
            token.cancel();
        }
    }
}

pub(crate) struct Shared {
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) backend: Arc<dyn ResultBackend>,
    pub(crate) registry: TaskRegistry,
    pub(crate) config: WorkerConfig,
    pub(crate) info: WorkerInfo,
    pub(crate) cpu: CpuPool,
    pub(crate) completions: mpsc::UnboundedSender<Completion>,
    pub(crate) execution_log: Option<File>,
    pub(crate) origin: String,
    pub(crate) counters: Arc<Counters>,
    pub(crate) running: RunningSet,
    pub(crate) resources: Arc<Resources>,
    pub(crate) events: Emitter,
    pub(crate) terminable: Terminable,
    /// Queues paused fleet-wide (refreshed by the control loop).
    pub(crate) paused: Mutex<Vec<String>>,
    /// This worker's own changes by remote control (`cancel_consumer`,
    /// `add_consumer`), as a Celery worker keeps them: not stored.
    pub(crate) consumers: Mutex<ConsumerChanges>,
}

/// Queues remote control told this worker to stop or start consuming.
#[derive(Debug, Default)]
pub(crate) struct ConsumerChanges {
    pub(crate) cancelled: Vec<String>,
    pub(crate) added: Vec<String>,
}

impl Shared {
    /// The queues to fetch from now: configured or added, minus those
    /// paused fleet-wide or cancelled for this worker.
    pub(crate) fn active_queues(&self) -> Vec<String> {
        let paused = self.paused.lock().map(|p| p.clone()).unwrap_or_default();
        let (cancelled, added) = self
            .consumers
            .lock()
            .map(|c| (c.cancelled.clone(), c.added.clone()))
            .unwrap_or_default();
        self.config
            .queues
            .iter()
            .chain(added.iter())
            .filter(|q| !paused.contains(q) && !cancelled.contains(q))
            .cloned()
            .collect()
    }

    pub(crate) fn heartbeat_facts(&self) -> HeartbeatFacts<'_> {
        HeartbeatFacts {
            info: &self.info,
            active: self.running.len(),
            processed: self.counters.processed.get(),
        }
    }
}
