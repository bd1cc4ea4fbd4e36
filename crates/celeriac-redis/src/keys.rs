//! Key and channel names: kombu's layout (PROTOCOL.md §4) for everything a
//! Celery worker reads, and Celeriac's own keys under `celeriac.`.

use crate::config::RedisConfig;

/// Every name the broker and backend use, with `global_keyprefix` applied.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) prefix: String,
    sep: String,
    steps: Vec<u8>,
    result_prefix: String,
    /// kombu's hash of delivered, unacknowledged messages.
    pub(crate) unacked: String,
    /// kombu's zset of delivery times of `unacked` entries.
    pub(crate) unacked_index: String,
    /// Per delivery (its `unacked` field): `owner order` (Celeriac's leases).
    pub(crate) leases: String,
    /// Per kombu delivery tag: how many times the message was delivered.
    pub(crate) deliveries: String,
    /// Zset of delayed delivery tags by due time (ms).
    pub(crate) delayed: String,
    /// Hash of delayed messages: tag → `[envelope, list key, queue]`.
    pub(crate) delayed_msgs: String,
    /// Hash: queue → number of delayed messages.
    pub(crate) delayed_count: String,
    /// Hash of dead letters: id → JSON record.
    pub(crate) dead: String,
    /// Hash of dead letters' raw messages: id → bytes.
    pub(crate) dead_payload: String,
    /// Zset of dead-letter ids (score: id, for ordered listing).
    pub(crate) dead_index: String,
    /// Hash: queue → number of dead letters.
    pub(crate) dead_count: String,
    /// Counter for dead-letter ids.
    pub(crate) dead_seq: String,
    /// Zset of revoked task ids by expiry (ms).
    pub(crate) revoked: String,
    /// Set of queue names Celeriac has seen.
    pub(crate) queues: String,
    /// Hash: worker id → self-description (JSON).
    pub(crate) workers: String,
    /// Lock held by the one scheduler/sweeper running at a time.
    pub(crate) maintenance_lock: String,
    /// Set: queues paused from the dashboard or API.
    pub(crate) paused: String,
}

impl Keys {
    pub(crate) fn new(config: &RedisConfig) -> Keys {
        let p = config.global_keyprefix.clone();
        let own = |name: &str| format!("{p}celeriac.{name}");
        Keys {
            unacked: format!("{p}unacked"),
            unacked_index: format!("{p}unacked_index"),
            leases: own("leases"),
            deliveries: own("deliveries"),
            delayed: own("delayed"),
            delayed_msgs: own("delayed.msgs"),
            delayed_count: own("delayed.count"),
            dead: own("dead"),
            dead_index: own("dead.index"),
            dead_payload: own("dead.payload"),
            dead_count: own("dead.count"),
            dead_seq: own("dead.seq"),
            revoked: own("revoked"),
            queues: own("queues"),
            workers: own("workers"),
            maintenance_lock: own("maintenance.lock"),
            paused: own("paused"),
            prefix: p,
            sep: config.sep.clone(),
            steps: config.priority_steps.clone(),
            result_prefix: config.result_prefix.clone(),
        }
    }

    /// The priority step a priority 0–9 falls in (largest step ≤ priority).
    pub(crate) fn step(&self, priority: u8) -> u8 {
        let p = priority.min(9);
        self.steps.iter().copied().filter(|s| *s <= p).max().unwrap_or(0)
    }

    /// The list holding `queue`'s messages of `priority`.
    pub(crate) fn queue_key(&self, queue: &str, priority: u8) -> String {
        match self.step(priority) {
            0 => format!("{}{queue}", self.prefix),
            step => format!("{}{queue}{}{step}", self.prefix, self.sep),
        }
    }

    /// Every list of `queue`, most urgent first.
    pub(crate) fn queue_keys(&self, queue: &str) -> Vec<String> {
        self.steps.iter().map(|s| self.queue_key(queue, *s)).collect()
    }

    /// The lists of several queues in kombu's consuming order: each priority
    /// step across all queues before the next step.
    pub(crate) fn consume_keys(&self, queues: &[String]) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(queues.len() * self.steps.len());
        for step in &self.steps {
            for queue in queues {
                out.push((self.queue_key(queue, *step), queue.clone()));
            }
        }
        out
    }

    /// kombu's binding tables for a queue routed by Celery's default
    /// exchange (named like the queue).
    pub(crate) fn bindings(&self, queue: &str) -> (String, String, String) {
        let member = format!("{queue}{sep}{sep}{queue}", sep = self.sep);
        (
            format!("{}_kombu.binding.{queue}", self.prefix),
            format!("{}_kombu.binding_permanent.{queue}", self.prefix),
            member,
        )
    }

    /// `celery-task-meta-<id>`: a result's key and its PUBLISH channel.
    pub(crate) fn result_key(&self, task_id: &str) -> String {
        format!("{}{}{task_id}", self.prefix, self.result_prefix)
    }

    /// Channel Celeriac producers publish on after enqueueing to `queue`.
    pub(crate) fn wake_channel(&self, queue: &str) -> String {
        format!("{}celeriac.wake.{queue}", self.prefix)
    }

    /// A consumer's staging registry: a hash of its staging lists, each
    /// naming the list its messages came from.
    pub(crate) fn staging_registry(&self, owner: &str) -> String {
        format!("{}celeriac.staging.{owner}", self.prefix)
    }

    /// Where a fetch by `owner` moves messages taken from `list` until they
    /// are filed as held: a crash in between leaves them here, not lost.
    pub(crate) fn staging_list(&self, owner: &str, list: &str) -> String {
        format!("{}celeriac.staging.{owner}{}{list}", self.prefix, self.sep)
    }

    /// A worker's heartbeat key; it expires when the worker stops.
    pub(crate) fn heartbeat(&self, worker: &str) -> String {
        format!("{}celeriac.heartbeat.{worker}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kombu_layout() {
        let keys = Keys::new(&RedisConfig::new("redis://h"));
        assert_eq!(keys.queue_key("celery", 0), "celery");
        assert_eq!(keys.queue_key("celery", 2), "celery");
        assert_eq!(keys.queue_key("celery", 5), "celery\x06\x163");
        assert_eq!(keys.queue_key("celery", 9), "celery\x06\x169");
        let order: Vec<String> = keys
            .consume_keys(&["a".into(), "b".into()])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(order[..3], ["a".to_owned(), "b".into(), "a\x06\x163".into()]);
        assert_eq!(keys.bindings("celery").2, "celery\x06\x16\x06\x16celery");
        let mut c = RedisConfig::new("redis://h");
        c.global_keyprefix = "app:".into();
        let keys = Keys::new(&c);
        assert_eq!(keys.queue_key("q", 9), "app:q\x06\x169");
        assert_eq!(keys.unacked, "app:unacked");
        assert_eq!(keys.result_key("x"), "app:celery-task-meta-x");
    }
}
