//! A result backend that delegates to `MemoryBackend` except for one fault.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use celeriac_core::memory::MemoryBackend;
use celeriac_core::{BackendCapabilities, BrokerError, ResultBackend, TaskResult};

/// The promise a [`FaultyBackend`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A later store always replaces the earlier one.
    LastWriteWins,
    /// Results never expire (yet the TTL is reported).
    NoExpiry,
    /// `wait` polls every second instead of being notified.
    PollingWait,
    /// `wait` returns at once with whatever is stored.
    WaitReturnsAtOnce,
    /// `forget` does nothing.
    IgnoreForget,
    /// `store_many` drops the last result of a batch.
    DropLastOfBatch,
    /// `get` loses the group id.
    DropGroupId,
}

/// `MemoryBackend` with one fault.
pub struct FaultyBackend {
    inner: MemoryBackend,
    ttl: Duration,
    fault: Fault,
}

impl FaultyBackend {
    /// A fresh backend with `ttl`, breaking `fault`.
    pub fn new(fault: Fault, ttl: Duration) -> Self {
        let inner_ttl = if fault == Fault::NoExpiry { None } else { Some(ttl) };
        FaultyBackend {
            inner: MemoryBackend::new(inner_ttl),
            ttl,
            fault,
        }
    }
}

#[async_trait]
impl ResultBackend for FaultyBackend {
    fn capabilities(&self) -> BackendCapabilities {
        BackendCapabilities {
            default_ttl: Some(self.ttl),
            ..self.inner.capabilities()
        }
    }

    async fn store_many(&self, results: &[TaskResult]) -> Result<(), BrokerError> {
        match self.fault {
            Fault::LastWriteWins => {
                for r in results {
                    self.inner.forget(&r.task_id).await?;
                    self.inner.store(r.clone()).await?;
                }
                Ok(())
            }
            Fault::DropLastOfBatch if results.len() > 1 => self.inner.store_many(&results[..results.len() - 1]).await,
            _ => self.inner.store_many(results).await,
        }
    }

    async fn get(&self, task_id: &str) -> Result<Option<TaskResult>, BrokerError> {
        let mut got = self.inner.get(task_id).await?;
        if self.fault == Fault::DropGroupId {
            if let Some(r) = &mut got {
                r.group_id = None;
            }
        }
        Ok(got)
    }

    async fn wait(&self, task_id: &str, timeout: Duration) -> Result<Option<TaskResult>, BrokerError> {
        match self.fault {
            Fault::WaitReturnsAtOnce => self.inner.get(task_id).await,
            Fault::PollingWait => {
                let deadline = Instant::now() + timeout;
                loop {
                    let got = self.inner.get(task_id).await?;
                    if got.as_ref().is_some_and(|r| r.state.is_ready()) || Instant::now() >= deadline {
                        return Ok(got);
                    }
                    tokio::time::sleep(Duration::from_secs(1).min(deadline - Instant::now())).await;
                }
            }
            _ => self.inner.wait(task_id, timeout).await,
        }
    }

    async fn forget(&self, task_id: &str) -> Result<(), BrokerError> {
        if self.fault == Fault::IgnoreForget {
            return Ok(());
        }
        self.inner.forget(task_id).await
    }

    async fn expire(&self) -> Result<u64, BrokerError> {
        self.inner.expire().await
    }
}
