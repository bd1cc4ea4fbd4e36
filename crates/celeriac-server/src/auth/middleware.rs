//! [`protect`]: the layer that resolves who is calling and refuses forged requests.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{AUTHORIZATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::constant_time::constant_time_eq;
use super::cookie::session_cookies;
use super::origin::{cross_site_reason, host_is_loopback};
use super::principal::{ActiveSession, AuthMethod, Principal};
use super::role::Role;
use super::routes::{session_routes, SESSION_PATH};
use super::state::Auth;
use crate::api_error::BodyLimit;
use crate::ApiError;

/// Header carrying the CSRF token on cookie-authenticated unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Guards `router`: adds the session routes (`/api/session`, see [`crate::auth`]), the
/// body limit ([`crate::auth::AuthConfig::max_body_bytes`]), and a middleware that, for
/// every request:
///
/// 1. refuses (403) a POST/PUT/PATCH/DELETE (any method but GET, HEAD, OPTIONS, TRACE)
///    whose `Origin` differs from `Host` or whose `Sec-Fetch-Site` is `cross-site` or
///    `same-site`, tokens or not;
/// 2. in open mode (no tokens), refuses (403) requests addressed to a `Host` that is not
///    loopback, against DNS rebinding, and treats every other request as admin;
/// 3. otherwise resolves the caller from `Authorization: Bearer <token>` (a wrong or
///    malformed one is 401; the cookie is then not consulted) or the `celeriac_session`
///    cookie, and for a cookie caller's unsafe request demands `X-CSRF-Token` (403);
/// 4. puts the [`Principal`], if any, in the request extensions for
///    [`crate::auth::ReadAccess`] and [`crate::auth::AdminAccess`].
///
/// Requests without credentials pass, so public routes (`/health`, a sign-in page) work;
/// handlers that need access say so with the extractors. Responses get `nosniff`,
/// `X-Frame-Options: DENY` and `Referrer-Policy: same-origin` unless a handler set them.
///
/// Call it on the finished router, after every route and nested app is added: routes
/// added afterwards are not guarded.
///
/// # Panics
///
/// When `router` already has a route at `/api/session`.
pub fn protect(router: Router, auth: Arc<Auth>) -> Router {
    let limit = auth.config().max_body_bytes;
    router
        .merge(session_routes().with_state(Arc::clone(&auth)))
        .layer(middleware::from_fn_with_state(auth, guard))
        .layer(DefaultBodyLimit::max(limit))
}

async fn guard(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    if let Err(err) = admit(&auth, &mut request) {
        let mut response = err.into_response();
        add_security_headers(response.headers_mut());
        return response;
    }
    let mut response = next.run(request).await;
    add_security_headers(response.headers_mut());
    response
}

/// Checks the request and records who made it; an error is the response to send instead.
fn admit(auth: &Auth, request: &mut Request) -> Result<(), ApiError> {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if unsafe_method {
        if let Some(reason) = cross_site_reason(request.headers(), request.uri()) {
            return Err(ApiError::forbidden(reason));
        }
    }
    request.extensions_mut().insert(BodyLimit(auth.config().max_body_bytes));

    if auth.is_open() {
        if !host_is_loopback(request.headers(), request.uri()) {
            return Err(ApiError::forbidden(
                "this server has no API token configured, so it only answers requests addressed to \
                 localhost or a loopback address; configure a token to serve other host names",
            ));
        }
        request.extensions_mut().insert(Principal {
            role: Role::Admin,
            method: AuthMethod::Open,
        });
        return Ok(());
    }

    if let Some(value) = request.headers().get(AUTHORIZATION) {
        let role = bearer_role(auth, value)?;
        request.extensions_mut().insert(Principal {
            role,
            method: AuthMethod::Bearer,
        });
        return Ok(());
    }

    // Signing in authenticates by the token in the body; an old cookie there grants
    // nothing, so it neither needs nor gets a CSRF check (the Origin check still applied).
    let signing_in = request.method() == Method::POST && request.uri().path() == SESSION_PATH;
    if signing_in {
        return Ok(());
    }
    let Some((id, session)) = session_cookies(request.headers()).find_map(|id| Some((id, auth.session(id)?))) else {
        // No credentials, or only a stale cookie: public routes still work.
        return Ok(());
    };
    if unsafe_method && !csrf_ok(request.headers(), &session.csrf_token) {
        return Err(ApiError::forbidden(
            "missing or wrong CSRF token: send the csrf_token from GET /api/session as the X-CSRF-Token header",
        ));
    }
    let active = ActiveSession {
        id: id.to_owned(),
        csrf_token: session.csrf_token,
    };
    request.extensions_mut().insert(Principal {
        role: session.role,
        method: AuthMethod::Session,
    });
    request.extensions_mut().insert(active);
    Ok(())
}

/// The role for an `Authorization` header, which must be `Bearer <token>`.
fn bearer_role(auth: &Auth, value: &HeaderValue) -> Result<Role, ApiError> {
    let malformed = || ApiError::unauthorized("the Authorization header must be `Bearer <token>`");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    auth.role_for_token(token.trim())
        .ok_or_else(|| ApiError::unauthorized("wrong bearer token"))
}

fn csrf_ok(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(CSRF_HEADER)
        .is_some_and(|sent| constant_time_eq(sent.as_bytes(), expected.as_bytes()))
}

fn add_security_headers(headers: &mut HeaderMap) {
    let defaults = [
        // Browsers must not guess a JSON error is HTML (and run it).
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // No framing: keeps other sites from clickjacking the dashboard's buttons.
        (X_FRAME_OPTIONS, "DENY"),
        (REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in defaults {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
}
