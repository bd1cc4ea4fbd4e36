//! The load: uploads on a fixed schedule, the light page ten times a
//! second, and results followed over server-sent events.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, Instant};

use super::http;

/// Longest an upload request may take before it counts as timed out.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a light-page request may take before it counts as timed out.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// One run's schedule.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Uploads per second.
    pub rate: f64,
    /// How long uploads are sent.
    pub duration: Duration,
    /// How long results may still arrive afterwards.
    pub drain: Duration,
    /// Light-page requests per second.
    pub page_rate: f64,
}

/// What one run observed. Times are milliseconds; `completed_at` is
/// seconds since the start.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// Uploads sent.
    pub uploads_sent: u64,
    /// Response times of accepted uploads.
    pub upload_ms: Vec<f64>,
    /// Uploads refused, failed or timed out.
    pub upload_failures: u64,
    /// Light-page requests sent.
    pub pages_sent: u64,
    /// Response times of light pages answered 200.
    pub page_ms: Vec<f64>,
    /// Light-page requests failed or timed out.
    pub page_failures: u64,
    /// Upload start to result received, per finished photo.
    pub result_ms: Vec<f64>,
    /// When each result was received.
    pub completed_at: Vec<f64>,
    /// Photos whose processing failed (a `failed` result).
    pub processing_failures: u64,
}

type Shared = Arc<Mutex<Samples>>;

fn lock(samples: &Shared) -> MutexGuard<'_, Samples> {
    samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Accepted uploads not finished yet: photo id → when its upload started.
type Waiting = Arc<Mutex<HashMap<String, DateTime<Utc>>>>;

/// How often the accepted photos are gathered into a new event stream.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// Runs `plan` against the server at `addr` with `photos` in turn.
pub async fn run_load(addr: SocketAddr, photos: &[(String, Vec<u8>)], plan: &LoadPlan) -> Samples {
    let samples: Shared = Arc::default();
    let waiting: Waiting = Arc::default();
    let start = Instant::now();
    let start_wall = Utc::now();
    let stop_sending = start + plan.duration;
    let give_up = stop_sending + plan.drain;
    let mut tasks = JoinSet::new();

    let photos: Arc<Vec<(String, Vec<u8>)>> = Arc::new(photos.to_vec());
    let clock = Clock { start, start_wall };
    tasks.spawn(send_uploads(
        addr,
        photos,
        plan.rate,
        clock,
        stop_sending,
        samples.clone(),
        waiting.clone(),
    ));
    tasks.spawn(request_pages(
        addr,
        plan.page_rate,
        start,
        stop_sending,
        samples.clone(),
    ));
    tasks.spawn(follow_results(
        addr,
        clock,
        stop_sending,
        give_up,
        samples.clone(),
        waiting.clone(),
    ));
    let _ = timeout(give_up.saturating_duration_since(Instant::now()), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    let result = lock(&samples).clone();
    result
}

/// The start of a run, by the monotonic clock (for scheduling) and the
/// wall clock (to compare with the result store's completion times).
#[derive(Debug, Clone, Copy)]
struct Clock {
    start: Instant,
    start_wall: DateTime<Utc>,
}

fn photo_kind(name: &str) -> &'static str {
    if name.ends_with(".jpg") || name.ends_with(".jpeg") {
        "image/jpeg"
    } else {
        "image/png"
    }
}

async fn send_uploads(
    addr: SocketAddr,
    photos: Arc<Vec<(String, Vec<u8>)>>,
    rate: f64,
    clock: Clock,
    stop: Instant,
    samples: Shared,
    waiting: Waiting,
) {
    let mut inflight = JoinSet::new();
    for i in 0u64.. {
        let at = clock.start + Duration::from_secs_f64(i as f64 / rate);
        if at >= stop {
            break;
        }
        sleep_until(at).await;
        let (name, data) = &photos[(i as usize) % photos.len().max(1)];
        let request = http::upload(addr, "/photos/upload", name, photo_kind(name), data);
        lock(&samples).uploads_sent += 1;
        let (samples, waiting) = (samples.clone(), waiting.clone());
        inflight.spawn(async move {
            let sent = Instant::now();
            let sent_wall = Utc::now();
            let outcome = timeout(UPLOAD_TIMEOUT, http::exchange(addr, request)).await;
            let elapsed = sent.elapsed();
            let accepted = match outcome {
                Ok(Ok((status, body))) if status.is_success() => serde_json::from_slice::<Value>(&body).ok(),
                _ => None,
            };
            let Some(answer) = accepted else {
                lock(&samples).upload_failures += 1;
                return;
            };
            let mut s = lock(&samples);
            s.upload_ms.push(elapsed.as_secs_f64() * 1000.0);
            let photo = &answer["photos"][0];
            let id = photo["id"].as_str().unwrap_or_default().to_owned();
            match photo["progress"]["state"].as_str() {
                // Inline modes answer with the result itself.
                Some("done" | "failed") => record_result(&mut s, photo, sent_wall, clock),
                _ => {
                    drop(s);
                    if let Ok(mut w) = waiting.lock() {
                        w.insert(id, sent_wall);
                    }
                }
            }
        });
    }
    while inflight.join_next().await.is_some() {}
}

/// Records a finished photo. Its result time is when the result store
/// recorded the last task (`progress.finished_at`), so the generator's
/// own batching of event streams does not count; a failure, which has no
/// such time, counts when it was received.
fn record_result(s: &mut Samples, view: &Value, sent: DateTime<Utc>, clock: Clock) {
    let finished = view["progress"]["finished_at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    let millis = |from: DateTime<Utc>| (finished - from).num_microseconds().unwrap_or(0) as f64 / 1000.0;
    s.result_ms.push(millis(sent).max(0.0));
    s.completed_at.push(millis(clock.start_wall) / 1000.0);
    if view["progress"]["state"] == "failed" {
        s.processing_failures += 1;
    }
}

async fn request_pages(addr: SocketAddr, rate: f64, start: Instant, stop: Instant, samples: Shared) {
    let mut inflight = JoinSet::new();
    for i in 0u64.. {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        if at >= stop {
            break;
        }
        sleep_until(at).await;
        lock(&samples).pages_sent += 1;
        let samples = samples.clone();
        inflight.spawn(async move {
            let sent = Instant::now();
            let outcome = timeout(PAGE_TIMEOUT, http::exchange(addr, http::get(addr, "/photos/"))).await;
            let mut s = lock(&samples);
            match outcome {
                Ok(Ok((status, _))) if status.is_success() => s.page_ms.push(sent.elapsed().as_secs_f64() * 1000.0),
                _ => s.page_failures += 1,
            }
        });
    }
    while inflight.join_next().await.is_some() {}
}

/// Every [`FOLLOW_EVERY`], opens one event stream for the photos accepted
/// since the last one, as a page does for its new uploads.
async fn follow_results(
    addr: SocketAddr,
    clock: Clock,
    stop: Instant,
    give_up: Instant,
    samples: Shared,
    waiting: Waiting,
) {
    let mut streams = JoinSet::new();
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let fresh: Vec<(String, DateTime<Utc>)> = match waiting.lock() {
            Ok(mut w) => w.drain().collect(),
            Err(_) => Vec::new(),
        };
        if !fresh.is_empty() {
            let batch: HashMap<String, DateTime<Utc>> = fresh.into_iter().collect();
            streams.spawn(follow_batch(addr, batch, clock, give_up, samples.clone()));
        }
        if Instant::now() >= stop + Duration::from_secs(2) {
            break;
        }
    }
    while streams.join_next().await.is_some() {}
}

async fn follow_batch(
    addr: SocketAddr,
    mut batch: HashMap<String, DateTime<Utc>>,
    clock: Clock,
    give_up: Instant,
    samples: Shared,
) {
    let ids: Vec<&str> = batch.keys().map(String::as_str).collect();
    let path = format!("/photos/events?ids={}", ids.join(","));
    let follow = async {
        // A stream ends after STREAM_LIMIT; reopen until all are in.
        while !batch.is_empty() && Instant::now() < give_up {
            let Ok(response) = http::open(addr, http::get(addr, &path)).await else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let _ = http::read_events(response.into_body(), |event, data| {
                if event == "photo" {
                    if let Ok(view) = serde_json::from_str::<Value>(data) {
                        let id = view["id"].as_str().unwrap_or_default();
                        if let Some(sent) = batch.remove(id) {
                            record_result(&mut lock(&samples), &view, sent, clock);
                        }
                    }
                }
                event != "done" && !batch.is_empty()
            })
            .await;
        }
    };
    let _ = timeout(give_up.saturating_duration_since(Instant::now()), follow).await;
}
