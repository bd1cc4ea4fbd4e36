//! `ResultBackend` for the embedded store.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use celeriac_core::{BackendCapabilities, BrokerError, ResultBackend, TaskResult};

use crate::result_ops;
use crate::store::SqliteStore;

#[async_trait]
impl ResultBackend for SqliteStore {
    fn capabilities(&self) -> BackendCapabilities {
        BackendCapabilities {
            backend: "sqlite",
            push_wakeup: self.wake.is_push(),
            multi_process: true,
            default_ttl: self.config.result_ttl,
        }
    }

    async fn store_many(&self, results: &[TaskResult]) -> Result<(), BrokerError> {
        if results.is_empty() {
            return Ok(());
        }
        // Documents are encoded here, on the caller's thread, so the writer
        // thread only runs SQL.
        let rows: Vec<result_ops::Row> = results.iter().map(result_ops::Row::from_result).collect();
        let ttl_ms = self.result_ttl_ms();
        self.writer
            .submit(move |conn, fx| result_ops::store(conn, &rows, ttl_ms, fx))
            .await
    }

    async fn get(&self, task_id: &str) -> Result<Option<TaskResult>, BrokerError> {
        self.readers.read(|conn| result_ops::get(conn, task_id))
    }

    async fn wait(&self, task_id: &str, timeout: Duration) -> Result<Option<TaskResult>, BrokerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.wake.results.generation();
            let current = self.get(task_id).await?;
            if current.as_ref().is_some_and(|r| r.state.is_ready()) {
                return Ok(current);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(current);
            }
            let sleep = (deadline - now).min(self.idle_check());
            self.wake.results.changed_since(seen, sleep).await;
        }
    }

    async fn forget(&self, task_id: &str) -> Result<(), BrokerError> {
        let task_id = task_id.to_owned();
        self.writer
            .submit(move |conn, _| result_ops::forget(conn, &task_id))
            .await
    }

    async fn expire(&self) -> Result<u64, BrokerError> {
        self.writer.submit(|conn, _| result_ops::expire(conn)).await
    }
}
