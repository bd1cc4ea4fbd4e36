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
//! - every change is one Lua script (a batch of up to hundreds of messages
//!   per round trip, no message lost between steps);
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
mod hub;
mod keys;
mod maintenance;
mod record_store;
mod results;
mod scripts;
mod store;

pub use config::{EtaPublish, RedisConfig};
pub use store::RedisStore;
