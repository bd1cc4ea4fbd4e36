//! An in-process broker for tests and embedding: same semantics as the
//! durable brokers, nothing survives the process.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::broker::{
    Broker, Capabilities, DeadLetter, DeadSelector, Delivery, DeliveryTag, FetchRequest, NewMessage, QueueStats,
    WorkerInfo, WorkerStatus,
};
use crate::error::BrokerError;

/// Where a stored message is.
#[derive(Debug, Clone, PartialEq)]
enum Place {
    Ready,
    Leased { consumer: String },
    Delayed { due: DateTime<Utc> },
}

#[derive(Debug, Clone)]
struct Stored {
    queue: String,
    priority: u8,
    task_id: Option<String>,
    payload: Vec<u8>,
    deliveries: u32,
    /// Serial of the current delivery. Not `deliveries`: a deferral does not
    /// count as a delivery, yet the tag from before it must go stale.
    serial: u64,
    place: Place,
}

#[derive(Debug)]
struct Consumer {
    lease_until: Instant,
    last_heartbeat: DateTime<Utc>,
    info: Option<WorkerInfo>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    next_serial: u64,
    messages: HashMap<u64, Stored>,
    /// Ready messages per queue, ordered by (priority, id).
    ready: HashMap<String, BTreeSet<(u8, u64)>>,
    delayed: BTreeSet<(DateTime<Utc>, u64)>,
    consumers: HashMap<String, Consumer>,
    dead: BTreeMap<u64, DeadLetter>,
    /// Priority of each dead letter, restored when it is retried.
    dead_priority: HashMap<u64, u8>,
    revoked: HashMap<String, Instant>,
    queues: BTreeSet<String>,
    paused: BTreeSet<String>,
}

/// The in-memory broker.
///
/// ```
/// use celeriac_core::memory::MemoryBroker;
/// use celeriac_core::Broker;
/// let broker = MemoryBroker::new();
/// assert_eq!(broker.capabilities().backend, "memory");
/// ```
#[derive(Default)]
pub struct MemoryBroker {
    state: Mutex<State>,
    wake: Notify,
}

fn tag(id: u64, serial: u64) -> DeliveryTag {
    DeliveryTag(format!("{id}:{serial}"))
}

fn parse_tag(tag: &DeliveryTag) -> Option<(u64, u64)> {
    let (id, n) = tag.0.split_once(':')?;
    Some((id.parse().ok()?, n.parse().ok()?))
}

impl MemoryBroker {
    /// An empty broker.
    pub fn new() -> Self {
        MemoryBroker::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent
        // in a way later calls trip over, so recover the guard.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn make_ready(&mut self, id: u64) {
        if let Some(m) = self.messages.get_mut(&id) {
            m.place = Place::Ready;
            self.ready.entry(m.queue.clone()).or_default().insert((m.priority, id));
        }
    }

    /// Returns expired consumers' messages and promotes due delayed ones.
    fn maintain(&mut self, now: Instant, wall: DateTime<Utc>) {
        let dead: Vec<String> = self
            .consumers
            .iter()
            .filter(|(_, c)| c.lease_until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        if !dead.is_empty() {
            let orphans: Vec<u64> = self
                .messages
                .iter()
                .filter(|(_, m)| matches!(&m.place, Place::Leased { consumer } if dead.contains(consumer)))
                .map(|(id, _)| *id)
                .collect();
            for id in orphans {
                self.make_ready(id);
            }
        }
        while let Some(&(due, id)) = self.delayed.first() {
            if due > wall {
                break;
            }
            self.delayed.pop_first();
            self.make_ready(id);
        }
        self.revoked.retain(|_, until| *until > now);
    }

    fn take_current(&mut self, t: &DeliveryTag) -> Option<(u64, Stored)> {
        let (id, serial) = parse_tag(t)?;
        let m = self.messages.get(&id)?;
        if m.serial != serial || !matches!(m.place, Place::Leased { .. }) {
            return None;
        }
        self.messages.remove(&id).map(|m| (id, m))
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            backend: "memory",
            priority_levels: 10,
            priority_order: "0-9, every level distinct, 0 served first",
            delayed_delivery: true,
            dead_letters: true,
            multi_process: false,
            survives_process_kill: false,
            survives_power_loss: false,
            push_wakeup: true,
        }
    }

    async fn enqueue_many(&self, messages: Vec<NewMessage>) -> Result<(), BrokerError> {
        {
            let mut s = self.lock();
            let now = Utc::now();
            for m in messages {
                s.next_id += 1;
                let id = s.next_id;
                s.queues.insert(m.queue.clone());
                let place = match m.eta {
                    Some(eta) if eta > now => Place::Delayed { due: eta },
                    _ => Place::Ready,
                };
                let stored = Stored {
                    queue: m.queue,
                    priority: m.priority.min(9),
                    task_id: m.task_id,
                    payload: m.payload,
                    deliveries: 0,
                    serial: 0,
                    place: place.clone(),
                };
                s.messages.insert(id, stored);
                match place {
                    Place::Delayed { due } => {
                        s.delayed.insert((due, id));
                    }
                    _ => s.make_ready(id),
                }
            }
        }
        self.wake.notify_waiters();
        Ok(())
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Vec<Delivery>, BrokerError> {
        let deadline = Instant::now() + request.wait;
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_due = {
                let mut s = self.lock();
                let now = Instant::now();
                s.maintain(now, Utc::now());
                let consumer = s.consumers.entry(request.consumer.to_owned()).or_insert(Consumer {
                    lease_until: now,
                    last_heartbeat: Utc::now(),
                    info: None,
                });
                consumer.lease_until = now + request.lease;
                consumer.last_heartbeat = Utc::now();
                let revoked_ids = s.revoked.keys().cloned().collect::<BTreeSet<_>>();
                let mut out = Vec::new();
                for queue in request.queues {
                    while out.len() < request.max {
                        let Some(&(priority, id)) = s.ready.get(queue).and_then(|q| q.first()) else {
                            break;
                        };
                        if let Some(q) = s.ready.get_mut(queue) {
                            q.remove(&(priority, id));
                        }
                        s.next_serial += 1;
                        let serial = s.next_serial;
                        let Some(m) = s.messages.get_mut(&id) else { continue };
                        m.deliveries += 1;
                        m.serial = serial;
                        m.place = Place::Leased {
                            consumer: request.consumer.to_owned(),
                        };
                        out.push(Delivery {
                            tag: tag(id, serial),
                            queue: m.queue.clone(),
                            payload: m.payload.clone(),
                            deliveries: m.deliveries,
                            revoked: m.task_id.as_ref().is_some_and(|t| revoked_ids.contains(t)),
                            task_id: m.task_id.clone(),
                        });
                    }
                }
                if !out.is_empty() || request.wait.is_zero() {
                    return Ok(out);
                }
                s.delayed.first().map(|(due, _)| *due)
            };
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let mut sleep_for = deadline - now;
            if let Some(due) = next_due {
                let until_due = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                sleep_for = sleep_for.min(until_due + Duration::from_millis(1));
            }
            // Leases of silent consumers expire on their own; look again soon.
            sleep_for = sleep_for.min(Duration::from_millis(250));
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(sleep_for) => {}
            }
        }
    }

    async fn heartbeat(&self, worker: &WorkerInfo, lease: Duration) -> Result<(), BrokerError> {
        let mut s = self.lock();
        let now = Instant::now();
        let c = s.consumers.entry(worker.id.clone()).or_insert(Consumer {
            lease_until: now,
            last_heartbeat: Utc::now(),
            info: None,
        });
        c.lease_until = now + lease;
        c.last_heartbeat = Utc::now();
        c.info = Some(worker.clone());
        Ok(())
    }

    async fn deregister(&self, worker_id: &str) -> Result<(), BrokerError> {
        {
            let mut s = self.lock();
            if let Some(c) = s.consumers.get_mut(worker_id) {
                c.lease_until = Instant::now();
            }
            s.maintain(Instant::now(), Utc::now());
            s.consumers.remove(worker_id);
        }
        self.wake.notify_waiters();
        Ok(())
    }

    async fn ack(&self, tags: &[DeliveryTag]) -> Result<u64, BrokerError> {
        let mut s = self.lock();
        Ok(tags.iter().filter(|t| s.take_current(t).is_some()).count() as u64)
    }

    async fn requeue(&self, tags: &[DeliveryTag]) -> Result<u64, BrokerError> {
        let mut n = 0;
        {
            let mut s = self.lock();
            for t in tags {
                if let Some((id, m)) = s.take_current(t) {
                    s.messages.insert(id, m);
                    s.make_ready(id);
                    n += 1;
                }
            }
        }
        self.wake.notify_waiters();
        Ok(n)
    }

    async fn defer(&self, t: &DeliveryTag, until: DateTime<Utc>) -> Result<(), BrokerError> {
        let mut s = self.lock();
        if let Some((id, mut m)) = s.take_current(t) {
            m.deliveries = m.deliveries.saturating_sub(1);
            m.place = Place::Delayed { due: until };
            s.messages.insert(id, m);
            s.delayed.insert((until, id));
        }
        Ok(())
    }

    async fn dead_letter(&self, t: &DeliveryTag, reason: &str) -> Result<(), BrokerError> {
        let mut s = self.lock();
        if let Some((id, m)) = s.take_current(t) {
            s.dead_priority.insert(id, m.priority);
            s.dead.insert(
                id,
                DeadLetter {
                    id: id.to_string(),
                    queue: m.queue,
                    task_id: m.task_id,
                    reason: reason.to_owned(),
                    payload: m.payload,
                    deliveries: m.deliveries,
                    dead_at: Utc::now(),
                },
            );
        }
        Ok(())
    }

    async fn purge(&self, queue: &str) -> Result<u64, BrokerError> {
        let mut s = self.lock();
        let ids: Vec<u64> = s
            .messages
            .iter()
            .filter(|(_, m)| m.queue == queue && !matches!(m.place, Place::Leased { .. }))
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            if let Some(m) = s.messages.remove(id) {
                if let Place::Delayed { due } = m.place {
                    s.delayed.remove(&(due, *id));
                }
            }
        }
        s.ready.remove(queue);
        Ok(ids.len() as u64)
    }

    async fn revoke(&self, task_id: &str, ttl: Duration) -> Result<(), BrokerError> {
        self.lock().revoked.insert(task_id.to_owned(), Instant::now() + ttl);
        Ok(())
    }

    async fn is_revoked(&self, task_id: &str) -> Result<bool, BrokerError> {
        let s = self.lock();
        Ok(s.revoked.get(task_id).is_some_and(|until| *until > Instant::now()))
    }

    async fn stats(&self) -> Result<Vec<QueueStats>, BrokerError> {
        let s = self.lock();
        let mut stats: BTreeMap<String, QueueStats> = s
            .queues
            .iter()
            .map(|q| {
                (
                    q.clone(),
                    QueueStats {
                        queue: q.clone(),
                        ..QueueStats::default()
                    },
                )
            })
            .collect();
        for m in s.messages.values() {
            let e = stats.entry(m.queue.clone()).or_default();
            match m.place {
                Place::Ready => e.ready += 1,
                Place::Leased { .. } => e.in_flight += 1,
                Place::Delayed { .. } => e.delayed += 1,
            }
        }
        for d in s.dead.values() {
            stats.entry(d.queue.clone()).or_default().dead += 1;
        }
        Ok(stats
            .into_iter()
            .map(|(q, mut st)| {
                st.queue = q;
                st
            })
            .collect())
    }

    async fn workers(&self) -> Result<Vec<WorkerStatus>, BrokerError> {
        let s = self.lock();
        let now = Instant::now();
        let mut out = Vec::new();
        for (id, c) in &s.consumers {
            let Some(info) = &c.info else { continue };
            let in_flight = s
                .messages
                .values()
                .filter(|m| matches!(&m.place, Place::Leased { consumer } if consumer == id))
                .count() as u64;
            out.push(WorkerStatus {
                info: info.clone(),
                last_heartbeat: c.last_heartbeat,
                alive: c.lease_until > now,
                in_flight,
            });
        }
        out.sort_by(|a, b| a.info.id.cmp(&b.info.id));
        Ok(out)
    }

    async fn dead_letters(&self, queue: Option<&str>, limit: usize) -> Result<Vec<DeadLetter>, BrokerError> {
        let s = self.lock();
        Ok(s.dead
            .values()
            .filter(|d| queue.is_none_or(|q| d.queue == q))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn retry_dead(&self, which: &DeadSelector) -> Result<u64, BrokerError> {
        let n = {
            let mut s = self.lock();
            let ids = select_dead(&s, which);
            for id in &ids {
                if let Some(d) = s.dead.remove(id) {
                    let priority = s.dead_priority.remove(id).unwrap_or(0);
                    s.next_id += 1;
                    let new_id = s.next_id;
                    s.queues.insert(d.queue.clone());
                    s.messages.insert(
                        new_id,
                        Stored {
                            queue: d.queue,
                            priority,
                            task_id: d.task_id,
                            payload: d.payload,
                            deliveries: 0,
                            serial: 0,
                            place: Place::Ready,
                        },
                    );
                    s.make_ready(new_id);
                }
            }
            ids.len() as u64
        };
        self.wake.notify_waiters();
        Ok(n)
    }

    async fn drop_dead(&self, which: &DeadSelector) -> Result<u64, BrokerError> {
        let mut s = self.lock();
        let ids = select_dead(&s, which);
        for id in &ids {
            s.dead.remove(id);
            s.dead_priority.remove(id);
        }
        Ok(ids.len() as u64)
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<(), BrokerError> {
        let mut s = self.lock();
        if paused {
            s.paused.insert(queue.to_owned());
        } else {
            s.paused.remove(queue);
        }
        Ok(())
    }

    async fn paused_queues(&self) -> Result<Vec<String>, BrokerError> {
        Ok(self.lock().paused.iter().cloned().collect())
    }
}

fn select_dead(s: &State, which: &DeadSelector) -> Vec<u64> {
    s.dead
        .iter()
        .filter(|(id, d)| match which {
            DeadSelector::All => true,
            DeadSelector::Queue(q) => &d.queue == q,
            DeadSelector::Id(wanted) => id.to_string() == *wanted,
        })
        .map(|(id, _)| *id)
        .collect()
}
