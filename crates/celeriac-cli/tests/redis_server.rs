//! Connection handling against private `redis-server` processes (never the
//! shared one): a restart with the worker still consuming afterwards, a
//! unix socket, TLS with a private CA, and a password.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use celeriac::{Client, Signature};
use serde_json::json;
use support::{free_port, CELERIAC};

fn redis_server() -> Option<PathBuf> {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(PathBuf::from("redis-server"));
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("redis-server is not installed (CI needs it for these tests)");
    }
    println!("skipping: redis-server is not installed");
    None
}

/// A private Redis, shut down when dropped.
struct PrivateRedis {
    child: Child,
    args: Vec<String>,
    dir: PathBuf,
}

impl PrivateRedis {
    fn start(dir: &Path, args: &[String]) -> PrivateRedis {
        let mut all = vec![
            "--save".to_owned(),
            String::new(),
            "--dir".to_owned(),
            dir.display().to_string(),
        ];
        all.extend(args.iter().cloned());
        let child = spawn(&all, dir);
        PrivateRedis {
            child,
            args: all,
            dir: dir.to_owned(),
        }
    }

    /// Stops and starts the server again with the same settings and data.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(300));
        self.child = spawn(&self.args, &self.dir);
    }
}

fn spawn(args: &[String], dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("redis.log")).expect("log");
    Command::new("redis-server")
        .args(args)
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server")
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Worker(Child);

impl Worker {
    fn start(url: &str) -> Worker {
        Worker(
            Command::new(CELERIAC)
                .args(["--log", "warn", "--broker", url, "worker"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start worker"),
        )
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn round_trip(url: &str, n: i64) {
    let b = celeriac::connect(Some(url), None).expect("connect");
    let client = Client::new(b.broker, b.backend);
    let deadline = Instant::now() + Duration::from_secs(30);
    // The first sends may meet a server that is still starting: retry them.
    let mut results = Vec::new();
    for i in 0..n {
        loop {
            match client.send(Signature::new("celeriac.add").args([i, 1])).await {
                Ok(r) => {
                    results.push((i, r));
                    break;
                }
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot send to {url}: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    for (i, r) in results {
        assert_eq!(
            r.get(Duration::from_secs(30)).await.ok(),
            Some(json!(i + 1)),
            "task {i} via {url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_keeps_consuming_after_redis_restarts() {
    if redis_server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut redis = PrivateRedis::start(
        dir.path(),
        &["--port".into(), port.to_string(), "--appendonly".into(), "yes".into()],
    );
    let url = format!("redis://127.0.0.1:{port}/0");
    let _worker = Worker::start(&url);
    round_trip(&url, 20).await;
    redis.restart();
    round_trip(&url, 20).await;
    redis.restart();
    round_trip(&url, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_and_password() {
    if redis_server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("redis.sock");
    let port = free_port();
    let _redis = PrivateRedis::start(
        dir.path(),
        &[
            "--port".into(),
            port.to_string(),
            "--unixsocket".into(),
            socket.display().to_string(),
            "--requirepass".into(),
            "s3cret".into(),
        ],
    );
    let unix = format!("redis+unix://{}?db=2&pass=s3cret", socket.display());
    let _worker = Worker::start(&unix);
    round_trip(&unix, 5).await;
    // The same tasks over TCP with the password in the URL.
    let tcp = format!("redis://:s3cret@127.0.0.1:{port}/2");
    round_trip(&tcp, 5).await;
    // A wrong password is one clear error line, not a hang.
    let out = Command::new(CELERIAC)
        .args(["--broker", &format!("redis://:wrong@127.0.0.1:{port}/2"), "inspect"])
        .output()
        .expect("run inspect");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("wrong"), "the password must not be printed: {err}");
}

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "openssl {args:?} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca() {
    if redis_server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=celeriac-test-ca",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
        ],
    );
    let port = free_port();
    let _redis = PrivateRedis::start(
        d,
        &[
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            d.join("server.pem").display().to_string(),
            "--tls-key-file".into(),
            d.join("server.key").display().to_string(),
            "--tls-ca-cert-file".into(),
            d.join("ca.pem").display().to_string(),
            "--tls-auth-clients".into(),
            "no".into(),
        ],
    );
    let url = format!("rediss://127.0.0.1:{port}/0?tls_ca={}", d.join("ca.pem").display());
    let _worker = Worker::start(&url);
    round_trip(&url, 5).await;
}
