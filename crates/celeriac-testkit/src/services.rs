//! Helpers for tests that need an external service (Redis, Postgres, ...).
//!
//! Locally a missing service skips the test with a visible note; in CI
//! (`CI=true`) it fails, because a suite that silently skips proves nothing.
//!
//! ```no_run
//! use celeriac_testkit::services::{require_service, unique_name};
//!
//! if require_service("redis", "127.0.0.1:6379") {
//!     let prefix = unique_name("conformance");
//!     // ... create a broker under `prefix` and run the suite ...
//! }
//! ```

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long one connection attempt may take before the service counts as
/// unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the service `name` accepts TCP connections at `addr` (`host:port`).
///
/// When it does not, prints `skipping: <name> not reachable at <addr>` and
/// returns `false` so the caller can return early.
///
/// # Panics
///
/// When the service is unreachable and the environment variable `CI` is
/// `true`: in CI a missing service is a failure, never a silent pass.
pub fn require_service(name: &str, addr: &str) -> bool {
    decide(name, addr, is_reachable(addr), running_in_ci())
}

/// `prefix` followed by a short random suffix, e.g. `queue-1f3a9c02`, so
/// tests sharing a service do not see each other's queues or keys.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..8])
}

fn decide(name: &str, addr: &str, reachable: bool, in_ci: bool) -> bool {
    if reachable {
        return true;
    }
    if in_ci {
        panic!(
            "{name} is required in CI (CI=true) but is not reachable at {addr}; start the service instead of skipping"
        );
    }
    println!("skipping: {name} not reachable at {addr}");
    false
}

fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn is_reachable(addr: &str) -> bool {
    // An unresolvable name is as unreachable as a closed port.
    let Ok(candidates) = addr.to_socket_addrs() else {
        return false;
    };
    candidates
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, CONNECT_TIMEOUT).is_ok())
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn open_port_is_reachable() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        assert!(is_reachable(&addr));
        assert!(require_service("listener", &addr));
    }

    #[test]
    fn closed_port_is_unreachable() {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").to_string()
        };
        assert!(!is_reachable(&addr));
        assert!(!is_reachable("no-such-host.invalid:6379"));
    }

    #[test]
    fn unreachable_skips_locally() {
        assert!(!decide("redis", "127.0.0.1:1", false, false));
        assert!(decide("redis", "127.0.0.1:1", true, true));
    }

    #[test]
    #[should_panic(expected = "redis is required in CI")]
    fn unreachable_fails_in_ci() {
        decide("redis", "127.0.0.1:1", false, true);
    }

    #[test]
    fn unique_names_differ() {
        let a = unique_name("q");
        let b = unique_name("q");
        assert!(a.starts_with("q-") && a.len() == 10, "{a}");
        assert_ne!(a, b);
    }
}
