//! The dashboard at `/`: one static HTML shell and its scripts and style,
//! compiled into the binary. The page holds no data, so it is public; its
//! scripts sign the browser in and read everything from the JSON API.
//!
//! Everything it loads comes from this server, so the HTML is served with
//! a Content-Security-Policy that forbids inline scripts and styles and
//! every other origin: even a task result that slipped past the scripts'
//! text-only rendering could not run.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::ServerState;

/// The policy of the HTML page: its own scripts, styles, images, API calls
/// and event streams, `data:` images (the blank favicon), and no framing.
pub(crate) const CONTENT_SECURITY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// One file of the dashboard, served at `path`.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// The file `name` of this folder, served at `/assets/<name>`.
macro_rules! asset {
    ($content_type:expr, $name:literal) => {
        Asset {
            path: concat!("/assets/", $name),
            content_type: $content_type,
            body: include_str!($name),
        }
    };
}

/// The scripts and the style sheet. `dashboard.js` is the entry module; it
/// imports the others by relative URL, so they must all live under `/assets/`.
static ASSETS: &[Asset] = &[
    asset!(CSS, "dashboard.css"),
    asset!(JS, "dashboard.js"),
    asset!(JS, "api.js"),
    asset!(JS, "dom.js"),
    asset!(JS, "charts.js"),
    asset!(JS, "overview.js"),
    asset!(JS, "tasks.js"),
    asset!(JS, "fleet.js"),
    asset!(JS, "dead.js"),
    asset!(JS, "submit.js"),
];

/// `/` and the files under `/assets/`. No access check: the files are the
/// same for everyone and the API guards the data.
pub(crate) fn routes() -> Router<ServerState> {
    let mut router = Router::new().route("/", get(page));
    for asset in ASSETS {
        router = router.route(
            asset.path,
            get(move || async move { file(asset.content_type, asset.body) }),
        );
    }
    router
}

async fn page() -> Response {
    let mut response = file(HTML, include_str!("index.html"));
    response
        .headers_mut()
        .insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY));
    response
}

/// A static file. `no-cache` rather than a long lifetime: the files are
/// small and change with the binary, and revalidating keeps a browser from
/// mixing an old script with a newer API.
fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    #[test]
    fn every_asset_is_under_assets_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for asset in ASSETS {
            assert!(asset.path.starts_with("/assets/"), "{}", asset.path);
            assert!(seen.insert(asset.path), "{} listed twice", asset.path);
        }
    }
}
