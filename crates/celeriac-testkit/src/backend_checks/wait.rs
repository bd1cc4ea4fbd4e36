//! Waiting for a result: woken by the store, bounded by the timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use celeriac_core::{ResultBackend, TaskState};
use serde_json::json;

use super::support::{in_state, progress_state, success, task_id};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;

const LONG_WAIT: Duration = Duration::from_secs(10);
const SHORT_WAIT: Duration = Duration::from_secs(1);

/// A `wait` started before the result exists keeps waiting through a
/// progress report and returns within the wake-up bound of the SUCCESS.
pub(crate) async fn wait_notified<R: ResultBackend + ?Sized>(r: Arc<R>, cfg: &ConformanceConfig) -> CheckResult {
    let id = task_id();
    let waiting = async {
        let got = r.wait(&id, LONG_WAIT).await;
        (got, Instant::now())
    };
    let producer = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let progress = r.store(in_state(&id, progress_state(), json!({"current": 1}))).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let done = r.store(success(&id, json!(42))).await;
        (progress.and(done), Instant::now())
    };
    let ((got, returned_at), (stored, stored_at)) = tokio::join!(waiting, producer);
    stored.ctx("store")?;
    let got = got.ctx("wait")?;
    ensure!(
        got.as_ref()
            .is_some_and(|g| g.state == TaskState::Success && g.result == json!(42)),
        "wait must return the SUCCESS stored while it waited (not the progress report), got {got:?}"
    );
    let latency = returned_at.saturating_duration_since(stored_at);
    ensure!(
        latency <= cfg.wakeup_bound,
        "wait returned {} ms after the store (bound {} ms): polling, not notification",
        latency.as_millis(),
        cfg.wakeup_bound.as_millis()
    );
    Ok(())
}

/// `wait` on a task that never stores anything returns `None` after about
/// the timeout.
pub(crate) async fn wait_missing_times_out<R: ResultBackend + ?Sized>(
    r: Arc<R>,
    cfg: &ConformanceConfig,
) -> CheckResult {
    let start = Instant::now();
    let got = r.wait(&task_id(), SHORT_WAIT).await.ctx("wait")?;
    let elapsed = start.elapsed();
    ensure!(got.is_none(), "wait on an unknown task returned {got:?}");
    ensure!(
        elapsed >= SHORT_WAIT * 9 / 10,
        "wait with a {} ms timeout gave up after {} ms",
        SHORT_WAIT.as_millis(),
        elapsed.as_millis()
    );
    ensure!(
        elapsed <= SHORT_WAIT + cfg.slack,
        "wait with a {} ms timeout took {} ms",
        SHORT_WAIT.as_millis(),
        elapsed.as_millis()
    );
    Ok(())
}
