//! Errors and JSON bodies for the `/api/...` routes.
//!
//! Every API failure answers the same shape, `{"error": "<message>", "status": <code>}`,
//! so clients need one error path. [`ApiJson`] reads request bodies and turns every way
//! a body can be wrong into such an error instead of axum's plain-text rejections.

use std::fmt;

use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use celeriac_core::BrokerError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An API failure: an HTTP status and a message for the person or program calling.
///
/// Renders as JSON `{"error": "<message>", "status": <code>}`. A 401 also carries
/// `WWW-Authenticate: Bearer`, as HTTP requires for that status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no or wrong credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: credentials are fine but not enough, or the request is refused (CSRF).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the request clashes with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 413: the request body is over the limit.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// 501: the server (or its backend) cannot do this.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, message)
    }

    /// 503: a dependency (the broker) is unreachable or busy; retrying may help.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500: a bug or an unexpected state.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message shown to the caller.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<BrokerError> for ApiError {
    fn from(err: BrokerError) -> Self {
        let message = err.to_string();
        match err {
            BrokerError::Unavailable(_) => Self::unavailable(message),
            BrokerError::Invalid(_) => Self::bad_request(message),
            BrokerError::Unsupported(_) => Self::not_implemented(message),
            BrokerError::Internal(_) => Self::internal(message),
            // BrokerError is non-exhaustive: an unknown kind is not the caller's fault.
            _ => Self::internal(message),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    status: u16,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            // The caller sees the message; operators need it in the log too.
            tracing::error!(status = self.status.as_u16(), message = %self.message, "API request failed");
        }
        let body = ErrorBody {
            error: &self.message,
            status: self.status.as_u16(),
        };
        let mut response = json_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"celeriac\""));
        }
        response
    }
}

/// Serializes `value` as a JSON response; a value that cannot be serialized is a bug, so 500.
fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "could not serialize a JSON response");
            let body = r#"{"error":"could not serialize the response","status":500}"#;
            let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}

/// A JSON request body (as an extractor) or a 200 JSON response (as a return value).
///
/// As an extractor it rejects with an [`ApiError`]:
/// - 400 `expected Content-Type: application/json` when the content type is missing or
///   not JSON (`application/json` or any `application/*+json`);
/// - 413 when the body is over the limit set by [`axum::extract::DefaultBodyLimit`]
///   ([`crate::auth::protect`] sets it from [`crate::auth::AuthConfig::max_body_bytes`]);
/// - 400 `malformed JSON: ...` or `JSON body does not fit this endpoint: ...`, with serde's
///   message including line and column, when the body does not parse into `T`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiJson<T>(pub T);

/// The body limit in force, put in request extensions by [`crate::auth::protect`] so that
/// a 413 can say what the limit is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub(crate) usize);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(req.headers()) {
            return Err(ApiError::bad_request("expected Content-Type: application/json"));
        }
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::payload_too_large(match limit {
                    Some(limit) => format!("request body is larger than the limit of {limit} bytes"),
                    None => "request body is too large".to_owned(),
                }));
            }
            Err(rejection) => {
                return Err(ApiError::new(
                    rejection.status(),
                    format!("could not read the request body: {}", rejection.body_text()),
                ));
            }
        };
        parse_json(&bytes).map(ApiJson)
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("request body is empty; expected a JSON document"));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        use serde_json::error::Category;
        match err.classify() {
            Category::Data => ApiError::bad_request(format!("JSON body does not fit this endpoint: {err}")),
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(format!("malformed JSON: {err}")),
        }
    })
}

/// `application/json` or `application/<something>+json`, parameters (charset) ignored.
fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json_content_type(&headers));
        for (value, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/problem+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
            ("text/json", false),
        ] {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json_content_type(&headers), ok, "{value}");
        }
    }

    #[test]
    fn broker_errors_map_to_statuses() {
        let cases = [
            (BrokerError::Unavailable("down".into()), 503),
            (BrokerError::Invalid("bad".into()), 400),
            (BrokerError::Unsupported("chords"), 501),
            (BrokerError::Internal("oops".into()), 500),
        ];
        for (err, status) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.status().as_u16(), status, "{api}");
        }
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        let err = parse_json::<serde_json::Value>(b"{\"a\": ").expect_err("truncated");
        assert!(err.message().starts_with("malformed JSON"), "{}", err.message());
        assert!(err.message().contains("line 1"), "{}", err.message());
        let err = parse_json::<Vec<u32>>(b"{\"a\": 1}").expect_err("wrong type");
        assert!(err.message().contains("does not fit"), "{}", err.message());
        let err = parse_json::<serde_json::Value>(b"  ").expect_err("empty");
        assert!(err.message().contains("empty"), "{}", err.message());
    }
}
