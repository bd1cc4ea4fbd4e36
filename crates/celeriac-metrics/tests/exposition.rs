//! Feeds events and broker state, renders, and reads the text back with a
//! Prometheus text-format parser.

mod common;

use std::sync::Arc;

use celeriac_core::events::Event;
use celeriac_core::{QueueStats, WorkerInfo, WorkerStatus};
use celeriac_metrics::{Limits, Metrics, DURATION_BUCKETS};
use prom_text_format_parser::Type;

const WEIRD: &str = "tasks.say \"hi\"\nbye";
const WEIRD_QUEUE: &str = r"q\x";

fn task(kind: &str, uuid: &str) -> Event {
    Event::task(kind, "celery@w1", 1, uuid)
}

/// What a Celeriac worker sends: `name` and `queue` on every task event.
fn celeriac(kind: &str, uuid: &str, name: &str, queue: &str) -> Event {
    task(kind, uuid).with("name", name).with("queue", queue)
}

fn events() -> Vec<Event> {
    vec![
        // Celeriac, tasks.add on default: one success, one failure.
        celeriac("task-received", "c1", "tasks.add", "default")
            .with("args", "(1, 2)")
            .with("kwargs", "{}")
            .with("retries", 0),
        celeriac("task-started", "c1", "tasks.add", "default").with("queue_wait", 0.003),
        celeriac("task-succeeded", "c1", "tasks.add", "default")
            .with("result", "3")
            .with("runtime", 0.02),
        celeriac("task-received", "c2", "tasks.add", "default"),
        celeriac("task-started", "c2", "tasks.add", "default"),
        celeriac("task-failed", "c2", "tasks.add", "default")
            .with("exception", "ValueError('x')")
            .with("traceback", "...")
            .with("runtime", 1.5),
        // Python Celery: task-sent (from the client) names the queue,
        // task-received only the name, the rest only the uuid.
        Event::task("task-sent", "gen1@client", 1, "p1")
            .with("name", "proj.mul")
            .with("queue", "celery"),
        task("task-received", "p1").with("name", "proj.mul"),
        task("task-started", "p1"),
        task("task-succeeded", "p1").with("result", "6").with("runtime", 0.2),
        // No task-sent seen: the queue stays unknown.
        task("task-received", "p2").with("name", "proj.mul"),
        task("task-started", "p2"),
        task("task-retried", "p2").with("exception", "Retry()"),
        // Never seen before: nothing known.
        task("task-revoked", "p3")
            .with("terminated", false)
            .with("expired", true),
        // A name and a queue the text format must escape.
        celeriac("task-received", "w1", WEIRD, WEIRD_QUEUE),
        task("task-succeeded", "w1").with("runtime", 700.0),
        Event::new("worker-online", "celery@w1", 1),
        Event::new("worker-heartbeat", "celery@w1", 2),
        Event::new("worker-heartbeat", "celery@w1", 3),
        Event::new("worker-offline", "celery@w1", 4),
    ]
}

fn worker(id: &str, alive: bool) -> WorkerStatus {
    let now = chrono::Utc::now();
    WorkerStatus {
        info: WorkerInfo {
            id: id.to_owned(),
            hostname: "host".to_owned(),
            pid: 1,
            queues: vec!["default".to_owned()],
            concurrency: 4,
            prefetch: 8,
            started_at: now,
            version: "0.1.0".to_owned(),
            tasks: Vec::new(),
        },
        last_heartbeat: now,
        alive,
        in_flight: 0,
    }
}

fn queue(name: &str, ready: u64, in_flight: u64, delayed: u64, dead: u64) -> QueueStats {
    QueueStats {
        queue: name.to_owned(),
        ready,
        in_flight,
        delayed,
        dead,
    }
}

#[test]
fn counts_celeriac_and_celery_events_per_task_and_queue() {
    let metrics = Metrics::new();
    let events = events();
    // Both entry points: a batch, then one at a time.
    metrics.observe_all(&events[..8]);
    for event in &events[8..] {
        metrics.observe(event);
    }
    let text = metrics.render();
    let p = common::parse(&text);

    let add = [("task", "tasks.add"), ("queue", "default")];
    let mul = [("task", "proj.mul"), ("queue", "celery")];
    let mul_unknown = [("task", "proj.mul"), ("queue", "unknown")];
    let weird = [("task", WEIRD), ("queue", WEIRD_QUEUE)];
    assert_eq!(p.value("celeriac_tasks_received_total", &add), 2.0);
    assert_eq!(p.value("celeriac_tasks_started_total", &add), 2.0);
    assert_eq!(p.value("celeriac_tasks_succeeded_total", &add), 1.0);
    assert_eq!(p.value("celeriac_tasks_failed_total", &add), 1.0);
    assert_eq!(p.value("celeriac_tasks_received_total", &mul), 1.0);
    assert_eq!(p.value("celeriac_tasks_started_total", &mul), 1.0);
    assert_eq!(p.value("celeriac_tasks_succeeded_total", &mul), 1.0);
    assert_eq!(p.value("celeriac_tasks_received_total", &mul_unknown), 1.0);
    assert_eq!(p.value("celeriac_tasks_started_total", &mul_unknown), 1.0);
    assert_eq!(p.value("celeriac_tasks_retried_total", &mul_unknown), 1.0);
    assert_eq!(
        p.value(
            "celeriac_tasks_revoked_total",
            &[("task", "unknown"), ("queue", "unknown")]
        ),
        1.0
    );
    assert_eq!(p.value("celeriac_tasks_received_total", &weird), 1.0);
    assert_eq!(p.value("celeriac_tasks_succeeded_total", &weird), 1.0);
    assert!(text.contains(r#"celeriac_tasks_received_total{task="tasks.say \"hi\"\nbye",queue="q\\x"} 1"#));
    // Exactly these series, no more.
    assert_eq!(p.series("celeriac_tasks_received_total").len(), 4);
    assert_eq!(p.series("celeriac_tasks_succeeded_total").len(), 3);
    assert_eq!(p.series("celeriac_tasks_failed_total").len(), 1);

    for (kind, n) in [
        ("task-sent", 1.0),
        ("task-received", 5.0),
        ("task-started", 4.0),
        ("task-succeeded", 3.0),
        ("task-failed", 1.0),
        ("task-retried", 1.0),
        ("task-revoked", 1.0),
        ("worker-online", 1.0),
        ("worker-heartbeat", 2.0),
        ("worker-offline", 1.0),
    ] {
        assert_eq!(p.value("celeriac_events_total", &[("type", kind)]), n, "{kind}");
    }
    assert_eq!(p.series("celeriac_events_total").len(), 10);

    // Run time: 0.02 (succeeded) and 1.5 (failed) for tasks.add.
    let runtime = "celeriac_task_runtime_seconds";
    assert_eq!(p.value(&format!("{runtime}_count"), &add), 2.0);
    assert!((p.value(&format!("{runtime}_sum"), &add) - 1.52).abs() < 1e-9);
    let buckets = p.buckets(runtime, &add);
    assert_eq!(buckets.len(), DURATION_BUCKETS.len() + 1);
    let at = |buckets: &[(String, f64)], le: &str| {
        buckets
            .iter()
            .find(|(l, _)| l == le)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no le={le}"))
    };
    assert_eq!(at(&buckets, "0.01"), 0.0);
    assert_eq!(at(&buckets, "0.025"), 1.0);
    assert_eq!(at(&buckets, "1"), 1.0);
    assert_eq!(at(&buckets, "2.5"), 2.0);
    assert_eq!(at(&buckets, "+Inf"), 2.0);
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative");
    assert_eq!(buckets.last().map(|(le, _)| le.as_str()), Some("+Inf"));
    assert_eq!(p.value(&format!("{runtime}_count"), &mul), 1.0);
    assert!((p.value(&format!("{runtime}_sum"), &mul) - 0.2).abs() < 1e-9);
    // 700 s is past the last bound: only +Inf holds it.
    let weird_buckets = p.buckets(runtime, &weird);
    assert_eq!(at(&weird_buckets, "600"), 0.0);
    assert_eq!(at(&weird_buckets, "+Inf"), 1.0);
    assert_eq!(p.value(&format!("{runtime}_sum"), &weird), 700.0);

    // Queue wait: only c1's task-started carried it.
    let wait = "celeriac_task_queue_wait_seconds";
    assert_eq!(p.value(&format!("{wait}_count"), &add), 1.0);
    assert!((p.value(&format!("{wait}_sum"), &add) - 0.003).abs() < 1e-9);
    let wait_buckets = p.buckets(wait, &add);
    assert_eq!(at(&wait_buckets, "0.0025"), 0.0);
    assert_eq!(at(&wait_buckets, "0.005"), 1.0);
    assert_eq!(p.series(&format!("{wait}_count")).len(), 1);

    // Types, help, and a deterministic, sorted output.
    assert_eq!(p.kind("celeriac_tasks_received_total"), Some(Type::Counter));
    assert_eq!(p.kind(runtime), Some(Type::Histogram));
    assert_eq!(p.kind("celeriac_workers_alive"), Some(Type::Gauge));
    assert!(p.families.iter().all(|(_, _, help)| help.is_some()));
    let names: Vec<_> = p.families.iter().map(|(n, _, _)| n.clone()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(metrics.render(), text);
}

#[test]
fn queue_gauges_are_replaced_by_the_next_set_queues() {
    let metrics = Metrics::new();
    metrics.set_queues(&[queue("default", 3, 1, 2, 0), queue("emails", 7, 0, 0, 4)]);
    let p = common::parse(&metrics.render());
    let name = "celeriac_queue_messages";
    assert_eq!(p.kind(name), Some(Type::Gauge));
    assert_eq!(p.value(name, &[("queue", "default"), ("state", "ready")]), 3.0);
    assert_eq!(p.value(name, &[("queue", "default"), ("state", "in_flight")]), 1.0);
    assert_eq!(p.value(name, &[("queue", "default"), ("state", "delayed")]), 2.0);
    assert_eq!(p.value(name, &[("queue", "default"), ("state", "dead")]), 0.0);
    assert_eq!(p.value(name, &[("queue", "emails"), ("state", "dead")]), 4.0);
    assert_eq!(p.series(name).len(), 8);

    metrics.set_queues(&[queue("default", 0, 0, 0, 5)]);
    let p = common::parse(&metrics.render());
    assert_eq!(p.value(name, &[("queue", "default"), ("state", "ready")]), 0.0);
    assert_eq!(p.value(name, &[("queue", "default"), ("state", "dead")]), 5.0);
    assert_eq!(p.get(name, &[("queue", "emails"), ("state", "ready")]), None);
    assert_eq!(p.series(name).len(), 4);

    metrics.set_queues(&[]);
    assert!(!metrics.render().contains(name));
}

#[test]
fn queues_past_the_limit_are_summed_under_other() {
    // 8 series = 2 queues of 4 states: one named, the rest as "other".
    let metrics = Metrics::with_limits(Limits {
        max_series: 8,
        ..Limits::default()
    });
    metrics.set_queues(&[
        queue("c", 1, 0, 0, 0),
        queue("a", 10, 0, 0, 0),
        queue("b", 100, 0, 0, 0),
    ]);
    let p = common::parse(&metrics.render());
    let name = "celeriac_queue_messages";
    assert_eq!(p.value(name, &[("queue", "a"), ("state", "ready")]), 10.0);
    assert_eq!(p.value(name, &[("queue", "other"), ("state", "ready")]), 101.0);
    assert_eq!(p.series(name).len(), 8);
}

#[test]
fn workers_alive_counts_the_alive_ones() {
    let metrics = Metrics::new();
    assert_eq!(
        common::parse(&metrics.render()).value("celeriac_workers_alive", &[]),
        0.0
    );
    metrics.set_workers(&[worker("w1", true), worker("w2", false), worker("w3", true)]);
    let p = common::parse(&metrics.render());
    assert_eq!(p.value("celeriac_workers_alive", &[]), 2.0);
    assert_eq!(p.value("celeriac_worker_up", &[("worker", "w1")]), 1.0);
    assert_eq!(p.value("celeriac_worker_up", &[("worker", "w2")]), 0.0);
    assert_eq!(p.value("celeriac_worker_up", &[("worker", "w3")]), 1.0);

    metrics.set_workers(&[worker("w2", true)]);
    let p = common::parse(&metrics.render());
    assert_eq!(p.value("celeriac_workers_alive", &[]), 1.0);
    assert_eq!(p.series("celeriac_worker_up").len(), 1);
}

#[test]
fn cardinality_guard_folds_excess_task_names_into_other() {
    let metrics = Metrics::with_limits(Limits {
        max_series: 3,
        ..Limits::default()
    });
    let batch: Vec<Event> = (0..10)
        .flat_map(|i| {
            let (uuid, name) = (format!("u{i}"), format!("tasks.t{i}"));
            [
                celeriac("task-received", &uuid, &name, "default"),
                celeriac("task-succeeded", &uuid, &name, "default").with("runtime", 0.5),
            ]
        })
        .collect();
    metrics.observe_all(&batch);
    let p = common::parse(&metrics.render());

    let received = p.series("celeriac_tasks_received_total");
    assert_eq!(received.len(), 4, "{received:?}");
    for i in 0..3 {
        let name = format!("tasks.t{i}");
        assert_eq!(
            p.value(
                "celeriac_tasks_received_total",
                &[("task", &name), ("queue", "default")]
            ),
            1.0
        );
    }
    let other = [("task", "other"), ("queue", "default")];
    assert_eq!(p.value("celeriac_tasks_received_total", &other), 7.0);
    assert_eq!(
        p.get(
            "celeriac_tasks_received_total",
            &[("task", "tasks.t3"), ("queue", "default")]
        ),
        None
    );
    // Histograms are guarded the same way.
    assert_eq!(p.series("celeriac_task_runtime_seconds_count").len(), 4);
    assert_eq!(p.value("celeriac_task_runtime_seconds_count", &other), 7.0);
    // A name admitted before the family filled keeps its own series.
    metrics.observe(&celeriac("task-received", "again", "tasks.t0", "default"));
    let p = common::parse(&metrics.render());
    assert_eq!(
        p.value(
            "celeriac_tasks_received_total",
            &[("task", "tasks.t0"), ("queue", "default")]
        ),
        2.0
    );
}

#[test]
fn threads_feeding_one_registry_lose_nothing() {
    let metrics = Arc::new(Metrics::new());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let metrics = Arc::clone(&metrics);
            std::thread::spawn(move || {
                for i in 0..250 {
                    let uuid = format!("{t}-{i}");
                    metrics.observe_all(&[
                        celeriac("task-received", &uuid, "tasks.add", "default"),
                        task("task-succeeded", &uuid).with("runtime", 0.01),
                    ]);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("feeder thread");
    }
    let p = common::parse(&metrics.render());
    let add = [("task", "tasks.add"), ("queue", "default")];
    assert_eq!(p.value("celeriac_tasks_succeeded_total", &add), 1000.0);
    assert_eq!(p.value("celeriac_task_runtime_seconds_count", &add), 1000.0);
}

/// A `task.multi` batch as Celery 5 sent it (captured from a Python worker):
/// only `task-received` names the task, and nothing names the queue.
const CELERY_TASK_MULTI: &str = r#"[
  {"hostname": "w1@capture", "utcoffset": 0.0, "pid": 22314, "clock": 2,
   "uuid": "00000000-0000-4000-8000-000000000107", "name": "tasks.add", "args": "", "kwargs": "",
   "root_id": null, "parent_id": null, "retries": 0, "eta": "2020-01-01T00:00:00+00:00",
   "expires": null, "timestamp": 1795312775.5205717, "type": "task-received"},
  {"hostname": "w1@capture", "utcoffset": 0.0, "pid": 22314, "clock": 3,
   "uuid": "00000000-0000-4000-8000-000000000107", "timestamp": 1795312775.5206795, "type": "task-started"},
  {"hostname": "w1@capture", "utcoffset": 0.0, "pid": 22314, "clock": 4,
   "uuid": "00000000-0000-4000-8000-000000000107", "result": "9", "runtime": 0.009604536999972879,
   "timestamp": 1795312775.5305994, "type": "task-succeeded"}
]"#;

#[test]
fn reads_a_batch_as_python_celery_sends_it() {
    let events = Event::decode_many(CELERY_TASK_MULTI.as_bytes()).expect("Celery's own events");
    let metrics = Metrics::new();
    metrics.observe_all(&events);
    let p = common::parse(&metrics.render());
    let add = [("task", "tasks.add"), ("queue", "unknown")];
    assert_eq!(p.value("celeriac_tasks_received_total", &add), 1.0);
    assert_eq!(p.value("celeriac_tasks_started_total", &add), 1.0);
    assert_eq!(p.value("celeriac_tasks_succeeded_total", &add), 1.0);
    assert_eq!(p.value("celeriac_task_runtime_seconds_count", &add), 1.0);
    assert_eq!(
        p.buckets("celeriac_task_runtime_seconds", &add)[3],
        ("0.01".to_owned(), 1.0)
    );
    assert_eq!(
        p.buckets("celeriac_task_runtime_seconds", &add)[2],
        ("0.005".to_owned(), 0.0)
    );
}

#[test]
fn events_after_a_tasks_end_keep_its_labels() {
    // A quick task's task-started can reach the monitor after its
    // task-succeeded; Celery's own state keeper allows for it too.
    let metrics = Metrics::new();
    metrics.observe_all(&[
        task("task-received", "fast").with("name", "proj.quick"),
        task("task-succeeded", "fast").with("runtime", 0.001),
        task("task-started", "fast"),
    ]);
    let p = common::parse(&metrics.render());
    let quick = [("task", "proj.quick"), ("queue", "unknown")];
    assert_eq!(p.value("celeriac_tasks_started_total", &quick), 1.0);
    assert_eq!(
        p.get(
            "celeriac_tasks_started_total",
            &[("task", "unknown"), ("queue", "unknown")]
        ),
        None
    );
}
