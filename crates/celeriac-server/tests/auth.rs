//! The security layer end to end: `protect` around a small router, driven with `oneshot`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, ORIGIN, SET_COOKIE, WWW_AUTHENTICATE};
use axum::http::request::Builder;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use celeriac_server::auth::{
    check_exposure, protect, AdminAccess, Auth, AuthConfig, AuthConfigError, Exposure, ReadAccess, Role,
};
use celeriac_server::{ApiError, ApiJson};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const ADMIN: &str = "admin-secret-0123456789";
const READER: &str = "reader-secret-0123456789";
const LIMIT: usize = 1024;

fn token_config() -> AuthConfig {
    let mut config =
        AuthConfig::from_specs(&[format!("admin:{ADMIN}"), format!("read:{READER}")]).expect("valid specs");
    config.max_body_bytes = LIMIT;
    config
}

async fn list(ReadAccess(principal): ReadAccess) -> ApiJson<Value> {
    ApiJson(json!({ "role": principal.role, "method": principal.method }))
}

async fn create(AdminAccess(_): AdminAccess, ApiJson(body): ApiJson<Value>) -> ApiJson<Value> {
    ApiJson(json!({ "got": body }))
}

async fn fails() -> Result<ApiJson<Value>, ApiError> {
    Err(ApiError::not_found("no such task"))
}

fn app(config: AuthConfig) -> (Router, Arc<Auth>) {
    let auth = Arc::new(Auth::new(config));
    let router = Router::new()
        .route("/api/things", get(list).post(create))
        .route("/api/missing", get(fails))
        .route("/health", get(|| async { "ok" }));
    (protect(router, Arc::clone(&auth)), auth)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, json }
}

fn get_req(uri: &str) -> Builder {
    Request::builder().method(Method::GET).uri(uri)
}

fn post_json(uri: &str) -> Builder {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, "application/json")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn error_message(reply: &Reply) -> &str {
    reply.json["error"].as_str().expect("error message in JSON body")
}

/// Signs in with `token`; returns the `Cookie` header value and the CSRF token.
async fn sign_in(app: &Router, token: &str) -> (String, String) {
    let body = json!({ "token": token }).to_string();
    let reply = send(app, post_json("/api/session").body(Body::from(body)).expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let set_cookie = reply
        .headers
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ascii");
    let pair = set_cookie.split(';').next().expect("cookie pair").to_owned();
    let csrf = reply.json["csrf_token"].as_str().expect("csrf_token").to_owned();
    (pair, csrf)
}

#[tokio::test]
async fn no_credentials_is_401_with_www_authenticate() {
    let (app, _) = app(token_config());
    let reply = send(&app, get_req("/api/things").body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenge = reply
        .headers
        .get(WWW_AUTHENTICATE)
        .expect("WWW-Authenticate")
        .to_str()
        .expect("ascii");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_eq!(error_message(&reply), "sign in or send an Authorization: Bearer token");
    assert_eq!(reply.json["status"], 401);
}

#[tokio::test]
async fn public_routes_need_no_credentials() {
    let (app, _) = app(token_config());
    let reply = send(&app, get_req("/health").body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers.get("x-content-type-options").expect("nosniff"), "nosniff");
    assert_eq!(reply.headers.get("x-frame-options").expect("frame options"), "DENY");
}

#[tokio::test]
async fn wrong_bearer_is_401_even_with_a_valid_cookie() {
    let (app, _) = app(token_config());
    let (cookie, _) = sign_in(&app, ADMIN).await;
    let request = get_req("/api/things")
        .header(AUTHORIZATION, bearer("not-the-token-at-all"))
        .header(COOKIE, &cookie)
        .body(Body::empty())
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.headers.contains_key(WWW_AUTHENTICATE));
    assert_eq!(error_message(&reply), "wrong bearer token");

    let request = get_req("/api/things")
        .header(AUTHORIZATION, "Basic YWRtaW46YWRtaW4=")
        .body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(error_message(&reply).contains("Bearer <token>"));
}

#[tokio::test]
async fn read_only_bearer_reads_but_cannot_administer() {
    let (app, _) = app(token_config());
    let request = get_req("/api/things")
        .header(AUTHORIZATION, bearer(READER))
        .body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({ "role": "read_only", "method": "bearer" }));

    let request = post_json("/api/things")
        .header(AUTHORIZATION, bearer(READER))
        .body(Body::from("{}"));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(error_message(&reply), "this needs an admin token");
}

#[tokio::test]
async fn admin_bearer_is_allowed() {
    let (app, _) = app(token_config());
    let request = post_json("/api/things")
        .header(AUTHORIZATION, bearer(ADMIN))
        .body(Body::from(r#"{"n": 1}"#));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json, json!({ "got": { "n": 1 } }));
    assert_eq!(
        reply.headers.get(CONTENT_TYPE).expect("content type"),
        "application/json"
    );
}

#[tokio::test]
async fn api_errors_render_as_json() {
    let (app, _) = app(token_config());
    let request = get_req("/api/missing").body(Body::empty()).expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json, json!({ "error": "no such task", "status": 404 }));
}

#[tokio::test]
async fn oversized_body_is_413() {
    let (app, _) = app(token_config());
    let big = format!(r#"{{"data": "{}"}}"#, "x".repeat(LIMIT * 2));
    let request = post_json("/api/things")
        .header(AUTHORIZATION, bearer(ADMIN))
        .body(Body::from(big));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_message(&reply).contains("1024 bytes"), "{}", reply.json);
    assert_eq!(reply.json["status"], 413);
}

#[tokio::test]
async fn malformed_json_is_400_with_serde_message() {
    let (app, _) = app(token_config());
    let request = post_json("/api/things")
        .header(AUTHORIZATION, bearer(ADMIN))
        .body(Body::from(r#"{"n": "#));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = error_message(&reply);
    assert!(message.starts_with("malformed JSON"), "{message}");
    assert!(message.contains("line 1 column"), "{message}");
}

#[tokio::test]
async fn wrong_content_type_is_400() {
    let (app, _) = app(token_config());
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/things")
        .header(AUTHORIZATION, bearer(ADMIN))
        .header(CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_message(&reply), "expected Content-Type: application/json");

    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/things")
        .header(AUTHORIZATION, bearer(ADMIN))
        .body(Body::from("{}"))
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_message(&reply), "expected Content-Type: application/json");
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie() {
    let (app, _) = app(token_config());
    let body = json!({ "token": ADMIN }).to_string();
    let reply = send(&app, post_json("/api/session").body(Body::from(body)).expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let cookie = reply
        .headers
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ascii");
    assert!(cookie.starts_with("celeriac_session="), "{cookie}");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(cookie.contains("; Max-Age=43200"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert_eq!(reply.json["role"], "admin");
    assert_eq!(reply.json["csrf_token"].as_str().expect("csrf").len(), 64);
    assert_eq!(reply.headers.get("cache-control").expect("cache-control"), "no-store");
}

#[tokio::test]
async fn secure_cookies_adds_secure() {
    let mut config = token_config();
    config.secure_cookies = true;
    let (app, _) = app(config);
    let body = json!({ "token": READER }).to_string();
    let reply = send(&app, post_json("/api/session").body(Body::from(body)).expect("request")).await;
    let cookie = reply
        .headers
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ascii");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert_eq!(reply.json["role"], "read_only");
}

#[tokio::test]
async fn sign_in_with_wrong_token_is_401() {
    let (app, auth) = app(token_config());
    let body = json!({ "token": "wrong-token-0123456789" }).to_string();
    let reply = send(&app, post_json("/api/session").body(Body::from(body)).expect("request")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(!reply.headers.contains_key(SET_COOKIE));
    assert_eq!(auth.session_count(), 0);
}

#[tokio::test]
async fn cookie_requests_need_the_csrf_token_to_change_things() {
    let (app, _) = app(token_config());
    let (cookie, csrf) = sign_in(&app, ADMIN).await;

    // Reading needs no CSRF token.
    let request = get_req("/api/things").header(COOKIE, &cookie).body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({ "role": "admin", "method": "session" }));

    let request = post_json("/api/things").header(COOKIE, &cookie).body(Body::from("{}"));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        error_message(&reply).starts_with("missing or wrong CSRF token"),
        "{}",
        reply.json
    );

    let request = post_json("/api/things")
        .header(COOKIE, &cookie)
        .header("x-csrf-token", "0".repeat(64))
        .body(Body::from("{}"));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    let request = post_json("/api/things")
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .body(Body::from("{}"));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
}

#[tokio::test]
async fn get_session_reports_the_caller() {
    let (app, _) = app(token_config());
    let reply = send(&app, get_req("/api/session").body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    let (cookie, csrf) = sign_in(&app, READER).await;
    let request = get_req("/api/session").header(COOKIE, &cookie).body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json,
        json!({ "role": "read_only", "csrf_token": csrf, "method": "session", "open": false })
    );

    let request = get_req("/api/session")
        .header(AUTHORIZATION, bearer(ADMIN))
        .body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(
        reply.json,
        json!({ "role": "admin", "csrf_token": null, "method": "bearer", "open": false })
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let (app, _) = app(token_config());
    let request = post_json("/api/things")
        .header(HOST, "localhost:8000")
        .header(ORIGIN, "https://evil.example")
        .header(AUTHORIZATION, bearer(ADMIN))
        .body(Body::from("{}"));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(error_message(&reply).contains("cross-site"), "{}", reply.json);

    let request = post_json("/api/things")
        .header(HOST, "localhost:8000")
        .header("sec-fetch-site", "cross-site")
        .header(AUTHORIZATION, bearer(ADMIN))
        .body(Body::from("{}"));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // Signing in from another site is refused too (login CSRF).
    let body = json!({ "token": ADMIN }).to_string();
    let request = post_json("/api/session")
        .header(HOST, "localhost:8000")
        .header(ORIGIN, "http://localhost:9999")
        .body(Body::from(body));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // Same origin passes.
    let request = post_json("/api/things")
        .header(HOST, "localhost:8000")
        .header(ORIGIN, "http://localhost:8000")
        .header("sec-fetch-site", "same-origin")
        .header(AUTHORIZATION, bearer(ADMIN))
        .body(Body::from("{}"));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
}

#[tokio::test]
async fn sign_out_invalidates_the_session() {
    let (app, auth) = app(token_config());
    let (cookie, csrf) = sign_in(&app, ADMIN).await;
    assert_eq!(auth.session_count(), 1);

    // Signing out changes state, so it needs the CSRF token like any cookie request.
    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/api/session")
        .header(COOKIE, &cookie);
    let reply = send(&app, request.body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(auth.session_count(), 1);

    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/api/session")
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf);
    let reply = send(&app, request.body(Body::empty()).expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({ "signed_out": true }));
    let cleared = reply
        .headers
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ascii");
    assert!(cleared.starts_with("celeriac_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(auth.session_count(), 0);

    let request = get_req("/api/things").header(COOKIE, &cookie).body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_in_again_replaces_the_old_session() {
    let (app, auth) = app(token_config());
    let (old_cookie, _) = sign_in(&app, READER).await;
    let body = json!({ "token": ADMIN }).to_string();
    let request = post_json("/api/session")
        .header(COOKIE, &old_cookie)
        .body(Body::from(body));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "old cookie needs no CSRF token to sign in again"
    );
    assert_eq!(auth.session_count(), 1);
    let request = get_req("/api/things").header(COOKIE, &old_cookie).body(Body::empty());
    assert_eq!(
        send(&app, request.expect("request")).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn open_mode_lets_everyone_in_as_admin() {
    let (app, _) = app(AuthConfig::default());
    let request = post_json("/api/things")
        .header(HOST, "127.0.0.1:8000")
        .body(Body::from("{}"));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);

    let request = get_req("/api/things").body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.json, json!({ "role": "admin", "method": "open" }));

    let request = get_req("/api/session")
        .header(HOST, "localhost:8000")
        .body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(
        reply.json,
        json!({ "role": "admin", "csrf_token": null, "method": "open", "open": true })
    );
}

#[tokio::test]
async fn open_mode_still_refuses_cross_site_and_foreign_hosts() {
    let (app, _) = app(AuthConfig::default());
    let request = post_json("/api/things")
        .header(HOST, "localhost:8000")
        .header(ORIGIN, "https://evil.example")
        .body(Body::from("{}"));
    assert_eq!(
        send(&app, request.expect("request")).await.status,
        StatusCode::FORBIDDEN
    );

    // DNS rebinding: a foreign name pointed at 127.0.0.1 gets nothing, even a read.
    let request = get_req("/api/things")
        .header(HOST, "evil.example:8000")
        .body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(error_message(&reply).contains("configure a token"), "{}", reply.json);

    let body = json!({ "token": ADMIN }).to_string();
    let request = post_json("/api/session").body(Body::from(body));
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "nothing to sign in with");
}

#[test]
fn exposure_depends_on_address_and_tokens() {
    let open = AuthConfig::default();
    let addr = |s: &str| s.parse::<SocketAddr>().expect("address");
    assert_eq!(
        check_exposure(addr("127.0.0.1:8000"), &open),
        Ok(Exposure::OpenOnLoopback)
    );
    assert_eq!(check_exposure(addr("[::1]:8000"), &open), Ok(Exposure::OpenOnLoopback));
    assert!(Exposure::OpenOnLoopback
        .warning()
        .expect("warning")
        .contains("anyone on this machine"));

    for refused in ["0.0.0.0:8000", "[::]:8000", "192.168.1.5:8000"] {
        let err = check_exposure(addr(refused), &open).expect_err(refused);
        let message = err.to_string();
        assert!(message.contains("refusing to listen"), "{message}");
        assert!(message.contains("admin:<secret>"), "{message}");
    }

    let tokens = token_config();
    assert_eq!(
        check_exposure(addr("0.0.0.0:8000"), &tokens),
        Ok(Exposure::TokenRequired)
    );
    assert_eq!(
        check_exposure(addr("127.0.0.1:8000"), &tokens),
        Ok(Exposure::TokenRequired)
    );
    assert_eq!(Exposure::TokenRequired.warning(), None);
}

#[test]
fn token_specs_are_checked() {
    let specs = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let config = AuthConfig::from_specs(&specs(&[
        "admin:0123456789abcdef",
        "read:fedcba9876543210",
        "readonly:with:colons:inside-ok",
    ]))
    .expect("valid");
    let roles: Vec<Role> = config.tokens.iter().map(|t| t.role()).collect();
    assert_eq!(roles, [Role::Admin, Role::ReadOnly, Role::ReadOnly]);
    assert_eq!(config.tokens[2].secret(), "with:colons:inside-ok");
    assert_eq!(config.tokens[0].name(), "admin-1");

    let err = |s: &[&str]| AuthConfig::from_specs(&specs(s)).expect_err("invalid");
    assert!(matches!(err(&["admin:"]), AuthConfigError::EmptySecret { .. }));
    assert!(matches!(
        err(&["admin:short"]),
        AuthConfigError::ShortSecret { len: 5, .. }
    ));
    assert!(matches!(
        err(&["0123456789abcdef0123"]),
        AuthConfigError::MissingSeparator { .. }
    ));
    assert!(matches!(
        err(&["root:0123456789abcdef"]),
        AuthConfigError::UnknownRole { .. }
    ));
    assert!(matches!(
        err(&["admin:0123456789 abcdef"]),
        AuthConfigError::BadCharacters { .. }
    ));
    assert!(matches!(
        err(&["admin:0123456789abcdef", "read:0123456789abcdef"]),
        AuthConfigError::DuplicateSecret { first: 1, second: 2 }
    ));

    let message = err(&["read:abc", "admin:0123456789abcdef"]).to_string();
    assert!(message.contains("token spec 1"), "{message}");
    assert!(message.contains("at least 16"), "{message}");
    assert!(!message.contains("abc"), "no secret in errors: {message}");
    let message = err(&["nosuchrole-secret-0123456789"]).to_string();
    assert!(!message.contains("secret-0123456789"), "no secret in errors: {message}");
}

#[test]
fn debug_output_hides_secrets() {
    let config = token_config();
    let shown = format!("{config:?}");
    assert!(!shown.contains(ADMIN), "{shown}");
    assert!(!shown.contains(READER), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");

    let auth = Auth::new(config);
    let session = auth.sign_in(ADMIN).expect("sign in");
    let shown = format!("{auth:?} {session:?}");
    assert!(!shown.contains(ADMIN), "{shown}");
    assert!(!shown.contains(&session.id), "{shown}");
    assert!(!shown.contains(&session.csrf_token), "{shown}");
}

#[tokio::test]
async fn expired_sessions_no_longer_work() {
    let mut config = token_config();
    config.session_ttl = std::time::Duration::ZERO;
    let (app, _) = app(config);
    let (cookie, _) = sign_in(&app, ADMIN).await;
    let request = get_req("/api/things").header(COOKIE, &cookie).body(Body::empty());
    let reply = send(&app, request.expect("request")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
