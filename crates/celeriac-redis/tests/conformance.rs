//! The Redis broker, result backend and event bus pass the conformance
//! suites, each check on its own key prefix of the local Redis.
//!
//! The suite's messages are opaque bytes, not Celery envelopes, so their ETA
//! is known only at enqueue: the broker runs with `eta=broker` here. The
//! Celery-compatible default (ETA tasks published to the queue, moved to the
//! delayed set when first fetched) is covered by the interoperability tests
//! (`crates/celeriac-cli/tests/celery_interop.rs`).

use std::sync::Arc;

use celeriac_redis::RedisStore;
use celeriac_testkit::services::{require_service, unique_name};
use celeriac_testkit::{backend_conformance, broker_conformance, event_conformance, ConformanceConfig};

const REDIS: &str = "127.0.0.1:6379";

fn fresh(settings: &str) -> Arc<RedisStore> {
    let url = format!(
        "redis://{REDIS}/0?global_keyprefix={}:&{settings}",
        unique_name("conformance")
    );
    Arc::new(RedisStore::open_url(&url).expect("open the Redis store"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_broker_conforms() {
    if !require_service("redis", REDIS) {
        return;
    }
    let config = ConformanceConfig::default();
    let report = broker_conformance(&config, || {
        let store = fresh("eta=broker");
        async move { store }
    })
    .await;
    println!("{report}");
    report.assert_all_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backend_conforms() {
    if !require_service("redis", REDIS) {
        return;
    }
    let config = ConformanceConfig::default();
    let ttl = config.result_ttl.as_secs().max(1);
    let report = backend_conformance(&config, || {
        let store = fresh(&format!("result_ttl={ttl}"));
        async move { store }
    })
    .await;
    println!("{report}");
    report.assert_all_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_event_bus_conforms() {
    if !require_service("redis", REDIS) {
        return;
    }
    let config = ConformanceConfig::default();
    let report = event_conformance(&config, || {
        let store = fresh("");
        async move { store }
    })
    .await;
    println!("{report}");
    report.assert_all_passed();
}
