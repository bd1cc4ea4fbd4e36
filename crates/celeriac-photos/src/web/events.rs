//! `GET /events?ids=a,b,c`: server-sent events, one `photo` event per listed
//! photo once it is finished (`data`: the photo as JSON with its card's
//! HTML), then `done`. A photo that is unknown or expired gets a `missing`
//! event. Waiting is woken by the result store, not by polling. A stream
//! lasts at most [`STREAM_LIMIT`]; the browser's `EventSource` then
//! reconnects with the same ids, so following resumes, across server
//! restarts too.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::Stream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::upload::view_json;
use crate::app::Photos;

/// Longest a stream stays open.
pub const STREAM_LIMIT: Duration = Duration::from_secs(300);

/// Most photos one stream follows.
pub const MAX_IDS: usize = 200;

#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    #[serde(default)]
    ids: String,
}

pub(crate) async fn events(State(photos): State<Photos>, Query(query): Query<EventsQuery>) -> Response {
    let ids: Vec<String> = query
        .ids
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .take(MAX_IDS)
        .map(str::to_owned)
        .collect();
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(follow(photos, ids, tx));
    Sse::new(receiver_stream(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn receiver_stream(rx: mpsc::Receiver<Event>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|event| (Ok(event), rx)) })
}

/// How long the stream waits on one photo before looking at all again.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Sends an event per photo as it finishes; stops early when the client
/// has gone (sending fails).
///
/// Photos finish in about the order they were uploaded (queues are FIFO),
/// so the stream waits on the oldest unfinished one — woken by the result
/// store — and looks at the others whenever it moves on or a second has
/// passed. One waiter per stream, not per photo: a stream following
/// hundreds of photos costs one read per result commit.
async fn follow(photos: Photos, ids: Vec<String>, tx: mpsc::Sender<Event>) {
    let gallery = photos.gallery();
    let deadline = Instant::now() + STREAM_LIMIT;
    let mut pending = Vec::with_capacity(ids.len());
    for id in ids {
        match gallery.get(&id).await {
            Ok(Some(upload)) => pending.push(upload),
            Ok(None) => {
                if !send(&tx, Event::default().event("missing").json_data(json!({ "id": id }))).await {
                    return;
                }
            }
            Err(e) => tracing::warn!(%id, "cannot follow photo: {e}"),
        }
    }
    pending.sort_by_key(|upload| upload.uploaded_at);
    loop {
        let mut unfinished = Vec::with_capacity(pending.len());
        for upload in pending {
            match gallery.view(upload.clone()).await {
                Ok(view) if view.progress.is_finished() => {
                    if !send(&tx, Event::default().event("photo").json_data(view_json(&view))).await {
                        return;
                    }
                }
                Ok(_) => unfinished.push(upload),
                Err(e) => {
                    tracing::warn!(id = %upload.id, "cannot read photo progress: {e}");
                    unfinished.push(upload);
                }
            }
        }
        pending = unfinished;
        let Some(oldest) = pending.first() else {
            let _ = tx.send(Event::default().event("done").data("{}")).await;
            return;
        };
        let now = Instant::now();
        if now >= deadline {
            return; // the browser reconnects with the same ids
        }
        let slice = CHECK_EVERY.min(deadline - now);
        if let Err(e) = gallery.wait_finished(oldest.clone(), slice).await {
            tracing::warn!("cannot wait for results: {e}");
            tokio::time::sleep(slice).await;
        }
    }
}

/// Sends an event; false once the client has gone.
async fn send(tx: &mpsc::Sender<Event>, event: Result<Event, axum::Error>) -> bool {
    match event {
        Ok(event) => tx.send(event).await.is_ok(),
        Err(e) => {
            tracing::warn!("cannot encode an event: {e}");
            true
        }
    }
}
