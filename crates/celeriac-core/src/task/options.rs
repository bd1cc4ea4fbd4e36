//! Per-task options: routing, retries, limits, execution kind.

use std::time::Duration;

/// Where a task's code runs.
///
/// See `docs/execution-kinds.md` for how to choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionKind {
    /// On the tokio runtime: for I/O-bound `async fn`s that await often.
    #[default]
    Async,
    /// On a thread pool for blocking calls (file I/O, blocking clients, FFI).
    Blocking,
    /// On a dedicated pool sized to the cores: CPU-heavy work that must not
    /// starve the async runtime.
    Cpu,
}

impl ExecutionKind {
    /// Parses `async`, `blocking` or `cpu`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "async" => Some(ExecutionKind::Async),
            "blocking" => Some(ExecutionKind::Blocking),
            "cpu" => Some(ExecutionKind::Cpu),
            _ => None,
        }
    }

    /// The name used in options and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionKind::Async => "async",
            ExecutionKind::Blocking => "blocking",
            ExecutionKind::Cpu => "cpu",
        }
    }
}

/// Exponential backoff with jitter and a cap, for retries that do not name
/// their own countdown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub base: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Randomize each delay within [delay/2, delay] so that tasks failing
    /// together do not retry together.
    pub jitter: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(600),
            jitter: true,
        }
    }
}

impl Backoff {
    /// Delay before retry number `retries + 1` (`retries` already done):
    /// `base × 2^retries`, capped at `max`, jittered if enabled.
    pub fn delay(&self, retries: u32) -> Duration {
        let factor = 2f64.powi(retries.min(62) as i32);
        let raw = (self.base.as_secs_f64() * factor).min(self.max.as_secs_f64());
        let secs = if self.jitter {
            raw * (0.5 + fastrand::f64() * 0.5)
        } else {
            raw
        };
        Duration::from_secs_f64(secs.max(0.0))
    }
}

/// Options of a registered task; the `#[task(...)]` attribute fills them.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOptions {
    /// Default queue (`celery` when unset).
    pub queue: Option<String>,
    /// Default priority 0–9, 0 first.
    pub priority: Option<u8>,
    /// Retries allowed after the first run; `None` means no limit.
    pub max_retries: Option<u32>,
    /// Delay policy for retries without an explicit countdown.
    pub backoff: Backoff,
    /// Error kinds (`TaskError::kind`) that trigger an automatic retry.
    pub autoretry_for: Vec<String>,
    /// After this, the task's cancellation token fires; it may clean up.
    pub soft_time_limit: Option<Duration>,
    /// After this, the task is abandoned and recorded FAILURE.
    pub time_limit: Option<Duration>,
    /// Acknowledge after running (at-least-once) rather than before.
    pub acks_late: bool,
    /// Store no result.
    pub ignore_result: bool,
    /// Where the code runs.
    pub kind: ExecutionKind,
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions {
            queue: None,
            priority: None,
            max_retries: Some(3),
            backoff: Backoff::default(),
            autoretry_for: Vec::new(),
            soft_time_limit: None,
            time_limit: None,
            acks_late: true,
            ignore_result: false,
            kind: ExecutionKind::Async,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
            jitter: false,
        };
        assert_eq!(b.delay(0), Duration::from_secs(1));
        assert_eq!(b.delay(3), Duration::from_secs(8));
        assert_eq!(b.delay(30), Duration::from_secs(10));
        let j = Backoff { jitter: true, ..b };
        for _ in 0..100 {
            let d = j.delay(2);
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(4), "{d:?}");
        }
    }
}
