//! The [`EventBus`]: how events travel from workers to monitors.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::Event;
use crate::{BrokerError, Signal};

/// A position in a bus's event log, opaque to its readers: a monitor stores
/// the last one it processed and reads on from it after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventCursor(pub String);

/// What one [`EventBus::read`] returned.
#[derive(Debug, Default)]
pub struct EventBatch {
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// Where the next read starts; `None` when nothing was read.
    pub cursor: Option<EventCursor>,
    /// Events the log dropped (retention) before the reader got to them.
    pub missed: bool,
}

/// Carries events from workers to monitors through a bounded, durable log.
///
/// Publishing is one round trip per batch. The log keeps the most recent
/// events (each bus documents its bound); a reader that falls further
/// behind is told so by [`EventBatch::missed`].
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Appends a batch of events to the log (and broadcasts it where the
    /// bus also speaks Celery's event channels).
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the store cannot be reached.
    async fn publish(&self, events: &[Event]) -> Result<(), BrokerError>;

    /// Reads up to about `max` events logged after `after` (from the oldest
    /// kept when `None`), waiting up to `wait` when there are none yet.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the store cannot be reached or the cursor is
    /// not one of this bus's.
    async fn read(&self, after: Option<&EventCursor>, max: usize, wait: Duration) -> Result<EventBatch, BrokerError>;
}

/// An in-process bus keeping the last `capacity` events.
#[derive(Debug)]
pub struct MemoryEventBus {
    log: Mutex<Log>,
    signal: Signal,
}

#[derive(Debug, Default)]
struct Log {
    next: u64,
    events: VecDeque<(u64, Event)>,
    capacity: usize,
}

impl MemoryEventBus {
    /// A bus keeping the last `capacity` events.
    pub fn new(capacity: usize) -> MemoryEventBus {
        MemoryEventBus {
            log: Mutex::new(Log {
                capacity: capacity.max(1),
                ..Log::default()
            }),
            signal: Signal::default(),
        }
    }

    fn read_now(&self, after: Option<u64>, max: usize) -> Result<EventBatch, BrokerError> {
        let log = self
            .log
            .lock()
            .map_err(|_| BrokerError::Internal("event log lock poisoned".into()))?;
        let oldest = log.events.front().map_or(log.next, |(seq, _)| *seq);
        let start = after.map_or(oldest, |a| a + 1);
        let missed = start < oldest;
        let skip = start.saturating_sub(oldest) as usize;
        let events: Vec<(u64, Event)> = log.events.iter().skip(skip).take(max.max(1)).cloned().collect();
        Ok(EventBatch {
            cursor: events.last().map(|(seq, _)| EventCursor(seq.to_string())),
            events: events.into_iter().map(|(_, e)| e).collect(),
            missed,
        })
    }
}

impl Default for MemoryEventBus {
    fn default() -> MemoryEventBus {
        MemoryEventBus::new(100_000)
    }
}

#[async_trait]
impl EventBus for MemoryEventBus {
    async fn publish(&self, events: &[Event]) -> Result<(), BrokerError> {
        {
            let mut log = self
                .log
                .lock()
                .map_err(|_| BrokerError::Internal("event log lock poisoned".into()))?;
            for e in events {
                let seq = log.next;
                log.next += 1;
                log.events.push_back((seq, e.clone()));
            }
            while log.events.len() > log.capacity {
                log.events.pop_front();
            }
        }
        self.signal.bump();
        Ok(())
    }

    async fn read(&self, after: Option<&EventCursor>, max: usize, wait: Duration) -> Result<EventBatch, BrokerError> {
        let after = match after {
            Some(c) => Some(
                c.0.parse::<u64>()
                    .map_err(|_| BrokerError::Invalid(format!("not a memory event cursor: {:?}", c.0)))?,
            ),
            None => None,
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let seen = self.signal.generation();
            let batch = self.read_now(after, max)?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !batch.events.is_empty() || batch.missed || left.is_zero() {
                return Ok(batch);
            }
            self.signal.changed_since(seen, left).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_on_from_a_cursor_waits_for_new_events_and_reports_drops() {
        let bus = MemoryEventBus::new(3);
        let ev = |n: u64| Event::task("task-started", "w@h", n, &format!("t{n}"));
        bus.publish(&[ev(1), ev(2)]).await.expect("publish");
        let first = bus.read(None, 10, Duration::ZERO).await.expect("read");
        assert_eq!(first.events.len(), 2);
        let cursor = first.cursor.expect("cursor");
        let empty = bus
            .read(Some(&cursor), 10, Duration::from_millis(20))
            .await
            .expect("read");
        assert!(empty.events.is_empty() && empty.cursor.is_none());

        let reader = async { bus.read(Some(&cursor), 10, Duration::from_secs(5)).await };
        let writer = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            bus.publish(&[ev(3)]).await
        };
        let (got, sent) = tokio::join!(reader, writer);
        sent.expect("publish");
        let got = got.expect("read");
        assert_eq!(got.events[0].uuid(), Some("t3"));

        // Capacity 3: two more push t1 and t2 out; a reader at t1 missed t2.
        bus.publish(&[ev(4), ev(5)]).await.expect("publish");
        let behind = bus
            .read(Some(&EventCursor("0".into())), 10, Duration::ZERO)
            .await
            .expect("read");
        assert!(behind.missed);
        assert_eq!(
            behind.events.iter().filter_map(Event::uuid).collect::<Vec<_>>(),
            ["t3", "t4", "t5"]
        );
        assert!(bus
            .read(Some(&EventCursor("x".into())), 1, Duration::ZERO)
            .await
            .is_err());
    }
}
