//! `GET /p/{id}/original` and `/p/{id}/thumbnail`: a photo's bytes from the
//! blob store, found through its gallery entry (never by raw blob key).

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::Photos;
use crate::gallery::Progress;

pub(crate) async fn original(State(photos): State<Photos>, Path(id): Path<String>) -> Response {
    match photos.gallery().get(&id).await {
        Ok(Some(upload)) => blob(&photos, &upload.photo.blob).await,
        Ok(None) => not_found(),
        Err(e) => unavailable(&e),
    }
}

pub(crate) async fn thumbnail(State(photos): State<Photos>, Path(id): Path<String>) -> Response {
    let upload = match photos.gallery().get(&id).await {
        Ok(Some(upload)) => upload,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e),
    };
    match photos.gallery().view(upload).await {
        Ok(view) => match view.progress {
            Progress::Done {
                thumbnail: Some(thumbnail),
                ..
            } => blob(&photos, &thumbnail.blob).await,
            _ => not_found(),
        },
        Err(e) => unavailable(&e),
    }
}

async fn blob(photos: &Photos, key: &str) -> Response {
    match photos.blobs().get(key).await {
        Ok(Some(blob)) => (
            [
                (CONTENT_TYPE, blob.content_type),
                // A key's bytes never change.
                (CACHE_CONTROL, "private, max-age=86400, immutable".to_owned()),
                (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ],
            blob.data,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(e) => unavailable(&e),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such photo (it may have expired)").into_response()
}

fn unavailable(e: &celeriac::BrokerError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the store is unavailable: {e}"),
    )
        .into_response()
}
