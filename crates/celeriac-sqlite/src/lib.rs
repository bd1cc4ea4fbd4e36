//! The embedded default broker and result store of Celeriac.
//!
//! One SQLite file in WAL mode, shared by every process on the host: web
//! servers enqueue, worker processes lease and ack, anyone reads results.
//!
//! - **Group commit**: a writer thread per process runs all pending writes
//!   in one transaction, so throughput is bounded by commits, not calls.
//! - **Wake-ups without polling**: commits are announced through small
//!   files watched with inotify, so a waiting worker or result reader in
//!   another process reacts within microseconds.
//! - **Durability**: `synchronous=NORMAL` by default (a commit survives
//!   `kill -9` of any process), `synchronous=FULL` as an option (survives
//!   power loss); see [`Durability`].
//! - **Blobs and records**: the store is also a
//!   [`BlobStore`](celeriac_core::BlobStore) and a
//!   [`RecordStore`](celeriac_core::RecordStore), so a web app can hand a
//!   photo to a worker by key and keep its own state beside the queues.
//! - **Leases** belong to consumers and are renewed by their heartbeats; a
//!   consumer that stops heartbeating has its messages returned.
#![deny(missing_docs)]

mod backend;
mod blob_ops;
mod blob_store;
mod broker;
mod checkpoint;
mod config;
mod connection;
mod event_log;
mod listing;
mod queue_ops;
mod reader;
mod record_ops;
mod record_store;
mod result_ops;
mod schema;
mod store;
mod wake;
mod writer;

pub use config::{Durability, SqliteConfig};
pub use store::SqliteStore;
