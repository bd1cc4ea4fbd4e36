//! Conformance suite for Celeriac brokers, result backends, blob stores and
//! record stores.
//!
//! Every [`Broker`](celeriac_core::Broker) and
//! [`ResultBackend`](celeriac_core::ResultBackend) must behave the same way
//! where the traits promise something; these checks state those promises as
//! executable tests so a new backend is held to them by one call:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use celeriac_core::memory::{MemoryBackend, MemoryBroker};
//! use celeriac_testkit::{backend_conformance, broker_conformance, ConformanceConfig};
//!
//! # async fn run() {
//! let config = ConformanceConfig::default();
//! broker_conformance(&config, || async { Arc::new(MemoryBroker::new()) })
//!     .await
//!     .assert_all_passed();
//! let ttl = config.result_ttl;
//! backend_conformance(&config, || async move { Arc::new(MemoryBackend::new(Some(ttl))) })
//!     .await
//!     .assert_all_passed();
//! # }
//! ```
//!
//! The suites need a Tokio runtime with timers; a multi-threaded one lets the
//! concurrency checks actually run in parallel.
#![deny(missing_docs)]

mod backend_checks;
mod broker_checks;
mod check;
mod config;
mod report;
pub mod services;
mod store_checks;

pub use backend_checks::backend_conformance;
pub use broker_checks::broker_conformance;
pub use config::ConformanceConfig;
pub use report::{CheckOutcome, ConformanceReport};
pub use store_checks::{blob_conformance, event_conformance, record_conformance};
