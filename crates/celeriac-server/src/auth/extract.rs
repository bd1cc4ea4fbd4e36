//! Extractors with which handlers demand access.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use super::principal::Principal;
use super::role::Role;
use crate::ApiError;

/// What a handler's caller gets without credentials.
const SIGN_IN: &str = "sign in or send an Authorization: Bearer token";

/// A caller allowed to read (any role). Rejects with 401 and `WWW-Authenticate: Bearer`
/// when the request carries no credentials, or when the router is not wrapped in
/// [`crate::auth::protect`] (so a forgotten layer fails closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAccess(pub Principal);

/// A caller allowed to change things ([`Role::Admin`]). Rejects like [`ReadAccess`], and
/// with 403 `this needs an admin token` for a read-only caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminAccess(pub Principal);

fn principal(parts: &Parts) -> Result<Principal, ApiError> {
    parts
        .extensions
        .get::<Principal>()
        .copied()
        .ok_or_else(|| ApiError::unauthorized(SIGN_IN))
}

impl<S: Send + Sync> FromRequestParts<S> for ReadAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        principal(parts).map(ReadAccess)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = principal(parts)?;
        if principal.role.allows(Role::Admin) {
            Ok(AdminAccess(principal))
        } else {
            Err(ApiError::forbidden("this needs an admin token"))
        }
    }
}

/// `Option<Principal>`: who is calling, if anyone, for public pages that show more to
/// signed-in callers. Never rejects.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().copied())
    }
}
