//! Where a request comes from: cross-site detection (CSRF defence in depth, and the only
//! defence in open mode) and the loopback `Host` check (DNS rebinding defence).

use std::net::IpAddr;

use axum::http::header::{HOST, ORIGIN};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Uri};

/// Why an unsafe-method request looks cross-site, or `None` when it does not.
///
/// Browsers send `Origin` on cross-origin POST/PUT/PATCH/DELETE, and modern ones also
/// `Sec-Fetch-Site`. A request with neither (curl, scripts) is not from a browser page, so
/// it is let through to the credential checks.
pub(crate) fn cross_site_reason(headers: &HeaderMap, uri: &Uri) -> Option<&'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `same-site` is still another origin (a sibling subdomain or port).
        if site == "cross-site" || site == "same-site" {
            return Some("cross-site request refused (Sec-Fetch-Site)");
        }
    }
    let origin = headers.get(ORIGIN)?;
    let Some(origin) = origin.to_str().ok().and_then(|o| o.parse::<Uri>().ok()) else {
        // Includes `Origin: null`, sent by sandboxed frames and file:// pages.
        return Some("cross-site request refused (Origin is not a usable origin)");
    };
    let (Some(scheme), Some(origin_host)) = (origin.scheme_str(), origin.host()) else {
        return Some("cross-site request refused (Origin is not a usable origin)");
    };
    let Some(host) = request_authority(headers, uri) else {
        return Some("cross-site request refused (Origin sent without a Host to compare it with)");
    };
    let default_port = default_port(scheme);
    let same_host = origin_host.eq_ignore_ascii_case(host.host());
    let same_port = origin.port_u16().or(default_port) == host.port_u16().or(default_port);
    if same_host && same_port {
        None
    } else {
        Some("cross-site request refused (Origin does not match Host)")
    }
}

/// Whether the request is addressed to this machine by a loopback name or address. With no
/// `Host` at all the request is not from a browser (which always sends one), so it passes.
///
/// Open mode serves only such requests: otherwise a web page could point its own domain
/// at 127.0.0.1 (DNS rebinding) and drive the server as a same-origin page.
pub(crate) fn host_is_loopback(headers: &HeaderMap, uri: &Uri) -> bool {
    if headers.get(HOST).is_none() && uri.authority().is_none() {
        return true;
    }
    let Some(authority) = request_authority(headers, uri) else {
        return false;
    };
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

/// The `Host` header, or the URI's authority (HTTP/2 requests carry it there).
fn request_authority(headers: &HeaderMap, uri: &Uri) -> Option<Authority> {
    match headers.get(HOST) {
        Some(host) => host.to_str().ok()?.parse::<Authority>().ok(),
        None => uri.authority().cloned(),
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn origin_against_host() {
        let uri = Uri::from_static("/api/x");
        let same = [
            ("http://localhost:8000", "localhost:8000"),
            ("http://example.com", "example.com"),
            ("http://example.com", "example.com:80"),
            ("https://Example.com:443", "example.com"),
            ("http://[::1]:8000", "[::1]:8000"),
        ];
        for (origin, host) in same {
            let h = headers(&[("origin", origin), ("host", host)]);
            assert_eq!(cross_site_reason(&h, &uri), None, "{origin} vs {host}");
        }
        let cross = [
            ("http://evil.example", "localhost:8000"),
            ("http://localhost:9000", "localhost:8000"),
            ("https://example.com", "example.com:80"),
            ("null", "localhost:8000"),
        ];
        for (origin, host) in cross {
            let h = headers(&[("origin", origin), ("host", host)]);
            assert!(cross_site_reason(&h, &uri).is_some(), "{origin} vs {host}");
        }
        assert!(cross_site_reason(&headers(&[("origin", "http://a.example")]), &uri).is_some());
        assert!(cross_site_reason(&headers(&[("sec-fetch-site", "cross-site")]), &uri).is_some());
        assert_eq!(
            cross_site_reason(&headers(&[("sec-fetch-site", "same-origin")]), &uri),
            None
        );
        assert_eq!(cross_site_reason(&headers(&[]), &uri), None);
    }

    #[test]
    fn loopback_hosts() {
        let uri = Uri::from_static("/");
        for host in [
            "localhost",
            "localhost:8000",
            "app.localhost",
            "127.0.0.1:80",
            "127.1.2.3",
            "[::1]:8000",
        ] {
            let h = headers(&[]);
            let mut h = h;
            h.insert(HOST, HeaderValue::from_str(host).expect("header"));
            assert!(host_is_loopback(&h, &uri), "{host}");
        }
        for host in [
            "example.com",
            "evil.localhost.example.com",
            "10.0.0.1:8000",
            "[::]:80",
            "0.0.0.0",
        ] {
            let mut h = HeaderMap::new();
            h.insert(HOST, HeaderValue::from_str(host).expect("header"));
            assert!(!host_is_loopback(&h, &uri), "{host}");
        }
        assert!(host_is_loopback(&HeaderMap::new(), &uri));
    }
}
