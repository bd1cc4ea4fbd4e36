//! Delivery order: FIFO within a priority, priorities, batch enqueue.

use std::sync::Arc;

use celeriac_core::Broker;

use super::support::{ack_expect, expect_stats, fetch, fetch_n, message, payloads, tags, LONG_LEASE, READY_WAIT};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;
use crate::services::unique_name;

/// Messages of one priority come out in enqueue order, one at a time and in
/// a batch.
pub(crate) async fn fifo_within_priority<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("fifo");
    let consumer = unique_name("consumer");
    // Separate enqueue calls: order must follow the calls, not a batch.
    for i in 0..20 {
        b.enqueue(message(&q, 5, &format!("m{i:02}"))).await.ctx("enqueue")?;
    }
    let mut got = Vec::new();
    for _ in 0..20 {
        got.extend(fetch(&*b, &consumer, &q, 1, READY_WAIT, LONG_LEASE).await?);
    }
    let expected: Vec<String> = (0..20).map(|i| format!("m{i:02}")).collect();
    ensure!(
        payloads(&got) == expected,
        "one-at-a-time fetch order\n  expected {expected:?}\n  got      {:?}",
        payloads(&got)
    );
    ack_expect(&*b, &tags(&got), 20, "acking the single fetches").await?;

    for i in 20..30 {
        b.enqueue(message(&q, 5, &format!("m{i:02}"))).await.ctx("enqueue")?;
    }
    let batch = fetch_n(&*b, &consumer, &q, 10).await?;
    let expected: Vec<String> = (20..30).map(|i| format!("m{i:02}")).collect();
    ensure!(
        payloads(&batch) == expected,
        "batch fetch order\n  expected {expected:?}\n  got      {:?}",
        payloads(&batch)
    );
    ack_expect(&*b, &tags(&batch), 10, "acking the batch").await
}

/// Lower priority numbers are served first, FIFO among equals. Brokers with
/// fewer than 10 levels are only held to ordering between distinct buckets.
pub(crate) async fn priority_order<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let levels = b.capabilities().priority_levels;
    // Enqueued out of order, each level twice, so neither FIFO nor LIFO
    // across priorities can pass by accident.
    let sequence: &[u8] = match levels {
        10.. => &[7, 2, 9, 0, 5, 3, 8, 1, 6, 4, 4, 6, 1, 8, 3, 5, 0, 9, 2, 7],
        4..=9 => &[9, 6, 3, 0, 6, 9, 0, 3],
        2..=3 => &[9, 0, 9, 0],
        _ => &[9, 0, 5, 3],
    };
    let q = unique_name("prio");
    let consumer = unique_name("consumer");
    let mut enqueued = Vec::new();
    for (seq, &priority) in sequence.iter().enumerate() {
        let payload = format!("p{priority}-{seq:02}");
        b.enqueue(message(&q, priority, &payload)).await.ctx("enqueue")?;
        enqueued.push((priority, payload));
    }
    let mut expected = enqueued.clone();
    if levels >= 2 {
        // Stable sort: FIFO among equal priorities is kept.
        expected.sort_by_key(|(priority, _)| *priority);
    }
    let expected: Vec<String> = expected.into_iter().map(|(_, p)| p).collect();
    let mut got = Vec::new();
    for _ in 0..sequence.len() {
        got.extend(fetch(&*b, &consumer, &q, 1, READY_WAIT, LONG_LEASE).await?);
    }
    ensure!(
        payloads(&got) == expected,
        "broker reports {levels} priority levels; serving order\n  expected {expected:?}\n  got      {:?}",
        payloads(&got)
    );
    ack_expect(&*b, &tags(&got), sequence.len() as u64, "acking").await
}

/// `enqueue_many` makes every message visible at once, keeping order per
/// queue, across queues in one batch.
pub(crate) async fn enqueue_many<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let (q1, q2) = (unique_name("batch-a"), unique_name("batch-b"));
    let consumer = unique_name("consumer");
    let batch = (0..50)
        .map(|i| {
            let q = if i % 2 == 0 { &q1 } else { &q2 };
            message(q, 5, &format!("b{i:02}"))
        })
        .collect();
    b.enqueue_many(batch).await.ctx("enqueue_many")?;
    b.enqueue_many(Vec::new()).await.ctx("enqueue_many of an empty batch")?;
    expect_stats(&*b, &q1, (25, 0, 0, 0), "after enqueue_many, first queue").await?;
    expect_stats(&*b, &q2, (25, 0, 0, 0), "after enqueue_many, second queue").await?;
    for (q, first) in [(&q1, 0), (&q2, 1)] {
        let got = fetch_n(&*b, &consumer, q, 25).await?;
        let expected: Vec<String> = (first..50).step_by(2).map(|i| format!("b{i:02}")).collect();
        ensure!(
            payloads(&got) == expected,
            "order within `{q}`\n  expected {expected:?}\n  got      {:?}",
            payloads(&got)
        );
        ack_expect(&*b, &tags(&got), 25, "acking").await?;
    }
    Ok(())
}
