//! Settings of a conformance run.

use std::time::Duration;

/// How the conformance suites exercise a backend.
///
/// Timing bounds are generous on purpose: a check should fail because a
/// backend breaks a promise, not because a CI machine is busy.
#[derive(Debug, Clone)]
pub struct ConformanceConfig {
    /// Short lease used by the lease, redelivery and worker-registry checks.
    pub lease: Duration,
    /// The TTL the result backend under test was created with.
    pub result_ttl: Duration,
    /// Longest a single check may run before it is reported as hanging.
    pub check_timeout: Duration,
    /// Longest a notified waiter (`fetch`, `wait`) may take to return after
    /// the event that should wake it; a polling backend exceeds it.
    pub wakeup_bound: Duration,
    /// Extra time allowed on top of an ETA, lease or TTL before its effect
    /// must be visible (covers coarse timers and clock granularity).
    pub slack: Duration,
}

impl Default for ConformanceConfig {
    fn default() -> Self {
        ConformanceConfig {
            lease: Duration::from_millis(400),
            result_ttl: Duration::from_secs(1),
            check_timeout: Duration::from_secs(30),
            wakeup_bound: Duration::from_millis(200),
            slack: Duration::from_millis(1500),
        }
    }
}
