//! The `celeriac_session` cookie: reading it from requests, writing `Set-Cookie`.

use std::time::Duration;

use axum::http::header::COOKIE;
use axum::http::HeaderMap;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "celeriac_session";

/// Every `celeriac_session` value sent, in order. There can be several (e.g. one set for
/// a parent domain); the caller uses the first that names a live session.
pub(crate) fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(COOKIE)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (name.trim() == SESSION_COOKIE).then(|| value.trim().trim_matches('"'))
        })
        .filter(|value| !value.is_empty())
}

/// `Set-Cookie` for a new session. `HttpOnly` keeps scripts (and so XSS) from reading
/// it; `SameSite=Strict` keeps other sites from making the browser send it.
pub(crate) fn session_cookie(id: &str, ttl: Duration, secure: bool) -> String {
    cookie(id, ttl.as_secs(), secure)
}

/// `Set-Cookie` that makes the browser drop the session cookie.
pub(crate) fn clear_session_cookie(secure: bool) -> String {
    cookie("", 0, secure)
}

fn cookie(value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("theme=dark; celeriac_session=abc ; x=y"),
        );
        headers.append(
            COOKIE,
            HeaderValue::from_static("celeriac_session=def; celeriac_session="),
        );
        let found: Vec<&str> = session_cookies(&headers).collect();
        assert_eq!(found, ["abc", "def"]);
    }

    #[test]
    fn cookie_attributes() {
        let set = session_cookie("id", Duration::from_secs(60), true);
        assert_eq!(
            set,
            "celeriac_session=id; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure"
        );
        assert!(!clear_session_cookie(false).contains("Secure"));
        assert!(clear_session_cookie(false).contains("Max-Age=0"));
    }
}
