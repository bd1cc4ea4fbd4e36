//! Delayed delivery: ETA messages and deferred deliveries wait in the broker.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::Broker;
use chrono::Utc;

use super::support::{
    ack_expect, delayed, expect_nothing, expect_stats, fetch, message, payload, queue_stats, wall_in, EARLY_TOLERANCE,
    LONG_LEASE, READY_WAIT,
};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;
use crate::services::unique_name;

const ETA_AHEAD: Duration = Duration::from_millis(1500);

/// A message with an ETA is held (counted as delayed, not in flight) until
/// the ETA, then handed to a fetch that was already waiting: the broker must
/// wake that waiter itself.
pub(crate) async fn delayed_delivery<B: Broker + ?Sized>(b: Arc<B>, cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("eta");
    let consumer = unique_name("consumer");
    let eta = wall_in(ETA_AHEAD);
    b.enqueue(delayed(&q, "later", eta)).await.ctx("enqueue")?;
    expect_stats(&*b, &q, (0, 0, 1, 0), "right after enqueueing a message with an ETA").await?;
    expect_nothing(&*b, &consumer, &q, "the ETA is 1.5 s away").await?;

    let waiting = async {
        let got = fetch(&*b, &consumer, &q, 1, ETA_AHEAD + cfg.slack, LONG_LEASE).await;
        (got, Utc::now())
    };
    let probe = async {
        tokio::time::sleep(ETA_AHEAD / 2).await;
        queue_stats(&*b, &q).await
    };
    let ((got, received_at), midway) = tokio::join!(waiting, probe);
    let (got, midway) = (got?, midway?);
    ensure!(
        (midway.ready, midway.in_flight, midway.delayed) == (0, 0, 1),
        "halfway to the ETA the message must be delayed only, got {midway:?}"
    );
    ensure!(
        got.len() == 1,
        "a fetch waiting {:?} was not woken when the ETA passed (got {} messages)",
        ETA_AHEAD + cfg.slack,
        got.len()
    );
    ensure!(
        received_at >= eta - EARLY_TOLERANCE,
        "delivered {} ms before its ETA",
        (eta - received_at).num_milliseconds()
    );
    ensure!(payload(&got[0]) == "later", "wrong payload {:?}", payload(&got[0]));
    expect_stats(&*b, &q, (0, 1, 0, 0), "after the delayed message was fetched").await?;
    ack_expect(&*b, std::slice::from_ref(&got[0].tag), 1, "acking the delayed message").await
}

/// `defer` ends the lease and holds the message until the given time; the
/// next delivery has the same delivery count, and the old tag is stale.
pub(crate) async fn defer<B: Broker + ?Sized>(b: Arc<B>, cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("defer");
    let consumer = unique_name("consumer");
    b.enqueue(message(&q, 5, "deferred")).await.ctx("enqueue")?;
    let first = fetch(&*b, &consumer, &q, 1, READY_WAIT, LONG_LEASE).await?;
    ensure!(first.len() == 1, "the message was not delivered");
    let first = &first[0];

    let until = wall_in(Duration::from_secs(1));
    b.defer(&first.tag, until).await.ctx("defer")?;
    expect_stats(&*b, &q, (0, 0, 1, 0), "after defer").await?;
    expect_nothing(&*b, &consumer, &q, "the message was deferred by 1 s").await?;

    let got = fetch(&*b, &consumer, &q, 1, Duration::from_secs(1) + cfg.slack, LONG_LEASE).await?;
    let received_at = Utc::now();
    ensure!(got.len() == 1, "the deferred message did not come back after its time");
    let again = &got[0];
    ensure!(
        received_at >= until - EARLY_TOLERANCE,
        "delivered {} ms before the deferral ended",
        (until - received_at).num_milliseconds()
    );
    ensure!(payload(again) == "deferred", "wrong payload {:?}", payload(again));
    ensure!(
        again.deliveries == first.deliveries,
        "deferral must not count as a delivery: first delivery had deliveries={}, the one after defer has {}",
        first.deliveries,
        again.deliveries
    );
    // The tag from before the deferral names an earlier delivery.
    ack_expect(
        &*b,
        std::slice::from_ref(&first.tag),
        0,
        "acking the tag from before the deferral",
    )
    .await?;
    expect_stats(&*b, &q, (0, 1, 0, 0), "after a stale ack of the deferred delivery").await?;
    ack_expect(
        &*b,
        std::slice::from_ref(&again.tag),
        1,
        "acking the delivery after the deferral",
    )
    .await
}
