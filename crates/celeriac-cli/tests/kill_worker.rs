//! Two worker processes share one embedded store while a third process
//! enqueues 20,000 tasks; one worker is SIGKILLed mid-run and restarted.
//! No task may be lost, and only the messages the killed worker held may
//! run twice.

mod support;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use celeriac::TaskState;
use serde_json::json;
use support::{executions, log_lines, wait_registered, TempStore, WorkerProcess};

const TASKS: usize = 20_000;
const CONCURRENCY: usize = 16;
const PREFETCH: usize = 64;
const LEASE_SECS: u64 = 2;
/// The whole run, kill and recovery included, must end within this.
const DEADLINE: Duration = Duration::from_secs(150);

fn worker_args() -> Vec<String> {
    vec![
        "--concurrency".into(),
        CONCURRENCY.to_string(),
        "--prefetch".into(),
        PREFETCH.to_string(),
        "--lease".into(),
        LEASE_SECS.to_string(),
    ]
}

fn spawn_worker(store: &TempStore, name: &str) -> WorkerProcess {
    let args = worker_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    WorkerProcess::spawn(store, name, &args)
}

/// Messages the broker says `pid`'s worker holds (0 if it is not listed).
async fn held_by(broker: &dyn celeriac::Broker, pid: u32) -> u64 {
    let workers = broker.workers().await.expect("read the worker registry");
    workers.iter().filter(|w| w.info.pid == pid).map(|w| w.in_flight).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_worker_loses_no_task_and_reruns_at_most_what_it_held() {
    let started = Instant::now();
    let store = TempStore::new();
    let backends = store.connect();

    let mut victim = spawn_worker(&store, "victim");
    let mut survivor = spawn_worker(&store, "survivor");
    wait_registered(&store, &[&victim, &survivor]).await;

    // The third process: enqueues celeriac.add(i, i) for i in 0..TASKS in
    // batches and writes the task ids in order.
    let ids_file = store.file("ids.txt");
    let mut producer = store
        .command(&[
            "bench-produce",
            "--task",
            "celeriac.add",
            "--numbered",
            "--batch",
            "500",
        ])
        .args(["--tasks", &TASKS.to_string()])
        .arg("--ids-file")
        .arg(&ids_file)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the producer process");

    // Kill the victim once 30% of the tasks have run, at a moment it holds
    // leased messages (so their return by lease expiry is exercised).
    let kill_from = TASKS * 3 / 10;
    let executed_at_kill = loop {
        let executed = log_lines(&victim.log) + log_lines(&survivor.log);
        if executed >= kill_from && held_by(backends.broker.as_ref(), victim.pid()).await > 0 {
            victim.kill9();
            break executed;
        }
        assert!(
            executed < TASKS * 6 / 10,
            "the victim held no message between 30% and 60% of the run ({executed} executed)\n{}",
            victim.stderr_tail()
        );
        assert!(
            started.elapsed() < DEADLINE,
            "only {executed} tasks ran before the deadline"
        );
        if let Some(status) = producer.try_wait().expect("poll the producer") {
            assert!(status.success(), "the producer failed: {status}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let victim_executed = log_lines(&victim.log);
    let killed_at = started.elapsed();
    println!(
        "killed the victim at {killed_at:?}: {executed_at_kill} executions logged, {victim_executed} by the victim"
    );
    assert!(executed_at_kill < TASKS, "the kill came after the run");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut restarted = spawn_worker(&store, "victim-restarted");
    wait_registered(&store, &[&restarted]).await;

    let status = loop {
        if let Some(status) = producer.try_wait().expect("poll the producer") {
            break status;
        }
        assert!(started.elapsed() < DEADLINE, "the producer did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "the producer failed: {status}");
    let ids: Vec<String> = std::fs::read_to_string(&ids_file)
        .expect("read the producer's ids")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), TASKS, "the producer wrote {} ids", ids.len());

    // Every task ends SUCCESS with 2i.
    let mut pending: Vec<usize> = (0..TASKS).collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for i in pending {
            match backends.backend.get(&ids[i]).await.expect("read a result") {
                Some(r) if r.state.is_ready() => {
                    assert_eq!(r.state, TaskState::Success, "task {i} ({}): {r:?}", ids[i]);
                    assert_eq!(r.result, json!(2 * i), "task {i} ({}) has the wrong value", ids[i]);
                }
                _ => still.push(i),
            }
        }
        pending = still;
        if !pending.is_empty() {
            assert!(
                started.elapsed() < DEADLINE,
                "{} tasks have no result after {:?}, e.g. #{} {}\nsurvivor: {}\nrestarted: {}",
                pending.len(),
                started.elapsed(),
                pending[0],
                ids[pending[0]],
                survivor.stderr_tail(),
                restarted.stderr_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let all_succeeded = started.elapsed();

    // Every message is acknowledged (none stuck under a dead lease), none dead.
    loop {
        let stats = backends.broker.stats().await.expect("queue stats");
        let celery = stats.iter().find(|s| s.queue == "celery").expect("the celery queue");
        assert_eq!(celery.dead, 0, "{stats:?}");
        if celery.ready == 0 && celery.in_flight == 0 && celery.delayed == 0 {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "messages left in the queue: {stats:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for w in [&mut survivor, &mut restarted] {
        assert!(w.is_running(), "worker {} died\n{}", w.name, w.stderr_tail());
        let status = w.terminate();
        assert!(
            status.success(),
            "worker {} exited with {status}\n{}",
            w.name,
            w.stderr_tail()
        );
    }

    // The independent record: every task ran; reruns only of what the
    // victim held when it died (at most its prefetch, of which at most
    // `concurrency` were running).
    let counts = executions(&[&victim.log, &survivor.log, &restarted.log]);
    let known: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let strangers: Vec<&String> = counts.keys().filter(|id| !known.contains_key(id.as_str())).collect();
    assert!(strangers.is_empty(), "executions of ids never sent: {strangers:?}");
    let missing: Vec<&String> = ids.iter().filter(|id| !counts.contains_key(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} tasks have a result but no execution record, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let duplicated = counts.values().filter(|&&n| n > 1).count();
    let extra_runs: usize = counts.values().map(|&n| n - 1).sum();
    let bound = PREFETCH + CONCURRENCY;
    println!(
        "{TASKS} tasks: all SUCCESS after {all_succeeded:?} (kill at {killed_at:?}); executions: victim {}, survivor {}, \
         restarted {}; ids run more than once: {duplicated}, extra runs: {extra_runs} (bound {bound}); total {:?}",
        log_lines(&victim.log),
        log_lines(&survivor.log),
        log_lines(&restarted.log),
        started.elapsed()
    );
    assert!(
        duplicated <= bound,
        "{duplicated} ids ran more than once; the victim held at most {bound}"
    );
    assert!(
        extra_runs <= bound,
        "{extra_runs} extra executions; the victim held at most {bound}"
    );
}
