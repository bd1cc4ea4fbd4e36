//! `Broker` for the embedded store.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use celeriac_core::{
    Broker, BrokerError, Capabilities, DeadLetter, DeadSelector, Delivery, DeliveryTag, FetchRequest, NewMessage,
    QueueStats, ResultBackend, TaskResult, WorkerInfo, WorkerStatus,
};
use chrono::{DateTime, Utc};

use crate::config::Durability;
use crate::listing;
use crate::queue_ops::{self, now_ms};
use crate::result_ops;
use crate::store::{millis, SqliteStore};

#[async_trait]
impl Broker for SqliteStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            backend: "sqlite",
            priority_levels: 10,
            priority_order: "0-9, every level distinct, 0 served first",
            delayed_delivery: true,
            dead_letters: true,
            multi_process: true,
            survives_process_kill: true,
            survives_power_loss: self.config.durability == Durability::PowerLoss,
            push_wakeup: self.wake.is_push(),
        }
    }

    async fn enqueue_many(&self, messages: Vec<NewMessage>) -> Result<(), BrokerError> {
        if messages.is_empty() {
            return Ok(());
        }
        self.writer
            .submit(move |conn, fx| queue_ops::enqueue(conn, &messages, fx))
            .await
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Vec<Delivery>, BrokerError> {
        let deadline = Instant::now() + request.wait;
        let lease_ms = millis(request.lease);
        loop {
            let seen = self.wake.queue.generation();
            let consumer = request.consumer.to_owned();
            let queues = request.queues.to_vec();
            let max = request.max;
            let maintain = self.maintenance_due();
            let fetched = self
                .writer
                .submit(move |conn, fx| queue_ops::fetch(conn, &consumer, &queues, max, lease_ms, maintain, fx))
                .await?;
            if !fetched.deliveries.is_empty() || request.wait.is_zero() {
                return Ok(fetched.deliveries);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let mut sleep = (deadline - now).min(self.idle_check());
            if let Some(due) = fetched.next_due_ms {
                let until_due = Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0));
                sleep = sleep.min(until_due);
            }
            self.wake.queue.changed_since(seen, sleep).await;
        }
    }

    async fn heartbeat(&self, worker: &WorkerInfo, lease: Duration) -> Result<(), BrokerError> {
        let name = worker.id.clone();
        let info = serde_json::to_string(worker).map_err(|e| BrokerError::Internal(e.to_string()))?;
        let lease_ms = millis(lease);
        let maintain = self.maintenance_due();
        self.writer
            .submit(move |conn, fx| {
                queue_ops::heartbeat(conn, &name, &info, lease_ms)?;
                if maintain && queue_ops::maintain(conn)? {
                    fx.queue_changed = true;
                }
                Ok(())
            })
            .await
    }

    async fn deregister(&self, worker_id: &str) -> Result<(), BrokerError> {
        let name = worker_id.to_owned();
        self.writer
            .submit(move |conn, fx| queue_ops::deregister(conn, &name, fx))
            .await
    }

    async fn ack(&self, tags: &[DeliveryTag]) -> Result<u64, BrokerError> {
        let tags = tags.to_vec();
        self.writer.submit(move |conn, _| queue_ops::ack(conn, &tags)).await
    }

    async fn store_and_ack(
        &self,
        backend: &dyn ResultBackend,
        results: &[TaskResult],
        tags: &[DeliveryTag],
    ) -> Result<u64, BrokerError> {
        // Results kept in this very store: one transaction for both (one
        // commit, and one write-lock turn when other processes compete).
        let same_store = std::ptr::addr_eq(backend as *const dyn ResultBackend, self as *const Self);
        if !same_store {
            return celeriac_core::store_then_ack(self, backend, results, tags).await;
        }
        let rows: Vec<result_ops::Row> = results.iter().map(result_ops::Row::from_result).collect();
        let ttl_ms = self.result_ttl_ms();
        let tags = tags.to_vec();
        self.writer
            .submit(move |conn, fx| {
                result_ops::store(conn, &rows, ttl_ms, fx)?;
                queue_ops::ack(conn, &tags)
            })
            .await
    }

    async fn requeue(&self, tags: &[DeliveryTag]) -> Result<u64, BrokerError> {
        let tags = tags.to_vec();
        self.writer
            .submit(move |conn, fx| queue_ops::requeue(conn, &tags, fx))
            .await
    }

    async fn defer(&self, tag: &DeliveryTag, until: DateTime<Utc>) -> Result<(), BrokerError> {
        let tag = tag.clone();
        let due = until.timestamp_millis();
        self.writer
            .submit(move |conn, fx| queue_ops::defer(conn, &tag, due, fx))
            .await
    }

    async fn dead_letter(&self, tag: &DeliveryTag, reason: &str) -> Result<(), BrokerError> {
        let tag = tag.clone();
        let reason = reason.to_owned();
        self.writer
            .submit(move |conn, _| queue_ops::dead_letter(conn, &tag, &reason))
            .await
    }

    async fn purge(&self, queue: &str) -> Result<u64, BrokerError> {
        let queue = queue.to_owned();
        self.writer.submit(move |conn, _| queue_ops::purge(conn, &queue)).await
    }

    async fn revoke(&self, task_id: &str, ttl: Duration) -> Result<(), BrokerError> {
        let task_id = task_id.to_owned();
        let ttl_ms = millis(ttl);
        self.writer
            .submit(move |conn, _| queue_ops::revoke(conn, &task_id, ttl_ms))
            .await
    }

    async fn is_revoked(&self, task_id: &str) -> Result<bool, BrokerError> {
        self.readers.read(|conn| queue_ops::is_revoked(conn, task_id))
    }

    async fn stats(&self) -> Result<Vec<QueueStats>, BrokerError> {
        self.readers.read_blocking(listing::stats).await
    }

    async fn workers(&self) -> Result<Vec<WorkerStatus>, BrokerError> {
        self.readers.read_blocking(listing::workers).await
    }

    async fn dead_letters(&self, queue: Option<&str>, limit: usize) -> Result<Vec<DeadLetter>, BrokerError> {
        let queue = queue.map(str::to_owned);
        self.readers
            .read_blocking(move |conn| listing::dead_letters(conn, queue.as_deref(), limit))
            .await
    }

    async fn retry_dead(&self, which: &DeadSelector) -> Result<u64, BrokerError> {
        let which = which.clone();
        self.writer
            .submit(move |conn, fx| queue_ops::retry_dead(conn, &which, fx))
            .await
    }

    async fn drop_dead(&self, which: &DeadSelector) -> Result<u64, BrokerError> {
        let which = which.clone();
        self.writer
            .submit(move |conn, _| queue_ops::drop_dead(conn, &which))
            .await
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<(), BrokerError> {
        let queue = queue.to_owned();
        self.writer
            .submit(move |conn, fx| {
                let sql = if paused {
                    "INSERT OR IGNORE INTO paused_queues (name) VALUES (?1)"
                } else {
                    "DELETE FROM paused_queues WHERE name = ?1"
                };
                conn.execute(sql, [&queue])
                    .map_err(crate::connection::to_broker_error)?;
                // A resumed queue may hold messages: wake the consumers.
                fx.queue_changed = !paused;
                Ok(())
            })
            .await
    }

    async fn paused_queues(&self) -> Result<Vec<String>, BrokerError> {
        self.readers.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT name FROM paused_queues ORDER BY name")
                .map_err(crate::connection::to_broker_error)?;
            let names = stmt
                .query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
                .map_err(crate::connection::to_broker_error)?;
            Ok(names)
        })
    }
}
