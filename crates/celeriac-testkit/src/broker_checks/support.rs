//! Small helpers shared by the broker checks.

use std::time::{Duration, Instant};

use celeriac_core::{Broker, Delivery, DeliveryTag, FetchRequest, NewMessage, QueueStats, WorkerInfo};
use chrono::{DateTime, Utc};

use crate::check::{ensure, Ctx};
use crate::services::unique_name;

/// A lease long enough never to expire during a check, for checks where
/// expiry is not what is being tested.
pub(crate) const LONG_LEASE: Duration = Duration::from_secs(60);

/// How long to wait for a message that is already there; fetch returns as
/// soon as it has one, so this only bounds a broken broker.
pub(crate) const READY_WAIT: Duration = Duration::from_secs(2);

/// Early delivery tolerated for an ETA, for stores with coarse clocks.
pub(crate) const EARLY_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::milliseconds(50);

/// A minimal kombu envelope carrying `marker` as its body: brokers may read
/// the envelope's `delivery_tag`, task `id` and `eta` (a Redis broker
/// does), so the checks send well-formed envelopes.
pub(crate) fn envelope(queue: &str, priority: u8, task_id: &str, marker: &[u8]) -> Vec<u8> {
    let head = serde_json::json!({
        "content-type": "application/json",
        "content-encoding": "utf-8",
        "headers": {"task": "conformance", "id": task_id},
        "properties": {
            "delivery_tag": unique_name("tag"),
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": priority,
        },
    })
    .to_string();
    // `"body"` is written last and raw, so a marker that is not valid UTF-8
    // stays byte for byte what the check sent.
    let mut out = head.into_bytes();
    out.pop();
    out.extend_from_slice(b", \"body\": \"");
    out.extend_from_slice(marker);
    out.extend_from_slice(b"\"}");
    out
}

/// A ready message with its own task id; its payload is an envelope whose
/// body is `payload`.
pub(crate) fn message(queue: &str, priority: u8, payload: &str) -> NewMessage {
    let task_id = unique_name("task");
    NewMessage {
        queue: queue.to_owned(),
        priority,
        eta: None,
        payload: envelope(queue, priority, &task_id, payload.as_bytes()),
        task_id: Some(task_id),
    }
}

/// A message due at `eta`.
pub(crate) fn delayed(queue: &str, payload: &str, eta: DateTime<Utc>) -> NewMessage {
    NewMessage {
        eta: Some(eta),
        ..message(queue, 5, payload)
    }
}

/// `now + d` in wall-clock time, as ETAs are expressed.
pub(crate) fn wall_in(d: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

/// A worker description with a fresh id, timestamps whole seconds so stores
/// that keep less precision still return it unchanged.
pub(crate) fn worker_info(prefix: &str, queue: &str) -> WorkerInfo {
    let now = Utc::now();
    WorkerInfo {
        id: unique_name(prefix),
        hostname: "conformance-host".to_owned(),
        pid: std::process::id(),
        queues: vec![queue.to_owned()],
        concurrency: 2,
        prefetch: 4,
        started_at: DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now),
        version: "0.0.0-conformance".to_owned(),
        tasks: vec!["tasks.add".to_owned(), "tasks.mul".to_owned()],
    }
}

/// One fetch from one queue.
pub(crate) async fn fetch<B: Broker + ?Sized>(
    broker: &B,
    consumer: &str,
    queue: &str,
    max: usize,
    wait: Duration,
    lease: Duration,
) -> Result<Vec<Delivery>, String> {
    let queues = [queue.to_owned()];
    broker
        .fetch(FetchRequest {
            consumer,
            queues: &queues,
            max,
            wait,
            lease,
        })
        .await
        .ctx("fetch")
}

/// Fetches until exactly `n` messages arrived (a fetch may return fewer than
/// `max`); fails when the queue runs dry first.
pub(crate) async fn fetch_n<B: Broker + ?Sized>(
    broker: &B,
    consumer: &str,
    queue: &str,
    n: usize,
) -> Result<Vec<Delivery>, String> {
    let deadline = Instant::now() + READY_WAIT * 3;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        let batch = fetch(broker, consumer, queue, n - got.len(), READY_WAIT, LONG_LEASE).await?;
        got.extend(batch);
    }
    ensure!(
        got.len() == n,
        "expected {n} messages from `{queue}`, fetched {}: {:?}",
        got.len(),
        payloads(&got)
    );
    Ok(got)
}

/// Fetches once without waiting and fails if anything was delivered.
pub(crate) async fn expect_nothing<B: Broker + ?Sized>(
    broker: &B,
    consumer: &str,
    queue: &str,
    why: &str,
) -> Result<(), String> {
    let got = fetch(broker, consumer, queue, 10, Duration::ZERO, LONG_LEASE).await?;
    ensure!(got.is_empty(), "{why}, but fetch delivered {:?}", payloads(&got));
    Ok(())
}

/// The counts of one queue (all zero when the broker does not list it).
pub(crate) async fn queue_stats<B: Broker + ?Sized>(broker: &B, queue: &str) -> Result<QueueStats, String> {
    let all = broker.stats().await.ctx("stats")?;
    Ok(all
        .into_iter()
        .find(|s| s.queue == queue)
        .unwrap_or_else(|| QueueStats {
            queue: queue.to_owned(),
            ..QueueStats::default()
        }))
}

/// Fails unless `queue` has exactly these counts.
pub(crate) async fn expect_stats<B: Broker + ?Sized>(
    broker: &B,
    queue: &str,
    (ready, in_flight, delayed, dead): (u64, u64, u64, u64),
    when: &str,
) -> Result<(), String> {
    let expected = QueueStats {
        queue: queue.to_owned(),
        ready,
        in_flight,
        delayed,
        dead,
    };
    let got = queue_stats(broker, queue).await?;
    ensure!(got == expected, "{when}: expected stats {expected:?}, got {got:?}");
    Ok(())
}

/// Acks and fails unless exactly `expected` tags were current.
pub(crate) async fn ack_expect<B: Broker + ?Sized>(
    broker: &B,
    tags: &[DeliveryTag],
    expected: u64,
    when: &str,
) -> Result<(), String> {
    let acked = broker.ack(tags).await.ctx("ack")?;
    ensure!(acked == expected, "{when}: ack returned {acked}, expected {expected}");
    Ok(())
}

/// Tags of deliveries.
pub(crate) fn tags(deliveries: &[Delivery]) -> Vec<DeliveryTag> {
    deliveries.iter().map(|d| d.tag.clone()).collect()
}

/// Payloads as text, for comparisons and messages.
pub(crate) fn payloads(deliveries: &[Delivery]) -> Vec<String> {
    deliveries.iter().map(payload).collect()
}

/// The body marker of a delivered envelope (see [`envelope`]).
pub(crate) fn payload(d: &Delivery) -> String {
    marker(&d.payload)
}

/// The body marker inside an envelope's bytes, as text.
pub(crate) fn marker(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.rfind("\"body\": \"") {
        Some(at) => text[at + 9..].trim_end_matches("\"}").to_owned(),
        None => text.into_owned(),
    }
}
