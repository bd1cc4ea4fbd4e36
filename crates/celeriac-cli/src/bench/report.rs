//! The benchmark's figures: a readable table and JSON.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::latency::{percentile, Latency};
use super::BenchArgs;

pub(crate) struct Report {
    figures: Vec<(String, f64, &'static str)>,
    settings: Value,
}

impl Report {
    pub(crate) fn new(args: &BenchArgs) -> Report {
        Report {
            figures: Vec::new(),
            settings: json!({
                "tasks": args.tasks,
                "single_tasks": args.single_tasks,
                "batch": args.batch,
                "rate": args.rate,
                "latency_seconds": args.latency_seconds,
                "concurrency": args.concurrency,
                "prefetch": args.prefetch,
                "synchronous": if args.synchronous_full { "FULL" } else { "NORMAL" },
                "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
                "results_stored": true,
                "worker_events": !args.no_events,
            }),
        }
    }

    pub(crate) fn value(&mut self, name: &str, value: f64) {
        let unit = if name.ends_with("_mb") || name.contains("rss") {
            "MB"
        } else {
            "tasks/s"
        };
        self.figures.push((name.to_owned(), value, unit));
    }

    pub(crate) fn rate(&mut self, name: &str, tasks: usize, elapsed: Duration) {
        self.figures.push((
            format!("{name}_tasks_per_s"),
            tasks as f64 / elapsed.as_secs_f64(),
            "tasks/s",
        ));
    }

    pub(crate) fn rate_between(&mut self, name: &str, tasks: usize, from: f64, to: f64) {
        let secs = (to - from).max(1e-9);
        self.figures
            .push((format!("{name}_tasks_per_s"), tasks as f64 / secs, "tasks/s"));
    }

    pub(crate) fn latency(&mut self, l: &Latency) {
        let mut push = |name: &str, v: f64, unit| self.figures.push((name.to_owned(), v, unit));
        push("latency_offered_tasks_per_s", l.offered_rate, "tasks/s");
        push("latency_achieved_tasks_per_s", l.achieved_rate, "tasks/s");
        push("latency_tasks", l.sent as f64, "tasks");
        push("enqueue_to_start_p50_ms", percentile(&l.to_start, 50.0), "ms");
        push("enqueue_to_start_p99_ms", percentile(&l.to_start, 99.0), "ms");
        push("enqueue_to_start_max_ms", percentile(&l.to_start, 100.0), "ms");
        push("enqueue_to_result_p50_ms", percentile(&l.to_result, 50.0), "ms");
        push("enqueue_to_result_p99_ms", percentile(&l.to_result, 99.0), "ms");
        push("enqueue_to_result_max_ms", percentile(&l.to_result, 100.0), "ms");
    }

    pub(crate) fn print_table(&self) {
        println!("{:<40} {:>14}  unit", "figure", "value");
        for (name, value, unit) in &self.figures {
            let shown = if *unit == "ms" || *unit == "MB" {
                format!("{value:.3}")
            } else {
                format!("{value:.0}")
            };
            println!("{name:<40} {shown:>14}  {unit}");
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut figures = Map::new();
        for (name, value, _) in &self.figures {
            figures.insert(name.clone(), json!(value));
        }
        json!({"settings": self.settings, "figures": figures})
    }
}
