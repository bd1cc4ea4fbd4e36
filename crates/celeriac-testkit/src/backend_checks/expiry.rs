//! Results expire after the backend's TTL.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::{ResultBackend, TaskState};
use serde_json::json;

use super::support::{expect_result, success, task_id};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;

/// Past its TTL a result is no longer returned and `expire()` deletes it,
/// while a result stored later survives `expire()`.
pub(crate) async fn ttl_expiry<R: ResultBackend + ?Sized>(r: Arc<R>, cfg: &ConformanceConfig) -> CheckResult {
    let reported = r.capabilities().default_ttl;
    ensure!(
        reported == Some(cfg.result_ttl),
        "backend reports default_ttl {reported:?} but the suite was told it was created with {:?}",
        cfg.result_ttl
    );
    let (old, fresh) = (task_id(), task_id());
    r.store(success(&old, json!("old"))).await.ctx("store")?;
    expect_result(&*r, &old, &TaskState::Success, &json!("old"), "right after store").await?;

    // Margin for stores that keep expiry times in whole milliseconds or check
    // them on a coarse clock.
    tokio::time::sleep(cfg.result_ttl + Duration::from_millis(500)).await;
    r.store(success(&fresh, json!("fresh"))).await.ctx("store")?;
    let got = r.get(&old).await.ctx("get")?;
    ensure!(
        got.is_none(),
        "result still returned {} ms after a {} ms TTL: {got:?}",
        (cfg.result_ttl + Duration::from_millis(500)).as_millis(),
        cfg.result_ttl.as_millis()
    );
    let waited = r.wait(&old, Duration::from_millis(100)).await.ctx("wait")?;
    ensure!(waited.is_none(), "wait returned an expired result: {waited:?}");

    let removed = r.expire().await.ctx("expire")?;
    expect_result(
        &*r,
        &fresh,
        &TaskState::Success,
        &json!("fresh"),
        "a live result after expire()",
    )
    .await?;
    let again = r.expire().await.ctx("expire")?;
    ensure!(
        again == 0,
        "expire() reported {removed} removed, yet a second call still found {again} expired: nothing was deleted"
    );
    Ok(())
}
