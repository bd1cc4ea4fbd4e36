//! Celery's Redis result backend: `celery-task-meta-<id>` documents written
//! with SET (with expiry) and PUBLISH on the same name, which is what
//! Python's `AsyncResult.get()` waits for.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use celeriac_core::{
    BackendCapabilities, BrokerError, ChordPart, ChordProgress, DeliveryTag, ResultBackend, TaskResult, TaskState,
};
use redis::AsyncCommands as _;

use crate::store::{to_broker_error, RedisStore};

type Res<T> = Result<T, BrokerError>;

/// Stores results (Celery's SET + PUBLISH on `celery-task-meta-<id>`),
/// then acknowledges deliveries, in one pipeline of native commands.
///
/// A stored SUCCESS is never overwritten, and a ready state is replaced only
/// by a ready state. The stored states are read at the start of the batch
/// (one MGET), so two writers of one task id within that round trip could
/// both pass the check; one task id runs twice at once only when a message
/// was duplicated outside Celeriac (a Celery restore of a live task).
pub(crate) async fn settle(store: &RedisStore, results: &[TaskResult], tags: &[DeliveryTag]) -> Res<u64> {
    if results.is_empty() && tags.is_empty() {
        return Ok(0);
    }
    let shared = &store.shared;
    let mut conn = shared.conn();
    let mut pipe = redis::pipe();
    if !results.is_empty() {
        let keys: Vec<String> = results.iter().map(|r| shared.keys.result_key(&r.task_id)).collect();
        let stored: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .map_err(to_broker_error)?;
        let ttl = shared.result_ttl_ms();
        // States written by this batch, for a task id that comes twice.
        let mut written: HashMap<&str, &TaskState> = HashMap::new();
        for ((r, key), old) in results.iter().zip(&keys).zip(stored) {
            let was = match written.get(key.as_str()) {
                Some(state) => Some((*state).clone()),
                None => old.as_deref().and_then(stored_state),
            };
            if !replaces(was.as_ref(), &r.state) {
                continue;
            }
            let doc = r.to_document();
            let set = pipe.cmd("SET").arg(key).arg(&doc);
            if ttl > 0 {
                set.arg("PX").arg(ttl);
            }
            set.ignore();
            pipe.cmd("PUBLISH").arg(key).arg(&doc).ignore();
            written.insert(key, &r.state);
        }
    }
    if !tags.is_empty() {
        // kombu's acknowledgement (ZREM + HDEL) plus the lease record and
        // the delivery count. Every delivery has its own field, so a stale
        // tag (returned and delivered again since) deletes nothing.
        let mut fields = Vec::with_capacity(tags.len());
        let mut kombu_tags = Vec::new();
        for t in tags {
            let f = crate::broker::delivery_field(t)?;
            fields.push(f);
            kombu_tags.extend(crate::broker::kombu_tag(f));
        }
        pipe.cmd("HDEL").arg(&shared.keys.unacked).arg(&fields);
        pipe.cmd("ZREM").arg(&shared.keys.unacked_index).arg(&fields).ignore();
        pipe.cmd("HDEL").arg(&shared.keys.leases).arg(&fields).ignore();
        if !kombu_tags.is_empty() {
            pipe.cmd("HDEL").arg(&shared.keys.deliveries).arg(&kombu_tags).ignore();
        }
    }
    if pipe.is_empty() {
        return Ok(0);
    }
    let acked: Vec<i64> = pipe.query_async(&mut conn).await.map_err(to_broker_error)?;
    Ok(acked.first().copied().unwrap_or(0).max(0) as u64)
}

/// The `status` of a stored result document, if it is readable.
fn stored_state(doc: &[u8]) -> Option<TaskState> {
    let value: serde_json::Value = serde_json::from_slice(doc).ok()?;
    value.get("status")?.as_str().map(TaskState::parse)
}

/// Whether a result in state `new` may replace one in state `was`.
fn replaces(was: Option<&TaskState>, new: &TaskState) -> bool {
    match was {
        None => true,
        Some(TaskState::Success) => false,
        Some(was) => !was.is_ready() || new.is_ready(),
    }
}

fn decode(task_id: &str, doc: &[u8]) -> Res<TaskResult> {
    TaskResult::from_document(doc)
        .map_err(|e| BrokerError::Internal(format!("the stored result of {task_id} is unreadable: {e}")))
}

#[async_trait]
impl ResultBackend for RedisStore {
    fn capabilities(&self) -> BackendCapabilities {
        BackendCapabilities {
            backend: "redis",
            push_wakeup: true,
            multi_process: true,
            default_ttl: self.shared.config.result_ttl,
        }
    }

    async fn store_many(&self, results: &[TaskResult]) -> Res<()> {
        settle(self, results, &[]).await.map(|_| ())
    }

    async fn get(&self, task_id: &str) -> Res<Option<TaskResult>> {
        let doc: Option<Vec<u8>> = self
            .shared
            .conn()
            .get(self.shared.keys.result_key(task_id))
            .await
            .map_err(to_broker_error)?;
        doc.map(|d| decode(task_id, &d)).transpose()
    }

    async fn wait(&self, task_id: &str, timeout: Duration) -> Res<Option<TaskResult>> {
        let deadline = Instant::now() + timeout;
        // Subscribe before reading, so a result stored in between is not missed.
        let subscription = self.shared.hub().subscribe(&self.shared.keys.result_key(task_id)).await;
        loop {
            let seen = subscription.channel.generation();
            let current = self.get(task_id).await?;
            if current.as_ref().is_some_and(|r| r.state.is_ready()) {
                return Ok(current);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(current);
            }
            // Re-read now and then too: a notification can be lost while the
            // subscription connection is re-established.
            let pause = (deadline - now).min(Duration::from_millis(500));
            subscription.channel.changed_since(seen, pause).await;
        }
    }

    async fn forget(&self, task_id: &str) -> Res<()> {
        let _: i64 = self
            .shared
            .conn()
            .del(self.shared.keys.result_key(task_id))
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }

    async fn chord_part(&self, part: &ChordPart) -> Res<ChordProgress> {
        self.chord_join(part).await
    }

    async fn chord_done(&self, group_id: &str, claim: &str) -> Res<()> {
        self.chord_release(group_id, claim).await
    }

    async fn expire(&self) -> Res<u64> {
        // Redis expires result keys itself (SET … PX).
        Ok(0)
    }
}
