//! The broker trait: the only thing the worker knows about a queue store.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::backend::ResultBackend;
use crate::error::BrokerError;
use crate::result::TaskResult;

/// What a broker can and cannot do, reported instead of silently doing less.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Backend name, e.g. `sqlite`, `memory`, `redis`.
    pub backend: &'static str,
    /// Distinct priority levels actually served in order (10 = every value
    /// 0–9; kombu's Redis layout has 4 buckets).
    pub priority_levels: u8,
    /// How priorities are ordered, in words.
    pub priority_order: &'static str,
    /// ETA/countdown messages wait in the broker, not in a worker.
    pub delayed_delivery: bool,
    /// Messages that cannot run are kept with a reason.
    pub dead_letters: bool,
    /// Several processes can use the broker at once.
    pub multi_process: bool,
    /// An acknowledged enqueue survives the process being killed.
    pub survives_process_kill: bool,
    /// An acknowledged enqueue survives power loss.
    pub survives_power_loss: bool,
    /// Consumers are woken by a notification, not by polling.
    pub push_wakeup: bool,
}

/// A message to enqueue: routing data plus the encoded envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Destination queue.
    pub queue: String,
    /// 0–9, 0 served first.
    pub priority: u8,
    /// Deliver no earlier than this (ETA/countdown), kept in the broker.
    pub eta: Option<DateTime<Utc>>,
    /// Task id, for revocation and listings.
    pub task_id: Option<String>,
    /// The encoded message (kombu JSON envelope).
    pub payload: Vec<u8>,
}

/// Identifies one delivery of a message; acking a stale tag (the message was
/// since redelivered to someone else) does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryTag(pub String);

/// A message handed to a consumer under a lease.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Tag to ack, requeue, defer or dead-letter it with.
    pub tag: DeliveryTag,
    /// Queue it came from.
    pub queue: String,
    /// The encoded message, exactly as enqueued.
    pub payload: Vec<u8>,
    /// How many times it has been delivered, this time included.
    pub deliveries: u32,
    /// Task id recorded at enqueue.
    pub task_id: Option<String>,
    /// The task id was revoked before this delivery.
    pub revoked: bool,
}

/// Parameters of [`Broker::fetch`].
#[derive(Debug, Clone, Copy)]
pub struct FetchRequest<'a> {
    /// The consumer's id (its [`WorkerInfo::id`]); leases belong to it.
    pub consumer: &'a str,
    /// Queues to take from, each served fairly.
    pub queues: &'a [String],
    /// Most messages to return.
    pub max: usize,
    /// How long to wait for a first message before returning empty.
    pub wait: Duration,
    /// Lease length: the messages come back to the queue if the consumer
    /// does not heartbeat within this time.
    pub lease: Duration,
}

/// Counts for one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Queue name.
    pub queue: String,
    /// Ready to be delivered.
    pub ready: u64,
    /// Delivered, under a live or expired lease, not yet acked.
    pub in_flight: u64,
    /// Waiting for their ETA.
    pub delayed: u64,
    /// In the dead-letter store.
    pub dead: u64,
}

/// A message that could not run, kept with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Id of the dead-letter entry.
    pub id: String,
    /// Queue it came from (and returns to on retry).
    pub queue: String,
    /// Task id, when known.
    pub task_id: Option<String>,
    /// Why it is here.
    pub reason: String,
    /// The raw message bytes, unchanged.
    pub payload: Vec<u8>,
    /// Deliveries before it died.
    pub deliveries: u32,
    /// When it died.
    pub dead_at: DateTime<Utc>,
}

/// Which dead letters an operation applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadSelector {
    /// One entry by id.
    Id(String),
    /// Every entry from one queue.
    Queue(String),
    /// Every entry.
    All,
}

/// A worker's self-description, published with its heartbeats.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerInfo {
    /// Unique id of this worker process (`celeriac@host:pid:uuid`).
    pub id: String,
    /// Host name.
    pub hostname: String,
    /// Process id.
    pub pid: u32,
    /// Queues consumed.
    pub queues: Vec<String>,
    /// Most tasks run at once.
    pub concurrency: usize,
    /// Most messages held at once (running and prefetched).
    pub prefetch: usize,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// Celeriac version.
    pub version: String,
    /// Names of the tasks it can run.
    #[serde(default)]
    pub tasks: Vec<String>,
}

/// A worker as the registry sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerStatus {
    /// What it said about itself.
    pub info: WorkerInfo,
    /// Last heartbeat.
    pub last_heartbeat: DateTime<Utc>,
    /// Heartbeat within its lease.
    pub alive: bool,
    /// Messages it holds.
    pub in_flight: u64,
}

/// A queue store: enqueue, lease, ack, delay, dead-letter.
///
/// Delivery is at-least-once: a message is leased to one consumer, and comes
/// back only when that consumer stops heartbeating (or requeues it). While a
/// lease is live no other consumer receives the message.
///
/// Every method may fail with [`BrokerError::Unavailable`], which callers
/// retry with backoff (see [`BrokerError::retry_method`]).
///
/// # Cancel safety
///
/// Methods that change state are applied atomically by the store; if the
/// future is dropped the change may or may not have happened (an enqueue may
/// be committed, a fetch may lease messages that then return after the lease).
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// What this broker can do.
    fn capabilities(&self) -> Capabilities;

    /// Enqueues messages atomically: all or none are stored.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the store cannot take them; none were stored.
    async fn enqueue_many(&self, messages: Vec<NewMessage>) -> Result<(), BrokerError>;

    /// Enqueues one message.
    ///
    /// # Errors
    ///
    /// As [`Broker::enqueue_many`].
    async fn enqueue(&self, message: NewMessage) -> Result<(), BrokerError> {
        self.enqueue_many(vec![message]).await
    }

    /// Leases up to `max` ready messages (lowest priority number first, FIFO
    /// within a priority), waiting up to `wait` for the first one. Also
    /// renews the consumer's lease.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure; no message was leased.
    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Vec<Delivery>, BrokerError>;

    /// Records a heartbeat: renews every lease the worker holds and its
    /// registry entry.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn heartbeat(&self, worker: &WorkerInfo, lease: Duration) -> Result<(), BrokerError>;

    /// Removes a worker from the registry at clean shutdown; anything it
    /// still holds returns to its queue.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn deregister(&self, worker_id: &str) -> Result<(), BrokerError>;

    /// Acknowledges deliveries: the messages are removed. Returns how many
    /// tags were still current.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure; none were acked.
    async fn ack(&self, tags: &[DeliveryTag]) -> Result<u64, BrokerError>;

    /// Stores `results` in `backend`, then acknowledges `tags`: the order a
    /// worker needs (an outcome is never lost to an early ack). A broker
    /// that is also `backend` may do both in one atomic step; the default
    /// does them one after the other. Returns how many tags were current.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure; the acks were not made.
    async fn store_and_ack(
        &self,
        backend: &dyn ResultBackend,
        results: &[TaskResult],
        tags: &[DeliveryTag],
    ) -> Result<u64, BrokerError> {
        store_then_ack(self, backend, results, tags).await
    }

    /// Returns deliveries to the head of their queue at once.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn requeue(&self, tags: &[DeliveryTag]) -> Result<u64, BrokerError>;

    /// Gives a delivery back to wait in the broker until `until` (a message
    /// whose ETA is in the future); the lease ends and the delivery count is
    /// not increased.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn defer(&self, tag: &DeliveryTag, until: DateTime<Utc>) -> Result<(), BrokerError>;

    /// Moves a delivery to the dead-letter store with `reason`, raw bytes kept.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn dead_letter(&self, tag: &DeliveryTag, reason: &str) -> Result<(), BrokerError>;

    /// Removes every ready and delayed message of `queue`; returns the count.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn purge(&self, queue: &str) -> Result<u64, BrokerError>;

    /// Marks a task id revoked for `ttl`: deliveries of it are flagged so the
    /// worker records REVOKED without running it.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn revoke(&self, task_id: &str, ttl: Duration) -> Result<(), BrokerError>;

    /// Whether a task id is currently revoked.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn is_revoked(&self, task_id: &str) -> Result<bool, BrokerError>;

    /// Counts per queue (every queue that has or had messages).
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn stats(&self) -> Result<Vec<QueueStats>, BrokerError>;

    /// Registered workers, alive or recently dead.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn workers(&self) -> Result<Vec<WorkerStatus>, BrokerError>;

    /// Dead letters, oldest first, optionally of one queue.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn dead_letters(&self, queue: Option<&str>, limit: usize) -> Result<Vec<DeadLetter>, BrokerError>;

    /// Puts dead letters back on their queues (ready now); returns the count.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn retry_dead(&self, which: &DeadSelector) -> Result<u64, BrokerError>;

    /// Deletes dead letters; returns the count.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn drop_dead(&self, which: &DeadSelector) -> Result<u64, BrokerError>;

    /// Pauses (or resumes) consumption of `queue` by every worker of this
    /// store. The setting is stored, so workers started later obey it too;
    /// running workers notice within about a second. Messages keep arriving
    /// and wait.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unsupported`] where the store cannot keep the
    /// setting, or a store failure.
    async fn set_paused(&self, queue: &str, paused: bool) -> Result<(), BrokerError> {
        let _ = (queue, paused);
        Err(BrokerError::Unsupported("pausing queues"))
    }

    /// The queues paused now.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn paused_queues(&self) -> Result<Vec<String>, BrokerError> {
        Ok(Vec::new())
    }

    /// Revokes `task_id` and asks the worker running it, if any, to stop
    /// it: an async task is dropped at its next await; a blocking or cpu
    /// task sees its cancellation token cancelled (threads cannot be
    /// killed safely) and stops if it checks it.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn terminate(&self, task_id: &str, ttl: Duration) -> Result<(), BrokerError> {
        self.revoke(task_id, ttl).await?;
        self.revoke(&termination_key(task_id), ttl).await
    }

    /// Waits up to `wait` for remote-control commands (Celery's pidbox) and
    /// returns those received since the last call. Stores without a control
    /// channel just wait and return none; their workers follow the stored
    /// state instead (paused queues, revocations, terminations).
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the channel cannot be reached.
    async fn next_control(&self, wait: Duration) -> Result<Vec<crate::control::ControlCommand>, BrokerError> {
        tokio::time::sleep(wait).await;
        Ok(Vec::new())
    }

    /// Sends `reply` from worker `nodename` to the client that sent
    /// `command` (nothing when it asked for none).
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the reply cannot be delivered.
    async fn reply_control(
        &self,
        command: &crate::control::ControlCommand,
        nodename: &str,
        reply: serde_json::Value,
    ) -> Result<(), BrokerError> {
        let _ = (command, nodename, reply);
        Ok(())
    }

    /// Broadcasts `command` on the control channel, to Celeriac and Celery
    /// workers alike (nothing where the store has no channel).
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the channel cannot be reached.
    async fn broadcast_control(&self, command: &crate::control::ControlCommand) -> Result<(), BrokerError> {
        let _ = command;
        Ok(())
    }

    /// Of `task_ids` (tasks a worker is running), those whose termination
    /// was asked for.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn terminations(&self, task_ids: &[String]) -> Result<Vec<String>, BrokerError> {
        let mut out = Vec::new();
        for id in task_ids {
            if self.is_revoked(&termination_key(id)).await? {
                out.push(id.clone());
            }
        }
        Ok(out)
    }
}

/// How [`Broker::terminate`] marks a task in the revoked set: a second
/// entry beside the task id's own, which workers look for among the tasks
/// they run (Celery workers ignore it).
pub fn termination_key(task_id: &str) -> String {
    format!("celeriac.terminate:{task_id}")
}

/// The default of [`Broker::store_and_ack`]: results first, then the acks,
/// one after the other (for brokers that override it in some cases only).
///
/// # Errors
///
/// [`BrokerError`] from either step; the acks are not made if storing failed.
pub async fn store_then_ack<B: Broker + ?Sized>(
    broker: &B,
    backend: &dyn ResultBackend,
    results: &[TaskResult],
    tags: &[DeliveryTag],
) -> Result<u64, BrokerError> {
    if !results.is_empty() {
        backend.store_many(results).await?;
    }
    if tags.is_empty() {
        return Ok(0);
    }
    broker.ack(tags).await
}
