//! Helpers for tests that run `celeriac` processes on a temporary embedded
//! store (never the per-user default one).
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The `celeriac` binary under test.
pub const CELERIAC: &str = env!("CARGO_BIN_EXE_celeriac");

/// A fresh store in its own temporary directory.
pub struct TempStore {
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl TempStore {
    pub fn new() -> TempStore {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        TempStore { dir, url }
    }

    /// A file in the store's directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The store opened in this process.
    pub fn connect(&self) -> celeriac::Backends {
        celeriac::connect(Some(&self.url), None).expect("open the temporary store")
    }

    /// A `celeriac --broker <this store> ARGS` command, isolated from the
    /// caller's environment and working directory (no celeriac.toml).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CELERIAC);
        cmd.current_dir(self.dir.path())
            .env_remove("CELERIAC_BROKER_URL")
            .env_remove("CELERIAC_RESULT_BACKEND")
            .env_remove("CELERIAC_CONFIG")
            .env_remove("CELERIAC_LOG")
            .args(["--log", "warn", "--broker", &self.url])
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `celeriac call TASK ARGS...` and returns the task id it prints.
    pub fn call(&self, task: &str, args: &[&str]) -> String {
        let out = self
            .command(&["call", task])
            .args(args)
            .output()
            .expect("run celeriac call");
        assert!(
            out.status.success(),
            "celeriac call {task} {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(id.len(), 36, "celeriac call printed no task id: {id:?}");
        id
    }
}

/// A `celeriac worker` process writing an execution log; SIGKILLed if it
/// is still running when dropped (a failing test leaves no process behind).
pub struct WorkerProcess {
    child: Child,
    pub name: String,
    pub log: PathBuf,
    stderr: PathBuf,
}

impl WorkerProcess {
    /// Starts `celeriac worker ARGS --execution-log <dir>/exec-<name>.log`.
    pub fn spawn(store: &TempStore, name: &str, args: &[&str]) -> WorkerProcess {
        let log = store.file(&format!("exec-{name}.log"));
        let stderr = store.file(&format!("worker-{name}.err"));
        let child = store
            .command(&["worker"])
            .args(args)
            .arg("--execution-log")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("worker stderr file"))
            .spawn()
            .expect("start a worker process");
        WorkerProcess {
            child,
            name: name.to_owned(),
            log,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll a worker process").is_none()
    }

    /// `kill -9`, and reap it.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL a worker process");
        self.child.wait().expect("reap a worker process");
    }

    /// SIGTERM (graceful shutdown); waits up to 60 s for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        // SAFETY: sending SIGTERM to our own child, which has not been reaped.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0, "cannot signal worker {}", self.name);
        self.wait_exit()
    }

    /// Waits up to 60 s for the process to exit (after a signal sent elsewhere).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll a worker process") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "worker {} did not stop within 60 s",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The end of what the worker wrote on stderr, for failure messages.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let start = text.len().saturating_sub(2_000);
        let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text[start..].to_owned()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (up to 20 s) until every worker is registered and alive.
pub async fn wait_registered(store: &TempStore, workers: &[&WorkerProcess]) {
    let broker = store.connect().broker;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let registry = broker.workers().await.expect("read the worker registry");
        let alive = |w: &&WorkerProcess| registry.iter().any(|r| r.alive && r.info.pid == w.pid());
        if workers.iter().all(alive) {
            return;
        }
        if Instant::now() > deadline {
            let stderr: Vec<String> = workers
                .iter()
                .map(|w| format!("{}: {}", w.name, w.stderr_tail()))
                .collect();
            panic!(
                "the workers did not all register within 20 s: {registry:?}\n{}",
                stderr.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Lines (task ids) in an execution log; 0 if it does not exist yet.
pub fn log_lines(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |bytes| bytes.iter().filter(|&&b| b == b'\n').count())
}

/// How many times each task id appears in the execution logs.
pub fn executions(logs: &[&Path]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for path in logs {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for id in text.lines() {
            *counts.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python (`.venv`, made by scripts/test) if it has Celery
/// 5.7.0 and `modules` importable; otherwise `None` after printing why it
/// skips, or a panic under `CI=true`, where a missing tool is a failure.
pub fn celery_python(modules: &[&str]) -> Option<PathBuf> {
    let python = repo_root().join(".venv/bin/python");
    let imports = modules.iter().map(|m| format!("import {m}\n")).collect::<String>();
    let check = format!("{imports}import celery, sys\nsys.exit(0 if celery.__version__ == '5.7.0' else 1)");
    let ok = Command::new(&python)
        .args(["-c", &check])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let what = std::iter::once("celery==5.7.0")
        .chain(modules.iter().copied())
        .collect::<Vec<_>>()
        .join(", ");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the .venv lacks {what} (scripts/test installs them)");
    }
    println!("skipping: no .venv with {what} (run scripts/test to create it)");
    None
}

/// A TCP port on loopback that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `GET path` on a local server with an optional bearer token: status and
/// body. A bare HTTP/1.1 request with `Connection: close`; a chunked body is
/// decoded.
pub fn http_get(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, String::new());
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_vec() };
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The data of a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&body[..eol]);
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or_default().trim(), 16) else {
            break;
        };
        let rest = &body[eol + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        body = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// [`http_get`] with the body parsed as JSON (`Null` when it is not).
pub fn http_get_json(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let (status, body) = http_get(addr, path, token);
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

/// Polls `GET path` until `done` holds for its JSON (or `limit` passes);
/// returns the last JSON seen.
pub fn poll_json(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
    limit: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, json) = http_get_json(addr, path, token);
        if status == 200 && done(&json) || Instant::now() >= deadline {
            return json;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Where Debian's Chromium is.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether this runs under CI (`CI=true`), where a missing prerequisite
/// fails a test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// What a browser test needs and is missing, if anything: node, Chromium,
/// and playwright-core in tests/browser.
pub fn missing_browser_prerequisite() -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node {
        return Some("node is not installed".into());
    }
    if !Path::new(CHROMIUM).exists() {
        return Some(format!(
            "{CHROMIUM} is missing: Debian packages chromium and chromium-driver"
        ));
    }
    if !repo_root().join("tests/browser/node_modules/playwright-core").is_dir() {
        return Some("tests/browser/node_modules/playwright-core is missing: npm ci in tests/browser".into());
    }
    None
}

/// The last 4,000 bytes of a log file, for a failure message.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(4_000);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    text[start..].to_owned()
}

/// Waits for `child` to exit, at most `limit`; `None` if it did not.
pub fn wait_at_most(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
