//! The text exposition format 0.0.4: `# HELP`, `# TYPE`, then samples.

use std::fmt::Write as _;

use crate::catalog::{self, Family, TASK_COUNTERS};
use crate::family::TaskSeries;
use crate::histogram::Histogram;
use crate::labels::write_labels;
use crate::registry::{State, QUEUE_STATES};

/// Renders every family that has series, sorted by family name.
pub(crate) fn render(state: &State) -> String {
    let mut blocks: Vec<(&str, String)> = Vec::with_capacity(TASK_COUNTERS.len() + 6);

    if !state.events.is_empty() {
        let mut out = header(catalog::EVENTS, "counter");
        for (kind, n) in state.events.iter() {
            sample(&mut out, catalog::EVENTS.name, &[("type", kind)], n);
        }
        blocks.push((catalog::EVENTS.name, out));
    }
    for ((_, family), series) in TASK_COUNTERS.iter().zip(state.counters.iter()) {
        if !series.is_empty() {
            blocks.push((family.name, counters(*family, series)));
        }
    }
    for (family, series) in [
        (catalog::RUNTIME, &state.runtime),
        (catalog::QUEUE_WAIT, &state.queue_wait),
    ] {
        if !series.is_empty() {
            blocks.push((family.name, histograms(family, series)));
        }
    }
    if !state.queues.is_empty() {
        let family = catalog::QUEUE_MESSAGES;
        let mut out = header(family, "gauge");
        for (queue, counts) in &state.queues {
            for (state_label, n) in QUEUE_STATES.iter().zip(counts) {
                sample(&mut out, family.name, &[("queue", queue), ("state", state_label)], *n);
            }
        }
        blocks.push((family.name, out));
    }
    if !state.workers_up.is_empty() {
        let family = catalog::WORKER_UP;
        let mut out = header(family, "gauge");
        for (worker, alive) in &state.workers_up {
            sample(&mut out, family.name, &[("worker", worker)], u64::from(*alive));
        }
        blocks.push((family.name, out));
    }
    // Always present, so "no workers" reads as 0 rather than no data.
    let mut alive = header(catalog::WORKERS_ALIVE, "gauge");
    sample(&mut alive, catalog::WORKERS_ALIVE.name, &[], state.workers_alive);
    blocks.push((catalog::WORKERS_ALIVE.name, alive));

    blocks.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::with_capacity(blocks.iter().map(|(_, b)| b.len()).sum());
    for (_, block) in blocks {
        text.push_str(&block);
    }
    text
}

fn header(family: Family, kind: &str) -> String {
    format!(
        "# HELP {} {}\n# TYPE {} {kind}\n",
        family.name, family.help, family.name
    )
}

fn counters(family: Family, series: &TaskSeries<u64>) -> String {
    let mut out = header(family, "counter");
    for (task, queue, n) in series.iter() {
        sample(&mut out, family.name, &[("task", task), ("queue", queue)], *n);
    }
    out
}

fn histograms(family: Family, series: &TaskSeries<Histogram>) -> String {
    let mut out = header(family, "histogram");
    let bucket = format!("{}_bucket", family.name);
    let sum = format!("{}_sum", family.name);
    let count = format!("{}_count", family.name);
    let mut le = String::new();
    for (task, queue, h) in series.iter() {
        for (bound, n) in h.cumulative() {
            le.clear();
            push_float(&mut le, bound);
            sample(&mut out, &bucket, &[("task", task), ("queue", queue), ("le", &le)], n);
        }
        out.push_str(&sum);
        write_labels(&mut out, &[("task", task), ("queue", queue)]);
        out.push(' ');
        push_float(&mut out, h.sum());
        out.push('\n');
        sample(&mut out, &count, &[("task", task), ("queue", queue)], h.count());
    }
    out
}

/// One line: `name{labels} value`.
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    write_labels(out, labels);
    // Writing to a String cannot fail.
    let _ = writeln!(out, " {value}");
}

/// A float as Go's `ParseFloat` reads it: Rust's shortest round-trip
/// decimal (never an exponent), and `+Inf`, `-Inf`, `NaN` spelled the
/// format's way.
fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_spelled_for_prometheus() {
        let spell = |v: f64| {
            let mut s = String::new();
            push_float(&mut s, v);
            s
        };
        assert_eq!(spell(0.001), "0.001");
        assert_eq!(spell(600.0), "600");
        assert_eq!(spell(1e-7), "0.0000001");
        assert_eq!(spell(f64::INFINITY), "+Inf");
        assert_eq!(spell(f64::NEG_INFINITY), "-Inf");
        assert_eq!(spell(f64::NAN), "NaN");
    }

    #[test]
    fn an_empty_registry_renders_only_workers_alive() {
        let text = render(&State::default());
        assert_eq!(
            text,
            "# HELP celeriac_workers_alive Registered workers whose heartbeat is within its lease.\n\
             # TYPE celeriac_workers_alive gauge\n\
             celeriac_workers_alive 0\n"
        );
    }
}
