//! Python Celery 5.7 and Celeriac on one Redis, in both directions.
//!
//! Needs Redis on 127.0.0.1:6379 and the venv `scripts/test` creates
//! (`.venv` with celery[redis]==5.7.0); outside CI a missing one skips the
//! test with a reason, under CI=true it fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use celeriac::{Client, ResultError, Signature};
use celeriac_testkit::services::{require_service, unique_name};
use serde_json::{json, Value};
use support::{celery_python, repo_root, CELERIAC};

const REDIS: &str = "127.0.0.1:6379";

/// One test's isolated corner of the shared Redis.
struct Env {
    prefix: String,
    python: PathBuf,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Option<Env> {
        if !require_service("redis", REDIS) {
            return None;
        }
        Some(Env {
            prefix: format!("{}:", unique_name("interop")),
            python: celery_python(&[])?,
            dir: tempfile::tempdir().expect("temp dir"),
        })
    }

    fn url(&self) -> String {
        format!("redis://{REDIS}/0?global_keyprefix={}", self.prefix)
    }

    fn client(&self) -> Client {
        let b = celeriac::connect(Some(&self.url()), None).expect("connect");
        Client::new(b.broker, b.backend)
    }

    fn python_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.current_dir(repo_root().join("tests/interop"))
            .env("INTEROP_REDIS", format!("redis://{REDIS}/0"))
            .env("INTEROP_PREFIX", &self.prefix)
            .args(args);
        cmd
    }

    /// Runs a scenario of `scenarios.py` and returns its JSON line.
    fn scenario(&self, name: &str) -> Value {
        let out = self.python_cmd(&["scenarios.py", name]).output().expect("run python");
        assert!(
            out.status.success(),
            "scenario {name} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("scenario output is JSON")
    }

    /// A Celeriac worker process on this Redis.
    fn celeriac_worker(&self, name: &str, extra: &[&str]) -> Killed {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).expect("log file");
        let child = Command::new(CELERIAC)
            .args(["--log", "warn", "--broker", &self.url(), "worker"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a celeriac worker");
        Killed(child)
    }

    /// A Celery worker process (`celery -A interop_app worker -P <pool>`).
    fn celery_worker(&self, pool: &str, extra: &[&str]) -> Killed {
        let log = std::fs::File::create(self.dir.path().join(format!("celery-{pool}.log"))).expect("log file");
        let child = self
            .python_cmd(&[
                "-m",
                "celery",
                "-A",
                "interop_app",
                "worker",
                "-P",
                pool,
                "--loglevel",
                "WARNING",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a celery worker");
        Killed(child)
    }
}

/// A child process killed when the test ends, whatever happens.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn python_client_calls_celeriac_worker() {
    let Some(env) = Env::new() else { return };
    let _worker = env.celeriac_worker("w", &["--queues", "celery,other"]);
    let got = env.scenario("calls");
    assert_eq!(
        got,
        json!({
            "delay": 5, "kwargs": 9, "mixed": 13, "countdown": 2, "eta": 4, "expires_future": 6,
            "priority": 8, "queue": 10, "send_task": 30, "echo": {"a": [1, 2.5, "é"], "b": null},
        })
    );
}

#[test]
fn celery_event_receiver_sees_celeriac_worker_events() {
    let Some(env) = Env::new() else { return };
    let _worker = env.celeriac_worker("w", &["--queues", "celery"]);
    let got = env.scenario("events");
    assert_eq!(got["value"], 5, "{got}");
    assert_eq!(got["result"], "5", "{got}");
    let types: Vec<&str> = got["types"]
        .as_array()
        .expect("types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for wanted in ["task-received", "task-started", "task-succeeded", "worker-heartbeat"] {
        assert!(types.contains(&wanted), "{wanted} not seen by Celery's receiver: {got}");
    }
    assert_eq!(got["sw_ident"], json!(["celeriac"]), "{got}");
}

#[test]
fn celery_remote_control_reaches_celeriac_workers() {
    let Some(env) = Env::new() else { return };
    let _worker = env.celeriac_worker("w", &["--queues", "celery,other", "-n", "ctl@%h"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let got = env.scenario("control");
    let ping = got["ping"].as_array().expect("ping replies");
    assert!(
        ping.iter().any(|r| r.as_object().is_some_and(|m| m
            .iter()
            .any(|(node, v)| node.starts_with("ctl@") && v == &json!({"ok": "pong"})))),
        "no pong from the Celeriac worker: {got}"
    );
    assert_eq!(got["ran_while_cancelled"], false, "{got}");
    assert_eq!(got["after_add_consumer"], 2, "{got}");
    assert_eq!(got["terminated"], "REVOKED", "{got}");
}

#[test]
fn python_sees_celeriac_failures_and_expiry() {
    let Some(env) = Env::new() else { return };
    let _worker = env.celeriac_worker("w", &[]);
    let got = env.scenario("failures");
    assert_eq!(got["fail"]["type"], "RuntimeError", "{got}");
    assert_eq!(got["fail"]["message"], "boom", "{got}");
    assert_eq!(got["fail"]["state"], "FAILURE", "{got}");
    assert_eq!(got["expired"]["state"], "REVOKED", "{got}");
    assert_eq!(got["expired"]["type"], "TaskRevokedError", "{got}");
}

#[test]
fn python_canvas_runs_on_celeriac_worker() {
    let Some(env) = Env::new() else { return };
    let _worker = env.celeriac_worker("w", &[]);
    let got = env.scenario("canvas");
    assert_eq!(got["chain"], 113, "{got}");
    assert_eq!(got["group"], json!([0, 2, 4, 6, 8]), "{got}");
    assert_eq!(got["chord"], json!([1, 2, 3, 4]), "{got}");
}

async fn celeriac_client_against(pool: &str) {
    let Some(env) = Env::new() else { return };
    let _worker = env.celery_worker(pool, &["-c", "2"]);
    let client = env.client();
    let wait = Duration::from_secs(60);
    let sum = client
        .send(Signature::new("celeriac.add").args([20, 22]))
        .await
        .unwrap();
    assert_eq!(sum.get(wait).await.unwrap(), json!(42));
    let kw = client
        .send(Signature::new("celeriac.add").kwarg("x", 1).kwarg("y", 2))
        .await
        .unwrap();
    assert_eq!(kw.get(wait).await.unwrap(), json!(3));
    let failed = client
        .send(Signature::new("celeriac.fail").args(["bad"]))
        .await
        .unwrap();
    match failed.get(wait).await {
        Err(ResultError::Failed { error, .. }) => {
            assert_eq!(error.exc_type, "RuntimeError");
            assert_eq!(error.message(), "bad");
        }
        other => panic!("expected the Python failure, got {other:?}"),
    }
    let chain = Signature::new("celeriac.add")
        .args([1, 1])
        .then(Signature::new("celeriac.add").args([10]))
        .then(Signature::new("celeriac.add").args([100]));
    let last = client.send_chain(chain).await.unwrap();
    assert_eq!(last.get(wait).await.unwrap(), json!(112));
    let later = client
        .send(
            Signature::new("celeriac.add")
                .args([2, 2])
                .countdown(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    assert_eq!(later.get(wait).await.unwrap(), json!(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn celeriac_client_with_celery_solo_worker() {
    celeriac_client_against("solo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn celeriac_client_with_celery_threads_worker() {
    celeriac_client_against("threads").await;
}

/// Task ids and the value each must return, as `send_mixed` wrote them.
fn expected(path: &Path) -> Vec<(String, i64)> {
    std::fs::read_to_string(path)
        .expect("ids file")
        .lines()
        .filter_map(|l| {
            let (id, v) = l.split_once(' ')?;
            Some((id.to_owned(), v.parse().ok()?))
        })
        .collect()
}

fn executions(paths: &[PathBuf]) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for p in paths {
        for id in std::fs::read_to_string(p).unwrap_or_default().lines() {
            *counts.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

/// One Python and one Celeriac worker on one queue, both registering the
/// same task names: 5,000 tasks (some with countdowns) all get their right
/// result and none runs twice; a chord shared by both fires its callback
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_fleet_shares_a_queue() {
    let Some(env) = Env::new() else { return };
    let py_log = env.dir.path().join("exec-python.log");
    let rs_log = env.dir.path().join("exec-celeriac.log");
    let celery = {
        let log = std::fs::File::create(env.dir.path().join("celery.log")).expect("log");
        let child = env
            .python_cmd(&[
                "-m",
                "celery",
                "-A",
                "interop_app",
                "worker",
                "-P",
                "threads",
                "-c",
                "4",
                "--loglevel",
                "WARNING",
            ])
            .env("INTEROP_EXEC_LOG", &py_log)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start celery");
        Killed(child)
    };
    let rs_log_arg = rs_log.display().to_string();
    let celeriac = env.celeriac_worker("fleet", &["--execution-log", &rs_log_arg]);
    let ids_file = env.dir.path().join("ids.txt");
    let out = env
        .python_cmd(&["scenarios.py", "send_mixed"])
        .env("MIXED_N", "5000")
        .env("MIXED_IDS", &ids_file)
        .output()
        .expect("send");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let client = env.client();
    let want = expected(&ids_file);
    assert_eq!(want.len(), 5000);
    for (id, value) in &want {
        let got = client.result::<i64>(id.clone()).get(Duration::from_secs(120)).await;
        assert_eq!(got.ok(), Some(*value), "task {id}");
    }
    let chord = env.scenario("shared_chord");
    assert_eq!(
        chord["value"],
        json!((0..20).map(|i| 2 * i).collect::<Vec<i64>>()),
        "{chord}"
    );
    // Both workers took part, and no task ran twice.
    let runs = executions(&[py_log.clone(), rs_log.clone()]);
    let (python, rust) = (
        executions(std::slice::from_ref(&py_log)).len(),
        executions(std::slice::from_ref(&rs_log)).len(),
    );
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "mixed fleet: {python} tasks on Python, {rust} on Celeriac, {} run twice",
        twice.len()
    );
    assert!(
        python > 0 && rust > 0,
        "both workers must take part: python {python}, celeriac {rust}"
    );
    assert!(twice.is_empty(), "tasks run more than once: {twice:?}");
    for (id, _) in &want {
        assert_eq!(runs.get(id), Some(&1), "task {id} ran {:?} times", runs.get(id));
    }
    let callback = chord["callback_id"].as_str().unwrap_or_default();
    assert_eq!(
        runs.get(callback),
        Some(&1),
        "the chord callback ran {:?} times",
        runs.get(callback)
    );
    drop((celery, celeriac));
}

/// A Celeriac worker killed with SIGKILL while holding tasks: a second
/// Celeriac worker completes them within 60 s (the default 30 s lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_celeriac_worker_tasks_come_back() {
    if !require_service("redis", REDIS) {
        return;
    }
    let prefix = format!("{}:", unique_name("killed"));
    let url = format!("redis://{REDIS}/0?global_keyprefix={prefix}");
    let start = || {
        Killed(
            Command::new(CELERIAC)
                .args([
                    "--log",
                    "warn",
                    "--broker",
                    &url,
                    "worker",
                    "--concurrency",
                    "4",
                    "--prefetch",
                    "16",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start worker"),
        )
    };
    let mut victim = start();
    let b = celeriac::connect(Some(&url), None).expect("connect");
    let client = Client::new(b.broker.clone(), b.backend.clone());
    let sigs = (0..16).map(|_| Signature::new("celeriac.sleep").args([2.0])).collect();
    let results = client.send_many(sigs).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let held: u64 = b.broker.workers().await.unwrap().iter().map(|w| w.in_flight).sum();
        if held == 16 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the victim never held the tasks (held {held})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.0.kill().expect("SIGKILL");
    let _ = victim.0.wait();
    let killed_at = std::time::Instant::now();
    let _rescuer = start();
    for r in &results {
        let left = Duration::from_secs(60).saturating_sub(killed_at.elapsed());
        assert_eq!(
            r.get(left).await.ok(),
            Some(json!(2.0)),
            "task {} not completed within 60 s",
            r.id()
        );
    }
    println!(
        "the killed worker's 16 tasks completed {:?} after the kill",
        killed_at.elapsed()
    );
}
