//! The dashboard's files as the server sends them: `/` with its
//! Content-Security-Policy, every script and the style sheet with the right
//! content type, and the scripts' promise never to parse data as HTML.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use celeriac::memory::{MemoryBackend, MemoryBroker};
use celeriac_server::auth::{protect, Auth, AuthConfig};
use celeriac_server::{router, ServerState};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'";

fn app(tokens: &[&str]) -> Router {
    let state = ServerState::new(
        Arc::new(MemoryBroker::new()),
        Arc::new(MemoryBackend::default()),
        "memory://",
    );
    let specs: Vec<String> = tokens.iter().map(|t| (*t).to_owned()).collect();
    let auth = AuthConfig::from_specs(&specs).expect("tokens");
    protect(router(state), Arc::new(Auth::new(auth)))
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }
}

async fn get(app: &Router, uri: &str) -> Got {
    let request = Request::builder()
        .uri(uri)
        .header(header::HOST, "localhost")
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    Got {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
    }
}

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dashboard")
}

/// The dashboard's static files in the source tree, by extension.
fn sources(extension: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(source_dir()).expect("src/dashboard") {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) == Some(extension) {
            let name = path.file_name().and_then(|n| n.to_str()).expect("file name").to_owned();
            let text = std::fs::read_to_string(&path).expect("read a dashboard file");
            out.push((name, text));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no .{extension} file in src/dashboard");
    out
}

#[tokio::test]
async fn the_page_is_public_with_a_strict_policy() {
    let app = app(&["admin:0123456789abcdef0123"]);
    let page = get(&app, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header(header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(page.header(header::CONTENT_SECURITY_POLICY), CSP);
    assert_eq!(page.header(header::CACHE_CONTROL), "no-cache");
    assert_eq!(page.header(header::X_FRAME_OPTIONS), "DENY");
    assert!(page.body.starts_with("<!doctype html>"), "{}", page.body);
    assert!(page
        .body
        .contains(r#"<script type="module" src="assets/dashboard.js"></script>"#));
    assert!(page
        .body
        .contains(r#"<link rel="stylesheet" href="assets/dashboard.css">"#));
    // The policy forbids inline code and style; the page must not need them.
    assert_eq!(
        page.body.matches("<script").count(),
        page.body.matches("<script type=\"module\" src=").count(),
        "inline script in the page"
    );
    for forbidden in [
        "<style",
        " style=",
        " onclick=",
        " onload=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!page.body.contains(forbidden), "the page contains {forbidden:?}");
    }
    // The page holds no data: the API it reads still demands a sign-in.
    assert_eq!(get(&app, "/api/tasks").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&app, "/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_asset_is_served_with_its_content_type() {
    let app = app(&[]);
    let mut files = sources("js");
    files.extend(sources("css"));
    for (name, text) in &files {
        let got = get(&app, &format!("/assets/{name}")).await;
        assert_eq!(got.status, StatusCode::OK, "/assets/{name} is not served");
        let expected = if name.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(got.header(header::CONTENT_TYPE), expected, "{name}");
        assert_eq!(got.header(header::CACHE_CONTROL), "no-cache", "{name}");
        assert_eq!(got.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{name}");
        assert_eq!(&got.body, text, "/assets/{name} differs from src/dashboard/{name}");
    }
    assert_eq!(get(&app, "/assets/missing.js").await.status, StatusCode::NOT_FOUND);
}

#[test]
fn scripts_import_only_served_siblings() {
    let names: Vec<String> = sources("js").into_iter().map(|(n, _)| n).collect();
    let mut imports = 0;
    for (name, text) in sources("js") {
        // `from "…"` ends every static import, one line or several.
        for (_, rest) in text.match_indices("from \"").map(|(i, _)| text.split_at(i + 6)) {
            let target = rest.split('"').next().unwrap_or_default();
            let file = target
                .strip_prefix("./")
                .unwrap_or_else(|| panic!("{name} imports {target:?}, not a sibling module"));
            assert!(
                names.iter().any(|n| n == file),
                "{name} imports {file}, which is not served"
            );
            imports += 1;
        }
    }
    assert!(imports > 0, "the entry module imports nothing?");
}

#[test]
fn scripts_never_parse_strings_as_html() {
    // Data from the API goes in as text nodes only; none of these may appear
    // at all, so no later edit can route task data through them.
    let forbidden = [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "createContextualFragment",
        "DOMParser",
        "eval(",
        "new Function",
        "setAttribute(\"style\"",
    ];
    for (name, text) in sources("js") {
        for word in forbidden {
            assert!(!text.contains(word), "{name} uses {word}");
        }
    }
}
