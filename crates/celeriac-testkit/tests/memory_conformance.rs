//! The in-memory broker and result backend pass the conformance suites.

use std::sync::Arc;

use celeriac_core::memory::{MemoryBackend, MemoryBroker};
use celeriac_testkit::{backend_conformance, broker_conformance, ConformanceConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_broker_conforms() {
    let config = ConformanceConfig::default();
    let report = broker_conformance(&config, || async { Arc::new(MemoryBroker::new()) }).await;
    println!("{report}");
    assert_eq!(report.backend, "memory");
    report.assert_all_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_backend_conforms() {
    let config = ConformanceConfig::default();
    let ttl = config.result_ttl;
    let report = backend_conformance(&config, || async move { Arc::new(MemoryBackend::new(Some(ttl))) }).await;
    println!("{report}");
    assert_eq!(report.backend, "memory");
    report.assert_all_passed();
}
