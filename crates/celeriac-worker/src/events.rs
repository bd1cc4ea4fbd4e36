//! The worker's events: task events as tasks move, worker heartbeats every
//! two seconds, sent in batches to the [`EventBus`] and to local observers
//! (a worker's own `/metrics`).
//!
//! Emitting never waits: events go through a channel to one flusher task,
//! which publishes whatever accumulated while its previous publish was in
//! flight, so a busy worker sends one batch per round trip, not one event.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::events::{Event, EventBus, LamportClock, HEARTBEAT_FREQ_SECS};
use celeriac_core::RetryMethod;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Receives every batch of events the worker emits, before it is published.
pub type EventObserver = Arc<dyn Fn(&[Event]) + Send + Sync>;

/// Most events in one published batch.
const MAX_BATCH: usize = 2_000;

/// Events waiting to be published beyond which new ones are dropped (and
/// counted in the log): a bus that is down must not grow the worker
/// without bound.
const MAX_BACKLOG: usize = 200_000;

/// Where the worker's events go; cheap to call when events are off.
pub(crate) struct Emitter {
    tx: Option<mpsc::Sender<Event>>,
    clock: LamportClock,
    hostname: String,
}

impl Emitter {
    /// An emitter that drops everything.
    pub(crate) fn off(hostname: &str) -> Emitter {
        Emitter {
            tx: None,
            clock: LamportClock::default(),
            hostname: hostname.to_owned(),
        }
    }

    /// Events are being sent somewhere.
    pub(crate) fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// A task event stamped now, or `None` when events are off (so callers
    /// skip building its fields).
    pub(crate) fn task(&self, kind: &str, uuid: &str) -> Option<Event> {
        self.enabled()
            .then(|| Event::task(kind, self.hostname.as_str(), self.clock.tick(), uuid))
    }

    /// A worker event stamped now.
    pub(crate) fn worker(&self, kind: &str) -> Event {
        Event::new(kind, self.hostname.as_str(), self.clock.tick())
    }

    /// Queues an event for the flusher.
    pub(crate) fn send(&self, event: Option<Event>) {
        if let (Some(tx), Some(event)) = (&self.tx, event) {
            if tx.try_send(event).is_err() {
                tracing::debug!("event backlog full or flusher gone; event dropped");
            }
        }
    }
}

/// Starts the flusher when there is anywhere to send events; returns the
/// emitter and the flusher's handle, which ends once `stop` is cancelled
/// and what was emitted before is published.
pub(crate) fn start(
    hostname: &str,
    bus: Option<Arc<dyn EventBus>>,
    observers: Vec<EventObserver>,
    stop: CancellationToken,
) -> (Emitter, Option<tokio::task::JoinHandle<()>>) {
    if bus.is_none() && observers.is_empty() {
        return (Emitter::off(hostname), None);
    }
    let (tx, rx) = mpsc::channel(MAX_BACKLOG);
    let flusher = tokio::spawn(flush_loop(rx, bus, observers, stop));
    let emitter = Emitter {
        tx: Some(tx),
        clock: LamportClock::default(),
        hostname: hostname.to_owned(),
    };
    (emitter, Some(flusher))
}

async fn flush_loop(
    mut rx: mpsc::Receiver<Event>,
    bus: Option<Arc<dyn EventBus>>,
    observers: Vec<EventObserver>,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(256);
    loop {
        let first = tokio::select! {
            biased;
            e = rx.recv() => e,
            _ = stop.cancelled() => rx.try_recv().ok(),
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        for observe in &observers {
            observe(&batch);
        }
        if let Some(bus) = &bus {
            publish(bus.as_ref(), &batch).await;
        }
        batch.clear();
    }
}

/// Publishes with a few retries; events are for monitoring, so a batch the
/// bus keeps refusing is dropped rather than held forever.
async fn publish(bus: &dyn EventBus, batch: &[Event]) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=5 {
        match bus.publish(batch).await {
            Ok(()) => return,
            Err(e) if e.retry_method() == RetryMethod::RetryWithBackoff && attempt < 5 => {
                tracing::debug!(error = %e, "publishing events failed; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::warn!(error = %e, events = batch.len(), "could not publish events; dropped");
                return;
            }
        }
    }
}

/// What a worker heartbeat says about the worker, besides Celery's fields.
pub(crate) struct HeartbeatFacts<'a> {
    pub(crate) info: &'a celeriac_core::WorkerInfo,
    pub(crate) active: usize,
    pub(crate) processed: u64,
}

/// A `worker-online`, `worker-heartbeat` or `worker-offline` event with
/// Celery's fields (so Flower lists the worker) and Celeriac's.
pub(crate) fn worker_event(emitter: &Emitter, kind: &str, facts: &HeartbeatFacts<'_>) -> Event {
    emitter
        .worker(kind)
        .with("freq", HEARTBEAT_FREQ_SECS)
        .with("active", facts.active)
        .with("processed", facts.processed)
        .with("loadavg", json!(load_average()))
        .with("sw_ident", "celeriac")
        .with("sw_ver", env!("CARGO_PKG_VERSION"))
        .with("sw_sys", std::env::consts::OS)
        .with("worker_id", facts.info.id.as_str())
        .with("queues", json!(facts.info.queues))
        .with("concurrency", facts.info.concurrency)
        .with("prefetch", facts.info.prefetch)
}

/// Sends a heartbeat every [`HEARTBEAT_FREQ_SECS`] until `stop`.
pub(crate) async fn heartbeat_loop(shared: Arc<crate::shared::Shared>, stop: CancellationToken) {
    let every = Duration::from_secs_f64(HEARTBEAT_FREQ_SECS);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let facts = shared.heartbeat_facts();
        shared
            .events
            .send(Some(worker_event(&shared.events, "worker-heartbeat", &facts)));
    }
}

/// The 1, 5 and 15 minute load averages (zeros where unknown).
fn load_average() -> [f64; 3] {
    let Ok(text) = std::fs::read_to_string("/proc/loadavg") else {
        return [0.0; 3];
    };
    let mut out = [0.0; 3];
    for (slot, field) in out.iter_mut().zip(text.split_whitespace()) {
        *slot = field.parse().unwrap_or(0.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use celeriac_core::events::MemoryEventBus;
    use std::sync::Mutex;

    #[tokio::test]
    async fn batches_reach_observers_and_the_bus_and_off_sends_nothing() {
        let bus = Arc::new(MemoryEventBus::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let observer: EventObserver = Arc::new(move |batch: &[Event]| {
            if let Ok(mut s) = sink.lock() {
                s.extend(batch.iter().filter_map(|e| e.uuid().map(str::to_owned)));
            }
        });
        let stop = CancellationToken::new();
        let (emitter, flusher) = start("w@h", Some(bus.clone()), vec![observer], stop.clone());
        for i in 0..10 {
            emitter.send(emitter.task("task-started", &format!("t{i}")));
        }
        stop.cancel();
        flusher.expect("flusher").await.expect("joins");
        let logged = bus.read(None, 100, Duration::ZERO).await.expect("read").events;
        assert_eq!(logged.len(), 10);
        assert!(logged.windows(2).all(|w| w[0].clock < w[1].clock), "clock increases");
        assert_eq!(seen.lock().expect("lock").len(), 10);

        let off = Emitter::off("w@h");
        assert!(off.task("task-started", "x").is_none());
    }
}
