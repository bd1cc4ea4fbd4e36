//! Turning samples into the figures of the table.

use serde::Serialize;

use super::generator::{LoadPlan, Samples};
use super::stats::percentile;
use super::Mode;

/// The figures of one (mode, rate) run.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Mode name.
    pub mode: &'static str,
    /// Offered uploads per second.
    pub rate: f64,
    /// Light page: median and 99th percentile, ms.
    pub page_p50_ms: Option<f64>,
    /// See `page_p50_ms`.
    pub page_p99_ms: Option<f64>,
    /// Upload request's own response time: median and 99th percentile, ms.
    pub upload_p50_ms: Option<f64>,
    /// See `upload_p50_ms`.
    pub upload_p99_ms: Option<f64>,
    /// Photos whose result arrived during the sending window, per second.
    pub completed_per_s: f64,
    /// Upload start to result: median and 99th percentile, ms.
    pub result_p50_ms: Option<f64>,
    /// See `result_p50_ms`.
    pub result_p99_ms: Option<f64>,
    /// Requests (uploads and pages) that failed or timed out.
    pub failed_requests: u64,
    /// Requests sent (uploads and pages).
    pub requests: u64,
    /// Accepted photos without a result by the end of the drain time.
    pub unfinished: u64,
    /// Photos whose processing failed.
    pub processing_failures: u64,
    /// The server's peak resident memory, MB.
    pub peak_memory_mb: Option<f64>,
}

impl Measurement {
    /// The figures of `samples` from a run of `plan` in `mode`.
    pub fn new(mode: Mode, plan: &LoadPlan, samples: &Samples, peak_rss_kb: Option<u64>) -> Measurement {
        let window = plan.duration.as_secs_f64();
        let in_window = samples.completed_at.iter().filter(|t| **t <= window).count();
        let accepted = samples.upload_ms.len() as u64;
        Measurement {
            mode: mode.name(),
            rate: plan.rate,
            page_p50_ms: percentile(&samples.page_ms, 50.0),
            page_p99_ms: percentile(&samples.page_ms, 99.0),
            upload_p50_ms: percentile(&samples.upload_ms, 50.0),
            upload_p99_ms: percentile(&samples.upload_ms, 99.0),
            completed_per_s: in_window as f64 / window,
            result_p50_ms: percentile(&samples.result_ms, 50.0),
            result_p99_ms: percentile(&samples.result_ms, 99.0),
            failed_requests: samples.upload_failures + samples.page_failures,
            requests: samples.uploads_sent + samples.pages_sent,
            unfinished: accepted.saturating_sub(samples.result_ms.len() as u64),
            processing_failures: samples.processing_failures,
            peak_memory_mb: peak_rss_kb.map(|kb| kb as f64 / 1024.0),
        }
    }
}

fn ms(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v >= 10_000.0 => format!("{:.0} s", v / 1000.0),
        Some(v) if v >= 1000.0 => format!("{:.1} s", v / 1000.0),
        Some(v) if v >= 10.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
    }
}

/// The table, one row per run, in Markdown.
pub fn markdown(rows: &[Measurement]) -> String {
    let mut out = String::from(
        "| mode | offered photos/s | light page p50 / p99 (ms) | upload response p50 / p99 (ms) | \
         completed photos/s | upload → result p50 / p99 (ms) | failed or timed-out requests | \
         results missing at the end | server peak memory (MB) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let label = Mode::parse(r.mode).map_or(r.mode, Mode::label);
        out.push_str(&format!(
            "| {label} | {:.1} | {} / {} | {} / {} | {:.1} | {} / {} | {} of {} | {} | {} |\n",
            r.rate,
            ms(r.page_p50_ms),
            ms(r.page_p99_ms),
            ms(r.upload_p50_ms),
            ms(r.upload_p99_ms),
            r.completed_per_s,
            ms(r.result_p50_ms),
            ms(r.result_p99_ms),
            r.failed_requests,
            r.requests,
            r.unfinished,
            r.peak_memory_mb.map_or("–".into(), |m| format!("{m:.0}")),
        ));
    }
    out
}
