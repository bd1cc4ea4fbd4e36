//! Browser sessions kept in memory: id → role, CSRF token, expiry.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use super::role::Role;

/// At most this many sessions are kept; signing in beyond it drops expired sessions,
/// then the oldest, so memory stays bounded whatever clients do.
pub const MAX_SESSIONS: usize = 10_000;

/// A session just created by [`crate::auth::Auth::sign_in`]. `Debug` hides the id and
/// CSRF token, which are credentials.
#[derive(Clone)]
pub struct NewSession {
    /// The session id for the `celeriac_session` cookie: 64 hex characters.
    pub id: String,
    /// The role of the token used to sign in.
    pub role: Role,
    /// What unsafe requests made with this session must send as `X-CSRF-Token`.
    pub csrf_token: String,
    /// How long the session lasts, for the cookie's `Max-Age`.
    pub ttl: Duration,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("id", &"<redacted>")
            .field("role", &self.role)
            .field("csrf_token", &"<redacted>")
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// One live session.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) role: Role,
    pub(crate) csrf_token: String,
    pub(crate) expires_at: Instant,
}

/// The sessions, bounded to a capacity. Callers pass `now` so tests can move time.
pub(crate) struct SessionStore {
    sessions: HashMap<String, Session>,
    capacity: usize,
}

impl SessionStore {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            sessions: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds a session, first making room if the store is full.
    pub(crate) fn insert(&mut self, id: String, session: Session, now: Instant) {
        if self.sessions.len() >= self.capacity {
            self.sessions.retain(|_, s| s.expires_at > now);
        }
        while self.sessions.len() >= self.capacity {
            // All sessions live as long, so the one expiring first is the oldest. A linear
            // scan is fine: it runs only when the store is full.
            let oldest = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.expires_at)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(oldest) => {
                    self.sessions.remove(&oldest);
                }
                None => break,
            }
        }
        self.sessions.insert(id, session);
    }

    /// The live session with this id; an expired one is removed on the way.
    pub(crate) fn get(&mut self, id: &str, now: Instant) -> Option<Session> {
        let session = self.sessions.get(id)?;
        if session.expires_at <= now {
            self.sessions.remove(id);
            return None;
        }
        Some(session.clone())
    }

    /// Removes a session; whether it existed.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        self.sessions.remove(id).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }
}

impl fmt::Debug for SessionStore {
    // Ids are credentials: show only how many there are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStore")
            .field("sessions", &self.sessions.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires_at: Instant) -> Session {
        Session {
            role: Role::ReadOnly,
            csrf_token: "csrf".into(),
            expires_at,
        }
    }

    #[test]
    fn expired_sessions_are_gone() {
        let now = Instant::now();
        let mut store = SessionStore::new(10);
        store.insert("a".into(), session(now + Duration::from_secs(10)), now);
        assert!(store.get("a", now).is_some());
        assert!(store.get("a", now + Duration::from_secs(10)).is_none());
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn full_store_evicts_expired_then_oldest() {
        let now = Instant::now();
        let mut store = SessionStore::new(3);
        store.insert("expired".into(), session(now + Duration::from_secs(1)), now);
        store.insert("old".into(), session(now + Duration::from_secs(5)), now);
        store.insert("new".into(), session(now + Duration::from_secs(9)), now);
        let later = now + Duration::from_secs(2);
        store.insert("d".into(), session(later + Duration::from_secs(9)), later);
        assert_eq!(store.len(), 3);
        assert!(store.get("expired", now).is_none());
        store.insert("e".into(), session(later + Duration::from_secs(9)), later);
        assert_eq!(store.len(), 3);
        assert!(store.get("old", later).is_none(), "oldest evicted");
        assert!(store.get("new", later).is_some());
        assert!(store.get("d", later).is_some());
        assert!(store.get("e", later).is_some());
    }
}
