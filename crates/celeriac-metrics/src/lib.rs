//! Prometheus metrics for Celeriac, fed by task and worker events in
//! Celery's format, and an axum `/metrics` endpoint serving them.
//!
//! A [`Metrics`] is shared as an `Arc<Metrics>`: whatever sees events (a
//! worker's event observer, the server's history keeper) hands it batches
//! with [`Metrics::observe_all`]; whatever knows the broker's state calls
//! [`Metrics::set_queues`] and [`Metrics::set_workers`]; a scrape of
//! [`router`] (or [`serve`]) reads [`Metrics::render`].
//!
//! ```
//! use std::sync::Arc;
//! use celeriac_core::events::Event;
//! use celeriac_metrics::Metrics;
//!
//! let metrics = Arc::new(Metrics::new());
//! metrics.observe_all(&[
//!     Event::task("task-received", "w@h", 1, "id-1").with("name", "tasks.add").with("queue", "default"),
//!     // A Python worker's event: no name or queue, learned from the one above.
//!     Event::task("task-succeeded", "w@h", 2, "id-1").with("runtime", 0.02),
//! ]);
//! let text = metrics.render();
//! assert!(text.contains(r#"celeriac_tasks_received_total{task="tasks.add",queue="default"} 1"#));
//! assert!(text.contains(r#"celeriac_task_runtime_seconds_count{task="tasks.add",queue="default"} 1"#));
//! ```
#![deny(missing_docs)]

mod catalog;
mod family;
mod histogram;
mod http;
mod labels;
mod registry;
mod render;
mod task_index;

pub use histogram::DURATION_BUCKETS;
pub use http::{router, router_with_refresh, serve, Refresh, RefreshFuture, CONTENT_TYPE, REFRESH_TIMEOUT};
pub use labels::{MAX_LABEL_LEN, OTHER, UNKNOWN};
pub use registry::{Limits, Metrics};
