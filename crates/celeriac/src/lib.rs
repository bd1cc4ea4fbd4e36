//! # Celeriac
//!
//! A distributed task queue in Rust, wire-compatible with Celery.
//!
//! Define tasks as plain functions, send them from any process, run them on
//! workers with the execution model that fits (async I/O, a blocking pool or
//! a CPU pool), and read their results — on the embedded store (no server to
//! run) or, for fleets, a shared broker.
//!
//! ```no_run
//! use celeriac::{task, App, TaskError};
//! use std::time::Duration;
//!
//! #[task(name = "tasks.add")]
//! async fn add(x: i64, y: i64) -> Result<i64, TaskError> {
//!     Ok(x + y)
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let app = App::builder().task::<add>().build()?;   // the per-user embedded store
//! let result = app.client().send(add::s(2, 3)).await?;
//! assert_eq!(result.get(Duration::from_secs(10)).await?, 5);
//! # Ok(()) }
//! ```
//!
//! `#[task]` options: `name = "tasks.add"`, `queue = "q"`, `priority = 0..9`
//! (0 served first), `max_retries = 3` (or `"unlimited"`), `retry_backoff`
//! / `retry_backoff_max` (seconds), `retry_jitter`, `autoretry_for =
//! ["io::Error"]`, `soft_time_limit` / `time_limit` (seconds), `acks_late`,
//! `ignore_result`, `kind = "async" | "blocking" | "cpu"`.
#![deny(missing_docs)]

extern crate self as celeriac;

mod app;
pub mod builtins;
mod connect;
#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
mod private;

pub use app::{App, AppBuilder};
pub use celeriac_core::{
    events, memory, protocol, AsyncResult, Blob, BlobStore, Broker, BrokerError, Chain, Client, DeadLetter,
    DeadSelector, ExecutionKind, QueueStats, Record, RecordStore, Resources, ResultBackend, ResultError, RetryMethod,
    SendError, Signature, Task, TaskArgs, TaskContext, TaskError, TaskHandler, TaskOptions, TaskOutcome, TaskRegistry,
    TaskResult, TaskState, WorkerStatus,
};
pub use celeriac_macros::task;
pub use celeriac_worker::{shutdown_on_signals, Worker, WorkerConfig, WorkerSummary};
#[cfg(feature = "sqlite")]
pub use connect::default_broker_url;
pub use connect::{connect, Backends};

/// The crates Celeriac is built from, for advanced use.
pub mod crates {
    pub use celeriac_core as core;
    #[cfg(feature = "redis")]
    pub use celeriac_redis as redis;
    #[cfg(feature = "sqlite")]
    pub use celeriac_sqlite as sqlite;
    pub use celeriac_worker as worker;
}
