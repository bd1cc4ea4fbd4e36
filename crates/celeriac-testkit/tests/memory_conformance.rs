//! The in-memory broker, result backend, stores and event bus pass the
//! conformance suites.

use std::sync::Arc;

use celeriac_core::memory::{MemoryBackend, MemoryBlobStore, MemoryBroker, MemoryRecordStore};
use celeriac_core::{Broker, ResultBackend};
use celeriac_testkit::{
    backend_conformance, blob_conformance, broker_conformance, event_conformance, record_conformance, ConformanceConfig,
};

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

/// The suites take `Arc<dyn Broker>` factories too, and their futures are
/// `Send` so callers can spawn them. Compile-time only: the futures are
/// built, never run.
#[test]
fn suites_accept_trait_objects_and_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let config = ConformanceConfig::default();
    let broker = broker_conformance(&config, || async { Arc::new(MemoryBroker::new()) as Arc<dyn Broker> });
    assert_send(&broker);
    let backend = backend_conformance(&config, || async {
        Arc::new(MemoryBackend::default()) as Arc<dyn ResultBackend>
    });
    assert_send(&backend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_blob_and_record_stores_conform() {
    let config = ConformanceConfig::default();
    let blobs = blob_conformance(&config, || async { Arc::new(MemoryBlobStore::new()) }).await;
    println!("{blobs}");
    blobs.assert_all_passed();
    let records = record_conformance(&config, || async { Arc::new(MemoryRecordStore::new()) }).await;
    println!("{records}");
    records.assert_all_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_event_bus_conforms() {
    let config = ConformanceConfig::default();
    let report = event_conformance(&config, || async {
        Arc::new(celeriac_core::events::MemoryEventBus::default())
    })
    .await;
    println!("{report}");
    report.assert_all_passed();
}
