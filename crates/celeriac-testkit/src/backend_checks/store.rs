//! Storing, reading and forgetting results.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::{ExtendedMeta, ResultBackend, TaskResult, TaskState};
use serde_json::json;

use super::support::{expect_result, failure, success, task_id};
use crate::check::{ensure, CheckResult, Ctx};
use crate::config::ConformanceConfig;

/// A stored result reads back unchanged, every field included.
pub(crate) async fn store_then_get<R: ResultBackend + ?Sized>(r: Arc<R>, _cfg: &ConformanceConfig) -> CheckResult {
    let id = task_id();
    ensure!(
        r.get(&id).await.ctx("get")?.is_none(),
        "a task never stored has a result"
    );
    let mut stored = success(&id, json!({"sum": 3, "items": [1, 2], "name": "ünïcode"}));
    stored.group_id = Some(task_id());
    stored.parent_id = Some(task_id());
    stored.children = Some(vec![json!([[task_id(), null], null])]);
    stored.extended = Some(ExtendedMeta {
        name: Some("tasks.add".to_owned()),
        args: Some(vec![json!(1), json!(2)]),
        kwargs: Some(serde_json::Map::new()),
        worker: Some("celeriac@conformance".to_owned()),
        retries: Some(0),
        queue: Some("celery".to_owned()),
    });
    r.store(stored.clone()).await.ctx("store")?;
    let got = r.get(&id).await.ctx("get")?;
    ensure!(
        got.as_ref() == Some(&stored),
        "read back a different result\n  stored {stored:?}\n  got    {got:?}"
    );
    Ok(())
}

/// `store_many` stores every result of the batch.
pub(crate) async fn store_many<R: ResultBackend + ?Sized>(r: Arc<R>, _cfg: &ConformanceConfig) -> CheckResult {
    let ids: Vec<String> = (0..25).map(|_| task_id()).collect();
    let batch: Vec<TaskResult> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            if i % 5 == 4 {
                failure(id, &format!("bad {i}"))
            } else {
                success(id, json!(i))
            }
        })
        .collect();
    r.store_many(&batch).await.ctx("store_many")?;
    r.store_many(&[]).await.ctx("store_many of an empty batch")?;
    for (i, id) in ids.iter().enumerate() {
        if i % 5 == 4 {
            let got = r.get(id).await.ctx("get")?;
            let error = got.as_ref().and_then(|g| g.exception());
            ensure!(
                error
                    .as_ref()
                    .is_some_and(|e| e.exc_type == "ValueError" && e.message() == format!("bad {i}")),
                "batch entry {i}: expected FAILURE ValueError(bad {i}), got {got:?}"
            );
        } else {
            expect_result(&*r, id, &TaskState::Success, &json!(i), &format!("batch entry {i}")).await?;
        }
    }
    Ok(())
}

/// `forget` deletes one result and nothing else; forgetting an unknown id
/// is not an error.
pub(crate) async fn forget<R: ResultBackend + ?Sized>(r: Arc<R>, _cfg: &ConformanceConfig) -> CheckResult {
    let (gone, kept) = (task_id(), task_id());
    r.store_many(&[success(&gone, json!("a")), success(&kept, json!("b"))])
        .await
        .ctx("store_many")?;
    expect_result(&*r, &gone, &TaskState::Success, &json!("a"), "before forget").await?;
    r.forget(&gone).await.ctx("forget")?;
    let got = r.get(&gone).await.ctx("get")?;
    ensure!(got.is_none(), "forgotten result still readable: {got:?}");
    let waited = r.wait(&gone, Duration::from_millis(100)).await.ctx("wait")?;
    ensure!(waited.is_none(), "wait returned a forgotten result: {waited:?}");
    expect_result(
        &*r,
        &kept,
        &TaskState::Success,
        &json!("b"),
        "another task after forget",
    )
    .await?;
    r.forget(&task_id()).await.ctx("forget of an unknown id")
}
