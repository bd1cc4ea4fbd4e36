//! The history: events become task rows with timelines, filters and pages
//! work, workers' liveness follows heartbeats, a reopened history keeps
//! everything (a server restart), and the keeper resumes from its cursor.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::events::{Event, EventBus, MemoryEventBus};
use celeriac_server::history::{spawn_keeper, History, HistoryConfig, TaskFilter};
use tokio_util::sync::CancellationToken;

fn ev(kind: &str, id: &str, at: f64) -> Event {
    let mut e = Event::task(kind, "celeriac@h1", 0, id);
    e.timestamp = at;
    e
}

fn lifecycle(id: &str, name: &str, queue: &str, at: f64, ok: bool) -> Vec<Event> {
    let end = if ok {
        ev("task-succeeded", id, at + 0.2)
            .with("result", "5")
            .with("runtime", 0.2)
    } else {
        ev("task-failed", id, at + 0.2)
            .with("exception", "ValueError('boom')")
            .with("traceback", "detail")
    };
    vec![
        ev("task-received", id, at)
            .with("name", name)
            .with("queue", queue)
            .with("args", "[2, 3]")
            .with("kwargs", "{}")
            .with("retries", 0)
            .with("parent_id", "root-1"),
        ev("task-started", id, at + 0.1),
        end,
    ]
}

#[tokio::test]
async fn events_become_tasks_that_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.db");
    let now = celeriac_core_now();
    {
        let history = History::open(HistoryConfig::new(&path)).expect("open");
        let mut events = Vec::new();
        for i in 0..30 {
            let ok = i % 3 != 0;
            let queue = if i % 2 == 0 { "even" } else { "odd" };
            events.extend(lifecycle(
                &format!("t{i:02}"),
                "tasks.add",
                queue,
                now + f64::from(i),
                ok,
            ));
        }
        // Celery-style events: no name or queue after task-received, and
        // one arriving late must not move the state back.
        events.push(ev("task-received", "py-1", now).with("name", "tasks.py"));
        events.push(ev("task-succeeded", "py-1", now + 2.0).with("result", "'hi'"));
        events.push(ev("task-started", "py-1", now + 1.0));
        let mut hb = Event::new("worker-heartbeat", "celeriac@h1", 1)
            .with("active", 2)
            .with("processed", 30);
        hb.timestamp = celeriac_core_now();
        events.push(hb);
        history
            .apply(events, "bus", Some(celeriac_core::events::EventCursor("42".into())))
            .await
            .expect("apply");
    }
    // Reopened: as after a server restart.
    let history = History::open(HistoryConfig::new(&path)).expect("reopen");
    assert_eq!(
        history.cursor("bus").await.expect("cursor").map(|c| c.0),
        Some("42".into())
    );
    let py = history.task("py-1").await.expect("read").expect("py-1 kept");
    assert_eq!(py.row.state, "SUCCESS", "a late task-started must not undo SUCCESS");
    assert_eq!(py.row.name.as_deref(), Some("tasks.py"));

    let failed = history
        .tasks(TaskFilter {
            state: Some("failure".into()),
            ..TaskFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(failed.tasks.len(), 10);
    assert!(failed
        .tasks
        .iter()
        .all(|t| t.exception.as_deref() == Some("ValueError('boom')")));

    // Pages of 7 over the 15 tasks of queue "even", newest first, no repeats.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = history
            .tasks(TaskFilter {
                queue: Some("even".into()),
                limit: Some(7),
                after,
                ..TaskFilter::default()
            })
            .await
            .expect("page");
        seen.extend(page.tasks.into_iter().map(|t| t.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 15);
    assert_eq!(seen.first().map(String::as_str), Some("t28"));
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 15);

    let detail = history.task("t04").await.expect("read").expect("t04");
    assert_eq!(detail.row.state, "SUCCESS");
    assert_eq!(detail.args.as_deref(), Some("[2, 3]"));
    assert_eq!(detail.row.worker.as_deref(), Some("celeriac@h1"));
    assert_eq!(
        detail.timeline.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["task-received", "task-started", "task-succeeded"]
    );
    let search = history
        .tasks(TaskFilter {
            search: Some("t1".into()),
            ..TaskFilter::default()
        })
        .await
        .expect("search");
    assert_eq!(search.tasks.len(), 10);

    let workers = history.workers().await.expect("workers");
    assert_eq!(workers.len(), 1);
    assert!(workers[0].alive);
    assert_eq!(workers[0].active, 2);
    let points = history.throughput(now - 60.0, 10.0).await.expect("throughput");
    assert_eq!(points.iter().map(|p| p.succeeded + p.failed).sum::<i64>(), 31);
}

#[tokio::test]
async fn retention_prunes_and_the_keeper_resumes_from_its_cursor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.db");
    let mut config = HistoryConfig::new(&path);
    config.max_tasks = 5;
    let bus = Arc::new(MemoryEventBus::default());
    let now = celeriac_core_now();
    let events: Vec<Event> = (0..8)
        .flat_map(|i| lifecycle(&format!("k{i}"), "tasks.add", "q", now + f64::from(i), true))
        .collect();
    bus.publish(&events).await.expect("publish");

    let history = History::open(config.clone()).expect("open");
    let stop = CancellationToken::new();
    let keeper = spawn_keeper(history.clone(), bus.clone(), "bus".into(), stop.clone());
    let mut live = keeper.subscribe();
    wait_for(&history, "k7").await;
    // The keeper prunes at start-up and every minute: prune now.
    history.prune().await.expect("prune");
    let kept = history.tasks(TaskFilter::default()).await.expect("list");
    assert_eq!(kept.tasks.len(), 5, "max_tasks keeps the newest five");
    assert!(history.task("k0").await.expect("read").is_none());
    stop.cancel();

    // Restarted keeper: only what is new since the stored cursor arrives.
    let history = History::open(config).expect("reopen");
    let stop = CancellationToken::new();
    let keeper = spawn_keeper(history.clone(), bus.clone(), "bus".into(), stop.clone());
    let mut live2 = keeper.subscribe();
    bus.publish(&lifecycle("k8", "tasks.add", "q", now + 9.0, true))
        .await
        .expect("publish");
    wait_for(&history, "k8").await;
    let first = tokio::time::timeout(Duration::from_secs(5), live2.recv())
        .await
        .expect("live batch")
        .expect("recv");
    assert!(first.iter().all(|e| e.uuid() == Some("k8")), "old events were replayed");
    assert!(
        live.try_recv().is_ok(),
        "the first keeper passed its batch to listeners"
    );
    stop.cancel();
}

async fn wait_for(history: &Arc<History>, id: &str) {
    for _ in 0..200 {
        if history.task(id).await.expect("read").is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{id} never reached the history");
}

fn celeriac_core_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}
