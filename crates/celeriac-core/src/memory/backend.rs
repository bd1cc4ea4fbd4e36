//! An in-process result store for tests and embedding.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::backend::{BackendCapabilities, ResultBackend};
use crate::error::BrokerError;
use crate::result::TaskResult;

/// The in-memory result backend; results expire after the TTL.
pub struct MemoryBackend {
    results: Mutex<HashMap<String, (TaskResult, Option<Instant>)>>,
    ttl: Option<Duration>,
    wake: Notify,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend::new(Some(Duration::from_secs(86_400)))
    }
}

impl MemoryBackend {
    /// A store whose results live for `ttl` (`None`: forever).
    pub fn new(ttl: Option<Duration>) -> Self {
        MemoryBackend {
            results: Mutex::new(HashMap::new()),
            ttl,
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (TaskResult, Option<Instant>)>> {
        self.results.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn current(&self, task_id: &str) -> Option<TaskResult> {
        let map = self.lock();
        match map.get(task_id) {
            Some((r, expiry)) if expiry.is_none_or(|e| e > Instant::now()) => Some(r.clone()),
            _ => None,
        }
    }
}

#[async_trait]
impl ResultBackend for MemoryBackend {
    fn capabilities(&self) -> BackendCapabilities {
        BackendCapabilities {
            backend: "memory",
            push_wakeup: true,
            multi_process: false,
            default_ttl: self.ttl,
        }
    }

    async fn store_many(&self, results: &[TaskResult]) -> Result<(), BrokerError> {
        {
            let mut map = self.lock();
            let now = Instant::now();
            for r in results {
                if let Some((existing, expiry)) = map.get(&r.task_id) {
                    let live = expiry.is_none_or(|e| e > now);
                    if live && !r.may_replace(&existing.state) {
                        continue;
                    }
                }
                let expiry = self.ttl.map(|t| now + t);
                map.insert(r.task_id.clone(), (r.clone(), expiry));
            }
        }
        self.wake.notify_waiters();
        Ok(())
    }

    async fn get(&self, task_id: &str) -> Result<Option<TaskResult>, BrokerError> {
        Ok(self.current(task_id))
    }

    async fn wait(&self, task_id: &str, timeout: Duration) -> Result<Option<TaskResult>, BrokerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let current = self.current(task_id);
            if current.as_ref().is_some_and(|r| r.state.is_ready()) {
                return Ok(current);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(current);
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(deadline - now) => {}
            }
        }
    }

    async fn forget(&self, task_id: &str) -> Result<(), BrokerError> {
        self.lock().remove(task_id);
        Ok(())
    }

    async fn expire(&self) -> Result<u64, BrokerError> {
        let mut map = self.lock();
        let now = Instant::now();
        let before = map.len();
        map.retain(|_, (_, expiry)| expiry.is_none_or(|e| e > now));
        Ok((before - map.len()) as u64)
    }
}
