//! The embedded store's blobs and records beyond the conformance suite:
//! expired rows are deleted by the periodic maintenance (not only hidden),
//! and a store created before the two tables existed gets them when opened.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::{BlobStore, Broker, RecordStore, WorkerInfo};
use celeriac_sqlite::{SqliteConfig, SqliteStore};
use serde_json::json;

fn rows(path: &std::path::Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0))
        .unwrap()
}

fn worker() -> WorkerInfo {
    WorkerInfo {
        id: "maintenance-test".into(),
        hostname: "host".into(),
        pid: 1,
        queues: vec!["celery".into()],
        concurrency: 1,
        prefetch: 1,
        started_at: chrono::Utc::now(),
        version: "0".into(),
        tasks: Vec::new(),
    }
}

#[tokio::test]
async fn maintenance_deletes_expired_blobs_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = Arc::new(SqliteStore::open(SqliteConfig::new(&path)).unwrap());
    let kept = store.put(b"kept".to_vec(), "text/plain", None).await.unwrap();
    store
        .put(b"gone".to_vec(), "text/plain", Some(Duration::from_millis(1)))
        .await
        .unwrap();
    store.put_record("c", "kept", &json!(1), None).await.unwrap();
    store
        .put_record("c", "gone", &json!(2), Some(Duration::from_millis(1)))
        .await
        .unwrap();
    assert_eq!((rows(&path, "blobs"), rows(&path, "records")), (2, 2));
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A heartbeat runs the maintenance (at most once a second per process;
    // this is the store's first).
    store.heartbeat(&worker(), Duration::from_secs(30)).await.unwrap();
    assert_eq!((rows(&path, "blobs"), rows(&path, "records")), (1, 1));
    assert!(BlobStore::get(&*store, &kept).await.unwrap().is_some());
}

#[tokio::test]
async fn a_store_made_before_the_tables_gets_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(SqliteConfig::new(&path)).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE blobs; DROP TABLE records;")
        .unwrap();
    let store = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
    let key = store.put(b"x".to_vec(), "text/plain", None).await.unwrap();
    assert!(BlobStore::get(&store, &key).await.unwrap().is_some());
    store.put_record("c", "a", &json!(1), None).await.unwrap();
}
