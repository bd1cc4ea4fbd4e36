//! Who is making a request, as resolved by the middleware.

use serde::Serialize;

use super::role::Role;

/// How a request was authenticated. Serializes as `"open"`, `"bearer"` or `"session"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// No token is configured; every request is admin.
    Open,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The `celeriac_session` cookie, from signing in at `POST /api/session`.
    Session,
}

/// The authenticated caller. [`crate::auth::protect`]'s middleware puts it in the request
/// extensions; handlers get it through [`crate::auth::ReadAccess`],
/// [`crate::auth::AdminAccess`], or `Option<Principal>` on public routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// What the caller may do.
    pub role: Role,
    /// How the caller authenticated.
    pub method: AuthMethod,
}

/// The session behind a [`AuthMethod::Session`] principal, for the session routes.
#[derive(Clone)]
pub(crate) struct ActiveSession {
    pub(crate) id: String,
    pub(crate) csrf_token: String,
}
