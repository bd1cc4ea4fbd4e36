//! [`Metrics`]: the values, updated from events and broker state.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use celeriac_core::events::Event;
use celeriac_core::{QueueStats, WorkerStatus};

use crate::catalog::{self, TASK_COUNTERS};
use crate::family::{LabelCounter, TaskSeries};
use crate::histogram::Histogram;
use crate::labels::{clip, OTHER, UNKNOWN};
use crate::task_index::TaskIndex;

/// Bounds on what a [`Metrics`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Label sets per metric family. Past it, a new `{task, queue}` is
    /// counted under `task="other"` (and, past 64 more such sets, under
    /// `{task="other", queue="other"}`); a new event type under
    /// `type="other"`; queues beyond a quarter of it (four states each)
    /// are summed under `queue="other"`; workers beyond it are left out
    /// of `celeriac_worker_up` (but still counted as alive).
    pub max_series: usize,
    /// Tasks whose name and queue are remembered for the events that lack
    /// them (Python Celery's `task-started`, `task-succeeded`…). When full,
    /// tasks that ended go first, then the oldest still running.
    pub max_tracked_tasks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_series: 2_000,
            max_tracked_tasks: 100_000,
        }
    }
}

/// Prometheus metrics of tasks, queues and workers.
///
/// Share it as an `Arc<Metrics>`: every method takes `&self`. Updates take
/// one lock (per batch, for [`observe_all`](Metrics::observe_all)), held
/// for a few map updates per event.
#[derive(Debug, Default)]
pub struct Metrics {
    state: Mutex<State>,
}

/// Everything behind the lock; [`render`](crate::render) reads it.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) limits: Limits,
    index: TaskIndex,
    pub(crate) events: LabelCounter,
    /// In [`TASK_COUNTERS`] order.
    pub(crate) counters: [TaskSeries<u64>; TASK_COUNTERS.len()],
    pub(crate) runtime: TaskSeries<Histogram>,
    pub(crate) queue_wait: TaskSeries<Histogram>,
    /// queue → `[ready, in_flight, delayed, dead]`.
    pub(crate) queues: BTreeMap<String, [u64; 4]>,
    pub(crate) workers_alive: u64,
    /// worker id → alive.
    pub(crate) workers_up: BTreeMap<String, bool>,
}

/// The `state` label values of `celeriac_queue_messages`, in the order of
/// [`State::queues`]' arrays.
pub(crate) const QUEUE_STATES: [&str; 4] = ["ready", "in_flight", "delayed", "dead"];

impl Default for State {
    fn default() -> Self {
        State::new(Limits::default())
    }
}

impl Metrics {
    /// Empty metrics with the default [`Limits`].
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Empty metrics with the given bounds.
    pub fn with_limits(limits: Limits) -> Metrics {
        Metrics {
            state: Mutex::new(State::new(limits)),
        }
    }

    /// Counts one event.
    pub fn observe(&self, event: &Event) {
        self.lock().observe(event);
    }

    /// Counts a batch of events, in order, under one lock.
    pub fn observe_all(&self, events: &[Event]) {
        let mut state = self.lock();
        for event in events {
            state.observe(event);
        }
    }

    /// Replaces the queue gauges with `stats`: a queue absent from it
    /// disappears from `celeriac_queue_messages`. Duplicate queues are
    /// summed.
    pub fn set_queues(&self, stats: &[QueueStats]) {
        let mut state = self.lock();
        let max_queues = (state.limits.max_series / QUEUE_STATES.len()).max(1);
        let mut queues: BTreeMap<String, [u64; 4]> = BTreeMap::new();
        for s in stats {
            add(
                queues.entry(clip(&s.queue).to_owned()).or_default(),
                [s.ready, s.in_flight, s.delayed, s.dead],
            );
        }
        // Past the bound, the queues last in name order are summed as one,
        // so totals stay right while the series stay few.
        if queues.len() > max_queues {
            let mut kept = BTreeMap::new();
            let mut other = [0; 4];
            for (i, (queue, counts)) in queues.into_iter().enumerate() {
                if i + 1 < max_queues {
                    kept.insert(queue, counts);
                } else {
                    add(&mut other, counts);
                }
            }
            add(kept.entry(OTHER.to_owned()).or_default(), other);
            queues = kept;
        }
        state.queues = queues;
    }

    /// Replaces the worker gauges with `workers`: `celeriac_workers_alive`
    /// counts the alive ones, `celeriac_worker_up{worker}` lists each (by
    /// its id) as 1 or 0.
    pub fn set_workers(&self, workers: &[WorkerStatus]) {
        let mut state = self.lock();
        let limit = state.limits.max_series;
        let mut up: BTreeMap<String, bool> = BTreeMap::new();
        for w in workers {
            let id = clip(&w.info.id);
            let full = up.len() >= limit;
            match up.get_mut(id) {
                Some(alive) => *alive |= w.alive,
                None if !full => {
                    up.insert(id.to_owned(), w.alive);
                }
                None => {}
            }
        }
        state.workers_alive = workers.iter().filter(|w| w.alive).count() as u64;
        state.workers_up = up;
    }

    /// The metrics in Prometheus' text exposition format 0.0.4: families
    /// sorted by name, series by labels; a family with no series yet is
    /// left out.
    pub fn render(&self) -> String {
        crate::render::render(&self.lock())
    }

    /// The state, even if a thread panicked holding it: it holds only
    /// counters, each consistent on its own.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn new(limits: Limits) -> State {
        State {
            limits,
            index: TaskIndex::new(limits.max_tracked_tasks),
            events: LabelCounter::default(),
            counters: Default::default(),
            runtime: TaskSeries::default(),
            queue_wait: TaskSeries::default(),
            queues: BTreeMap::new(),
            workers_alive: 0,
            workers_up: BTreeMap::new(),
        }
    }

    fn observe(&mut self, event: &Event) {
        let limit = self.limits.max_series;
        self.events.add(clip(&event.kind), 1, limit);
        if !event.is_task() {
            return;
        }
        let uuid = event.uuid();
        let name = non_empty(event.str_field("name")).map(clip);
        let queue = non_empty(event.str_field("queue")).map(clip);
        if let Some(uuid) = uuid {
            self.index.learn(uuid, name, queue);
        }
        let (known_name, known_queue) = uuid.map_or((None, None), |uuid| self.index.get(uuid));
        let task = name.or(known_name).unwrap_or(UNKNOWN);
        let queue = queue.or(known_queue).unwrap_or(UNKNOWN);

        if let Some(i) = catalog::task_counter(&event.kind) {
            if let Some(counter) = self.counters.get_mut(i) {
                counter.update(task, queue, limit, |n| *n += 1);
            }
        }
        match event.kind.as_str() {
            "task-succeeded" | "task-failed" => {
                if let Some(runtime) = event.f64_field("runtime") {
                    self.runtime.update(task, queue, limit, |h| h.observe(runtime));
                }
            }
            "task-started" => {
                if let Some(wait) = event.f64_field("queue_wait") {
                    self.queue_wait.update(task, queue, limit, |h| h.observe(wait));
                }
            }
            _ => {}
        }
        if let Some(uuid) = uuid.filter(|_| catalog::ends_task(&event.kind)) {
            self.index.end(uuid);
        }
    }
}

/// `None` for an absent or empty string: an empty label value reads as no
/// label at all in Prometheus.
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

fn add(into: &mut [u64; 4], counts: [u64; 4]) {
    for (slot, n) in into.iter_mut().zip(counts) {
        *slot = slot.saturating_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Metrics>();
    }

    #[test]
    fn a_poisoned_lock_still_counts() {
        let metrics = std::sync::Arc::new(Metrics::new());
        let m = std::sync::Arc::clone(&metrics);
        let _ = std::thread::spawn(move || {
            let _guard = m.state.lock();
            panic!("poison it");
        })
        .join();
        metrics.observe(&Event::new("worker-online", "w@h", 1));
        assert!(metrics
            .render()
            .contains(r#"celeriac_events_total{type="worker-online"} 1"#));
    }
}
