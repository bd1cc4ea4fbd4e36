//! Celeriac's worker runtime.
//!
//! A [`Worker`] leases messages from any [`Broker`](celeriac_core::Broker)
//! in batches (bounded prefetch), runs each on the execution kind its task
//! asked for — the tokio runtime (`async`), a blocking thread pool
//! (`blocking`) or a dedicated CPU pool (`cpu`) — under soft and hard time
//! limits, and writes follow-ups, results and acks in batches. Leases are
//! renewed by heartbeats, so a long task is never redelivered while its
//! worker lives, and a dead worker's tasks come back after one lease.
#![deny(missing_docs)]

mod completion;
mod config;
mod control;
mod cpu_pool;
mod events;
mod executor;
mod process;
mod shared;
mod signals;
mod worker;
mod workflow;

pub use config::WorkerConfig;
pub use cpu_pool::{CpuPool, JobHandle};
pub use events::EventObserver;
pub use shared::{Counter, Counters};
pub use signals::shutdown_on_signals;
pub use worker::{Worker, WorkerError, WorkerSummary};
