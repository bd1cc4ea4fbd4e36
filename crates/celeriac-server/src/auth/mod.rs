//! Security for the server, secure by default.
//!
//! - **Who may call**: API tokens ([`ApiToken`], parsed by [`AuthConfig::from_specs`]), each
//!   granting a [`Role`]. Programs send `Authorization: Bearer <token>`; browsers sign in
//!   once at `POST /api/session` and then use the `celeriac_session` cookie (`HttpOnly`,
//!   `SameSite=Strict`, `Secure` when [`AuthConfig::secure_cookies`]).
//! - **Open mode**: with no token configured every request is admin. [`check_exposure`]
//!   allows that only on a loopback address, and [`protect`] then only answers requests
//!   addressed to a loopback host name.
//! - **Forged requests**: unsafe requests (anything but GET, HEAD, OPTIONS, TRACE) from
//!   another origin are refused; cookie-authenticated ones must also send `X-CSRF-Token`,
//!   the token returned by sign-in and `GET /api/session`. GET handlers must therefore
//!   never change anything.
//! - **Handlers** demand access with [`ReadAccess`] or [`AdminAccess`]; routes without
//!   them are public. Bodies are read with [`crate::ApiJson`], limited to
//!   [`AuthConfig::max_body_bytes`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{routing::get, Router};
//! use celeriac_server::auth::{check_exposure, protect, Auth, AuthConfig, ReadAccess};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AuthConfig::from_specs(&["admin:0123456789abcdef0123".to_owned()])?;
//! let addr = "0.0.0.0:8000".parse()?;
//! if let Some(warning) = check_exposure(addr, &config)?.warning() {
//!     eprintln!("{warning}");
//! }
//! let app = Router::new().route("/api/ping", get(|ReadAccess(_): ReadAccess| async { "pong" }));
//! let app = protect(app, Arc::new(Auth::new(config)));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! # Session routes
//!
//! [`protect`] adds these to the router it guards:
//!
//! - `POST /api/session` with `{"token": "..."}`: sets the session cookie and answers
//!   `{"role": "admin"|"read_only", "csrf_token": "..."}`; 401 for a wrong token, 409 in
//!   open mode. Needs no CSRF token (there is no session yet) but must be same-origin.
//! - `GET /api/session`: `{"role", "csrf_token", "method": "open"|"bearer"|"session",
//!   "open": bool}`, `csrf_token` being null unless the caller uses the cookie; 401 when
//!   not signed in.
//! - `DELETE /api/session`: ends the session (with `X-CSRF-Token`, like every cookie
//!   request that changes something) and clears the cookie; `{"signed_out": bool}`.

mod config;
mod constant_time;
mod cookie;
mod exposure;
mod extract;
mod middleware;
mod origin;
mod principal;
mod random;
mod role;
mod routes;
mod session;
mod state;

pub use config::{ApiToken, AuthConfig, AuthConfigError, DEFAULT_MAX_BODY_BYTES, DEFAULT_SESSION_TTL, MIN_SECRET_LEN};
pub use cookie::SESSION_COOKIE;
pub use exposure::{check_exposure, Exposure, ExposureError};
pub use extract::{AdminAccess, ReadAccess};
pub use middleware::{protect, CSRF_HEADER};
pub use principal::{AuthMethod, Principal};
pub use random::RandomError;
pub use role::Role;
pub use session::{NewSession, MAX_SESSIONS};
pub use state::{Auth, SignInError};
