//! The hand-built malformed envelopes of `tests/fixtures/celery/injected-*`,
//! pushed byte for byte through the embedded broker, and onto a Redis list
//! exactly as a Python client would `LPUSH` them, to a running worker:
//! each ends with a result where Celery writes one, or a dead letter whose
//! reason names the problem where it cannot run; the worker never panics,
//! keeps running, and then processes a normal task.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use celeriac::crates::core::NewMessage;
use celeriac::crates::redis::RedisStore;
use celeriac::crates::sqlite::{SqliteConfig, SqliteStore};
use celeriac::{task, Broker, Client, ResultBackend, TaskRegistry, TaskState, Worker, WorkerConfig};
use celeriac_testkit::services::{require_service, unique_name};
use serde_json::{json, Value};

#[task(name = "tasks.add")]
async fn add(x: i64, y: i64) -> i64 {
    x + y
}

/// How a vector must end (Celeriac's policy, stricter than Celery's: what
/// cannot run is kept as a dead letter instead of being lost or crashing).
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// SUCCESS with this value.
    Success(i64),
    /// REVOKED with this reason, no dead letter.
    Revoked(&'static str),
    /// FAILURE with this exception type, and a dead letter whose reason names it.
    Failure(&'static str),
    /// No result; a dead letter whose reason contains this text.
    Dead(&'static str),
}

use Outcome::{Dead, Failure, Revoked, Success};

/// Every injected vector (file name without `.raw.json`) and its outcome.
/// Sums are of the arguments in each body.
const VECTORS: &[(&str, Outcome)] = &[
    ("injected-101", Success(3)),                       // only task + id headers, [1, 2]
    ("injected-102", Dead("properties.delivery_info")), // delivery_info: {}
    ("injected-103", Success(5)),                       // plain JSON body [3, 2]
    ("injected-104", Success(6)),                       // embed null, [4, 2]
    ("injected-105", Dead("3 elements")),               // 2-element body
    ("injected-105-after-restore-on-crash", Dead("3 elements")), // the same, redelivered
    ("injected-106", Dead("headers.eta")),              // eta "not-a-date"
    ("injected-107", Success(9)),                       // naive ETA in 2020 = UTC, [7, 2]
    ("injected-108", Dead("not accepted")),             // pickle
    ("injected-109", Dead("body is not valid JSON")),   // truncated JSON body
    ("injected-110", Success(11)),                      // protocol 1, [10, 1]
    ("injected-111", Revoked("expired")),               // expires in 2020
    ("injected-112", Failure("NotRegistered")),         // tasks.nope
    ("injected-113", Dead("unknown message")),          // no task header, list body
    ("injected-114", Success(14)),                      // kwargs x=1, y=13
    ("injected-115", Failure("TypeError")),             // 3 arguments for 2
    ("injected-116", Dead("properties.delivery_tag")),  // no delivery_tag
    (
        "injected-117",
        Dead("base64-encoded JSON but properties.body_encoding is missing"),
    ),
    ("injected-118", Dead("content-type is missing")), // null content-type
    ("injected-119", Success(20)),                     // healthy control, [19, 1]
];

const WAIT: Duration = Duration::from_secs(20);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/celery")
}

/// The task id each vector carries: `...000000000NNN` for `injected-NNN`.
fn task_id(name: &str) -> String {
    let number = &name["injected-".len().."injected-".len() + 3];
    format!("00000000-0000-4000-8000-000000000{number}")
}

/// Cancels the worker when dropped, so a failing test does not hang.
struct Stop(tokio_util::sync::CancellationToken);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

async fn wait_queue_settled(broker: &dyn Broker) -> celeriac::QueueStats {
    let start = Instant::now();
    loop {
        let stats = broker.stats().await.unwrap();
        let celery = stats.iter().find(|s| s.queue == "celery").cloned().unwrap_or_default();
        if celery.ready == 0 && celery.in_flight == 0 && celery.delayed == 0 {
            return celery;
        }
        assert!(start.elapsed() < WAIT, "messages not settled: {stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_vectors_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(SqliteConfig::new(dir.path().join("x.db"))).unwrap());
    injected_vectors_end_as_the_policy_says_and_the_worker_keeps_running(store, dir.path()).await;
}

/// On Redis the worker meets them as Celery's would: raw kombu envelopes on
/// the queue list, some without a delivery tag (which kombu would lose).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_vectors_on_redis() {
    const REDIS: &str = "127.0.0.1:6379";
    if !require_service("redis", REDIS) {
        return;
    }
    let prefix = unique_name("vectors");
    let url = format!("redis://{REDIS}/0?global_keyprefix={prefix}:");
    let store = Arc::new(RedisStore::open_url(&url).expect("open the Redis store"));
    let dir = tempfile::tempdir().unwrap();
    injected_vectors_end_as_the_policy_says_and_the_worker_keeps_running(store.clone(), dir.path()).await;
    store.delete_everything().await.expect("delete the test's keys");
}

async fn injected_vectors_end_as_the_policy_says_and_the_worker_keeps_running<S>(store: Arc<S>, dir: &Path)
where
    S: Broker + ResultBackend + 'static,
{
    // Every injected vector on disk is in the table, and only those.
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("injected-") && n.ends_with(".raw.json"))
        .map(|n| n.trim_end_matches(".raw.json").to_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = VECTORS.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "the injected vectors on disk and in this test differ");

    let execution_log = dir.join("executions.log");
    let mut registry = TaskRegistry::new();
    registry.register::<add>();
    let config = WorkerConfig {
        concurrency: 4,
        prefetch: 8,
        cpu_threads: 1,
        shutdown_grace: Duration::from_secs(1),
        execution_log: Some(execution_log.clone()),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(store.clone(), store.clone(), registry, config);
    let token = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(worker.run(token.clone()));
    let _stop = Stop(token.clone());

    // Push each file's bytes unchanged, with the task id its headers name.
    let mut raw: HashMap<&str, Vec<u8>> = HashMap::new();
    for (name, _) in VECTORS {
        let bytes = std::fs::read(fixtures().join(format!("{name}.raw.json"))).unwrap();
        let envelope: Value = serde_json::from_slice(&bytes).unwrap();
        let id = envelope["headers"]["id"].as_str().map(str::to_owned);
        store
            .enqueue(NewMessage {
                queue: "celery".into(),
                priority: 0,
                eta: None,
                task_id: id,
                payload: bytes.clone(),
            })
            .await
            .unwrap();
        raw.insert(name, bytes);
    }

    // Results where Celery writes one.
    for (name, outcome) in VECTORS {
        let id = task_id(name);
        let want_state = match outcome {
            Success(_) => TaskState::Success,
            Revoked(_) => TaskState::Revoked,
            Failure(_) => TaskState::Failure,
            Dead(_) => continue,
        };
        let r = store
            .wait(&id, WAIT)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no result"));
        assert_eq!(r.state, want_state, "{name}: {r:?}");
        match outcome {
            Success(sum) => assert_eq!(r.result, json!(sum), "{name}"),
            Revoked(reason) => {
                let error = r.exception().unwrap_or_else(|| panic!("{name}: no reason in {r:?}"));
                assert_eq!(error.message(), *reason, "{name}: {r:?}");
            }
            Failure(exc_type) => {
                let error = r.exception().unwrap_or_else(|| panic!("{name}: no exception in {r:?}"));
                assert_eq!(error.exc_type, *exc_type, "{name}: {r:?}");
            }
            Dead(_) => unreachable!(),
        }
    }
    let settled = wait_queue_settled(store.as_ref()).await;

    // Dead letters: exactly one per vector that cannot run, raw bytes kept,
    // the reason naming the problem.
    let dead = store.dead_letters(None, 1_000).await.unwrap();
    let expected_dead: Vec<(&str, &str)> = VECTORS
        .iter()
        .filter_map(|(name, outcome)| match outcome {
            Dead(why) | Failure(why) => Some((*name, *why)),
            Success(_) | Revoked(_) => None,
        })
        .collect();
    for letter in &dead {
        let matching: Vec<&&str> = raw
            .iter()
            .filter(|(_, b)| **b == letter.payload)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "dead letter {letter:?} is not the unchanged bytes of one vector (payload {})",
            String::from_utf8_lossy(&letter.payload)
        );
        let name = *matching[0];
        let Some((_, why)) = expected_dead.iter().find(|(n, _)| *n == name) else {
            panic!("{name} should not be a dead letter: {letter:?}");
        };
        assert!(
            letter.reason.contains(why),
            "{name}: dead-letter reason {:?} does not contain {why:?}",
            letter.reason
        );
        println!("{name}: dead letter: {}", letter.reason);
        assert_eq!(letter.queue, "celery", "{name}");
        let envelope: Value = serde_json::from_slice(&letter.payload).unwrap();
        assert_eq!(letter.task_id.as_deref(), envelope["headers"]["id"].as_str(), "{name}");
    }
    for (name, _) in &expected_dead {
        let n = dead.iter().filter(|d| d.payload == raw[name]).count();
        assert_eq!(n, 1, "{name}: {n} dead letters");
    }
    assert_eq!(dead.len(), expected_dead.len(), "{dead:#?}");
    assert_eq!(settled.dead, expected_dead.len() as u64);

    // What could not run left no result and never ran.
    let executed = std::fs::read_to_string(&execution_log).unwrap();
    for (name, outcome) in VECTORS {
        let id = task_id(name);
        let runs = executed.lines().filter(|l| *l == id).count();
        match outcome {
            Dead(_) => {
                assert_eq!(store.get(&id).await.unwrap(), None, "{name} left a result");
                assert_eq!(runs, 0, "{name} ran");
            }
            Success(_) => assert_eq!(runs, 1, "{name} ran {runs} times"),
            Revoked(_) => assert_eq!(runs, 0, "{name} ran"),
            Failure(_) => {}
        }
    }

    // The worker is still serving.
    assert!(!running.is_finished(), "the worker stopped");
    let client = Client::new(store.clone(), store.clone() as Arc<dyn ResultBackend>);
    let r = client.send(add::s(40, 2)).await.unwrap();
    assert_eq!(r.get(WAIT).await.unwrap(), 42);
    let settled = wait_queue_settled(store.as_ref()).await;
    assert_eq!(
        settled.dead,
        expected_dead.len() as u64,
        "the normal task left a dead letter"
    );

    token.cancel();
    let summary = tokio::time::timeout(WAIT, running)
        .await
        .expect("the worker did not stop")
        .expect("the worker panicked")
        .expect("the worker failed");
    // 7 vectors and the normal task succeeded; 112 and 115 failed.
    assert_eq!((summary.succeeded, summary.failed), (8, 2), "{summary:?}");
}
