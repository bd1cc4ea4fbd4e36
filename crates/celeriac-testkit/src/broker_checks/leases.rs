//! Leases: renewed by heartbeat, expired into redelivery, exclusive under
//! concurrency.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use celeriac_core::{Broker, NewMessage};
use tokio::task::JoinSet;

use super::support::{
    ack_expect, expect_stats, fetch, message, payload, payloads, tags, worker_info, LONG_LEASE, READY_WAIT,
};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;
use crate::services::unique_name;

/// While consumer A heartbeats every lease/3, consumer B never receives A's
/// message, over three lease periods.
pub(crate) async fn heartbeat_renews_lease<B: Broker + ?Sized>(b: Arc<B>, cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("hb");
    let a = worker_info("consumer-a", &q);
    let other = unique_name("consumer-b");
    b.enqueue(message(&q, 5, "held")).await.ctx("enqueue")?;
    let held = fetch(&*b, &a.id, &q, 1, READY_WAIT, cfg.lease).await?;
    ensure!(held.len() == 1, "the message was not delivered to A");

    let tick = cfg.lease / 3;
    let start = Instant::now();
    while start.elapsed() < cfg.lease * 3 {
        let tick_start = Instant::now();
        b.heartbeat(&a, cfg.lease).await.ctx("heartbeat")?;
        let stolen = fetch(&*b, &other, &q, 1, tick / 2, LONG_LEASE).await?;
        ensure!(
            stolen.is_empty(),
            "B received {:?} {} ms after A's fetch although A heartbeated every {} ms with a {} ms lease",
            payloads(&stolen),
            start.elapsed().as_millis(),
            tick.as_millis(),
            cfg.lease.as_millis()
        );
        tokio::time::sleep_until((tick_start + tick).into()).await;
    }
    ack_expect(&*b, &tags(&held), 1, "A acking its renewed delivery").await
}

/// When A stops heartbeating, the message goes to B after the lease with
/// `deliveries == 2`; A's stale tag then acks nothing.
pub(crate) async fn redelivery_after_lease_expiry<B: Broker + ?Sized>(
    b: Arc<B>,
    cfg: &ConformanceConfig,
) -> CheckResult {
    let q = unique_name("expiry");
    let (a, other) = (unique_name("consumer-a"), unique_name("consumer-b"));
    b.enqueue(message(&q, 5, "orphan")).await.ctx("enqueue")?;
    // The lease cannot start before this instant, so nothing may be
    // redelivered before `before_a + lease`.
    let before_a = Instant::now();
    let first = fetch(&*b, &a, &q, 1, READY_WAIT, cfg.lease).await?;
    ensure!(first.len() == 1, "the message was not delivered to A");
    let first = &first[0];
    ensure!(
        first.deliveries == 1,
        "first delivery has deliveries={}",
        first.deliveries
    );

    let got = fetch(&*b, &other, &q, 1, cfg.lease + cfg.slack, LONG_LEASE).await?;
    let redelivered_after = before_a.elapsed();
    ensure!(
        got.len() == 1,
        "the message was not redelivered within {:?} after A's lease of {:?} lapsed",
        cfg.slack,
        cfg.lease
    );
    let second = &got[0];
    ensure!(
        redelivered_after + Duration::from_millis(20) >= cfg.lease,
        "redelivered after {} ms, before A's {} ms lease ended",
        redelivered_after.as_millis(),
        cfg.lease.as_millis()
    );
    ensure!(payload(second) == "orphan", "wrong payload {:?}", payload(second));
    ensure!(
        second.deliveries == 2,
        "redelivery must count: deliveries={}",
        second.deliveries
    );
    ensure!(second.tag != first.tag, "redelivery reused the tag {:?}", first.tag);
    ack_expect(&*b, std::slice::from_ref(&first.tag), 0, "A acking its stale tag").await?;
    expect_stats(&*b, &q, (0, 1, 0, 0), "after A's stale ack, B's delivery").await?;
    ack_expect(&*b, std::slice::from_ref(&second.tag), 1, "B acking").await
}

const TOTAL: usize = 500;
const CONSUMERS: usize = 4;

/// Four consumers drain 500 messages concurrently, acking as they go: each
/// message is received exactly once.
pub(crate) async fn concurrent_consumers<B: Broker + ?Sized>(b: Arc<B>, cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("race");
    let batch: Vec<NewMessage> = (0..TOTAL).map(|i| message(&q, 5, &format!("c{i:03}"))).collect();
    b.enqueue_many(batch).await.ctx("enqueue_many")?;

    let acked = Arc::new(AtomicUsize::new(0));
    // Leave time to report instead of being cut off by the check timeout.
    let deadline = Instant::now() + cfg.check_timeout * 2 / 3;
    // Dropping the set aborts the consumers if this check is cancelled.
    let mut consumers = JoinSet::new();
    for c in 0..CONSUMERS {
        let (b, q, acked) = (Arc::clone(&b), q.clone(), Arc::clone(&acked));
        consumers.spawn(async move {
            let consumer = unique_name(&format!("consumer-{c}"));
            let mut seen = Vec::new();
            while acked.load(Ordering::SeqCst) < TOTAL && Instant::now() < deadline {
                let got = fetch(&*b, &consumer, &q, 10, Duration::from_millis(100), LONG_LEASE).await?;
                if got.is_empty() {
                    continue;
                }
                let n = b.ack(&tags(&got)).await.ctx("ack")?;
                ensure!(
                    n == got.len() as u64,
                    "{consumer} acked {} live deliveries but only {n} were current",
                    got.len()
                );
                acked.fetch_add(got.len(), Ordering::SeqCst);
                seen.extend(payloads(&got));
            }
            Ok::<_, String>(seen)
        });
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(joined) = consumers.join_next().await {
        let seen = joined.map_err(|e| format!("a consumer task failed: {e}"))??;
        for p in seen {
            *counts.entry(p).or_default() += 1;
        }
    }
    let twice: Vec<&String> = counts.iter().filter(|(_, n)| **n > 1).map(|(p, _)| p).collect();
    ensure!(
        twice.is_empty(),
        "{} messages were delivered to more than one consumer while leased, e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(5)]
    );
    ensure!(
        counts.len() == TOTAL,
        "{} of {TOTAL} messages were received before the deadline",
        counts.len()
    );
    expect_stats(&*b, &q, (0, 0, 0, 0), "after every message was acked").await
}
