//! [`Auth`]: the configuration and the live sessions, shared by the middleware and handlers.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::config::AuthConfig;
use super::random::{random_hex_32, RandomError};
use super::role::Role;
use super::session::{NewSession, Session, SessionStore, MAX_SESSIONS};

/// The server's security state: its [`AuthConfig`] and the in-memory browser sessions.
/// Share it as `Arc<Auth>` (see [`crate::auth::protect`]). Sessions do not survive a
/// restart; signing in again is the remedy.
#[derive(Debug)]
pub struct Auth {
    config: AuthConfig,
    sessions: Mutex<SessionStore>,
}

/// Why [`Auth::sign_in`] made no session.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignInError {
    /// No token is configured, so there is nothing to sign in with (and no need).
    #[error("this server has no API tokens configured, so it is open and needs no sign-in")]
    Open,
    /// The token matches none configured.
    #[error("wrong token")]
    WrongToken,
    /// No random session id could be made.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl Auth {
    /// Security state for `config`, with no sessions yet.
    pub fn new(config: AuthConfig) -> Self {
        Self::with_session_capacity(config, MAX_SESSIONS)
    }

    /// Like [`Auth::new`] but keeping at most `capacity` sessions (at least 1).
    pub fn with_session_capacity(config: AuthConfig, capacity: usize) -> Self {
        Self {
            config,
            sessions: Mutex::new(SessionStore::new(capacity)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Whether no token is configured, so every request is admin.
    pub fn is_open(&self) -> bool {
        self.config.is_open()
    }

    /// The role granted by the token whose secret is `presented`, if any. Compares with
    /// every token in constant time, so timing tells neither which token nor how much of
    /// it matched.
    pub fn role_for_token(&self, presented: &str) -> Option<Role> {
        let mut found = None;
        for token in &self.config.tokens {
            // No early return: each token costs the same whether or not an earlier one matched.
            if token.matches(presented) && found.is_none() {
                found = Some(token.role());
            }
        }
        found
    }

    /// Starts a browser session for whoever presents the secret of a configured token.
    ///
    /// # Errors
    ///
    /// [`SignInError::Open`] when no token is configured, [`SignInError::WrongToken`] when
    /// `presented` matches none, [`SignInError::Random`] when the OS random source fails.
    pub fn sign_in(&self, presented: &str) -> Result<NewSession, SignInError> {
        if self.is_open() {
            return Err(SignInError::Open);
        }
        let role = self.role_for_token(presented).ok_or(SignInError::WrongToken)?;
        let id = random_hex_32()?;
        let csrf_token = random_hex_32()?;
        let ttl = self.config.session_ttl;
        let now = Instant::now();
        let session = Session {
            role,
            csrf_token: csrf_token.clone(),
            expires_at: now + ttl,
        };
        self.store().insert(id.clone(), session, now);
        Ok(NewSession {
            id,
            role,
            csrf_token,
            ttl,
        })
    }

    /// Ends the session `session_id`; whether it was live.
    pub fn sign_out(&self, session_id: &str) -> bool {
        self.store().remove(session_id)
    }

    /// How many sessions are held (expired ones may linger until looked up or evicted).
    pub fn session_count(&self) -> usize {
        self.store().len()
    }

    /// The live session `session_id`, if any.
    pub(crate) fn session(&self, session_id: &str) -> Option<Session> {
        self.store().get(session_id, Instant::now())
    }

    fn store(&self) -> MutexGuard<'_, SessionStore> {
        // Store operations cannot panic half-way, so a poisoned lock still guards a
        // consistent map; keep serving rather than locking everyone out.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
