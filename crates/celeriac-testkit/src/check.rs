//! Running one check: failures as messages, timeouts and panics caught.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use celeriac_core::BrokerError;
use futures::FutureExt;

use crate::report::CheckOutcome;

/// A check passes with `Ok(())` or fails with a message saying what broke.
pub(crate) type CheckResult = Result<(), String>;

/// Fails the enclosing check with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}
pub(crate) use ensure;

/// Names the operation that failed, so a report says more than "broker error".
pub(crate) trait Ctx<T> {
    /// Turns a backend error into a check failure mentioning `what`.
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T> Ctx<T> for Result<T, BrokerError> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what} failed: {e}"))
    }
}

/// Runs `check` under `timeout`; a hang or a panic becomes a failure instead
/// of stopping the suite, so one report lists every broken promise.
pub(crate) async fn run_check<Fut>(name: &'static str, timeout: Duration, check: Fut) -> CheckOutcome
where
    Fut: Future<Output = CheckResult>,
{
    let start = Instant::now();
    let result = tokio::time::timeout(timeout, AssertUnwindSafe(check).catch_unwind()).await;
    let (passed, message) = match result {
        Ok(Ok(Ok(()))) => (true, String::new()),
        Ok(Ok(Err(message))) => (false, message),
        Ok(Err(panic)) => (false, format!("panicked: {}", panic_message(panic.as_ref()))),
        Err(_) => (false, format!("did not finish within {timeout:?}; the backend hangs")),
    };
    CheckOutcome {
        name,
        passed,
        message,
        elapsed: start.elapsed(),
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_panics_and_hangs_are_reported() {
        let ok = run_check("ok", Duration::from_secs(1), async { Ok(()) }).await;
        assert!(ok.passed);

        let failed = run_check("failed", Duration::from_secs(1), async {
            ensure!(1 + 1 == 3, "arithmetic is {}", "broken");
            Ok(())
        })
        .await;
        assert!(!failed.passed);
        assert_eq!(failed.message, "arithmetic is broken");

        let panicked = run_check("panicked", Duration::from_secs(1), async { panic!("boom") }).await;
        assert!(!panicked.passed && panicked.message.contains("boom"), "{panicked:?}");

        let hung = run_check("hung", Duration::from_millis(50), futures::future::pending()).await;
        assert!(!hung.passed && hung.message.contains("did not finish"), "{hung:?}");
    }
}
