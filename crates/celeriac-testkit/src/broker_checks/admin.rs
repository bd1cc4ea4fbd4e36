//! Administration: revocation, queue statistics, the worker registry.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::{Broker, NewMessage, WorkerStatus};
use chrono::{TimeDelta, Utc};

use super::support::{
    ack_expect, delayed, envelope, expect_stats, fetch_n, message, payloads, tags, wall_in, worker_info, LONG_LEASE,
};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;
use crate::services::unique_name;

/// Revoked task ids are reported and flag their deliveries, whether the
/// message was enqueued before or after the revoke.
pub(crate) async fn revoke<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("revoke");
    let consumer = unique_name("consumer");
    let with_task = |payload: &str, task: &str| NewMessage {
        task_id: Some(task.to_owned()),
        payload: envelope(&q, 5, task, payload.as_bytes()),
        ..message(&q, 5, payload)
    };
    let (before, after, other) = (unique_name("task"), unique_name("task"), unique_name("task"));
    b.enqueue(with_task("before", &before)).await.ctx("enqueue")?;
    b.revoke(&before, Duration::from_secs(600)).await.ctx("revoke")?;
    b.revoke(&after, Duration::from_secs(600)).await.ctx("revoke")?;
    ensure!(
        b.is_revoked(&before).await.ctx("is_revoked")?,
        "revoked id not reported"
    );
    ensure!(
        !b.is_revoked(&other).await.ctx("is_revoked")?,
        "an id never revoked is reported revoked"
    );
    b.enqueue(with_task("after", &after)).await.ctx("enqueue")?;
    b.enqueue(with_task("other", &other)).await.ctx("enqueue")?;

    let got = fetch_n(&*b, &consumer, &q, 3).await?;
    for d in &got {
        let task = d.task_id.as_deref().unwrap_or_default();
        let expected = task == before || task == after;
        ensure!(
            d.revoked == expected,
            "delivery of task {task} has revoked={} (revoked ids: {before}, {after})",
            d.revoked
        );
    }
    let mut ids: Vec<Option<String>> = got.iter().map(|d| d.task_id.clone()).collect();
    ids.sort();
    let mut expected = vec![Some(before), Some(after), Some(other)];
    expected.sort();
    ensure!(ids == expected, "task ids did not survive the round trip: {ids:?}");
    ack_expect(&*b, &tags(&got), 3, "acking").await
}

/// Per-queue counts of ready, in-flight, delayed and dead messages.
pub(crate) async fn queue_stats<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let (q, other) = (unique_name("stats"), unique_name("stats-other"));
    let consumer = unique_name("consumer");
    for i in 0..4 {
        b.enqueue(message(&q, 5, &format!("s{i}"))).await.ctx("enqueue")?;
    }
    b.enqueue(delayed(&q, "later", wall_in(Duration::from_secs(600))))
        .await
        .ctx("enqueue")?;
    for i in 0..2 {
        b.enqueue(message(&other, 5, &format!("o{i}"))).await.ctx("enqueue")?;
    }
    let got = fetch_n(&*b, &consumer, &q, 2).await?;
    b.dead_letter(&got[0].tag, "counted").await.ctx("dead_letter")?;
    expect_stats(&*b, &q, (2, 1, 1, 1), "2 ready, 1 in flight, 1 delayed, 1 dead").await?;
    expect_stats(&*b, &other, (2, 0, 0, 0), "the other queue").await?;
    let all = b.stats().await.ctx("stats")?;
    let listed = all.iter().filter(|s| s.queue == q).count();
    ensure!(listed == 1, "queue `{q}` listed {listed} times in stats: {all:?}");
    Ok(())
}

fn find<'a>(workers: &'a [WorkerStatus], id: &str) -> Option<&'a WorkerStatus> {
    workers.iter().find(|w| w.info.id == id)
}

/// Heartbeats register a worker with its info; it turns dead (or vanishes)
/// after its lease; deregistering returns what it held.
pub(crate) async fn worker_registry<B: Broker + ?Sized>(b: Arc<B>, cfg: &ConformanceConfig) -> CheckResult {
    let q = unique_name("registry");
    let w = worker_info("worker", &q);
    b.heartbeat(&w, cfg.lease).await.ctx("heartbeat")?;
    let workers = b.workers().await.ctx("workers")?;
    let Some(status) = find(&workers, &w.id) else {
        return Err(format!("a worker that just heartbeated is not listed: {workers:?}"));
    };
    ensure!(status.alive, "a worker that just heartbeated is not alive: {status:?}");
    ensure!(
        status.info == w,
        "worker info changed\n  sent   {w:?}\n  listed {:?}",
        status.info
    );
    let age = Utc::now() - status.last_heartbeat;
    ensure!(
        age.abs() < TimeDelta::seconds(5),
        "last_heartbeat is {} ms off the heartbeat just sent",
        age.num_milliseconds()
    );

    tokio::time::sleep(cfg.lease * 2).await;
    let workers = b.workers().await.ctx("workers")?;
    if let Some(status) = find(&workers, &w.id) {
        ensure!(
            !status.alive,
            "worker still alive {} ms after its {} ms lease without heartbeat",
            (cfg.lease * 2).as_millis(),
            cfg.lease.as_millis()
        );
    }

    // A worker holding messages deregisters: they go back to the queue.
    let holder = worker_info("holder", &q);
    b.heartbeat(&holder, LONG_LEASE).await.ctx("heartbeat")?;
    for i in 0..2 {
        b.enqueue(message(&q, 5, &format!("h{i}"))).await.ctx("enqueue")?;
    }
    let held = fetch_n(&*b, &holder.id, &q, 2).await?;
    let workers = b.workers().await.ctx("workers")?;
    let in_flight = find(&workers, &holder.id).map(|s| s.in_flight);
    ensure!(
        in_flight == Some(2),
        "a worker holding 2 messages is listed with in_flight {in_flight:?}"
    );
    b.deregister(&holder.id).await.ctx("deregister")?;
    let workers = b.workers().await.ctx("workers")?;
    ensure!(
        find(&workers, &holder.id).is_none(),
        "a deregistered worker is still listed"
    );
    expect_stats(&*b, &q, (2, 0, 0, 0), "after the holder deregistered").await?;
    let back = fetch_n(&*b, &unique_name("consumer"), &q, 2).await?;
    ensure!(
        payloads(&back) == payloads(&held),
        "returned messages differ: held {:?}, got back {:?}",
        payloads(&held),
        payloads(&back)
    );
    ack_expect(&*b, &tags(&back), 2, "acking the returned messages").await
}

/// A paused queue is listed as paused until resumed; pausing twice or
/// resuming an unpaused queue is harmless.
pub(crate) async fn pause_resume<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let (q, other) = (unique_name("paused"), unique_name("running"));
    b.set_paused(&q, true).await.ctx("set_paused(true)")?;
    b.set_paused(&q, true).await.ctx("set_paused(true) again")?;
    b.set_paused(&other, false).await.ctx("resume a running queue")?;
    let paused = b.paused_queues().await.ctx("paused_queues")?;
    ensure!(
        paused.contains(&q) && !paused.contains(&other),
        "paused queues {paused:?}, expected {q} only"
    );
    b.set_paused(&q, false).await.ctx("set_paused(false)")?;
    let paused = b.paused_queues().await.ctx("paused_queues")?;
    ensure!(!paused.contains(&q), "{q} still paused after resume: {paused:?}");
    Ok(())
}

/// `terminate` revokes the task and is reported by `terminations` for it
/// alone; a plain revoke is not a termination.
pub(crate) async fn terminate<B: Broker + ?Sized>(b: Arc<B>, _cfg: &ConformanceConfig) -> CheckResult {
    let (stopped, revoked, running) = (unique_name("task"), unique_name("task"), unique_name("task"));
    b.terminate(&stopped, Duration::from_secs(600)).await.ctx("terminate")?;
    b.revoke(&revoked, Duration::from_secs(600)).await.ctx("revoke")?;
    ensure!(
        b.is_revoked(&stopped).await.ctx("is_revoked")?,
        "a terminated task is not revoked"
    );
    let asked = b
        .terminations(&[stopped.clone(), revoked.clone(), running.clone()])
        .await
        .ctx("terminations")?;
    ensure!(
        asked == [stopped.clone()],
        "terminations were {asked:?}, expected [{stopped}]"
    );
    Ok(())
}
