//! What task a uuid is: the name and queue learned from the events that
//! carry them (`task-sent`, `task-received`, Celeriac's own events), for
//! the Python Celery events that carry only the uuid.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Uuids longer than this are not remembered: task ids are 36 characters,
/// and a bounded entry count means little if one key can be huge.
const MAX_UUID_LEN: usize = 128;

/// A bounded map uuid → (name, queue).
///
/// When full, tasks that ended go first (oldest end first), then the
/// oldest of those still running. Ended tasks are kept rather than dropped
/// because events can arrive out of order (a quick task's `task-started`
/// after its `task-succeeded`); evicting them first spends the bound on
/// the long-running tasks that still need their names.
#[derive(Debug, Default)]
pub(crate) struct TaskIndex {
    entries: HashMap<Arc<str>, Known>,
    /// Running tasks by learning order, and ended tasks by end order. Both
    /// hold stale items (a task that ended, or ended and was learned
    /// again): an item counts only if its sequence number and state are
    /// the entry's.
    running: VecDeque<(Arc<str>, u64)>,
    ended: VecDeque<(Arc<str>, u64)>,
    capacity: usize,
    next_seq: u64,
}

#[derive(Debug)]
struct Known {
    name: Option<String>,
    queue: Option<String>,
    seq: u64,
    ended: bool,
}

impl TaskIndex {
    /// An index of at most `capacity` tasks (none for 0).
    pub(crate) fn new(capacity: usize) -> TaskIndex {
        TaskIndex {
            capacity,
            ..TaskIndex::default()
        }
    }

    /// Records what an event said about task `uuid`; a value it lacks
    /// keeps what an earlier event said. A task learned again after it
    /// ended (a retry's new `task-received`) counts as running again.
    pub(crate) fn learn(&mut self, uuid: &str, name: Option<&str>, queue: Option<&str>) {
        if self.capacity == 0 || uuid.len() > MAX_UUID_LEN || (name.is_none() && queue.is_none()) {
            return;
        }
        let seq = self.next_seq;
        if let Some((key, known)) = self.entries.get_key_value(uuid) {
            // Unchanged and running: the common case, nothing to write.
            let same = |have: &Option<String>, new: Option<&str>| new.is_none_or(|v| have.as_deref() == Some(v));
            if !known.ended && same(&known.name, name) && same(&known.queue, queue) {
                return;
            }
            let key = Arc::clone(key);
            if let Some(known) = self.entries.get_mut(uuid) {
                if let Some(name) = name {
                    known.name = Some(name.to_owned());
                }
                if let Some(queue) = queue {
                    known.queue = Some(queue.to_owned());
                }
                if known.ended {
                    known.ended = false;
                    known.seq = seq;
                    self.next_seq += 1;
                    self.running.push_back((key, seq));
                }
            }
            return;
        }
        let key: Arc<str> = Arc::from(uuid);
        self.next_seq += 1;
        self.entries.insert(
            Arc::clone(&key),
            Known {
                name: name.map(str::to_owned),
                queue: queue.map(str::to_owned),
                seq,
                ended: false,
            },
        );
        self.running.push_back((key, seq));
        self.evict();
        self.compact();
    }

    /// `(name, queue)` as far as known.
    pub(crate) fn get(&self, uuid: &str) -> (Option<&str>, Option<&str>) {
        match self.entries.get(uuid) {
            Some(known) => (known.name.as_deref(), known.queue.as_deref()),
            None => (None, None),
        }
    }

    /// Marks task `uuid` as ended: first in line for eviction.
    pub(crate) fn end(&mut self, uuid: &str) {
        let seq = self.next_seq;
        let Some((key, known)) = self.entries.get_key_value(uuid) else {
            return;
        };
        if known.ended {
            return;
        }
        let key = Arc::clone(key);
        if let Some(known) = self.entries.get_mut(uuid) {
            known.ended = true;
            known.seq = seq;
            self.next_seq += 1;
            self.ended.push_back((key, seq));
        }
        self.compact();
    }

    /// Tasks remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn evict(&mut self) {
        while self.entries.len() > self.capacity {
            let (queue, ended) = if self.ended.is_empty() {
                (&mut self.running, false)
            } else {
                (&mut self.ended, true)
            };
            let Some((key, seq)) = queue.pop_front() else {
                return;
            };
            let current = self
                .entries
                .get(&key)
                .is_some_and(|known| known.seq == seq && known.ended == ended);
            if current {
                self.entries.remove(&key);
            }
        }
    }

    /// Drops stale items once a queue holds twice the bound, so both stay
    /// within it at amortized constant cost.
    fn compact(&mut self) {
        let bound = self.capacity.saturating_mul(2).max(64);
        let entries = &self.entries;
        for (queue, ended) in [(&mut self.running, false), (&mut self.ended, true)] {
            if queue.len() > bound {
                queue.retain(|(key, seq)| {
                    entries
                        .get(key)
                        .is_some_and(|known| known.seq == *seq && known.ended == ended)
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_what_successive_events_say() {
        let mut index = TaskIndex::new(10);
        // Celery's task-sent names the queue; task-received only the name.
        index.learn("a", Some("tasks.add"), Some("default"));
        index.learn("a", Some("tasks.add"), None);
        assert_eq!(index.get("a"), (Some("tasks.add"), Some("default")));
        index.learn("b", None, Some("q"));
        index.learn("b", Some("tasks.b"), None);
        assert_eq!(index.get("b"), (Some("tasks.b"), Some("q")));
        assert_eq!(index.get("c"), (None, None));
        // A late event after the end still finds it.
        index.end("a");
        assert_eq!(index.get("a"), (Some("tasks.add"), Some("default")));
    }

    #[test]
    fn evicts_ended_tasks_first_then_the_oldest_running() {
        let mut index = TaskIndex::new(3);
        for id in ["long", "b", "c"] {
            index.learn(id, Some(id), None);
        }
        index.end("c");
        index.end("b");
        index.learn("d", Some("d"), None); // evicts c, first to end
        assert_eq!(index.get("c"), (None, None));
        assert_eq!(index.get("long"), (Some("long"), None));
        index.learn("e", Some("e"), None); // evicts b
        assert_eq!(index.get("b"), (None, None));
        index.learn("f", Some("f"), None); // none ended: the oldest running
        assert_eq!(index.get("long"), (None, None));
        assert_eq!(index.len(), 3);
        for id in ["d", "e", "f"] {
            assert_eq!(index.get(id), (Some(id), None));
        }
    }

    #[test]
    fn a_task_learned_again_after_its_end_runs_again() {
        let mut index = TaskIndex::new(2);
        index.learn("retried", Some("t"), None);
        index.end("retried");
        index.learn("retried", Some("t"), None); // the retry's task-received
        index.learn("x", Some("x"), None);
        index.end("x");
        index.learn("y", Some("y"), None); // evicts x (ended), not the retry
        assert_eq!(index.get("retried"), (Some("t"), None));
        assert_eq!(index.get("x"), (None, None));
    }

    #[test]
    fn stays_bounded_through_churn() {
        let mut index = TaskIndex::new(100);
        for i in 0..10_000 {
            let id = format!("id-{i}");
            index.learn(&id, Some("t"), Some("q"));
            if i % 3 != 0 {
                index.end(&id);
            }
            if i % 7 == 0 {
                index.learn(&id, Some("t2"), None);
            }
        }
        assert_eq!(index.len(), 100);
        assert!(index.running.len() <= 2 * 100 + 1);
        assert!(index.ended.len() <= 2 * 100 + 1);
        // Running tasks outlive ended ones, even newer ones.
        assert_eq!(index.get("id-9999"), (Some("t"), Some("q")));
        assert_eq!(index.get("id-9998"), (None, None));
        assert_eq!(index.get("id-9993"), (Some("t"), Some("q")));
        assert_eq!(index.get("id-9996"), (Some("t2"), Some("q")));
    }

    #[test]
    fn zero_capacity_and_oversized_uuids_are_not_remembered() {
        let mut none = TaskIndex::new(0);
        none.learn("a", Some("t"), None);
        assert_eq!(none.len(), 0);
        let mut index = TaskIndex::new(10);
        index.learn(&"x".repeat(MAX_UUID_LEN + 1), Some("t"), None);
        assert_eq!(index.len(), 0);
    }
}
