//! `/api/session`: signing a browser in and out.
//!
//! - `POST /api/session` with `{"token": "..."}`: sets the `celeriac_session` cookie and
//!   answers `{"role", "csrf_token"}`; 401 for a wrong token, 409 in open mode.
//! - `GET /api/session`: `{"role", "csrf_token", "method", "open"}` for the caller
//!   (`csrf_token` is null unless signed in by cookie); 401 without credentials.
//! - `DELETE /api/session`: ends the cookie's session and clears the cookie.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};

use super::cookie::{clear_session_cookie, session_cookie, session_cookies};
use super::extract::ReadAccess;
use super::principal::{ActiveSession, AuthMethod};
use super::role::Role;
use super::state::{Auth, SignInError};
use crate::{ApiError, ApiJson};

/// Where the session routes live.
pub(crate) const SESSION_PATH: &str = "/api/session";

/// The session routes; [`crate::auth::protect`] merges them into the protected router.
pub(crate) fn session_routes() -> Router<Arc<Auth>> {
    Router::new().route(SESSION_PATH, post(sign_in).get(current).delete(sign_out))
}

// No Debug: it holds the token.
#[derive(Deserialize)]
struct SignInRequest {
    token: String,
}

#[derive(Serialize)]
struct SignedIn {
    role: Role,
    csrf_token: String,
}

#[derive(Serialize)]
struct CurrentSession {
    role: Role,
    csrf_token: Option<String>,
    method: AuthMethod,
    open: bool,
}

#[derive(Serialize)]
struct SignedOut {
    signed_out: bool,
}

async fn sign_in(
    State(auth): State<Arc<Auth>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<Response, ApiError> {
    let session = match auth.sign_in(&request.token) {
        Ok(session) => session,
        Err(err @ SignInError::Open) => return Err(ApiError::conflict(err.to_string())),
        Err(SignInError::WrongToken) => {
            tracing::warn!("sign-in refused: wrong token");
            return Err(ApiError::unauthorized("wrong token"));
        }
        Err(err @ SignInError::Random(_)) => return Err(ApiError::internal(err.to_string())),
    };
    // A browser holds one session: end the ones it signs in over.
    for old in session_cookies(&headers) {
        auth.sign_out(old);
    }
    tracing::info!(role = %session.role, "signed in");
    let cookie = session_cookie(&session.id, session.ttl, auth.config().secure_cookies);
    let mut response = ApiJson(SignedIn {
        role: session.role,
        csrf_token: session.csrf_token,
    })
    .into_response();
    set_cookie(&mut response, &cookie)?;
    Ok(response)
}

async fn current(
    State(auth): State<Arc<Auth>>,
    ReadAccess(principal): ReadAccess,
    session: Option<Extension<ActiveSession>>,
) -> Response {
    let mut response = ApiJson(CurrentSession {
        role: principal.role,
        csrf_token: session.map(|Extension(s)| s.csrf_token),
        method: principal.method,
        open: auth.is_open(),
    })
    .into_response();
    no_store(&mut response);
    response
}

/// Needs no credentials: clearing the cookie is harmless, and a stale cookie should go
/// too. The middleware has already demanded the CSRF token if the cookie is live.
async fn sign_out(
    State(auth): State<Arc<Auth>>,
    session: Option<Extension<ActiveSession>>,
) -> Result<Response, ApiError> {
    let signed_out = session.is_some_and(|Extension(s)| auth.sign_out(&s.id));
    let mut response = ApiJson(SignedOut { signed_out }).into_response();
    set_cookie(&mut response, &clear_session_cookie(auth.config().secure_cookies))?;
    Ok(response)
}

fn set_cookie(response: &mut Response, cookie: &str) -> Result<(), ApiError> {
    let value =
        HeaderValue::from_str(cookie).map_err(|_| ApiError::internal("session cookie is not a valid header"))?;
    response.headers_mut().insert(SET_COOKIE, value);
    no_store(response);
    Ok(())
}

/// Session answers carry credentials: keep them out of caches.
fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
