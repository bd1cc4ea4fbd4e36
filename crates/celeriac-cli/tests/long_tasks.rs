//! Leases and ETAs with worker processes: a task running longer than three
//! lease periods runs exactly once while its worker lives, and a task due
//! in two minutes runs once, not early.

mod support;

use std::time::{Duration, Instant, SystemTime};

use celeriac::TaskState;
use serde_json::json;
use support::{executions, wait_registered, TempStore, WorkerProcess};

/// Lease of every worker here: heartbeats every third of a second.
const LEASE: &str = "1";

fn two_workers(store: &TempStore) -> [WorkerProcess; 2] {
    [
        WorkerProcess::spawn(store, "a", &["--lease", LEASE]),
        WorkerProcess::spawn(store, "b", &["--lease", LEASE]),
    ]
}

fn times_executed(workers: &[WorkerProcess], id: &str) -> usize {
    let logs: Vec<&std::path::Path> = workers.iter().map(|w| w.log.as_path()).collect();
    executions(&logs).get(id).copied().unwrap_or(0)
}

fn assert_all_running(workers: &mut [WorkerProcess]) {
    for w in workers {
        assert!(w.is_running(), "worker {} died\n{}", w.name, w.stderr_tail());
    }
}

/// Waits until the queue holds nothing: the message was acknowledged.
async fn wait_queue_empty(store: &TempStore) {
    let broker = store.connect().broker;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = broker.stats().await.expect("queue stats");
        let celery = stats.iter().find(|s| s.queue == "celery").expect("the celery queue");
        assert_eq!(celery.dead, 0, "{stats:?}");
        if celery.ready == 0 && celery.in_flight == 0 && celery.delayed == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the message was not acknowledged: {stats:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_longer_than_three_leases_runs_once_while_its_worker_lives() {
    let store = TempStore::new();
    let mut workers = two_workers(&store);
    wait_registered(&store, &[&workers[0], &workers[1]]).await;
    let backend = store.connect().backend;

    let sent = Instant::now();
    let id = store.call("celeriac.sleep", &["--args", "[4]"]);
    let result = backend
        .wait(&id, Duration::from_secs(30))
        .await
        .expect("read the result")
        .expect("the sleep task has no result after 30 s");
    assert_eq!(result.state, TaskState::Success, "{result:?}");
    assert_eq!(result.result, json!(4.0));
    let took = sent.elapsed();
    assert!(took >= Duration::from_secs(4), "slept 4 s in {took:?}?");

    // Long enough for a lost lease to have been noticed (lease plus the
    // once-a-second sweep) and for a second run to have started.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let runs = times_executed(&workers, &id);
    println!("sleep(4) with 1 s leases: result after {took:?}, executed {runs} time(s)");
    assert_eq!(runs, 1, "the 4 s task ran {runs} times with two workers on 1 s leases");
    assert_all_running(&mut workers);
    wait_queue_empty(&store).await;
}

const ETA_SECS: u64 = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_due_in_two_minutes_runs_once_and_not_early() {
    let store = TempStore::new();
    let mut workers = two_workers(&store);
    wait_registered(&store, &[&workers[0], &workers[1]]).await;
    let backends = store.connect();

    // The ETA is fixed inside `celeriac call`, after this instant.
    let before_send = SystemTime::now();
    let not_before = before_send + Duration::from_secs(ETA_SECS);
    let id = store.call(
        "celeriac.add",
        &["--args", "[20, 22]", "--countdown", &ETA_SECS.to_string()],
    );

    let stats = backends.broker.stats().await.expect("queue stats");
    let celery = stats.iter().find(|s| s.queue == "celery").expect("the celery queue");
    assert_eq!(celery.delayed, 1, "the task does not wait in the broker: {stats:?}");

    // Until the ETA: no result of any kind, no execution, workers alive.
    let mut checks = 0;
    while SystemTime::now() + Duration::from_millis(500) < not_before {
        let result = backends.backend.get(&id).await.expect("read the result");
        assert!(result.is_none(), "result before the ETA: {result:?}");
        assert_eq!(times_executed(&workers, &id), 0, "ran before its ETA");
        assert_all_running(&mut workers);
        checks += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        times_executed(&workers, &id),
        0,
        "ran before its ETA (last check {:?} before it)",
        not_before.duration_since(SystemTime::now()).unwrap_or_default()
    );

    let result = backends
        .backend
        .wait(&id, Duration::from_secs(30))
        .await
        .expect("read the result")
        .expect("no result 30 s after the ETA");
    assert_eq!(result.state, TaskState::Success, "{result:?}");
    assert_eq!(result.result, json!(42));
    let done: SystemTime = result.date_done.expect("date_done of a SUCCESS").into();
    assert!(
        done >= not_before,
        "finished {:?} early",
        not_before.duration_since(done)
    );
    let late = done.duration_since(not_before).unwrap_or_default();

    tokio::time::sleep(Duration::from_secs(3)).await;
    let runs = times_executed(&workers, &id);
    println!("countdown {ETA_SECS} s: {checks} checks before the ETA, done {late:?} after it, executed {runs} time(s)");
    assert_eq!(runs, 1, "the ETA task ran {runs} times");
    assert_all_running(&mut workers);
    wait_queue_empty(&store).await;
}
