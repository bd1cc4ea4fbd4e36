//! Who may use the server: API tokens, cookie and body settings.

use std::fmt;
use std::time::Duration;

use super::constant_time::constant_time_eq;
use super::role::Role;

/// Shortest secret accepted. 16 random characters are far beyond online guessing; shorter
/// ones tend to be passwords someone made up.
pub const MIN_SECRET_LEN: usize = 16;

/// Default [`AuthConfig::session_ttl`]: 12 hours, a working day.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// Default [`AuthConfig::max_body_bytes`]: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// One API token: a secret that grants a role.
///
/// Built only through [`ApiToken::new`] or [`AuthConfig::from_specs`], so every token's
/// secret has been checked. `Debug` never shows the secret.
#[derive(Clone)]
pub struct ApiToken {
    name: String,
    role: Role,
    secret: String,
}

impl ApiToken {
    /// A token called `name` (for logs) granting `role` to whoever presents `secret`.
    ///
    /// # Errors
    ///
    /// [`AuthConfigError`] when the secret is empty, shorter than [`MIN_SECRET_LEN`]
    /// characters, or has characters other than printable ASCII (which an
    /// `Authorization` header cannot carry reliably).
    pub fn new(name: impl Into<String>, role: Role, secret: impl Into<String>) -> Result<Self, AuthConfigError> {
        let name = name.into();
        let secret = secret.into();
        check_secret(&format!("token `{name}`"), &secret)?;
        Ok(Self { name, role, secret })
    }

    /// The token's name, for logs: `admin-1`, `read_only-2`, ... when parsed from specs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The role this token grants.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The secret itself. Handle with care: never log it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether `presented` is this token's secret, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(self.secret.as_bytes(), presented.as_bytes())
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// How the server guards itself. See [`crate::auth`] for what each setting does.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Tokens that are accepted. None means open mode: everyone is admin, which
    /// [`crate::auth::check_exposure`] allows only on a loopback address.
    pub tokens: Vec<ApiToken>,
    /// Mark the session cookie `Secure` (sent over HTTPS only). Turn on whenever the
    /// server is reached over HTTPS, e.g. behind a TLS-terminating proxy.
    pub secure_cookies: bool,
    /// How long a browser session lasts after sign-in (fixed, not sliding).
    pub session_ttl: Duration,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for AuthConfig {
    /// No tokens (open mode), insecure cookies, 12-hour sessions, 1 MiB bodies.
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            secure_cookies: false,
            session_ttl: DEFAULT_SESSION_TTL,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl AuthConfig {
    /// Parses token specs, `admin:SECRET` or `read:SECRET` (`readonly:` and `read_only:`
    /// work too), into a config with the other settings at their defaults. The secret is
    /// everything after the first `:`. Tokens are named `admin-1`, `read_only-2`, ... by
    /// position.
    ///
    /// # Errors
    ///
    /// [`AuthConfigError`] when a spec has no `:`, an unknown role, an empty secret, a
    /// secret shorter than [`MIN_SECRET_LEN`] or with characters other than printable
    /// ASCII, or when two specs share a secret. Messages never include the secret.
    pub fn from_specs(specs: &[String]) -> Result<AuthConfig, AuthConfigError> {
        let mut tokens: Vec<ApiToken> = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let label = format!("token spec {}", i + 1);
            let Some((role, secret)) = spec.split_once(':') else {
                return Err(AuthConfigError::MissingSeparator { token: label });
            };
            let role = match role.trim().to_ascii_lowercase().as_str() {
                "admin" => Role::Admin,
                "read" | "readonly" | "read_only" | "read-only" => Role::ReadOnly,
                _ => {
                    return Err(AuthConfigError::UnknownRole {
                        token: label,
                        role: role.trim().to_owned(),
                    });
                }
            };
            check_secret(&label, secret)?;
            if let Some(first) = tokens.iter().position(|t| t.matches(secret)) {
                return Err(AuthConfigError::DuplicateSecret {
                    first: first + 1,
                    second: i + 1,
                });
            }
            tokens.push(ApiToken {
                name: format!("{}-{}", role, i + 1),
                role,
                secret: secret.to_owned(),
            });
        }
        Ok(AuthConfig {
            tokens,
            ..AuthConfig::default()
        })
    }

    /// Whether no token is configured, so every request is admin.
    pub fn is_open(&self) -> bool {
        self.tokens.is_empty()
    }
}

fn check_secret(label: &str, secret: &str) -> Result<(), AuthConfigError> {
    if secret.is_empty() {
        return Err(AuthConfigError::EmptySecret {
            token: label.to_owned(),
        });
    }
    // Visible ASCII only: spaces or non-ASCII bytes do not survive an Authorization header.
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthConfigError::BadCharacters {
            token: label.to_owned(),
        });
    }
    let len = secret.len();
    if len < MIN_SECRET_LEN {
        return Err(AuthConfigError::ShortSecret {
            token: label.to_owned(),
            len,
        });
    }
    Ok(())
}

/// Why a token could not be configured. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    /// The spec has no `:` between role and secret.
    #[error("{token} must look like `admin:SECRET` or `read:SECRET`")]
    MissingSeparator {
        /// Which token, e.g. `token spec 2`.
        token: String,
    },
    /// The part before `:` is not a known role.
    #[error("{token} has unknown role `{role}`; use `admin`, `read` or `readonly`")]
    UnknownRole {
        /// Which token.
        token: String,
        /// The role as written.
        role: String,
    },
    /// Nothing after the `:`.
    #[error("{token} has an empty secret; generate one, e.g. with `openssl rand -hex 32`")]
    EmptySecret {
        /// Which token.
        token: String,
    },
    /// The secret is shorter than [`MIN_SECRET_LEN`].
    #[error(
        "{token} has a secret of {len} characters; use at least {MIN_SECRET_LEN}, \
         e.g. from `openssl rand -hex 32`"
    )]
    ShortSecret {
        /// Which token.
        token: String,
        /// How long the secret is.
        len: usize,
    },
    /// The secret has spaces, control or non-ASCII characters.
    #[error("{token} has a secret with spaces, control or non-ASCII characters; use printable ASCII only")]
    BadCharacters {
        /// Which token.
        token: String,
    },
    /// Two specs share a secret, so a request using it would have two roles.
    #[error("token specs {first} and {second} have the same secret; each token needs its own")]
    DuplicateSecret {
        /// 1-based position of the first spec.
        first: usize,
        /// 1-based position of the second spec.
        second: usize,
    },
}
