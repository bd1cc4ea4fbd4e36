//! The HTTP API end to end, in process: a worker on the in-memory stores
//! publishes events, the keeper records them, and every route of the
//! OpenAPI document is called with and without the right credentials.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use celeriac::events::MemoryEventBus;
use celeriac::memory::{MemoryBackend, MemoryBroker};
use celeriac::{builtins, Broker, Worker, WorkerConfig};
use celeriac_server::auth::{protect, Auth, AuthConfig};
use celeriac_server::history::{spawn_keeper, History, HistoryConfig};
use celeriac_server::{router, ServerState};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

const ADMIN: &str = "admin-secret-0123456789";
const READER: &str = "reader-secret-0123456789";

struct Api {
    app: Router,
    broker: Arc<MemoryBroker>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn start() -> Api {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Arc::new(MemoryBroker::new());
    let backend = Arc::new(MemoryBackend::default());
    let bus = Arc::new(MemoryEventBus::default());
    let stop = CancellationToken::new();
    let config = WorkerConfig {
        queues: vec!["celery".into(), "slow".into()],
        concurrency: 4,
        hostname: "celeriac@api-test".into(),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(broker.clone(), backend.clone(), builtins::registry(), config).with_events(bus.clone());
    tokio::spawn(worker.run(stop.clone()));
    let history = History::open(HistoryConfig::new(dir.path().join("history.db"))).expect("history");
    let keeper = spawn_keeper(history.clone(), bus.clone(), "memory".into(), stop.clone());
    let metrics = Arc::new(celeriac_metrics::Metrics::new());
    celeriac_server::feed_metrics(&keeper, metrics.clone());
    let mut state = ServerState::new(broker.clone(), backend, "memory://");
    state.history = Some(history);
    state.keeper = Some(keeper);
    state.events = Some(bus);
    state.metrics = Some(metrics);
    state.submit_allowlist = vec!["celeriac.add".into(), "celeriac.fail".into(), "celeriac.sleep".into()];
    let tokens = [format!("admin:{ADMIN}"), format!("read:{READER}")];
    let mut auth = AuthConfig::from_specs(&tokens).expect("tokens");
    auth.max_body_bytes = 4096;
    Api {
        app: protect(router(state), Arc::new(Auth::new(auth))),
        broker,
        stop,
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
}

impl Reply {
    /// An error answer with this status whose message mentions `needle`.
    fn assert_error(&self, status: StatusCode, needle: &str) {
        assert_eq!(self.status, status, "{}", self.json);
        assert!(
            self.json["error"].as_str().is_some_and(|e| e.contains(needle)),
            "expected an error mentioning {needle:?}: {}",
            self.json
        );
    }
}

impl Api {
    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let is_stream = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().is_ok_and(|t| t.starts_with("text/event-stream")));
        let json = if is_stream {
            Value::Null
        } else {
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, headers, json }
    }

    async fn call(&self, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "localhost");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    async fn get(&self, uri: &str) -> Value {
        let r = self.call(Method::GET, uri, Some(READER), None).await;
        assert_eq!(r.status, StatusCode::OK, "GET {uri}: {}", r.json);
        r.json
    }

    async fn submit(&self, name: &str, args: Value) -> String {
        let r = self
            .call(
                Method::POST,
                "/api/tasks",
                Some(ADMIN),
                Some(json!({"name": name, "args": args})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        r.json["id"].as_str().expect("id").to_owned()
    }

    /// Polls the history until `check` holds for the task's detail.
    async fn until(&self, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let r = self
                .call(Method::GET, &format!("/api/tasks/{id}"), Some(READER), None)
                .await;
            if r.status == StatusCode::OK && check(&r.json) {
                return r.json;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("task {id} never reached the expected state");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_demands_credentials_and_answers_with_them() {
    let api = start();
    let doc = api.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.json["paths"].as_object().expect("paths").clone();
    assert!(paths.len() >= 15, "only {} paths documented", paths.len());
    let id = api.submit("celeriac.add", json!([1, 2])).await;
    let mut checked = 0;
    for (path, ops) in &paths {
        let uri = path.replace("{id}", &id).replace("{name}", "celery");
        for (method, op) in ops.as_object().expect("operations") {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
            let admin = op["x-role"] == "admin";
            let body = op.get("requestBody").map(|_| match path.as_str() {
                "/api/tasks" => json!({"name": "celeriac.add", "args": [4, 5]}),
                "/api/dead/retry" | "/api/dead/drop" => json!({"all": true}),
                "/api/session" => json!({"token": ADMIN}),
                _ => json!({}),
            });
            if path != "/api/session" {
                let anon = api.call(method.clone(), &uri, None, body.clone()).await;
                assert_eq!(
                    anon.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} without credentials"
                );
                assert!(anon.headers.contains_key(header::WWW_AUTHENTICATE));
                assert!(anon.json["error"].is_string(), "{method} {path}: {}", anon.json);
            }
            if admin {
                let reader = api.call(method.clone(), &uri, Some(READER), body.clone()).await;
                assert_eq!(
                    reader.status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} with a read-only token"
                );
            }
            let token = if path == "/api/session" && method != Method::GET {
                None
            } else {
                Some(ADMIN)
            };
            let ok = api.call(method.clone(), &uri, token.or(Some(ADMIN)), body).await;
            let want: u16 = op["responses"]
                .as_object()
                .and_then(|r| r.keys().find(|k| k.starts_with('2')).cloned())
                .and_then(|k| k.parse().ok())
                .expect("a success response");
            assert_eq!(ok.status.as_u16(), want, "{method} {path}: {}", ok.json);
            checked += 1;
        }
    }
    assert!(checked >= 19, "checked {checked} operations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors() {
    let api = start();
    let big = json!({"name": "celeriac.add", "args": ["x".repeat(8000)]});
    let r = api.call(Method::POST, "/api/tasks", Some(ADMIN), Some(big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.json);

    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/tasks")
        .header(header::HOST, "localhost")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"name\": \"celeriac.add\", "))
        .expect("request");
    api.send(req)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "malformed JSON");

    let r = api
        .call(
            Method::POST,
            "/api/tasks",
            Some(ADMIN),
            Some(json!({"name": "os.system", "args": ["rm -rf /"]})),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "allowlist");

    let r = api
        .call(
            Method::POST,
            "/api/tasks",
            Some(ADMIN),
            Some(json!({"name": "celeriac.add", "options": {"countdown": -1}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let r = api
        .call(
            Method::POST,
            "/api/tasks",
            Some(ADMIN),
            Some(json!({"name": "celeriac.add", "options": {"exec": 1}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let r = api.call(Method::GET, "/api/tasks?state=DONE", Some(READER), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let r = api.call(Method::GET, "/api/tasks?limit=many", Some(READER), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    let r = api
        .call(Method::GET, "/api/tasks/no-such-task", Some(READER), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.json);
    let r = api
        .call(Method::POST, "/api/dead/retry", Some(ADMIN), Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_session_needs_the_csrf_token_to_change_anything() {
    let api = start();
    let sign_in = api
        .call(Method::POST, "/api/session", None, Some(json!({"token": ADMIN})))
        .await;
    assert_eq!(sign_in.status, StatusCode::OK);
    let cookie = sign_in.headers[header::SET_COOKIE].to_str().expect("cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("name=value").to_owned();
    let csrf = sign_in.json["csrf_token"].as_str().expect("csrf").to_owned();
    let post = |with_csrf: bool, origin: Option<&str>| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/api/queues/celery/pause")
            .header(header::HOST, "localhost")
            .header(header::COOKIE, &session);
        if with_csrf {
            req = req.header("x-csrf-token", &csrf);
        }
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        req.body(Body::empty()).expect("request")
    };
    assert_eq!(
        api.send(post(false, None)).await.status,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    assert_eq!(
        api.send(post(true, Some("https://evil.example"))).await.status,
        StatusCode::FORBIDDEN,
        "cross-site"
    );
    assert_eq!(
        api.send(post(true, Some("http://localhost"))).await.status,
        StatusCode::OK
    );
    assert_eq!(api.broker.paused_queues().await.expect("paused"), ["celery"]);
    // Reading needs the cookie only.
    let req = Request::builder()
        .uri("/api/queues")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, &session)
        .body(Body::empty())
        .expect("request");
    assert_eq!(api.send(req).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_run_and_show_in_history_dead_letters_queues_and_metrics() {
    let api = start();
    let ok = api.submit("celeriac.add", json!([20, 22])).await;
    let waited = api.get(&format!("/api/tasks/{ok}/wait?timeout=10")).await;
    assert_eq!(waited["ready"], true);
    assert_eq!(waited["result"]["result"], 42);
    let detail = api
        .until(&ok, |d| d["timeline"].as_array().is_some_and(|t| t.len() >= 4))
        .await;
    assert_eq!(detail["state"], "SUCCESS");
    assert_eq!(detail["name"], "celeriac.add");
    assert_eq!(detail["worker"], "celeriac@api-test", "{detail}");
    assert_eq!(detail["stored"]["result"], 42);
    assert!(detail["queue_wait"].as_f64().is_some_and(|w| w >= 0.0), "{detail}");
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(kinds, ["task-sent", "task-received", "task-started", "task-succeeded"]);

    let bad = api.submit("celeriac.fail", json!(["<script>alert(1)</script>"])).await;
    let failed = api
        .until(&bad, |d| d["state"] == "FAILURE" && d["exception"].is_string())
        .await;
    assert!(failed["exception"]
        .as_str()
        .is_some_and(|e| e.starts_with("RuntimeError(")));
    let listed = api.get("/api/tasks?state=FAILURE").await;
    assert_eq!(listed["tasks"][0]["id"], bad.as_str());
    let mut dead = Value::Null;
    for _ in 0..200 {
        dead = api.get("/api/dead").await;
        if dead["dead"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let entry = &dead["dead"][0];
    assert_eq!(entry["task_id"], bad.as_str());
    assert!(
        entry["reason"].as_str().is_some_and(|r| r.contains("RuntimeError")),
        "{entry}"
    );
    let dead_id = entry["id"].as_str().expect("dead id").to_owned();
    let retried = api
        .call(
            Method::POST,
            "/api/dead/retry",
            Some(ADMIN),
            Some(json!({"id": dead_id})),
        )
        .await;
    assert_eq!(retried.json["retried"], 1);
    // It runs again: a second failure in its timeline.
    api.until(&bad, |d| {
        d["timeline"]
            .as_array()
            .is_some_and(|t| t.iter().filter(|e| e["type"] == "task-failed").count() == 2)
    })
    .await;

    // Pause "slow": a task sent there waits; resume: it runs.
    let r = api
        .call(Method::POST, "/api/queues/slow/pause", Some(ADMIN), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let r = api
        .call(
            Method::POST,
            "/api/tasks",
            Some(ADMIN),
            Some(json!({"name": "celeriac.add", "args": [1, 1], "options": {"queue": "slow"}})),
        )
        .await;
    let held = r.json["id"].as_str().expect("id").to_owned();
    let queues = api.get("/api/queues").await;
    let slow = queues["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["name"] == "slow"))
        .expect("slow listed")
        .clone();
    assert_eq!(slow["paused"], true);
    assert_eq!(slow["ready"], 1);
    let waited = api.get(&format!("/api/tasks/{held}/wait?timeout=1")).await;
    assert_eq!(waited["ready"], false);
    api.call(Method::POST, "/api/queues/slow/resume", Some(ADMIN), None)
        .await;
    let waited = api.get(&format!("/api/tasks/{held}/wait?timeout=10")).await;
    assert_eq!(waited["ready"], true);

    // Terminate a running task.
    let long = api.submit("celeriac.sleep", json!([600])).await;
    api.until(&long, |d| d["state"] == "STARTED").await;
    let r = api
        .call(
            Method::POST,
            &format!("/api/tasks/{long}/revoke"),
            Some(ADMIN),
            Some(json!({"terminate": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    api.until(&long, |d| d["state"] == "REVOKED").await;

    let workers = api.get("/api/workers").await;
    assert_eq!(workers["workers"][0]["hostname"], "celeriac@api-test");
    assert_eq!(workers["workers"][0]["alive"], true);

    let r = api.call(Method::GET, "/metrics", Some(READER), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.json.as_str().expect("metrics text").to_owned();
    let scrape = prom_text_format_parser::Scrape::parse(&text).expect("parses as Prometheus text");
    let value = |name: &str, task: &str| -> f64 {
        scrape
            .metrics
            .iter()
            .filter(|m| m.name == name)
            .flat_map(|m| m.samples.iter())
            .filter(|s| s.labels.iter().any(|l| l.key == "task" && l.value == task))
            .map(|s| s.value.value.as_f64())
            .sum()
    };
    assert!(value("celeriac_tasks_succeeded_total", "celeriac.add") >= 2.0, "{text}");
    assert!(value("celeriac_tasks_failed_total", "celeriac.fail") >= 1.0, "{text}");
    assert!(text.contains("celeriac_queue_messages"), "{text}");
    let waits: f64 = scrape
        .metrics
        .iter()
        .filter(|m| m.name == "celeriac_task_queue_wait_seconds")
        .flat_map(|m| m.samples.iter())
        .filter(|s| s.value.value_type == prom_text_format_parser::ValueType::Count)
        .filter(|s| s.labels.iter().any(|l| l.key == "task" && l.value == "celeriac.add"))
        .map(|s| s.value.value.as_f64())
        .sum();
    assert!(waits >= 2.0, "queue waits observed: {waits}\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_deliver_live_events() {
    let api = start();
    let req = Request::builder()
        .uri("/api/events?type=task-")
        .header(header::HOST, "localhost")
        .header(header::AUTHORIZATION, format!("Bearer {READER}"))
        .body(Body::empty())
        .expect("request");
    let resp = api.app.clone().oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let id = api.submit("celeriac.add", json!([2, 2])).await;
    let mut text = String::new();
    let read = async {
        while !text.contains("task-succeeded") {
            let Some(frame) = body.frame().await else { break };
            if let Ok(data) = frame.expect("frame").into_data() {
                text.push_str(&String::from_utf8_lossy(&data));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("events in time");
    assert!(text.contains("event: task-received"), "{text}");
    assert!(text.contains(&id), "{text}");
    // One task's stream starts with its timeline so far.
    let req = Request::builder()
        .uri(format!("/api/tasks/{id}/events"))
        .header(header::HOST, "localhost")
        .header(header::AUTHORIZATION, format!("Bearer {READER}"))
        .body(Body::empty())
        .expect("request");
    let resp = api.app.clone().oneshot(req).await.expect("response");
    let mut body = resp.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("a first event")
        .expect("frame")
        .expect("ok");
    let first = String::from_utf8_lossy(frame.data_ref().expect("data")).into_owned();
    assert!(first.contains("event: task-sent"), "{first}");
}
