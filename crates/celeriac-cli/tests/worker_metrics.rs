//! `celeriac worker --metrics-addr`: the worker serves its own Prometheus
//! metrics, counted from its own events, and a strict text-format parser
//! reads them.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::{free_port, http_get, TempStore, WorkerProcess};

#[test]
fn a_worker_serves_its_own_metrics() {
    let store = TempStore::new();
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let bind = addr.to_string();
    let _worker = WorkerProcess::spawn(&store, "m", &["--metrics-addr", &bind]);
    for _ in 0..3 {
        store.call("celeriac.add", &["--args", "[1, 2]"]);
    }
    store.call("celeriac.fail", &["--args", "[\"boom\"]"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let (status, body) = http_get(addr, "/metrics", None);
        let done = body.contains("celeriac_tasks_failed_total")
            && body
                .lines()
                .any(|l| l.starts_with("celeriac_tasks_succeeded_total") && l.ends_with(" 3"));
        if status == 200 && done {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "no metrics with the failure (last: {status}) {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let scrape = prom_text_format_parser::Scrape::parse(&text).expect("Prometheus text format");
    let total = |name: &str, task: &str| -> f64 {
        scrape
            .metrics
            .iter()
            .filter(|m| m.name == name)
            .flat_map(|m| m.samples.iter())
            .filter(|s| s.labels.iter().any(|l| l.key == "task" && l.value == task))
            .map(|s| s.value.value.as_f64())
            .sum()
    };
    assert_eq!(total("celeriac_tasks_succeeded_total", "celeriac.add"), 3.0, "{text}");
    assert_eq!(total("celeriac_tasks_failed_total", "celeriac.fail"), 1.0, "{text}");
    assert!(text.contains("celeriac_task_runtime_seconds_bucket"), "{text}");
}
