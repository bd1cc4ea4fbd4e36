//! The app's routes, as an axum [`Router`] to nest (at `/photos` in
//! `celeriac serve`). Links are relative to the gallery page, so the router
//! works at any mount point. It has no authentication of its own: mounted
//! in a server, it is behind whatever layers guard that server's routes.

mod api;
mod card;
mod events;
mod images;
mod page;
mod upload;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use celeriac_server::MountedApp;

pub use card::faces_text;
pub use events::{MAX_IDS, STREAM_LIMIT};

use crate::app::Photos;

/// Room for the multipart framing around the files.
const FORM_OVERHEAD: usize = 64 * 1024;

/// The routes: `/` (the gallery page), `POST /upload`, `GET /events`
/// (server-sent events), `/p/{id}/original` and `/p/{id}/thumbnail`
/// (images), `/api/photos` and `/api/photos/{id}` (JSON).
pub fn router(photos: Photos) -> Router {
    let config = photos.config();
    let body_limit = config
        .max_upload_bytes
        .saturating_mul(config.max_files_per_request)
        .saturating_add(FORM_OVERHEAD);
    Router::new()
        .route("/", get(page::gallery_page))
        .route("/upload", post(upload::upload).layer(DefaultBodyLimit::max(body_limit)))
        .route("/events", get(events::events))
        .route("/p/{id}/original", get(images::original))
        .route("/p/{id}/thumbnail", get(images::thumbnail))
        .route("/api/photos", get(api::recent))
        .route("/api/photos/{id}", get(api::one))
        .with_state(photos)
}

/// Nests the app's [`router`] into `outer` at `path` (e.g. `/photos`).
/// The page lives at `path/` — its links are relative to it — and `path`
/// redirects there (a nested router alone does not match `path/`).
pub fn mount(outer: Router, path: &str, photos: Photos) -> Router {
    let path = path.trim_end_matches('/');
    let page = Router::new()
        .route(&format!("{path}/"), get(page::gallery_page))
        .with_state(photos.clone());
    outer.merge(page).nest(path, router(photos))
}

/// The front-page link to the app mounted at `path` (e.g. `/photos`).
pub fn mounted_app(path: &str) -> MountedApp {
    MountedApp {
        path: format!("{}/", path.trim_end_matches('/')),
        title: "Photo faces".into(),
        description: "Upload photos; workers find the faces while the page stays responsive, \
                      and each result appears live."
            .into(),
    }
}
