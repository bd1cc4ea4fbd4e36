//! The series of one metric family, with the cardinality guard: past a
//! bound, new label sets are folded into `other` instead of being created.

use std::collections::BTreeMap;

use crate::labels::OTHER;

/// `task="other"` label sets (one per queue) a full family may still
/// create; past them even the queue is folded, into `{other, other}`. So a
/// family never holds more than `limit + OVERFLOW_SERIES + 1` series.
const OVERFLOW_SERIES: usize = 64;

/// Series labelled `{task, queue}`, kept sorted by task then queue so a
/// render is deterministic without a sort.
#[derive(Debug, Clone)]
pub(crate) struct TaskSeries<V> {
    /// task → queue → value: two levels so lookups borrow the event's
    /// strings and allocate only for a new series.
    series: BTreeMap<String, BTreeMap<String, V>>,
    len: usize,
}

impl<V> Default for TaskSeries<V> {
    fn default() -> Self {
        TaskSeries {
            series: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<V: Default> TaskSeries<V> {
    /// Applies `f` to the series `{task, queue}`, created if the family
    /// has room for it (`limit` label sets), else to the `other` series
    /// the guard folds it into.
    pub(crate) fn update(&mut self, task: &str, queue: &str, limit: usize, f: impl FnOnce(&mut V)) {
        let (task, queue) = self.admit(task, queue, limit);
        if let Some(value) = self.series.get_mut(task).and_then(|by_queue| by_queue.get_mut(queue)) {
            f(value);
            return;
        }
        let mut value = V::default();
        f(&mut value);
        self.series
            .entry(task.to_owned())
            .or_default()
            .insert(queue.to_owned(), value);
        self.len += 1;
    }

    /// The label set `{task, queue}` is counted under.
    fn admit<'a>(&self, task: &'a str, queue: &'a str, limit: usize) -> (&'a str, &'a str) {
        if self.contains(task, queue) || self.len < limit {
            (task, queue)
        } else if self.contains(OTHER, queue) || self.len < limit.saturating_add(OVERFLOW_SERIES) {
            (OTHER, queue)
        } else {
            (OTHER, OTHER)
        }
    }

    fn contains(&self, task: &str, queue: &str) -> bool {
        self.series
            .get(task)
            .is_some_and(|by_queue| by_queue.contains_key(queue))
    }
}

impl<V> TaskSeries<V> {
    /// `(task, queue, value)`, sorted by task then queue.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str, &V)> {
        self.series.iter().flat_map(|(task, by_queue)| {
            by_queue
                .iter()
                .map(move |(queue, value)| (task.as_str(), queue.as_str(), value))
        })
    }

    /// Number of label sets.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// No series yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Counters with one label, at most `limit` values of it; the rest are
/// counted under `other`.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelCounter {
    counts: BTreeMap<String, u64>,
}

impl LabelCounter {
    /// Adds `n` to the counter labelled `value` (or `other`).
    pub(crate) fn add(&mut self, value: &str, n: u64, limit: usize) {
        if let Some(count) = self.counts.get_mut(value) {
            *count += n;
            return;
        }
        let value = if self.counts.len() < limit { value } else { OTHER };
        *self.counts.entry(value.to_owned()).or_default() += n;
    }

    /// `(label value, count)`, sorted by label value.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counts.iter().map(|(value, count)| (value.as_str(), *count))
    }

    /// Nothing counted yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(series: &mut TaskSeries<u64>, task: &str, queue: &str, limit: usize) {
        series.update(task, queue, limit, |n| *n += 1);
    }

    #[test]
    fn folds_new_tasks_into_other_once_full_and_keeps_existing_ones() {
        let mut s = TaskSeries::default();
        add(&mut s, "b", "q", 2);
        add(&mut s, "a", "q", 2);
        add(&mut s, "c", "q", 2); // full: folded
        add(&mut s, "d", "q2", 2); // folded, queue kept
        add(&mut s, "a", "q", 2); // existing: still counted as itself
        let got: Vec<_> = s.iter().map(|(t, q, n)| (t, q, *n)).collect();
        assert_eq!(
            got,
            vec![("a", "q", 2), ("b", "q", 1), ("other", "q", 1), ("other", "q2", 1)]
        );
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn bounds_the_family_even_with_endless_queues() {
        let mut s = TaskSeries::default();
        for i in 0..1_000 {
            add(&mut s, &format!("t{i}"), &format!("q{i}"), 10);
        }
        assert_eq!(s.len(), 10 + OVERFLOW_SERIES + 1);
        assert!(s.iter().any(|(t, q, _)| t == OTHER && q == OTHER));
        let total: u64 = s.iter().map(|(_, _, n)| *n).sum();
        assert_eq!(total, 1_000);
    }

    #[test]
    fn label_counter_folds_past_its_limit() {
        let mut c = LabelCounter::default();
        for kind in ["task-sent", "task-received", "custom-1", "custom-2", "task-sent"] {
            c.add(kind, 1, 2);
        }
        let got: Vec<_> = c.iter().collect();
        assert_eq!(got, vec![("other", 2), ("task-received", 1), ("task-sent", 2)]);
    }
}
