//! Fleet control and events on the in-memory stores: a worker publishes
//! Celery-format task events and heartbeats, stops taking from a paused
//! queue until it is resumed, and stops a running task asked to terminate.

use std::sync::Arc;
use std::time::Duration;

use celeriac::events::{Event, EventBus, MemoryEventBus};
use celeriac::memory::{MemoryBackend, MemoryBroker};
use celeriac::{
    task, Broker, Client, ResultBackend, Signature, TaskError, TaskRegistry, TaskState, Worker, WorkerConfig,
};

#[task(name = "c.add")]
async fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[task(name = "c.fail", max_retries = 0)]
async fn fail() -> Result<(), TaskError> {
    Err(TaskError::new("ValueError", "it's broken"))
}

/// Returns the `traceparent` header the task ran with.
#[task(name = "c.trace")]
async fn trace_of(ctx: celeriac::TaskContext) -> Option<String> {
    ctx.headers()
        .extra
        .get("traceparent")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

#[task(name = "c.forever")]
async fn forever() -> String {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    "never".into()
}

struct Harness {
    client: Client,
    broker: Arc<MemoryBroker>,
    bus: Arc<MemoryEventBus>,
    stop: tokio_util::sync::CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn start(events: bool) -> Harness {
    let broker = Arc::new(MemoryBroker::new());
    let backend = Arc::new(MemoryBackend::default());
    let bus = Arc::new(MemoryEventBus::default());
    let mut registry = TaskRegistry::new();
    registry
        .register::<add>()
        .register::<fail>()
        .register::<forever>()
        .register::<trace_of>();
    let config = WorkerConfig {
        queues: vec!["celery".into(), "other".into()],
        concurrency: 4,
        prefetch: 4,
        hostname: "celeriac@test".into(),
        events,
        ..WorkerConfig::default()
    };
    let worker = Worker::new(broker.clone(), backend.clone(), registry, config).with_events(bus.clone());
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(worker.run(stop.clone()));
    Harness {
        client: Client::new(broker.clone(), backend as Arc<dyn ResultBackend>),
        broker,
        bus,
        stop,
    }
}

async fn events_of(bus: &MemoryEventBus, id: &str, until_kind: &str) -> Vec<Event> {
    for _ in 0..200 {
        let all = bus.read(None, 10_000, Duration::ZERO).await.expect("read").events;
        let mine: Vec<Event> = all.into_iter().filter(|e| e.uuid() == Some(id)).collect();
        if mine.iter().any(|e| e.kind == until_kind) {
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {until_kind} event for {id}");
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_events_and_heartbeats_in_celery_format() {
    let h = start(true);
    let ok = h.client.send(add::s(2, 3)).await.expect("send");
    assert_eq!(ok.get(WAIT).await.expect("result"), 5);
    let events = events_of(&h.bus, ok.id(), "task-succeeded").await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["task-received", "task-started", "task-succeeded"]);
    let received = &events[0];
    assert_eq!(received.str_field("name"), Some("c.add"));
    assert_eq!(received.str_field("queue"), Some("celery"));
    assert_eq!(received.str_field("args"), Some("[2,3]"));
    assert_eq!(received.hostname, "celeriac@test");
    assert_eq!(events[2].str_field("result"), Some("5"));
    let wait = events[1]
        .f64_field("queue_wait")
        .expect("task-started carries queue_wait");
    assert!((0.0..10.0).contains(&wait), "queue_wait {wait}");
    assert!(events[2].f64_field("runtime").is_some_and(|r| r >= 0.0));
    assert!(events.windows(2).all(|w| w[0].clock < w[1].clock));

    let bad = h.client.send(Signature::new("c.fail")).await.expect("send");
    let failed = events_of(&h.bus, bad.id(), "task-failed").await;
    let last = failed.last().expect("failed event");
    assert_eq!(last.str_field("exception"), Some("ValueError('it\\'s broken')"));

    let unknown = h.client.send(Signature::new("c.nope")).await.expect("send");
    let nope = events_of(&h.bus, unknown.id(), "task-failed").await;
    assert_eq!(nope[0].str_field("exception"), Some("NotRegistered('c.nope')"));

    // A worker-online at once, heartbeats every two seconds.
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    let all = h.bus.read(None, 10_000, Duration::ZERO).await.expect("read").events;
    let worker: Vec<&Event> = all.iter().filter(|e| e.is_worker()).collect();
    assert_eq!(worker.first().map(|e| e.kind.as_str()), Some("worker-online"));
    assert!(worker.iter().any(|e| e.kind == "worker-heartbeat"));
    assert!(worker
        .iter()
        .all(|e| e.str_field("sw_ident") == Some("celeriac") && e.f64_field("freq") == Some(2.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_switched_off_publish_nothing() {
    let h = start(false);
    let ok = h.client.send(add::s(1, 1)).await.expect("send");
    assert_eq!(ok.get(WAIT).await.expect("result"), 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let all = h.bus.read(None, 100, Duration::ZERO).await.expect("read").events;
    assert!(all.is_empty(), "events were published: {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_queue_waits_until_resumed() {
    let h = start(true);
    h.broker.set_paused("other", true).await.expect("pause");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let held = h.client.send(add::s(1, 2).queue("other")).await.expect("send");
    let free = h.client.send(add::s(3, 4)).await.expect("send");
    assert_eq!(free.get(WAIT).await.expect("celery queue still runs"), 7);
    assert!(
        held.get(Duration::from_millis(1_500)).await.is_err(),
        "a task on the paused queue ran"
    );
    h.broker.set_paused("other", false).await.expect("resume");
    assert_eq!(held.get(WAIT).await.expect("runs after resume"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_stops_a_running_task() {
    let h = start(true);
    let r = h.client.send(Signature::new("c.forever")).await.expect("send");
    events_of(&h.bus, r.id(), "task-started").await;
    h.broker
        .terminate(r.id(), Duration::from_secs(600))
        .await
        .expect("terminate");
    let revoked = events_of(&h.bus, r.id(), "task-revoked").await;
    assert_eq!(
        revoked.last().and_then(|e| e.fields.get("terminated")),
        Some(&serde_json::json!(true))
    );
    let state = h.client.backend().get(r.id()).await.expect("get").expect("stored");
    assert_eq!(state.state, TaskState::Revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_context_continues_into_follow_up_tasks() {
    use celeriac::crates::core::trace::task_span_id;
    let h = start(false);
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let first_id = "6b3a3c2e-1f0d-4d55-9c57-6f1b9e3b2a10";
    let first = Signature::new("c.trace")
        .task_id(first_id)
        .option("headers", serde_json::json!({"traceparent": incoming}));
    let chain = first.then(Signature::new("c.trace").immutable());
    let last = h.client.send_chain(chain).await.expect("send");
    let seen: Option<String> = serde_json::from_value(last.get(WAIT).await.expect("result")).expect("string");
    let first_seen = h.client.backend().get(first_id).await.expect("get").expect("stored");
    assert_eq!(
        first_seen.result,
        serde_json::json!(incoming),
        "the first task ran in the request's trace"
    );
    // The follow-up is in the same trace, with the first task's run as parent.
    let want = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", task_span_id(first_id));
    assert_eq!(seen.as_deref(), Some(want.as_str()));
}
