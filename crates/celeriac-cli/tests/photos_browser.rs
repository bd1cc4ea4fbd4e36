//! The photo app in a real browser: `celeriac serve` on a temporary store,
//! driven by `tests/browser/photos.mjs` (playwright-core and headless
//! Chromium). It uploads 20 photos at once, checks each goes from
//! "Processing…" to its face count with the boxes drawn, checks a text file
//! is refused with a message, and saves `test-artifacts/photos-browser.png`.
//!
//! Needs node, /usr/bin/chromium (Debian `chromium`) and
//! `tests/browser/node_modules/playwright-core` (`npm ci` there); outside CI
//! a missing one skips the test with a reason, under CI=true it fails.
//! `scripts/test` installs them.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    free_port, in_ci, log_tail as tail, missing_browser_prerequisite as missing_prerequisite, repo_root as root,
    CELERIAC, CHROMIUM,
};

/// Longest the node script may run; it has its own, shorter watchdog.
const NODE_LIMIT: Duration = Duration::from_secs(240);

/// A child process killed when the test ends, whatever happens.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when `GET /health` answers 200. A bare HTTP/1.1 request: the test
/// needs nothing more than the status line.
fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

#[test]
fn photo_app_in_a_browser() {
    if let Some(reason) = missing_prerequisite() {
        if in_ci() {
            panic!("the browser test cannot run under CI=true: {reason}; scripts/test installs it");
        }
        println!("skipping: {reason}; scripts/test installs it");
        return;
    }
    let root = root();
    let dir = tempfile::tempdir().expect("temporary directory");
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server_log = dir.path().join("serve.log");

    // Isolated from the caller's environment and working directory (no
    // celeriac.toml, never the per-user store).
    let server = Command::new(CELERIAC)
        .current_dir(dir.path())
        .env_remove("CELERIAC_BROKER_URL")
        .env_remove("CELERIAC_RESULT_BACKEND")
        .env_remove("CELERIAC_CONFIG")
        .env_remove("CELERIAC_LOG")
        .args(["--log", "warn", "--broker"])
        .arg(format!("sqlite://{}", dir.path().join("t.db").display()))
        .args(["serve", "--bind", &addr.to_string()])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&server_log).expect("server log file"))
        .stderr(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&server_log)
                .expect("server log file"),
        )
        .spawn()
        .expect("start celeriac serve");
    let mut server = Killed(server);

    let deadline = Instant::now() + Duration::from_secs(60);
    while !healthy(addr) {
        if let Some(status) = server.0.try_wait().expect("poll celeriac serve") {
            panic!(
                "celeriac serve exited ({status}) before answering:\n{}",
                tail(&server_log)
            );
        }
        assert!(
            Instant::now() < deadline,
            "celeriac serve did not answer /health within 60 s:\n{}",
            tail(&server_log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let artifact = root.join("test-artifacts/photos-browser.png");
    let node_out = dir.path().join("node.out");
    let node = Command::new("node")
        .current_dir(root.join("tests/browser"))
        .arg("photos.mjs")
        .arg(format!("http://{addr}"))
        .arg(root.join("tests/fixtures/photos"))
        .arg(&artifact)
        .env("CHROMIUM", CHROMIUM)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&node_out).expect("node output file"))
        .stderr(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&node_out)
                .expect("node output file"),
        )
        .spawn()
        .expect("start node");
    let mut node = Killed(node);

    // The script limits itself; this guards against node itself hanging.
    let status = support::wait_at_most(&mut node.0, NODE_LIMIT);
    drop(node);
    drop(server);

    let output = std::fs::read_to_string(&node_out).unwrap_or_default();
    println!("{output}");
    match status {
        Some(status) if status.success() => {
            assert!(artifact.is_file(), "no screenshot at {}", artifact.display());
            println!("screenshot: {}", artifact.display());
        }
        Some(status) => panic!(
            "the browser test failed ({status}); see its output above. Server log:\n{}",
            tail(&server_log)
        ),
        None => panic!(
            "the browser test did not finish within {} s; killed. Server log:\n{}",
            NODE_LIMIT.as_secs(),
            tail(&server_log)
        ),
    }
}
