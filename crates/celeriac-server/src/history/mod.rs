//! Task history: the server's own record of every task and worker it heard
//! about, built from the event bus and kept in a SQLite file, so it
//! survives restarts and does not depend on result keys that expire.
//!
//! - [`History`] opens the file, applies event batches (one transaction
//!   each) and answers the queries the API and dashboard make;
//! - [`keeper`] reads the bus from the cursor stored with the history,
//!   applies, prunes by retention, and fans events out to live listeners.

mod apply;
mod keeper;
mod query;
mod schema;
mod store;

pub use keeper::{spawn_keeper, KeeperHandle};
pub use query::{TaskDetail, TaskFilter, TaskPage, TaskRow, ThroughputPoint, TimelineEntry, WorkerRow};
pub use store::{History, HistoryConfig};
