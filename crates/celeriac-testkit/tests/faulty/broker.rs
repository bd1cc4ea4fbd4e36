//! A broker that delegates to `MemoryBroker` except for one injected fault.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use celeriac_core::memory::MemoryBroker;
use celeriac_core::{
    Broker, BrokerError, Capabilities, DeadLetter, DeadSelector, Delivery, DeliveryTag, FetchRequest, NewMessage,
    QueueStats, WorkerInfo, WorkerStatus,
};
use chrono::{DateTime, Utc};

/// The promise a [`FaultyBroker`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every message is stored at priority 5.
    IgnorePriority,
    /// ETAs are dropped: delayed messages are ready at once.
    IgnoreEta,
    /// `enqueue_many` stores the batch in reverse order.
    ReverseBatches,
    /// `fetch` leases for a minute whatever was asked.
    IgnoreLease,
    /// `heartbeat` does nothing.
    IgnoreHeartbeat,
    /// `ack` reports every tag as current.
    AckCountsStaleTags,
    /// `defer` requeues at once.
    DeferIsRequeue,
    /// Fetched messages are also put back, so others receive them too.
    LeakLeasedMessages,
    /// A waiting `fetch` polls every second instead of being notified.
    PollingFetch,
    /// `revoke` does nothing.
    IgnoreRevoke,
    /// `purge` answers 0 whatever it removed.
    PurgeReportsZero,
    /// `stats` reports delayed messages as ready.
    DelayedCountedReady,
    /// Dead letters lose bytes that are not UTF-8.
    LossyDeadLetters,
    /// `deregister` does nothing.
    IgnoreDeregister,
}

/// `MemoryBroker` with one fault.
pub struct FaultyBroker {
    inner: MemoryBroker,
    fault: Fault,
}

impl FaultyBroker {
    /// A fresh broker breaking `fault`.
    pub fn new(fault: Fault) -> Self {
        FaultyBroker {
            inner: MemoryBroker::new(),
            fault,
        }
    }
}

#[async_trait]
impl Broker for FaultyBroker {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn enqueue_many(&self, mut messages: Vec<NewMessage>) -> Result<(), BrokerError> {
        match self.fault {
            Fault::IgnorePriority => messages.iter_mut().for_each(|m| m.priority = 5),
            Fault::IgnoreEta => messages.iter_mut().for_each(|m| m.eta = None),
            Fault::ReverseBatches => messages.reverse(),
            _ => {}
        }
        self.inner.enqueue_many(messages).await
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Vec<Delivery>, BrokerError> {
        match self.fault {
            Fault::IgnoreLease => {
                self.inner
                    .fetch(FetchRequest {
                        lease: Duration::from_secs(60),
                        ..request
                    })
                    .await
            }
            Fault::LeakLeasedMessages => {
                let got = self.inner.fetch(request).await?;
                let tags: Vec<DeliveryTag> = got.iter().map(|d| d.tag.clone()).collect();
                self.inner.requeue(&tags).await?;
                Ok(got)
            }
            Fault::PollingFetch => {
                let deadline = Instant::now() + request.wait;
                loop {
                    let got = self.inner.fetch(FetchRequest {
                        wait: Duration::ZERO,
                        ..request
                    });
                    let got = got.await?;
                    if !got.is_empty() || Instant::now() >= deadline {
                        return Ok(got);
                    }
                    tokio::time::sleep(Duration::from_secs(1).min(deadline - Instant::now())).await;
                }
            }
            _ => self.inner.fetch(request).await,
        }
    }

    async fn heartbeat(&self, worker: &WorkerInfo, lease: Duration) -> Result<(), BrokerError> {
        if self.fault == Fault::IgnoreHeartbeat {
            return Ok(());
        }
        self.inner.heartbeat(worker, lease).await
    }

    async fn deregister(&self, worker_id: &str) -> Result<(), BrokerError> {
        if self.fault == Fault::IgnoreDeregister {
            return Ok(());
        }
        self.inner.deregister(worker_id).await
    }

    async fn ack(&self, tags: &[DeliveryTag]) -> Result<u64, BrokerError> {
        let n = self.inner.ack(tags).await?;
        Ok(if self.fault == Fault::AckCountsStaleTags {
            tags.len() as u64
        } else {
            n
        })
    }

    async fn requeue(&self, tags: &[DeliveryTag]) -> Result<u64, BrokerError> {
        self.inner.requeue(tags).await
    }

    async fn defer(&self, tag: &DeliveryTag, until: DateTime<Utc>) -> Result<(), BrokerError> {
        if self.fault == Fault::DeferIsRequeue {
            return self.inner.requeue(std::slice::from_ref(tag)).await.map(drop);
        }
        self.inner.defer(tag, until).await
    }

    async fn dead_letter(&self, tag: &DeliveryTag, reason: &str) -> Result<(), BrokerError> {
        self.inner.dead_letter(tag, reason).await
    }

    async fn purge(&self, queue: &str) -> Result<u64, BrokerError> {
        let n = self.inner.purge(queue).await?;
        Ok(if self.fault == Fault::PurgeReportsZero { 0 } else { n })
    }

    async fn revoke(&self, task_id: &str, ttl: Duration) -> Result<(), BrokerError> {
        if self.fault == Fault::IgnoreRevoke {
            return Ok(());
        }
        self.inner.revoke(task_id, ttl).await
    }

    async fn is_revoked(&self, task_id: &str) -> Result<bool, BrokerError> {
        self.inner.is_revoked(task_id).await
    }

    async fn stats(&self) -> Result<Vec<QueueStats>, BrokerError> {
        let mut stats = self.inner.stats().await?;
        if self.fault == Fault::DelayedCountedReady {
            for s in &mut stats {
                s.ready += std::mem::take(&mut s.delayed);
            }
        }
        Ok(stats)
    }

    async fn workers(&self) -> Result<Vec<WorkerStatus>, BrokerError> {
        self.inner.workers().await
    }

    async fn dead_letters(&self, queue: Option<&str>, limit: usize) -> Result<Vec<DeadLetter>, BrokerError> {
        let mut listed = self.inner.dead_letters(queue, limit).await?;
        if self.fault == Fault::LossyDeadLetters {
            for d in &mut listed {
                d.payload = String::from_utf8_lossy(&d.payload).into_owned().into_bytes();
            }
        }
        Ok(listed)
    }

    async fn retry_dead(&self, which: &DeadSelector) -> Result<u64, BrokerError> {
        self.inner.retry_dead(which).await
    }

    async fn drop_dead(&self, which: &DeadSelector) -> Result<u64, BrokerError> {
        self.inner.drop_dead(which).await
    }
}
