//! A fetch moves messages into its consumer's staging lists before filing
//! them as held. If it is cut short there (the process dies, the connection
//! drops), nothing is lost: the consumer's next fetch returns them to their
//! lists first, and the sweeper does the same for a consumer that died.
//! These tests leave staging lists as a cut-short fetch would.

use std::time::Duration;

use celeriac_core::{Broker, FetchRequest, NewMessage};
use celeriac_redis::RedisStore;
use celeriac_testkit::services::{require_service, unique_name};

const REDIS: &str = "127.0.0.1:6379";

struct Setup {
    store: RedisStore,
    raw: redis::aio::MultiplexedConnection,
    prefix: String,
    queue: String,
}

async fn setup() -> Option<Setup> {
    if !require_service("redis", REDIS) {
        return None;
    }
    let prefix = format!("{}:", unique_name("staging"));
    let store = RedisStore::open_url(&format!("redis://{REDIS}/0?global_keyprefix={prefix}")).expect("open the store");
    let client = redis::Client::open(format!("redis://{REDIS}/0")).expect("client");
    let raw = client.get_multiplexed_async_connection().await.expect("connect");
    let queue = unique_name("q");
    // Bare payloads (not envelopes): tags are given by the broker.
    let messages = (0..4)
        .map(|i| NewMessage {
            queue: queue.clone(),
            priority: 0,
            eta: None,
            task_id: None,
            payload: format!("m{i}").into_bytes(),
        })
        .collect();
    store.enqueue_many(messages).await.expect("enqueue");
    Some(Setup {
        store,
        raw,
        prefix,
        queue,
    })
}

/// Leaves what a fetch by `owner` cut short after moving `n` messages leaves.
async fn cut_short_fetch(s: &mut Setup, owner: &str, n: usize) {
    let list = format!("{}{}", s.prefix, s.queue);
    let registry = format!("{}celeriac.staging.{owner}", s.prefix);
    let staging = format!("{registry}\x06\x16{list}");
    let mut pipe = redis::pipe();
    pipe.hset(&registry, &staging, &list).ignore();
    for _ in 0..n {
        pipe.cmd("LMOVE")
            .arg(&list)
            .arg(&staging)
            .arg("RIGHT")
            .arg("LEFT")
            .ignore();
    }
    pipe.query_async::<()>(&mut s.raw).await.expect("stage");
}

async fn fetch_all(store: &RedisStore, consumer: &str, queue: &str) -> Vec<String> {
    let queues = [queue.to_owned()];
    let got = store
        .fetch(FetchRequest {
            consumer,
            queues: &queues,
            max: 10,
            wait: Duration::from_secs(5),
            lease: Duration::from_secs(30),
        })
        .await
        .expect("fetch");
    got.iter()
        .map(|d| String::from_utf8_lossy(&d.payload).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_fetch_returns_a_cut_short_fetch_first() {
    let Some(mut s) = setup().await else { return };
    cut_short_fetch(&mut s, "worker-a", 3).await;
    // Only m3 is left on the queue; the staged three go back ahead of it.
    let got = fetch_all(&s.store, "worker-a", &s.queue).await;
    assert_eq!(got, ["m0", "m1", "m2", "m3"]);
    s.store.delete_everything().await.expect("clean up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_returns_a_dead_consumers_staging_lists() {
    let Some(mut s) = setup().await else { return };
    cut_short_fetch(&mut s, "worker-dead", 2).await;
    // Registered, but its heartbeat key is gone: the sweeper's business.
    let workers = format!("{}celeriac.workers", s.prefix);
    let _: i64 = redis::cmd("HSET")
        .arg(&workers)
        .arg("worker-dead")
        .arg(r#"{"info":null}"#)
        .query_async(&mut s.raw)
        .await
        .expect("register");
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < 4 && tokio::time::Instant::now() < deadline {
        got.extend(fetch_all(&s.store, "worker-b", &s.queue).await);
    }
    // m2 and m3 were on the queue; m0 and m1 come back after the sweep,
    // which may come before or after the first fetch.
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, ["m0", "m1", "m2", "m3"], "got {got:?}");
    let staged: i64 = redis::cmd("EXISTS")
        .arg(format!("{}celeriac.staging.worker-dead", s.prefix))
        .query_async(&mut s.raw)
        .await
        .expect("exists");
    assert_eq!(staged, 0, "the dead consumer's staging registry is left");
    s.store.delete_everything().await.expect("clean up");
}
