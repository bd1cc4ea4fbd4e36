//! The outcome of a conformance run.

use std::fmt;
use std::time::Duration;

/// The result of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// Check name, e.g. `broker.fifo_within_priority`.
    pub name: &'static str,
    /// Whether the backend behaved as the trait promises.
    pub passed: bool,
    /// What went wrong, or a note on what was checked.
    pub message: String,
    /// How long the check ran.
    pub elapsed: Duration,
}

/// Every check of one suite run, in the order they ran.
#[derive(Debug, Clone, PartialEq)]
pub struct ConformanceReport {
    /// Which suite ran: `broker` or `result backend`.
    pub suite: &'static str,
    /// The backend name from its capability report (`unknown` when no
    /// instance could be created).
    pub backend: String,
    /// One entry per check.
    pub checks: Vec<CheckOutcome>,
}

impl ConformanceReport {
    pub(crate) fn new(suite: &'static str) -> Self {
        ConformanceReport {
            suite,
            backend: "unknown".to_owned(),
            checks: Vec::new(),
        }
    }

    /// True when every check passed.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckOutcome> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The outcome of the check named `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&CheckOutcome> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Panics listing every failed check (and nothing when all passed).
    ///
    /// # Panics
    ///
    /// When at least one check failed.
    #[track_caller]
    pub fn assert_all_passed(&self) {
        if self.all_passed() {
            return;
        }
        let failed: Vec<String> = self
            .failures()
            .map(|c| format!("  {}: {}", c.name, c.message))
            .collect();
        panic!(
            "{} conformance of `{}`: {} of {} checks failed:\n{}",
            self.suite,
            self.backend,
            failed.len(),
            self.checks.len(),
            failed.join("\n")
        );
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().count();
        writeln!(
            f,
            "{} conformance of `{}`: {} checks, {} passed, {} failed",
            self.suite,
            self.backend,
            self.checks.len(),
            self.checks.len() - failed,
            failed
        )?;
        for c in &self.checks {
            let verdict = if c.passed { "PASS" } else { "FAIL" };
            write!(f, "  {verdict} {} ({} ms)", c.name, c.elapsed.as_millis())?;
            if !c.message.is_empty() {
                write!(f, ": {}", c.message)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &'static str, passed: bool) -> CheckOutcome {
        CheckOutcome {
            name,
            passed,
            message: if passed { String::new() } else { format!("{name} broke") },
            elapsed: Duration::from_millis(3),
        }
    }

    #[test]
    fn all_passed_does_not_panic() {
        let mut r = ConformanceReport::new("broker");
        r.checks.push(outcome("a", true));
        r.assert_all_passed();
        assert!(r.to_string().contains("PASS a"));
    }

    #[test]
    fn lists_every_failure() {
        let mut r = ConformanceReport::new("broker");
        r.checks
            .extend([outcome("a", false), outcome("b", true), outcome("c", false)]);
        let panic = std::panic::catch_unwind(|| r.assert_all_passed()).expect_err("must panic");
        let text = panic.downcast_ref::<String>().expect("formatted message");
        assert!(text.contains("2 of 3 checks failed"), "{text}");
        assert!(text.contains("a: a broke") && text.contains("c: c broke"), "{text}");
        assert!(!text.contains("b:"), "{text}");
    }
}
