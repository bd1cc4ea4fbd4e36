//! Celeriac's Redis broker and result backend.
//!
//! The layout is kombu's Redis transport, exactly (PROTOCOL.md §4): one list
//! per queue and priority step (`celery`, `celery\x06\x163`, …), the JSON
//! envelope with its base64 body, the `unacked` hash and `unacked_index`
//! zset, kombu's binding tables; results are Celery's
//! `celery-task-meta-<id>` documents, stored and published. So Python
//! clients and workers share queues and results with Celeriac.
//!
//! Better than Celery while compatible:
//! - no round trip per task: a fetch takes a batch in three round trips of
//!   native commands (through per-consumer staging lists, so a crash at any
//!   step loses nothing), results and acknowledgements go in one pipeline,
//!   and the rarer changes are each one atomic Lua script;
//! - every delivery is filed under its own `unacked` field, so duplicated
//!   messages never overwrite each other's entry and a late acknowledgement
//!   cannot remove a newer delivery;
//! - a Celeriac worker's messages are tied to its heartbeat key: when it
//!   dies they return within one lease, while entries Celeriac does not own
//!   are left to Celery's own visibility-timeout rule;
//! - a message whose ETA is ahead waits in a delayed set, not in a worker
//!   under a lease, so a long ETA never runs twice.
#![deny(missing_docs)]

mod blob_store;
mod broker;
mod chords;
mod config;
mod control;
mod envelope;
mod events;
mod fetch;
mod hub;
mod keys;
mod maintenance;
mod record_store;
mod results;
mod scripts;
mod store;

pub use config::{EtaPublish, RedisConfig};
pub use events::decode_celery_envelope;
pub use store::RedisStore;
