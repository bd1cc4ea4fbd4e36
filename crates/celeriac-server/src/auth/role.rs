//! What a caller may do.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a caller may do. [`Role::Admin`] can do everything [`Role::ReadOnly`] can.
///
/// Serializes as `"read_only"` or `"admin"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// May look: status, queues, results.
    ReadOnly,
    /// May also change things: send, retry, revoke, purge.
    Admin,
}

impl Role {
    /// Whether this role includes everything `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        match needed {
            Role::ReadOnly => true,
            Role::Admin => self == Role::Admin,
        }
    }

    /// The name used in JSON and token specs' error messages: `read_only` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read_only",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_includes_read_only() {
        assert!(Role::Admin.allows(Role::Admin));
        assert!(Role::Admin.allows(Role::ReadOnly));
        assert!(Role::ReadOnly.allows(Role::ReadOnly));
        assert!(!Role::ReadOnly.allows(Role::Admin));
    }
}
