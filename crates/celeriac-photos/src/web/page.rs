//! The gallery page: upload form, drop zone and the recent uploads, with
//! the script that uploads, and follows results over server-sent events.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use celeriac_server::escape;

use super::card::card;
use crate::app::Photos;
use crate::gallery::PhotoView;
use crate::imaging::ACCEPTED_TYPES;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// `GET /`: the page. Relative links need the trailing slash, so a request
/// without it is redirected.
pub(crate) async fn gallery_page(State(photos): State<Photos>, OriginalUri(uri): OriginalUri) -> Response {
    if !uri.path().ends_with('/') {
        return Redirect::permanent(&format!("{}/", uri.path())).into_response();
    }
    render(&photos, None, StatusCode::OK).await
}

/// The page with an optional error message above the gallery.
pub(crate) async fn render(photos: &Photos, error: Option<&str>, status: StatusCode) -> Response {
    let gallery = photos.gallery();
    let (views, trouble) = match gallery.recent(photos.config().gallery_size).await {
        Ok(uploads) => {
            let mut views = Vec::with_capacity(uploads.len());
            let mut trouble = None;
            for upload in uploads {
                match gallery.view(upload).await {
                    Ok(view) => views.push(view),
                    Err(e) => trouble = Some(e.to_string()),
                }
            }
            (views, trouble)
        }
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let mut html = head();
    html.push_str(&intro(photos));
    html.push_str("<div id=\"errors\" role=\"alert\">");
    for message in error.into_iter().chain(trouble.as_deref()) {
        html.push_str(&format!("<p class=\"error\">{}</p>", escape(message)));
    }
    html.push_str("</div>");
    html.push_str(&gallery_list(&views));
    html.push_str(&format!("<script>{SCRIPT}</script></body></html>"));
    (status, Html(html)).into_response()
}

fn head() -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Photo faces · Celeriac</title><style>{STYLE}</style></head><body>\
         <p class=\"crumbs\"><a href=\"../\">Celeriac</a> › Photo faces</p><h1>Photo faces</h1>"
    )
}

fn intro(photos: &Photos) -> String {
    let accept: Vec<&str> = ACCEPTED_TYPES.iter().map(|(t, _)| *t).collect();
    format!(
        "<p>Upload photos: the server checks each one, stores it and hands <code>faces.detect</code> to \
         the workers, then answers at once. Each photo shows <em>Processing…</em> until a worker is done, \
         then the faces it found, boxed.</p>\
         <form id=\"upload\" method=\"post\" action=\"upload\" enctype=\"multipart/form-data\">\
         <label id=\"drop\" class=\"drop\"><span>Drop photos here, or choose files</span> \
         <input id=\"files\" type=\"file\" name=\"photo\" accept=\"{}\" multiple></label> \
         <button type=\"submit\">Upload</button>\
         <p class=\"hint\">PNG, JPEG or WebP, up to {:.0} MB each.</p></form>",
        accept.join(","),
        photos.config().max_upload_bytes as f64 / 1e6
    )
}

fn gallery_list(views: &[PhotoView]) -> String {
    let mut html = String::from("<h2>Recent uploads</h2>");
    if views.is_empty() {
        html.push_str("<p id=\"empty\">Nothing uploaded yet.</p>");
    }
    html.push_str("<ul id=\"gallery\">");
    for view in views {
        html.push_str(&card(view));
    }
    html.push_str("</ul>");
    html
}
