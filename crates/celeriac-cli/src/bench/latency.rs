//! Latency at a fixed offered load: tasks are sent one call each, paced;
//! `celeriac.now` returns the worker's clock at start, and a collector
//! notes when each result becomes visible to this process.

use std::time::{Duration, Instant};

use celeriac::{AsyncResult, Client, Signature};

use super::procs::unix_now;

pub(crate) struct Latency {
    pub sent: usize,
    pub offered_rate: f64,
    pub achieved_rate: f64,
    /// Milliseconds, sorted.
    pub to_start: Vec<f64>,
    /// Milliseconds, sorted.
    pub to_result: Vec<f64>,
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub(crate) async fn measure(client: &Client, rate: f64, duration: Duration) -> anyhow::Result<Latency> {
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(f64, AsyncResult<f64>)>();
    let sender_client = client.clone();
    let sender = tokio::spawn(async move {
        let start = Instant::now();
        for i in 0..total {
            let due = start + interval * i as u32;
            tokio::time::sleep_until(due.into()).await;
            let sent_at = unix_now();
            let result = sender_client.send(Signature::<f64>::typed("celeriac.now")).await?;
            if tx.send((sent_at, result)).is_err() {
                break;
            }
        }
        anyhow::Ok(start.elapsed())
    });
    let mut to_start = Vec::with_capacity(total);
    let mut to_result = Vec::with_capacity(total);
    // Results arrive nearly in order: wait on the oldest outstanding one.
    while let Some((sent_at, result)) = rx.recv().await {
        let started = result.get(Duration::from_secs(30)).await?;
        let seen = unix_now();
        to_start.push((started - sent_at) * 1e3);
        to_result.push((seen - sent_at) * 1e3);
    }
    let elapsed = sender.await??;
    to_start.sort_by(f64::total_cmp);
    to_result.sort_by(f64::total_cmp);
    Ok(Latency {
        sent: total,
        offered_rate: rate,
        achieved_rate: total as f64 / elapsed.as_secs_f64(),
        to_start,
        to_result,
    })
}
