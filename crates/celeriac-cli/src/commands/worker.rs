//! `celeriac worker`: the built-in tasks and the photo app's `faces.*`.

use std::sync::Arc;
use std::time::Duration;

use celeriac::{builtins, shutdown_on_signals, Worker};
use serde_json::json;

use super::Context;
use crate::cli::WorkerArgs;
use crate::config::worker_config;

pub async fn run(ctx: Context, args: WorkerArgs) -> anyhow::Result<()> {
    let config = worker_config(&args, &ctx.file)?;
    let backends = ctx.connect()?;
    tracing::info!(broker = %backends.broker_url, "connected");
    // The photo app's tasks too, so a dedicated worker serves uploads made
    // through `celeriac serve` or a Python client; they read photos from the
    // blob store, which reaches them as a resource.
    let mut registry = builtins::registry();
    registry.merge(&celeriac_photos::tasks::registry());
    let mut worker = Worker::new(backends.broker.clone(), backends.backend.clone(), registry, config)
        .with_resources(backends.resources())
        .with_events(backends.events.clone());
    let shutdown = shutdown_on_signals();
    if let Some(addr) = args.metrics_addr {
        // The worker's own metrics, from its events (whether or not they
        // are also published).
        let metrics = Arc::new(celeriac_metrics::Metrics::new());
        let observed = metrics.clone();
        worker = worker.with_event_observer(Arc::new(move |batch| observed.observe_all(batch)));
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let served = celeriac_metrics::serve(addr, metrics, stop, |bound| {
                println!("Worker metrics: http://{bound}/metrics");
            })
            .await;
            if let Err(e) = served {
                tracing::error!(error = %e, %addr, "cannot serve worker metrics");
            }
        });
    }
    if let Some(target) = args.bench_report {
        tokio::spawn(bench_report(worker.counters(), target, shutdown.clone()));
    }
    worker.run(shutdown).await?;
    Ok(())
}

/// Watches the settled counter (an atomic read per millisecond) and reports
/// when the first and the `target`-th delivery were settled.
async fn bench_report(
    counters: std::sync::Arc<celeriac::crates::worker::Counters>,
    target: u64,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let mut first = None;
    loop {
        let settled = counters.settled.get();
        if settled > 0 && first.is_none() {
            first = Some(now());
        }
        if settled >= target {
            let last = now();
            let peak = crate::bench::status_kb(std::process::id(), "VmHWM:").unwrap_or(0);
            println!(
                "{}",
                json!({"first": first.unwrap_or(last), "last": last, "settled": settled, "peak_rss_kb": peak})
            );
            shutdown.cancel();
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
