//! The dashboard in a real browser: `celeriac serve` on a temporary store
//! with an admin and a read-only token, driven by
//! `tests/browser/dashboard.mjs` (playwright-core and headless Chromium).
//!
//! The script signs in, submits `celeriac.add` and `celeriac.fail` from the
//! page, follows them to SUCCESS (result 5) and to the dead letters, retries
//! the dead one, pauses and resumes a queue, and saves
//! `test-artifacts/dashboard-*.png`. Then the server is restarted on the
//! same store and history, and the tasks run before the restart must still
//! be listed, by the API and, read-only, in the dashboard.
//!
//! Needs node, /usr/bin/chromium (Debian `chromium`) and
//! `tests/browser/node_modules/playwright-core` (`npm ci` there); outside CI
//! a missing one skips the test with a reason, under CI=true it fails.
//! `scripts/test` installs them.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    free_port, http_get, in_ci, log_tail as tail, missing_browser_prerequisite as missing_prerequisite,
    repo_root as root, CELERIAC, CHROMIUM,
};

/// Longest one run of the node script may take; it has its own, shorter watchdog.
const NODE_LIMIT: Duration = Duration::from_secs(240);

/// A 24-character secret for `--api-token`.
fn secret() -> String {
    let hex = celeriac::crates::core::new_uuid4().replace('-', "");
    hex[..24].to_owned()
}

/// A child process stopped when the test ends, whatever happens.
struct Killed(Child);

impl Killed {
    /// SIGTERM, as an operator stopping the server would; SIGKILL after 30 s.
    fn stop(mut self) -> Option<ExitStatus> {
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None // dropped: killed
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Everything one server run needs to be found and diagnosed.
struct Server {
    process: Killed,
    addr: SocketAddr,
    log: PathBuf,
}

/// Starts `celeriac serve` on the test's store and history, and waits for `/health`.
fn start_server(dir: &Path, admin: &str, reader: &str, run: &str) -> Server {
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let log = dir.join(format!("serve-{run}.log"));
    let file = std::fs::File::create(&log).expect("server log file");
    let err = file.try_clone().expect("server log file");
    // Isolated from the caller's environment and working directory (no
    // celeriac.toml, never the per-user store).
    let child = Command::new(CELERIAC)
        .current_dir(dir)
        .env_remove("CELERIAC_BROKER_URL")
        .env_remove("CELERIAC_RESULT_BACKEND")
        .env_remove("CELERIAC_CONFIG")
        .env_remove("CELERIAC_LOG")
        .env_remove("CELERIAC_API_TOKENS")
        .args(["--log", "warn", "--broker"])
        .arg(format!("sqlite://{}", dir.join("store.db").display()))
        .args(["serve", "--bind", &addr.to_string(), "--history"])
        .arg(dir.join("history.db"))
        .arg("--api-token")
        .arg(format!("admin:{admin}"))
        .arg("--api-token")
        .arg(format!("read:{reader}"))
        .args(["--allow-submit", "celeriac.add,celeriac.fail"])
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .expect("start celeriac serve");
    let mut process = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_get(addr, "/health", None).0 != 200 {
        if let Some(status) = process.0.try_wait().expect("poll celeriac serve") {
            panic!("celeriac serve exited ({status}) before answering:\n{}", tail(&log));
        }
        assert!(
            Instant::now() < deadline,
            "celeriac serve did not answer /health within 60 s:\n{}",
            tail(&log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { process, addr, log }
}

/// Runs the node script with `args` and the token in its environment;
/// panics with its output and the server's log unless it passes.
fn run_script(dir: &Path, name: &str, token: &str, args: &[String], server: &Server) {
    let out = dir.join(format!("node-{name}.out"));
    let file = std::fs::File::create(&out).expect("node output file");
    let err = file.try_clone().expect("node output file");
    let child = Command::new("node")
        .current_dir(root().join("tests/browser"))
        .arg("dashboard.mjs")
        .args(args)
        .env("CHROMIUM", CHROMIUM)
        .env("DASHBOARD_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .expect("start node");
    let mut node = Killed(child);
    // The script limits itself; this guards against node itself hanging.
    let status = support::wait_at_most(&mut node.0, NODE_LIMIT);
    drop(node);
    let output = std::fs::read_to_string(&out).unwrap_or_default();
    println!("--- dashboard.mjs {name}\n{output}");
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "the browser test ({name}) failed ({status}); see its output above. Server log:\n{}",
            tail(&server.log)
        ),
        None => panic!(
            "the browser test ({name}) did not finish within {} s; killed. Server log:\n{}",
            NODE_LIMIT.as_secs(),
            tail(&server.log)
        ),
    }
}

#[test]
fn dashboard_in_a_browser_survives_a_restart() {
    if let Some(reason) = missing_prerequisite() {
        if in_ci() {
            panic!("the browser test cannot run under CI=true: {reason}; scripts/test installs it");
        }
        println!("skipping: {reason}; scripts/test installs it");
        return;
    }
    let root = root();
    let dir = tempfile::tempdir().expect("temporary directory");
    let admin = secret();
    let reader = secret();
    let artifacts = root.join("test-artifacts");
    let state_file = dir.path().join("tasks.json");
    let script_args = |after_restart: bool, server: &Server| {
        let mut args = Vec::new();
        if after_restart {
            args.push("--after-restart".to_owned());
        }
        args.push(format!("http://{}", server.addr));
        args.push(artifacts.display().to_string());
        args.push(state_file.display().to_string());
        args
    };

    let first = start_server(dir.path(), &admin, &reader, "first");
    run_script(dir.path(), "first run", &admin, &script_args(false, &first), &first);
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&state_file).expect("the script's task ids"))
        .expect("the script's task ids as JSON");
    let ids: Vec<String> = state["tasks"]
        .as_array()
        .expect("a list of task ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "expected the ids of celeriac.add and celeriac.fail: {state}"
    );
    let stopped = first.process.stop();
    assert!(
        stopped.is_some(),
        "celeriac serve did not stop within 30 s of SIGTERM:\n{}",
        tail(&first.log)
    );

    // The same store and history, a new process.
    let second = start_server(dir.path(), &admin, &reader, "second");
    let (status, body) = http_get(second.addr, "/api/tasks?limit=500", Some(&admin));
    assert_eq!(status, 200, "GET /api/tasks after the restart: {body}");
    let listing: Value = serde_json::from_str(&body).expect("the task listing as JSON");
    let listed = listing["tasks"].as_array().cloned().unwrap_or_default();
    let state_of = |id: &str| {
        listed
            .iter()
            .find(|t| t["id"] == id)
            .and_then(|t| t["state"].as_str().map(str::to_owned))
    };
    assert_eq!(
        state_of(&ids[0]).as_deref(),
        Some("SUCCESS"),
        "celeriac.add {} is not listed as SUCCESS after the restart: {listing}",
        ids[0]
    );
    assert_eq!(
        state_of(&ids[1]).as_deref(),
        Some("FAILURE"),
        "celeriac.fail {} is not listed as FAILURE after the restart: {listing}",
        ids[1]
    );
    println!(
        "after the restart, /api/tasks still lists {} (SUCCESS) and {} (FAILURE)",
        ids[0], ids[1]
    );
    run_script(
        dir.path(),
        "after restart",
        &reader,
        &script_args(true, &second),
        &second,
    );
    drop(second);

    for name in [
        "overview",
        "tasks",
        "task-detail",
        "dead-letters",
        "queues",
        "after-restart",
    ] {
        let path = artifacts.join(format!("dashboard-{name}.png"));
        assert!(path.is_file(), "no screenshot at {}", path.display());
        println!("screenshot: {}", path.display());
    }
}
