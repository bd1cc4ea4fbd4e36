//! Celery's Redis result backend: `celery-task-meta-<id>` documents written
//! with SET (with expiry) and PUBLISH on the same name, which is what
//! Python's `AsyncResult.get()` waits for.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use celeriac_core::{
    BackendCapabilities, BrokerError, ChordPart, ChordProgress, DeliveryTag, ResultBackend, TaskResult,
};
use redis::AsyncCommands as _;

use crate::store::{to_broker_error, RedisStore};

type Res<T> = Result<T, BrokerError>;

/// Stores results, then acknowledges deliveries, in one script run.
pub(crate) async fn settle(store: &RedisStore, results: &[TaskResult], tags: &[DeliveryTag]) -> Res<u64> {
    if results.is_empty() && tags.is_empty() {
        return Ok(0);
    }
    let mut invocation = store.shared.scripts.settle.prepare_invoke();
    invocation
        .key(&store.shared.keys.unacked)
        .key(&store.shared.keys.unacked_index)
        .key(&store.shared.keys.leases)
        .arg(results.len())
        .arg(store.shared.result_ttl_ms());
    for r in results {
        invocation.key(store.shared.keys.result_key(&r.task_id));
    }
    for r in results {
        invocation.arg(r.to_document());
    }
    for r in results {
        invocation.arg(r.state.as_str());
    }
    for t in tags {
        let (serial, delivery_tag) =
            t.0.split_once(':')
                .ok_or_else(|| BrokerError::Invalid(format!("`{}` is not a delivery tag of this broker", t.0)))?;
        invocation.arg(delivery_tag).arg(serial);
    }
    let acked: i64 = invocation
        .invoke_async(&mut store.shared.conn())
        .await
        .map_err(to_broker_error)?;
    Ok(acked.max(0) as u64)
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
