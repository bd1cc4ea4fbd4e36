//! What happens to a delivery: ack, requeue, dead-letter; and purge.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::{Broker, DeadSelector, NewMessage};

use super::support::{
    ack_expect, delayed, envelope, expect_nothing, expect_stats, fetch, fetch_n, marker, message, payload, tags,
    wall_in, LONG_LEASE,
};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;
use crate::services::unique_name;

/// Acked messages are gone; acking twice counts nothing.
pub(crate) async fn ack<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("ack");
    let consumer = unique_name("consumer");
    b.enqueue_many((0..3).map(|i| message(&q, 5, &format!("a{i}"))).collect())
        .await
        .ctx("enqueue_many")?;
    let got = fetch_n(&*b, &consumer, &q, 3).await?;
    expect_stats(&*b, &q, (0, 3, 0, 0), "after fetching all three").await?;
    ack_expect(&*b, &tags(&got), 3, "acking three live deliveries").await?;
    expect_stats(&*b, &q, (0, 0, 0, 0), "after ack").await?;
    ack_expect(&*b, &tags(&got), 0, "acking the same tags again").await?;
    expect_nothing(&*b, &consumer, &q, "every message was acked").await
}

/// A requeued delivery is ready at once, at the head of its queue, and its
/// next delivery counts one more.
pub(crate) async fn requeue<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("requeue");
    let consumer = unique_name("consumer");
    b.enqueue(message(&q, 5, "first")).await.ctx("enqueue")?;
    b.enqueue(message(&q, 5, "second")).await.ctx("enqueue")?;
    let got = fetch_n(&*b, &consumer, &q, 1).await?;
    let first = &got[0];
    ensure!(payload(first) == "first", "FIFO broken: got {:?} first", payload(first));

    let n = b.requeue(std::slice::from_ref(&first.tag)).await.ctx("requeue")?;
    ensure!(n == 1, "requeue of a live delivery returned {n}");
    expect_stats(&*b, &q, (2, 0, 0, 0), "after requeue").await?;
    let got = fetch(&*b, &consumer, &q, 1, Duration::ZERO, LONG_LEASE).await?;
    ensure!(got.len() == 1, "the requeued message was not ready at once");
    let again = &got[0];
    ensure!(
        payload(again) == "first",
        "a requeued message goes to the head of its queue, but {:?} came first",
        payload(again)
    );
    ensure!(
        again.deliveries == first.deliveries + 1,
        "deliveries after requeue: expected {}, got {}",
        first.deliveries + 1,
        again.deliveries
    );
    ack_expect(
        &*b,
        std::slice::from_ref(&first.tag),
        0,
        "acking the tag from before the requeue",
    )
    .await?;
    ack_expect(&*b, std::slice::from_ref(&again.tag), 1, "acking the redelivery").await?;
    let rest = fetch_n(&*b, &consumer, &q, 1).await?;
    ack_expect(&*b, &tags(&rest), 1, "acking the second message").await
}

/// Dead letters keep reason, raw bytes, queue and task id; they can be
/// listed, retried and dropped, and are counted per queue.
pub(crate) async fn dead_letters<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("dead");
    let consumer = unique_name("consumer");
    // Not valid UTF-8 inside: payloads are bytes and must come back unchanged.
    let first = message(&q, 5, "");
    let raw = envelope(&q, 5, first.task_id.as_deref().unwrap_or_default(), b"\xff\x00\xfe");
    let first = NewMessage {
        payload: raw.clone(),
        ..first
    };
    let second = message(&q, 5, "second");
    let (t1, t2) = (first.task_id.clone(), second.task_id.clone());
    b.enqueue(first).await.ctx("enqueue")?;
    b.enqueue(second).await.ctx("enqueue")?;
    let got = fetch_n(&*b, &consumer, &q, 2).await?;
    b.dead_letter(&got[0].tag, "reason one: boom")
        .await
        .ctx("dead_letter")?;
    b.dead_letter(&got[1].tag, "reason two").await.ctx("dead_letter")?;
    expect_stats(&*b, &q, (0, 0, 0, 2), "after dead-lettering both").await?;

    let listed = b.dead_letters(Some(&q), 10).await.ctx("dead_letters")?;
    ensure!(
        listed.len() == 2,
        "expected 2 dead letters for `{q}`, listed {listed:?}"
    );
    let (d1, d2) = (&listed[0], &listed[1]);
    ensure!(
        d1.reason == "reason one: boom" && d1.task_id == t1 && d1.queue == q && d1.payload == raw,
        "first dead letter (oldest first) should keep reason, task id, queue and raw bytes: {d1:?}"
    );
    ensure!(d1.deliveries == 1, "dead letter records deliveries={}", d1.deliveries);
    ensure!(
        d2.reason == "reason two" && d2.task_id == t2 && marker(&d2.payload) == "second",
        "second dead letter: {d2:?}"
    );
    let limited = b.dead_letters(Some(&q), 1).await.ctx("dead_letters")?;
    ensure!(limited.len() == 1, "limit 1 listed {} dead letters", limited.len());
    let elsewhere = b
        .dead_letters(Some(&unique_name("other")), 10)
        .await
        .ctx("dead_letters")?;
    ensure!(elsewhere.is_empty(), "another queue lists {elsewhere:?}");

    let n = b.retry_dead(&DeadSelector::Id(d1.id.clone())).await.ctx("retry_dead")?;
    ensure!(n == 1, "retry_dead by id returned {n}");
    expect_stats(&*b, &q, (1, 0, 0, 1), "after retrying one dead letter").await?;
    let back = fetch_n(&*b, &consumer, &q, 1).await?;
    ensure!(
        back[0].payload == raw && back[0].task_id == t1,
        "retried message changed: {:?}",
        back[0]
    );

    let n = b.drop_dead(&DeadSelector::Id(d2.id.clone())).await.ctx("drop_dead")?;
    ensure!(n == 1, "drop_dead by id returned {n}");
    let left = b.dead_letters(Some(&q), 10).await.ctx("dead_letters")?;
    ensure!(left.is_empty(), "dropped dead letter still listed: {left:?}");
    expect_stats(&*b, &q, (0, 1, 0, 0), "after dropping the other dead letter").await?;

    // The queue selector, both ways.
    b.dead_letter(&back[0].tag, "again").await.ctx("dead_letter")?;
    let n = b.retry_dead(&DeadSelector::Queue(q.clone())).await.ctx("retry_dead")?;
    ensure!(n == 1, "retry_dead by queue returned {n}");
    let back = fetch_n(&*b, &consumer, &q, 1).await?;
    b.dead_letter(&back[0].tag, "for good").await.ctx("dead_letter")?;
    let n = b.drop_dead(&DeadSelector::Queue(q.clone())).await.ctx("drop_dead")?;
    ensure!(n == 1, "drop_dead by queue returned {n}");
    expect_stats(&*b, &q, (0, 0, 0, 0), "after dropping every dead letter").await
}

/// Purge removes ready and delayed messages of one queue and returns the
/// count; deliveries in flight and other queues are untouched.
pub(crate) async fn purge<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let (q, other) = (unique_name("purge"), unique_name("keep"));
    let consumer = unique_name("consumer");
    for i in 0..3 {
        b.enqueue(message(&q, 5, &format!("r{i}"))).await.ctx("enqueue")?;
    }
    for i in 0..2 {
        let eta = wall_in(Duration::from_secs(600));
        b.enqueue(delayed(&q, &format!("d{i}"), eta)).await.ctx("enqueue")?;
    }
    b.enqueue(message(&other, 5, "kept")).await.ctx("enqueue")?;
    let held = fetch_n(&*b, &consumer, &q, 1).await?;

    let n = b.purge(&q).await.ctx("purge")?;
    ensure!(n == 4, "purge should remove 2 ready + 2 delayed messages, returned {n}");
    expect_stats(&*b, &q, (0, 1, 0, 0), "after purge").await?;
    expect_stats(&*b, &other, (1, 0, 0, 0), "another queue after purge").await?;
    ack_expect(
        &*b,
        &tags(&held),
        1,
        "acking the in-flight delivery purge must not touch",
    )
    .await?;
    let n = b.purge(&q).await.ctx("purge")?;
    ensure!(n == 0, "purging an empty queue returned {n}");
    Ok(())
}
