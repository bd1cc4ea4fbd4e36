//! The embedded store passes the broker, result-backend, blob-store,
//! record-store and event-bus conformance suites.

use std::sync::Arc;
use std::time::Duration;

use celeriac_sqlite::{SqliteConfig, SqliteStore};
use celeriac_testkit::{
    backend_conformance, blob_conformance, broker_conformance, event_conformance, record_conformance, ConformanceConfig,
};

fn fresh(dir: &tempfile::TempDir, ttl: Option<Duration>) -> Arc<SqliteStore> {
    let path = dir.path().join(format!("{}.db", uuid::Uuid::new_v4()));
    let mut config = SqliteConfig::new(path);
    config.result_ttl = ttl;
    Arc::new(SqliteStore::open(config).expect("open store"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_broker_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConformanceConfig::default();
    let report = broker_conformance(&config, || {
        let store = fresh(&dir, None);
        async move { store }
    })
    .await;
    println!("{report}");
    report.assert_all_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backend_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConformanceConfig::default();
    let ttl = config.result_ttl;
    let report = backend_conformance(&config, || {
        let store = fresh(&dir, Some(ttl));
        async move { store }
    })
    .await;
    println!("{report}");
    report.assert_all_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_blob_and_record_stores_conform() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConformanceConfig::default();
    let blobs = blob_conformance(&config, || {
        let store = fresh(&dir, None);
        async move { store }
    })
    .await;
    println!("{blobs}");
    blobs.assert_all_passed();
    let records = record_conformance(&config, || {
        let store = fresh(&dir, None);
        async move { store }
    })
    .await;
    println!("{records}");
    records.assert_all_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_event_log_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConformanceConfig::default();
    let report = event_conformance(&config, || {
        let store = fresh(&dir, None);
        async move { store }
    })
    .await;
    println!("{report}");
    report.assert_all_passed();
}
