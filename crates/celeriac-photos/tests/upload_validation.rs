//! The upload route refuses bad files with a clear message and a 4xx
//! status, and then nothing is stored or dispatched.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use celeriac::crates::core::{DecodeLimits, FetchRequest, TaskMessage};
use celeriac::{connect, Backends, Broker};
use celeriac_photos::{mount, Photos, PhotosConfig};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn app(max_upload_bytes: usize) -> (Router, Backends) {
    let backends = connect(Some("memory://"), None).unwrap();
    let config = PhotosConfig {
        max_upload_bytes,
        ..PhotosConfig::default()
    };
    let photos = Photos::new(&backends, config);
    (mount(Router::new(), "/photos", photos), backends)
}

async fn post(app: Router, files: &[(&str, &str, &[u8])], json: bool) -> (StatusCode, String) {
    let (content_type, body) = support::multipart(files);
    let mut request = Request::post("/photos/upload").header(header::CONTENT_TYPE, content_type);
    if json {
        request = request.header(header::ACCEPT, "application/json");
    }
    let response = app.oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn queued(broker: &Arc<dyn Broker>) -> u64 {
    broker.stats().await.unwrap().iter().map(|s| s.ready).sum()
}

async fn assert_nothing_dispatched(backends: &Backends) {
    assert_eq!(queued(&backends.broker).await, 0, "a task was dispatched");
    let recorded = backends
        .records
        .recent_records(celeriac_photos::gallery::COLLECTION, 10)
        .await
        .unwrap();
    assert!(recorded.is_empty(), "an upload was recorded: {recorded:?}");
}

#[tokio::test]
async fn a_text_file_is_refused_as_unsupported() {
    let (app, backends) = app(10_000_000);
    let (status, body) = post(app, &[("notes.txt", "text/plain", b"not a photo")], true).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body.contains("`notes.txt` is text/plain, not a photo"), "{body}");
    assert_nothing_dispatched(&backends).await;
}

#[tokio::test]
async fn an_oversized_photo_is_refused() {
    let photo = support::photo("astronaut.png");
    let (app, backends) = app(photo.len() - 1);
    let (status, body) = post(app, &[("astronaut.png", "image/png", &photo)], true).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body.contains("larger than the"), "{body}");
    assert_nothing_dispatched(&backends).await;
}

#[tokio::test]
async fn an_image_whose_header_does_not_decode_is_refused() {
    let (app, backends) = app(10_000_000);
    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.extend_from_slice(b"garbage, not an IHDR chunk");
    let (status, body) = post(app, &[("fake.png", "image/png", &fake)], true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("the image header cannot be read"), "{body}");
    assert_nothing_dispatched(&backends).await;
}

#[tokio::test]
async fn a_photo_sent_under_another_type_is_refused() {
    let (app, backends) = app(10_000_000);
    let photo = support::photo("coffee.png");
    let (status, body) = post(app, &[("coffee.jpg", "image/jpeg", &photo)], true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("is a PNG image but was sent as image/jpeg"), "{body}");
    assert_nothing_dispatched(&backends).await;
}

#[tokio::test]
async fn one_bad_file_stops_the_whole_request() {
    let (app, backends) = app(10_000_000);
    let photo = support::photo("camera.png");
    let files: [(&str, &str, &[u8]); 2] = [("camera.png", "image/png", &photo), ("notes.txt", "text/plain", b"x")];
    let (status, _) = post(app, &files, true).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_nothing_dispatched(&backends).await;
}

#[tokio::test]
async fn a_request_without_a_file_is_refused() {
    let (app, backends) = app(10_000_000);
    let (status, body) = post(app, &[], true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("no photo was uploaded"), "{body}");
    assert_nothing_dispatched(&backends).await;
}

#[tokio::test]
async fn a_form_post_gets_the_page_with_the_message() {
    let (app, backends) = app(10_000_000);
    let (status, body) = post(app, &[("notes.txt", "text/plain", b"x")], false).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body.contains("<p class=\"error\">`notes.txt` is text/plain, not a photo"),
        "{body}"
    );
    assert_nothing_dispatched(&backends).await;
}

#[tokio::test]
async fn a_good_photo_is_dispatched_at_once() {
    let (app, backends) = app(10_000_000);
    let photo = support::photo("astronaut.png");
    let (status, body) = post(app, &[("astronaut.png", "image/png", &photo)], true).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(body.contains("Processing…"), "{body}");
    // One message: the chain's first step with the thumbnail embedded,
    // carrying the blob key, never the photo's bytes.
    let queues = vec!["celery".to_owned()];
    let request = FetchRequest {
        consumer: "test",
        queues: &queues,
        max: 10,
        wait: Duration::from_millis(10),
        lease: Duration::from_secs(30),
    };
    let messages = backends.broker.fetch(request).await.unwrap();
    assert_eq!(messages.len(), 1);
    let message = TaskMessage::decode(&messages[0].payload, &DecodeLimits::default()).unwrap();
    assert_eq!(message.headers.task, "faces.detect");
    let key = message.args[0]["blob"].as_str().unwrap();
    assert_eq!(backends.blobs.get(key).await.unwrap().unwrap().data, photo);
    assert!(messages[0].payload.len() < 4096, "{} bytes", messages[0].payload.len());
}
