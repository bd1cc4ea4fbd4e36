//! A generation counter that tasks can sleep on: the in-process half of
//! every "something changed, look again" wake-up (new messages, results).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// A counter bumped on every change, and waiters woken by it.
///
/// A waiter reads [`Signal::generation`] before looking at the state it
/// waits for, then sleeps with [`Signal::changed_since`]: a bump between
/// the look and the sleep is not missed.
#[derive(Debug, Default)]
pub struct Signal {
    generation: AtomicU64,
    notify: Notify,
}

impl Signal {
    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Announces a change: moves the generation on and wakes every waiter.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    /// Waits until the generation differs from `seen` or `timeout` passes.
    pub async fn changed_since(&self, seen: u64, timeout: Duration) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.generation() != seen {
            return;
        }
        let _ = tokio::time::timeout(timeout, notified).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_bump_after_the_look_wakes_the_waiter() {
        let signal = Arc::new(Signal::default());
        let seen = signal.generation();
        let bumper = signal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            bumper.bump();
        });
        let started = std::time::Instant::now();
        signal.changed_since(seen, Duration::from_secs(10)).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the bump did not wake the waiter"
        );
        assert_eq!(signal.generation(), seen + 1);
    }

    #[tokio::test]
    async fn a_bump_before_the_wait_returns_at_once() {
        let signal = Signal::default();
        let seen = signal.generation();
        signal.bump();
        let started = std::time::Instant::now();
        signal.changed_since(seen, Duration::from_secs(10)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
