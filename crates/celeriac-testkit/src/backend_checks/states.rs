//! Which stored state wins: SUCCESS is final, outcomes beat progress.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::{ResultBackend, TaskResult, TaskState};
use serde_json::json;

use super::support::{expect_result, failure, in_state, progress_state, success, task_id};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;

/// Nothing replaces a stored SUCCESS: not a failure, a progress report, a
/// second success, nor a later entry of the same batch.
pub(crate) async fn success_is_final<R: ResultBackend + ?Sized>(r: Arc<R>, _cfg: &ConformanceConfig) -> CheckResult {
    let id = task_id();
    let first = json!("first");
    r.store(success(&id, first.clone())).await.ctx("store")?;
    let late: [(&str, TaskResult); 3] = [
        ("FAILURE", failure(&id, "late failure")),
        ("PROGRESS", in_state(&id, progress_state(), json!({"current": 1}))),
        ("a second SUCCESS", success(&id, json!("second"))),
    ];
    for (what, result) in late {
        r.store(result).await.ctx("store")?;
        expect_result(
            &*r,
            &id,
            &TaskState::Success,
            &first,
            &format!("after storing {what} over SUCCESS"),
        )
        .await?;
    }

    let batched = task_id();
    r.store_many(&[success(&batched, json!("kept")), failure(&batched, "later in batch")])
        .await
        .ctx("store_many")?;
    expect_result(
        &*r,
        &batched,
        &TaskState::Success,
        &json!("kept"),
        "SUCCESS followed by FAILURE in one batch",
    )
    .await
}

/// A ready state (FAILURE, REVOKED) is not hidden by a late non-ready one.
pub(crate) async fn ready_not_replaced_by_progress<R: ResultBackend + ?Sized>(
    r: Arc<R>,
    _cfg: &ConformanceConfig,
) -> CheckResult {
    let failed = task_id();
    let outcome = failure(&failed, "final");
    r.store(outcome.clone()).await.ctx("store")?;
    for state in [progress_state(), TaskState::Started, TaskState::Retry] {
        r.store(in_state(&failed, state.clone(), json!({"late": true})))
            .await
            .ctx("store")?;
        expect_result(
            &*r,
            &failed,
            &TaskState::Failure,
            &outcome.result,
            &format!("after storing {state} over FAILURE"),
        )
        .await?;
    }

    let revoked = task_id();
    let outcome = TaskResult::revoked(&revoked, "revoked");
    r.store(outcome.clone()).await.ctx("store")?;
    r.store(in_state(&revoked, progress_state(), json!({"current": 9})))
        .await
        .ctx("store")?;
    expect_result(
        &*r,
        &revoked,
        &TaskState::Revoked,
        &outcome.result,
        "after storing PROGRESS over REVOKED",
    )
    .await
}

/// Progress reports are readable with their metadata, replace each other,
/// are what `wait` returns when nothing is ready, and give way to the outcome.
pub(crate) async fn progress_readable<R: ResultBackend + ?Sized>(r: Arc<R>, _cfg: &ConformanceConfig) -> CheckResult {
    let id = task_id();
    let state = progress_state();
    let early = json!({"current": 3, "total": 10});
    r.store(in_state(&id, state.clone(), early.clone()))
        .await
        .ctx("store")?;
    expect_result(&*r, &id, &state, &early, "after a progress report").await?;

    let later = json!({"current": 7, "total": 10});
    r.store(in_state(&id, state.clone(), later.clone()))
        .await
        .ctx("store")?;
    expect_result(&*r, &id, &state, &later, "after a second progress report").await?;

    let waited = r.wait(&id, Duration::from_millis(300)).await.ctx("wait")?;
    ensure!(
        waited.as_ref().is_some_and(|w| w.state == state && w.result == later),
        "wait timing out on a task in progress must return the latest progress, got {waited:?}"
    );

    r.store(success(&id, json!("done"))).await.ctx("store")?;
    expect_result(&*r, &id, &TaskState::Success, &json!("done"), "SUCCESS after progress").await
}
