//! A Lamport clock: Celery stamps every event with one.

use std::sync::atomic::{AtomicU64, Ordering};

/// A process's logical clock.
#[derive(Debug, Default)]
pub struct LamportClock(AtomicU64);

impl LamportClock {
    /// Advances the clock for an event sent now; returns the new value.
    pub fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Moves the clock past a value seen on a received message.
    pub fn observe(&self, seen: u64) -> u64 {
        self.0.fetch_max(seen, Ordering::Relaxed).max(seen) + 1
    }

    /// The current value.
    pub fn value(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::LamportClock;

    #[test]
    fn ticks_and_jumps_past_observed_values() {
        let c = LamportClock::default();
        assert_eq!(c.tick(), 1);
        assert_eq!(c.tick(), 2);
        c.observe(10);
        assert_eq!(c.tick(), 11);
        c.observe(3);
        assert_eq!(c.value(), 11);
    }
}
