//! An event bus that breaks one promise.

use std::time::Duration;

use async_trait::async_trait;
use celeriac_core::events::{Event, EventBatch, EventBus, EventCursor, MemoryEventBus};
use celeriac_core::BrokerError;

/// Which promise to break.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Reads never wait for new events.
    NeverWaits,
    /// A publish keeps only the first 1,000 events of a batch.
    TruncatesBatches,
    /// A cursor it cannot read is taken as "from the start".
    AcceptsForeignCursors,
    /// Reading on from a cursor repeats the event at the cursor.
    RepeatsTheCursor,
}

pub struct FaultyEventBus {
    inner: MemoryEventBus,
    fault: Fault,
}

impl FaultyEventBus {
    pub fn new(fault: Fault) -> FaultyEventBus {
        FaultyEventBus {
            inner: MemoryEventBus::default(),
            fault,
        }
    }
}

#[async_trait]
impl EventBus for FaultyEventBus {
    async fn publish(&self, events: &[Event]) -> Result<(), BrokerError> {
        match self.fault {
            Fault::TruncatesBatches => self.inner.publish(&events[..events.len().min(1_000)]).await,
            _ => self.inner.publish(events).await,
        }
    }

    async fn read(&self, after: Option<&EventCursor>, max: usize, wait: Duration) -> Result<EventBatch, BrokerError> {
        match self.fault {
            Fault::NeverWaits => self.inner.read(after, max, Duration::ZERO).await,
            Fault::AcceptsForeignCursors => match after {
                Some(c) if c.0.parse::<u64>().is_err() => self.inner.read(None, max, wait).await,
                other => self.inner.read(other, max, wait).await,
            },
            Fault::RepeatsTheCursor => {
                let back = after
                    .and_then(|c| c.0.parse::<u64>().ok())
                    .and_then(|n| n.checked_sub(1));
                match back {
                    Some(n) => self.inner.read(Some(&EventCursor(n.to_string())), max, wait).await,
                    None => self.inner.read(after, max, wait).await,
                }
            }
            Fault::TruncatesBatches => self.inner.read(after, max, wait).await,
        }
    }
}
