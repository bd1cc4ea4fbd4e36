//! Task and worker events in Celery's event format (PROTOCOL.md §9), the
//! [`EventBus`] that carries them from workers to monitors, and the Lamport
//! clock that orders them.
//!
//! Workers publish events in batches; a monitor (the server's history
//! keeper) reads them from the bus's durable log with a cursor it stores,
//! so a monitor restart loses nothing. A bus may also broadcast them where
//! Celery's monitors (Flower, `celery events`) listen.

mod bus;
mod clock;
mod event;
mod repr;

pub use bus::{EventBatch, EventBus, EventCursor, MemoryEventBus};
pub use clock::LamportClock;
pub use event::{Event, EventDecodeError, HEARTBEAT_FREQ_SECS};
pub use repr::{exception_repr, value_repr, REPR_MAX_LEN};

/// The custom message header in which Celeriac clients stamp when they sent
/// a task (unix seconds); workers report the time from then, or from the
/// ETA if later, to the start as `queue_wait` on `task-started`.
pub const SENT_AT_HEADER: &str = "celeriac_sent_at";
