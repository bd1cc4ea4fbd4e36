//! Refusing to serve an unguarded server beyond this machine.

use std::net::{IpAddr, SocketAddr};

use super::config::AuthConfig;

/// Who can reach the server, given where it listens and whether tokens are configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// No token, loopback address: anyone on this machine is admin. Log
    /// [`Exposure::warning`] so the operator knows.
    OpenOnLoopback,
    /// Tokens configured: every API call needs one (or a session signed in with one).
    TokenRequired,
}

impl Exposure {
    /// What to log at startup, if anything: set for [`Exposure::OpenOnLoopback`].
    pub fn warning(self) -> Option<&'static str> {
        match self {
            Exposure::OpenOnLoopback => Some(
                "no API token is configured: the server is open to anyone on this machine, \
                 with admin rights; configure a token (a spec like `admin:<secret>`) to require sign-in",
            ),
            Exposure::TokenRequired => None,
        }
    }
}

/// Listening on `addr` without any token would let anyone on the network be admin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to listen on {addr} without an API token: anyone who can reach it could send, \
     revoke and purge tasks. Configure an admin token, a spec like `admin:<secret>` with a \
     secret of at least 16 characters (e.g. from `openssl rand -hex 32`), or listen on a \
     loopback address such as 127.0.0.1"
)]
pub struct ExposureError {
    /// The address that was refused.
    pub addr: SocketAddr,
}

/// Decides whether the server may listen on `addr` with `config`.
///
/// Tokens configured: [`Exposure::TokenRequired`], on any address. No tokens: allowed only
/// on a loopback address (127.0.0.0/8, `::1`, or IPv4-mapped loopback), as
/// [`Exposure::OpenOnLoopback`].
///
/// # Errors
///
/// [`ExposureError`] when no token is configured and `addr` is not loopback, including the
/// wildcard addresses `0.0.0.0` and `::`.
pub fn check_exposure(addr: SocketAddr, config: &AuthConfig) -> Result<Exposure, ExposureError> {
    if !config.is_open() {
        return Ok(Exposure::TokenRequired);
    }
    if is_loopback(addr.ip()) {
        Ok(Exposure::OpenOnLoopback)
    } else {
        Err(ExposureError { addr })
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        // `::ffff:127.0.0.1` is loopback too, but Ipv6Addr::is_loopback only knows `::1`.
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}
