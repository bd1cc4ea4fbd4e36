//! Waiting consumers are woken by the enqueue itself, not by a poll.

use std::sync::Arc;
use std::time::{Duration, Instant};

use celeriac_core::Broker;

use super::support::{ack_expect, fetch, message, tags, LONG_LEASE};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;
use crate::services::unique_name;

const WAIT: Duration = Duration::from_secs(5);
const ENQUEUE_AFTER: Duration = Duration::from_millis(300);

/// A fetch waiting 5 s on an empty queue returns within the wake-up bound of
/// another task's enqueue.
pub(crate) async fn fetch_wakeup<B: Broker + ?Sized>(b: Arc<B>, cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("wake");
    let consumer = unique_name("consumer");
    let waiting = async {
        let got = fetch(&*b, &consumer, &q, 1, WAIT, LONG_LEASE).await;
        (got, Instant::now())
    };
    let producer = async {
        tokio::time::sleep(ENQUEUE_AFTER).await;
        let sent = b.enqueue(message(&q, 5, "wake")).await;
        (sent, Instant::now())
    };
    let ((got, received_at), (sent, sent_at)) = tokio::join!(waiting, producer);
    sent.ctx("enqueue")?;
    let got = got?;
    ensure!(
        got.len() == 1,
        "a fetch waiting {WAIT:?} returned {} messages though one was enqueued after {ENQUEUE_AFTER:?}",
        got.len()
    );
    let latency = received_at.saturating_duration_since(sent_at);
    ensure!(
        latency <= cfg.wakeup_bound,
        "the waiting fetch returned {} ms after the enqueue (bound {} ms): polling, not notification",
        latency.as_millis(),
        cfg.wakeup_bound.as_millis()
    );
    ack_expect(&*b, &tags(&got), 1, "acking").await
}
