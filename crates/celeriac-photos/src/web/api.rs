//! JSON reads: `GET /api/photos` (recent uploads with their progress) and
//! `GET /api/photos/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::{json, Value};

use super::upload::view_json;
use crate::app::Photos;

pub(crate) async fn recent(State(photos): State<Photos>) -> Response {
    let gallery = photos.gallery();
    let uploads = match gallery.recent(photos.config().gallery_size).await {
        Ok(uploads) => uploads,
        Err(e) => return unavailable(&e),
    };
    let mut views: Vec<Value> = Vec::with_capacity(uploads.len());
    for upload in uploads {
        match gallery.view(upload).await {
            Ok(view) => views.push(view_json(&view)),
            Err(e) => return unavailable(&e),
        }
    }
    Json(json!({ "photos": views })).into_response()
}

pub(crate) async fn one(State(photos): State<Photos>, Path(id): Path<String>) -> Response {
    let gallery = photos.gallery();
    match gallery.get(&id).await {
        Ok(Some(upload)) => match gallery.view(upload).await {
            Ok(view) => Json(view_json(&view)).into_response(),
            Err(e) => unavailable(&e),
        },
        Ok(None) => (StatusCode::NOT_FOUND, Json(json!({ "error": "no such photo" }))).into_response(),
        Err(e) => unavailable(&e),
    }
}

fn unavailable(e: &celeriac::BrokerError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": format!("the store is unavailable: {e}") })),
    )
        .into_response()
}
