//! A fixed-bucket histogram of durations, as Prometheus histograms count.

/// Upper bounds, in seconds, of the buckets of `celeriac_task_runtime_seconds`
/// and `celeriac_task_queue_wait_seconds`: 1 ms to 10 minutes, roughly
/// 1-2.5-5 per decade, then minutes where long tasks live. Longer
/// durations count only in the `+Inf` bucket.
pub const DURATION_BUCKETS: [f64; 18] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Observations of one label set.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Histogram {
    /// Per bucket (not cumulative): observations `<=` its bound and `>` the
    /// previous one; cumulated only when rendered, so observing is one add.
    counts: [u64; DURATION_BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Counts `seconds`. Negative durations (clock skew between the hosts
    /// that stamped the two ends) count as zero; NaN and infinities are
    /// dropped, since one would poison `_sum` for good.
    pub(crate) fn observe(&mut self, seconds: f64) {
        if !seconds.is_finite() {
            return;
        }
        let seconds = seconds.max(0.0);
        let bucket = DURATION_BUCKETS.partition_point(|bound| *bound < seconds);
        if let Some(slot) = self.counts.get_mut(bucket) {
            *slot += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    /// `(upper bound, cumulative count)` for each bucket, ending with
    /// `(+Inf, count)`.
    pub(crate) fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let mut running = 0;
        DURATION_BUCKETS
            .iter()
            .zip(self.counts.iter())
            .map(move |(bound, n)| {
                running += n;
                (*bound, running)
            })
            .chain(std::iter::once((f64::INFINITY, self.count)))
    }

    /// Sum of the observations, seconds.
    pub(crate) fn sum(&self) -> f64 {
        self.sum
    }

    /// Number of observations.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_increasing_from_a_millisecond_to_ten_minutes() {
        assert!(DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(DURATION_BUCKETS[0], 0.001);
        assert_eq!(DURATION_BUCKETS[DURATION_BUCKETS.len() - 1], 600.0);
    }

    #[test]
    fn counts_cumulatively_with_inclusive_bounds() {
        let mut h = Histogram::default();
        for v in [0.001, 0.002, 1.0, 700.0, -3.0, f64::NAN, f64::INFINITY] {
            h.observe(v);
        }
        assert_eq!(h.count(), 5);
        assert!((h.sum() - 701.003).abs() < 1e-9);
        let buckets: Vec<_> = h.cumulative().collect();
        assert_eq!(buckets.len(), DURATION_BUCKETS.len() + 1);
        // -3 (as 0) and 0.001 are in le=0.001; 0.002 in le=0.0025.
        assert_eq!(buckets[0], (0.001, 2));
        assert_eq!(buckets[1], (0.0025, 3));
        assert_eq!(buckets[9], (1.0, 4));
        assert_eq!(buckets[DURATION_BUCKETS.len() - 1], (600.0, 4));
        assert_eq!(buckets[DURATION_BUCKETS.len()], (f64::INFINITY, 5));
    }
}
