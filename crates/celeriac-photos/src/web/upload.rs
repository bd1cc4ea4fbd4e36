//! `POST /upload`: read the files, check every one, and only then store and
//! dispatch them — a request with one bad file dispatches nothing.

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};
use serde_json::{json, Value};

use super::card::card;
use super::page::render;
use crate::app::Photos;
use crate::config::PhotosConfig;
use crate::gallery::PhotoView;
use crate::validation::{check, clean_name, IncomingFile, UploadError};

/// The upload handler. Answers JSON to scripts (`Accept: application/json`)
/// and the page (or a redirect to it) to plain form posts.
pub(crate) async fn upload(
    State(photos): State<Photos>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let wants_json = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let checked = match multipart {
        Ok(multipart) => read_files(multipart, photos.config()).await.and_then(|files| {
            files
                .into_iter()
                .map(|file| check(file, photos.config().max_upload_bytes))
                .collect::<Result<Vec<_>, _>>()
        }),
        Err(rejection) => Err(UploadError::BadRequest(rejection.body_text())),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(e) => return refuse(&photos, &e, wants_json).await,
    };
    let mut accepted = Vec::with_capacity(checked.len());
    for photo in checked {
        match photos.accept(photo).await {
            Ok(view) => accepted.push(view),
            Err(e) => {
                tracing::error!("upload not accepted: {e}");
                return failure(
                    &photos,
                    StatusCode::SERVICE_UNAVAILABLE,
                    &e.to_string(),
                    None,
                    wants_json,
                )
                .await;
            }
        }
    }
    if wants_json {
        let photos: Vec<Value> = accepted.iter().map(view_json).collect();
        (StatusCode::ACCEPTED, Json(json!({ "photos": photos }))).into_response()
    } else {
        Redirect::to("./").into_response()
    }
}

/// A photo as JSON, with its card's HTML for the page's script.
pub(crate) fn view_json(view: &PhotoView) -> Value {
    let mut value = serde_json::to_value(view).unwrap_or_else(|_| json!({ "id": view.upload.id }));
    value["html"] = Value::String(card(view));
    value
}

async fn refuse(photos: &Photos, e: &UploadError, wants_json: bool) -> Response {
    failure(photos, e.status(), &e.to_string(), e.file(), wants_json).await
}

async fn failure(photos: &Photos, status: StatusCode, message: &str, file: Option<&str>, json: bool) -> Response {
    if json {
        (status, Json(json!({ "error": message, "file": file }))).into_response()
    } else {
        render(photos, Some(message), status).await
    }
}

/// Every file part, each read up to the size limit.
async fn read_files(mut multipart: Multipart, config: &PhotosConfig) -> Result<Vec<IncomingFile>, UploadError> {
    let mut files = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e, None, config))?
    {
        let Some(name) = field.file_name().map(str::to_owned) else {
            continue; // a plain form field, not a file
        };
        let content_type = field.content_type().map(str::to_owned);
        let data = read_field(field, &name, config.max_upload_bytes).await?;
        if name.is_empty() && data.is_empty() {
            continue; // the empty part a form sends when no file was chosen
        }
        if files.len() == config.max_files_per_request {
            return Err(UploadError::TooManyFiles {
                max: config.max_files_per_request,
            });
        }
        files.push(IncomingFile {
            name,
            content_type,
            data,
        });
    }
    if files.is_empty() {
        return Err(UploadError::NoFile);
    }
    Ok(files)
}

async fn read_field(mut field: Field<'_>, name: &str, limit: usize) -> Result<Vec<u8>, UploadError> {
    let mut data = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error_limit(&e, name, limit))?
    {
        if data.len() + chunk.len() > limit {
            return Err(UploadError::TooLarge {
                name: clean_name(name),
                limit,
            });
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

fn multipart_error(e: &MultipartError, name: Option<&str>, config: &PhotosConfig) -> UploadError {
    multipart_error_limit(e, name.unwrap_or("the upload"), config.max_upload_bytes)
}

fn multipart_error_limit(e: &MultipartError, name: &str, limit: usize) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge {
            name: clean_name(name),
            limit,
        }
    } else {
        UploadError::BadRequest(e.body_text())
    }
}
