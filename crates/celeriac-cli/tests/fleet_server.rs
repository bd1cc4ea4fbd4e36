//! `celeriac serve --broker redis://… --no-worker` as the monitoring server
//! of a fleet: tasks run by separate `celeriac worker` processes show in its
//! history and API with the worker that ran them, both workers are listed
//! alive, and a restarted server still lists the tasks run before.
//!
//! Needs Redis on 127.0.0.1:6379 (its own key prefix); outside CI a missing
//! one skips the test with a reason, under CI=true it fails.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use celeriac::{Client, Signature};
use celeriac_testkit::services::{require_service, unique_name};
use serde_json::Value;
use support::{free_port, http_get_json, poll_json, CELERIAC};

const REDIS: &str = "127.0.0.1:6379";

/// A child process killed when the test ends, whatever happens.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], log: &std::path::Path) -> Killed {
    let log = std::fs::File::create(log).expect("log file");
    let child = Command::new(CELERIAC)
        .args(args)
        .env_remove("CELERIAC_API_TOKENS")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start celeriac");
    Killed(child)
}

fn serve(url: &str, addr: SocketAddr, history: &std::path::Path, log: &std::path::Path) -> Killed {
    let bind = addr.to_string();
    let history = history.display().to_string();
    let server = spawn(
        &[
            "--log",
            "warn",
            "--broker",
            url,
            "serve",
            "--no-worker",
            "--bind",
            &bind,
            "--history",
            &history,
        ],
        log,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get_json(addr, "/api/info", None).0 != 200 {
        assert!(
            Instant::now() < deadline,
            "the server did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn succeeded(tasks: &Value) -> Vec<&Value> {
    tasks["tasks"]
        .as_array()
        .map(|t| t.iter().filter(|t| t["state"] == "SUCCESS").collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_monitors_separate_workers_on_redis_and_keeps_history_across_restarts() {
    if !require_service("redis", REDIS) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("redis://{REDIS}/0?global_keyprefix={}:", unique_name("fleet"));
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let history = dir.path().join("history.db");
    let server = serve(&url, addr, &history, &dir.path().join("serve.log"));
    let _w1 = spawn(
        &[
            "--log",
            "warn",
            "--broker",
            &url,
            "worker",
            "-n",
            "w1@%h",
            "--prefetch",
            "4",
            "-c",
            "2",
        ],
        &dir.path().join("w1.log"),
    );
    let _w2 = spawn(
        &[
            "--log",
            "warn",
            "--broker",
            &url,
            "worker",
            "-n",
            "w2@%h",
            "--prefetch",
            "4",
            "-c",
            "2",
        ],
        &dir.path().join("w2.log"),
    );
    let workers = poll_json(addr, "/api/workers", None, Duration::from_secs(20), |w| {
        w["workers"]
            .as_array()
            .is_some_and(|w| w.iter().filter(|w| w["alive"] == true).count() == 2)
    });
    let names: Vec<&str> = workers["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .filter_map(|w| w["hostname"].as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("w1@")) && names.iter().any(|n| n.starts_with("w2@")),
        "{workers}"
    );

    let backends = celeriac::connect(Some(&url), None).expect("connect");
    let client = Client::new(backends.broker, backends.backend);
    let mut ids = Vec::new();
    for i in 0..20 {
        // Short sleeps, so both workers get some with a prefetch of 4.
        let r = client
            .send(Signature::new("celeriac.sleep").args([0.05 + f64::from(i % 2) * 0.05]))
            .await
            .expect("send");
        ids.push(r.id().to_owned());
    }
    for id in &ids {
        client
            .result::<Value>(id.clone())
            .get(Duration::from_secs(30))
            .await
            .expect("result");
    }
    let tasks = poll_json(
        addr,
        "/api/tasks?limit=100&name=celeriac.sleep",
        None,
        Duration::from_secs(20),
        |t| succeeded(t).len() == 20,
    );
    let done = succeeded(&tasks);
    assert_eq!(done.len(), 20, "{tasks}");
    let ran_on: std::collections::BTreeSet<&str> = done.iter().filter_map(|t| t["worker"].as_str()).collect();
    assert!(
        ran_on.iter().all(|w| w.starts_with("w1@") || w.starts_with("w2@")),
        "{ran_on:?}"
    );
    assert_eq!(ran_on.len(), 2, "both workers ran tasks: {ran_on:?}");
    let (status, detail) = http_get_json(addr, &format!("/api/tasks/{}", ids[0]), None);
    assert_eq!(status, 200);
    assert_eq!(detail["state"], "SUCCESS");
    assert!(detail["timeline"].as_array().is_some_and(|t| t.len() >= 3), "{detail}");

    // Restart the server: the history is on disk.
    drop(server);
    let _server = serve(&url, addr, &history, &dir.path().join("serve2.log"));
    let (status, again) = http_get_json(addr, "/api/tasks?limit=100&name=celeriac.sleep", None);
    assert_eq!(status, 200);
    assert_eq!(succeeded(&again).len(), 20, "tasks lost across a restart: {again}");
}
