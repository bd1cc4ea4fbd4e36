//! The worker's observable behaviour on the in-memory broker: results,
//! workflows, retries, failures, limits, panics, expiry, revocation.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use celeriac::memory::{MemoryBackend, MemoryBroker};
use celeriac::{
    task, Broker, Client, ResultBackend, ResultError, Signature, TaskContext, TaskError, TaskRegistry, TaskState,
    Worker, WorkerConfig,
};

/// Cancels the worker when dropped, so a failing test does not hang.
struct Stop(tokio_util::sync::CancellationToken);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[task(name = "t.add")]
async fn add(x: i64, y: i64) -> Result<i64, TaskError> {
    Ok(x + y)
}

#[task(name = "t.mul")]
async fn mul(x: i64, y: i64) -> i64 {
    x * y
}

#[task(name = "t.boom", max_retries = 0)]
async fn boom(message: String) -> Result<(), TaskError> {
    Err(TaskError::new("ValueError", message))
}

static FLAKY_CALLS: AtomicU32 = AtomicU32::new(0);

#[task(name = "t.flaky", max_retries = 5)]
async fn flaky(ctx: TaskContext) -> Result<u32, TaskError> {
    FLAKY_CALLS.fetch_add(1, Ordering::SeqCst);
    if ctx.retries() < 2 {
        return Err(ctx.retry_in(Duration::from_millis(50), "not yet"));
    }
    Ok(ctx.retries())
}

#[task(name = "t.always_retry", max_retries = 2, retry_backoff = 0.01, retry_jitter = false)]
async fn always_retry() -> Result<(), TaskError> {
    Err(TaskError::retry("still failing"))
}

#[task(name = "t.parse", autoretry_for = ["ParseIntError"], max_retries = 1, retry_backoff = 0.01)]
fn parse(text: String) -> Result<i64, TaskError> {
    Ok(text.parse::<i64>()?)
}

#[task(name = "t.panic")]
async fn panics() -> i64 {
    panic!("kaboom")
}

#[task(name = "t.slow_soft", soft_time_limit = 0.1)]
async fn slow_soft(ctx: TaskContext) -> Result<String, TaskError> {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(10)) => Ok("slept".into()),
        _ = ctx.cancelled() => Ok("cleaned up".into()),
    }
}

#[task(name = "t.slow_hard", time_limit = 0.2)]
async fn slow_hard() -> String {
    tokio::time::sleep(Duration::from_secs(10)).await;
    "never".into()
}

#[task(name = "t.cpu_hard", kind = "cpu", time_limit = 0.2)]
fn cpu_hard() -> String {
    std::thread::sleep(Duration::from_secs(2));
    "late".into()
}

#[task(name = "t.cpu_square", kind = "cpu")]
fn cpu_square(x: i64) -> i64 {
    x * x
}

#[task(name = "t.blocking_len", kind = "blocking")]
fn blocking_len(text: String) -> usize {
    text.len()
}

#[task(name = "t.progress")]
async fn progress(ctx: TaskContext) -> Result<String, TaskError> {
    ctx.progress("PROGRESS", serde_json::json!({"done": 1, "total": 2}))
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok("finished".into())
}

#[task(name = "t.record")]
async fn record(value: serde_json::Value) -> serde_json::Value {
    value
}

struct Harness {
    client: Client,
    broker: Arc<MemoryBroker>,
    _stop: Stop,
}

fn registry() -> TaskRegistry {
    let mut r = TaskRegistry::new();
    r.register::<add>()
        .register::<mul>()
        .register::<boom>()
        .register::<flaky>()
        .register::<always_retry>()
        .register::<parse>()
        .register::<panics>()
        .register::<slow_soft>()
        .register::<slow_hard>()
        .register::<cpu_hard>()
        .register::<cpu_square>()
        .register::<blocking_len>()
        .register::<progress>()
        .register::<record>();
    r
}

fn start() -> Harness {
    let broker = Arc::new(MemoryBroker::new());
    let backend = Arc::new(MemoryBackend::default());
    let config = WorkerConfig {
        concurrency: 8,
        prefetch: 16,
        cpu_threads: 2,
        lease: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(1),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(broker.clone(), backend.clone(), registry(), config);
    let token = tokio_util::sync::CancellationToken::new();
    tokio::spawn(worker.run(token.clone()));
    Harness {
        client: Client::new(broker.clone(), backend as Arc<dyn ResultBackend>),
        broker,
        _stop: Stop(token),
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_success_and_kwargs() {
    let h = start();
    let r = h.client.send(add::s(2, 3)).await.unwrap();
    assert_eq!(r.get(WAIT).await.unwrap(), 5);
    let by_name = Signature::new("t.add").kwarg("x", 40).kwarg("y", 2);
    assert_eq!(h.client.send(by_name).await.unwrap().get(WAIT).await.unwrap(), 42);
    assert_eq!(
        h.client.send(cpu_square::s(7)).await.unwrap().get(WAIT).await.unwrap(),
        49
    );
    assert_eq!(
        h.client
            .send(blocking_len::s("four".into()))
            .await
            .unwrap()
            .get(WAIT)
            .await
            .unwrap(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_passes_results_along() {
    let h = start();
    let chain = add::s(2, 3)
        .then(mul::partial().args([10]))
        .then(add::partial().args([1]));
    let r = h.client.send_chain(chain).await.unwrap();
    assert_eq!(r.get(WAIT).await.unwrap(), 51);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_step_ignores_parent_result() {
    let h = start();
    let chain = add::s(1, 1).then(mul::s(6, 7).immutable());
    assert_eq!(h.client.send_chain(chain).await.unwrap().get(WAIT).await.unwrap(), 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_is_recorded_and_dead_lettered_with_errback() {
    let h = start();
    let sig = boom::s("bad input".into()).link_error(record::s(serde_json::Value::Null).immutable());
    let r = h.client.send(sig).await.unwrap();
    match r.get(WAIT).await {
        Err(ResultError::Failed { error, .. }) => {
            assert_eq!(error.exc_type, "ValueError");
            assert_eq!(error.message(), "bad input");
            assert_eq!(error.exc_module, "builtins");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let dead = wait_for_dead(&h.broker, 1).await;
    assert!(dead[0].reason.contains("ValueError: bad input"), "{}", dead[0].reason);
    assert_eq!(dead[0].task_id.as_deref(), Some(r.id()));
    // The message kept is the original, so it can be retried as it was.
    let m = celeriac::protocol::TaskMessage::decode(&dead[0].payload, &Default::default()).unwrap();
    assert_eq!(m.headers.task, "t.boom");
}

async fn wait_for_dead(broker: &MemoryBroker, n: usize) -> Vec<celeriac::DeadLetter> {
    let start = Instant::now();
    loop {
        let dead = broker.dead_letters(None, 100).await.unwrap();
        if dead.len() >= n || start.elapsed() > WAIT {
            return dead;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_retries_then_success() {
    let h = start();
    let before = FLAKY_CALLS.load(Ordering::SeqCst);
    let r = h.client.send(flaky::s()).await.unwrap();
    assert_eq!(r.get(WAIT).await.unwrap(), 2);
    assert_eq!(FLAKY_CALLS.load(Ordering::SeqCst) - before, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_exhausted_fail_and_dead_letter() {
    let h = start();
    let r = h.client.send(always_retry::s()).await.unwrap();
    match r.get(WAIT).await {
        Err(ResultError::Failed { error, .. }) => {
            assert_eq!(error.exc_type, "MaxRetriesExceededError");
            assert!(error.message().contains("after 2 retries"), "{}", error.message());
        }
        other => panic!("expected MaxRetriesExceeded, got {other:?}"),
    }
    let dead = wait_for_dead(&h.broker, 1).await;
    assert!(dead[0].reason.contains("after 2 retries"), "{}", dead[0].reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoretry_for_named_error_kind() {
    let h = start();
    let r = h.client.send(parse::s("x".into())).await.unwrap();
    match r.get(WAIT).await {
        Err(ResultError::Failed { error, .. }) => assert_eq!(error.exc_type, "ParseIntError"),
        other => panic!("expected a failure, got {other:?}"),
    }
    // One retry happened: the dead letter's message carries retries = 1.
    let dead = wait_for_dead(&h.broker, 1).await;
    let m = celeriac::protocol::TaskMessage::decode(&dead[0].payload, &Default::default()).unwrap();
    assert_eq!(m.headers.retries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_is_a_failure_not_a_dead_worker() {
    let h = start();
    let r = h.client.send(panics::s()).await.unwrap();
    match r.get(WAIT).await {
        Err(ResultError::Failed { error, .. }) => {
            assert_eq!(error.exc_type, "Panic");
            assert_eq!(error.message(), "kaboom");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(h.client.send(add::s(1, 1)).await.unwrap().get(WAIT).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_limit_lets_the_task_clean_up() {
    let h = start();
    let r = h.client.send(slow_soft::s()).await.unwrap();
    assert_eq!(r.get(WAIT).await.unwrap(), "cleaned up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_limit_abandons_async_and_cpu_tasks() {
    let h = start();
    let started = Instant::now();
    for r in [
        h.client.send(slow_hard::s()).await.unwrap(),
        h.client.send(cpu_hard::s()).await.unwrap(),
    ] {
        match r.get(WAIT).await {
            Err(ResultError::Failed { error, .. }) => assert_eq!(error.exc_type, "TimeLimitExceeded"),
            other => panic!("expected TimeLimitExceeded, got {other:?}"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "limits were not enforced: {:?}",
        started.elapsed()
    );
    // The cpu pool kept its capacity: both threads still serve.
    let a = h.client.send(cpu_square::s(3)).await.unwrap();
    let b = h.client.send(cpu_square::s(4)).await.unwrap();
    assert_eq!(a.get(WAIT).await.unwrap() + b.get(WAIT).await.unwrap(), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_visible_then_replaced_by_success() {
    let h = start();
    let r = h.client.send(progress::s()).await.unwrap();
    let start = Instant::now();
    loop {
        if let Some(info) = r.info().await.unwrap() {
            if info.state == TaskState::Custom("PROGRESS".into()) {
                assert_eq!(info.result["done"], 1);
                break;
            }
        }
        assert!(start.elapsed() < WAIT, "progress never showed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(r.get(WAIT).await.unwrap(), "finished");
    assert_eq!(r.state().await.unwrap(), TaskState::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_revoked_tasks_do_not_run() {
    let h = start();
    let expired = h
        .client
        .send(add::s(1, 2).expires_at(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .await
        .unwrap();
    match expired.get(WAIT).await {
        Err(ResultError::Revoked { reason, .. }) => assert_eq!(reason, "expired"),
        other => panic!("expected REVOKED expired, got {other:?}"),
    }
    let id = celeriac_core_id();
    h.client.revoke(&id, Duration::from_secs(60)).await.unwrap();
    let revoked = h.client.send(add::s(1, 2).task_id(id)).await.unwrap();
    match revoked.get(WAIT).await {
        Err(ResultError::Revoked { reason, .. }) => assert_eq!(reason, "revoked"),
        other => panic!("expected REVOKED, got {other:?}"),
    }
}

fn celeriac_core_id() -> String {
    celeriac::crates::core::new_task_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn countdown_waits_in_the_broker() {
    let h = start();
    let sent = Instant::now();
    let r = h
        .client
        .send(add::s(2, 2).countdown(Duration::from_millis(600)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = h.broker.stats().await.unwrap();
    let celery = stats.iter().find(|s| s.queue == "celery").unwrap();
    assert_eq!((celery.delayed, celery.in_flight), (1, 0), "{stats:?}");
    assert_eq!(r.get(WAIT).await.unwrap(), 4);
    assert!(
        sent.elapsed() >= Duration::from_millis(600),
        "ran early: {:?}",
        sent.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_arguments_fail_with_the_reason() {
    let h = start();
    let r = h.client.send(Signature::new("t.add").args([1, 2, 3])).await.unwrap();
    match r.get(WAIT).await {
        Err(ResultError::Failed { error, .. }) => {
            assert_eq!(error.exc_type, "TypeError");
            assert!(error
                .message()
                .contains("takes 2 positional arguments but 3 were given"));
        }
        other => panic!("expected TypeError, got {other:?}"),
    }
    let r = h
        .client
        .send(Signature::new("t.add").args(serde_json::json!(["a", 2])))
        .await
        .unwrap();
    match r.get(WAIT).await {
        Err(ResultError::Failed { error, .. }) => {
            assert!(error.message().contains("argument 'x'"), "{}", error.message())
        }
        other => panic!("expected TypeError, got {other:?}"),
    }
}
