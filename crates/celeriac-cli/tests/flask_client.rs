//! The Python Flask client of `examples/flask-client` against a `celeriac
//! worker` on Redis: the Flask app stores a photo in the blob store, sends
//! `faces.detect` with Celery and reads the faces with `AsyncResult`.
//!
//! Needs Redis on 127.0.0.1:6379 and the venv `scripts/test` creates (`.venv`
//! with celery[redis]==5.7.0 and flask); outside CI a missing one skips the
//! test with a reason, under CI=true it fails.

mod support;

use std::process::{Child, Command, Stdio};

use celeriac_testkit::services::{require_service, unique_name};
use support::{celery_python, repo_root, CELERIAC};

const REDIS: &str = "127.0.0.1:6379";

/// The worker and the test's Redis keys; dropped in that order whatever
/// happens, so a failing test leaves neither a process nor keys behind.
struct Cleanup {
    worker: Child,
    url: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // The worker first: alive, it would write its heartbeat again.
        let _ = self.worker.kill();
        let _ = self.worker.wait();
        let deleted = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| {
                rt.block_on(async {
                    let store = celeriac::crates::redis::RedisStore::open_url(&self.url).map_err(|e| e.to_string())?;
                    // SCAN + UNLINK of the keys under the prefix, never KEYS.
                    store.delete_everything().await.map_err(|e| e.to_string())
                })
            });
        match deleted {
            Ok(n) => println!("cleanup: deleted {n} Redis keys"),
            Err(e) => eprintln!("cleanup: could not delete the test's Redis keys: {e}"),
        }
    }
}

#[test]
fn flask_client_gets_faces_from_celeriac_worker() {
    if !require_service("redis", REDIS) {
        return;
    }
    let Some(python) = celery_python(&["flask"]) else {
        return;
    };
    // Ends in ':': Celery's result backend would add '_' to a prefix ending
    // otherwise, and its result keys would no longer be Celeriac's.
    let prefix = format!("{}:", unique_name("flask"));
    let queue = unique_name("faces");
    let url = format!("redis://{REDIS}/0?global_keyprefix={prefix}");
    let dir = tempfile::tempdir().expect("temp dir");
    let worker_log = dir.path().join("worker.log");
    let worker = Command::new(CELERIAC)
        .current_dir(dir.path())
        .env_remove("CELERIAC_CONFIG")
        .args(["--log", "warn", "--broker", &url, "worker", "--queues", &queue])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&worker_log).expect("log file"))
        .spawn()
        .expect("start a celeriac worker");
    let mut cleanup = Cleanup { worker, url };

    let out = Command::new(&python)
        .arg(repo_root().join("examples/flask-client/test_flask_client.py"))
        .env("CELERY_BROKER_URL", format!("redis://{REDIS}/0"))
        .env("CELERY_RESULT_BACKEND", format!("redis://{REDIS}/0"))
        .env("FACES_QUEUE", &queue)
        .env("GLOBAL_KEYPREFIX", &prefix)
        .env("BLOB_TTL_SECONDS", "600")
        .env_remove("MAX_UPLOAD_BYTES")
        .stdin(Stdio::null())
        .output()
        .expect("run the Flask client's test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    let exited = cleanup.worker.try_wait().ok().flatten();
    assert!(
        out.status.success(),
        "the Flask client's test failed ({}):\n{stdout}\n{}\nworker ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        exited.map_or("running".to_owned(), |s| s.to_string()),
        std::fs::read_to_string(&worker_log).unwrap_or_default()
    );
    assert!(stdout.contains("ok: astronaut.png -> 1 face"), "{stdout}");
    assert!(stdout.contains("ok: notes.txt -> 415"), "{stdout}");
    assert!(exited.is_none(), "the worker exited early: {exited:?}");
}
