//! Graceful shutdown, the second signal, and durability of an acknowledged
//! enqueue when its process is killed.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use celeriac::TaskState;
use support::{log_lines, wait_registered, TempStore, WorkerProcess};

fn signal(pid: u32, sig: i32) {
    // SAFETY: signalling our own child process.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "cannot signal {pid}");
}

async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGTERM: the running tasks finish within the grace period and succeed;
/// the prefetched ones go straight back to the queue, unrun.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_running_tasks_and_returns_the_rest() {
    let store = TempStore::new();
    let mut worker = WorkerProcess::spawn(
        &store,
        "graceful",
        &["--concurrency", "2", "--prefetch", "8", "--grace", "20"],
    );
    wait_registered(&store, &[&worker]).await;
    let ids: Vec<String> = (0..8)
        .map(|_| store.call("celeriac.sleep", &["--args", "[1.5]"]))
        .collect();
    // Both running slots taken: the other six are prefetched and waiting.
    wait_until("two tasks run", Duration::from_secs(20), || log_lines(&worker.log) >= 2).await;
    let stopped = Instant::now();
    signal(worker.pid(), libc::SIGTERM);
    // The six waiting messages are back in the queue while the two running
    // tasks are still finishing.
    let broker = store.connect().broker;
    let mut returned_early = false;
    while stopped.elapsed() < Duration::from_millis(1200) && worker.is_running() {
        let stats = broker.stats().await.unwrap();
        if stats.iter().any(|s| s.queue == "celery" && s.ready == 6) {
            returned_early = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(returned_early, "prefetched messages were not returned at once");
    assert!(worker.is_running(), "the running tasks keep the worker alive");
    let status = worker.wait_exit();
    let took = stopped.elapsed();
    assert!(
        status.success(),
        "worker exited with {status}: {}",
        worker.stderr_tail()
    );
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    assert_eq!(log_lines(&worker.log), 2, "only the two running tasks may run");

    let backends = store.connect();
    let mut succeeded = 0;
    for id in &ids {
        if let Some(r) = backends.backend.get(id).await.unwrap() {
            assert_eq!(r.state, TaskState::Success, "{id}");
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 2, "the running tasks finished and stored their results");
    let stats = backends.broker.stats().await.unwrap();
    let celery = stats.iter().find(|s| s.queue == "celery").expect("queue stats");
    assert_eq!(
        (celery.ready, celery.in_flight),
        (6, 0),
        "prefetched messages returned at once: {stats:?}"
    );
    assert!(
        backends.broker.workers().await.unwrap().is_empty(),
        "the worker deregistered"
    );

    // Another worker picks the returned six up.
    let second = WorkerProcess::spawn(&store, "second", &["--concurrency", "8"]);
    wait_until("the rest run", Duration::from_secs(30), || log_lines(&second.log) >= 6).await;
    for id in &ids {
        let r = backends.backend.wait(id, Duration::from_secs(20)).await.unwrap();
        assert_eq!(r.map(|r| r.state), Some(TaskState::Success), "{id}");
    }
}

/// A second signal ends the process at once, without waiting for tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_signal_exits_immediately() {
    let store = TempStore::new();
    let mut worker = WorkerProcess::spawn(&store, "impatient", &["--grace", "60"]);
    wait_registered(&store, &[&worker]).await;
    store.call("celeriac.sleep", &["--args", "[30]"]);
    wait_until("the task runs", Duration::from_secs(20), || log_lines(&worker.log) >= 1).await;
    signal(worker.pid(), libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(worker.is_running(), "the first signal waits for the running task");
    let second = Instant::now();
    signal(worker.pid(), libc::SIGTERM);
    wait_until("the worker exits", Duration::from_secs(5), || !worker.is_running()).await;
    assert!(
        second.elapsed() < Duration::from_secs(2),
        "exit took {:?}",
        second.elapsed()
    );
}

/// An enqueue that returned OK survives `kill -9` of the process that made
/// it (the commit is in the WAL file before the call returns).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_enqueue_survives_kill_9() {
    let store = TempStore::new();
    let mut producer = store
        .command(&["bench-produce", "--tasks", "5000", "--batch", "500", "--hold"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the producer");
    let stdout = producer.stdout.take().expect("producer stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the producer's report");
    assert!(line.contains("\"tasks\":5000"), "unexpected report {line:?}");
    // Killed while holding the store open: nothing is flushed or closed.
    producer.kill().expect("SIGKILL the producer");
    producer.wait().expect("reap the producer");

    let stats = store.connect().broker.stats().await.unwrap();
    let celery = stats.iter().find(|s| s.queue == "celery").expect("queue stats");
    assert_eq!(celery.ready, 5000, "{stats:?}");
}
