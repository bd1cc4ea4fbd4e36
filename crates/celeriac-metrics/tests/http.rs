//! `GET /metrics` through the router, and the standalone server.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use celeriac_core::events::Event;
use celeriac_core::QueueStats;
use celeriac_metrics::{router, router_with_refresh, serve, Metrics, Refresh, RefreshFuture, CONTENT_TYPE};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

fn fed() -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::new());
    metrics.observe(
        &Event::task("task-received", "w@h", 1, "id")
            .with("name", "tasks.add")
            .with("queue", "default"),
    );
    metrics
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, Option<String>, String) {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, content_type, String::from_utf8(body.to_vec()).expect("utf-8"))
}

#[tokio::test]
async fn serves_metrics_as_prometheus_text() {
    let (status, content_type, body) = get(router(fed()), "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some(CONTENT_TYPE));
    let p = common::parse(&body);
    assert_eq!(
        p.value(
            "celeriac_tasks_received_total",
            &[("task", "tasks.add"), ("queue", "default")]
        ),
        1.0
    );

    let (status, _, _) = get(router(fed()), "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn refresh_runs_before_each_render() {
    let metrics = fed();
    let calls = Arc::new(AtomicU64::new(0));
    let refresh: Refresh = {
        let (metrics, calls) = (Arc::clone(&metrics), Arc::clone(&calls));
        Arc::new(move || -> RefreshFuture {
            let (metrics, calls) = (Arc::clone(&metrics), Arc::clone(&calls));
            Box::pin(async move {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                metrics.set_queues(&[QueueStats {
                    queue: "default".to_owned(),
                    ready: n,
                    ..QueueStats::default()
                }]);
            })
        })
    };
    let app = router_with_refresh(metrics, refresh);
    let ready = [("queue", "default"), ("state", "ready")];
    for expected in [1.0, 2.0] {
        let (status, _, body) = get(app.clone(), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(common::parse(&body).value("celeriac_queue_messages", &ready), expected);
    }
}

#[tokio::test]
async fn serve_answers_on_the_bound_port_until_cancelled() {
    let shutdown = CancellationToken::new();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(serve(
        "127.0.0.1:0".parse().expect("addr"),
        fed(),
        shutdown.clone(),
        move |addr| {
            let _ = bound_tx.send(addr);
        },
    ));
    let addr = bound_rx.await.expect("bound");

    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut response))
        .await
        .expect("in time")
        .expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("content-type: {CONTENT_TYPE}")));
    assert!(body.contains("celeriac_tasks_received_total"));

    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops when cancelled")
        .expect("task");
    assert!(result.is_ok(), "{result:?}");
}
