//! Small helpers shared by the result-backend checks.

use celeriac_core::{ExceptionInfo, ResultBackend, TaskResult, TaskState};
use chrono::DateTime;
use serde_json::Value;

use crate::check::{ensure, Ctx};
use crate::services::unique_name;

/// A fresh task id.
pub(crate) fn task_id() -> String {
    unique_name("task")
}

/// `result` with `date_done` cut to whole seconds, so stores that keep less
/// than nanosecond precision still return it unchanged.
pub(crate) fn coarse(mut result: TaskResult) -> TaskResult {
    result.date_done = result
        .date_done
        .map(|d| DateTime::from_timestamp(d.timestamp(), 0).unwrap_or(d));
    result
}

/// A SUCCESS result.
pub(crate) fn success(id: &str, value: Value) -> TaskResult {
    coarse(TaskResult::success(id, value))
}

/// A FAILURE result with a Python-style error.
pub(crate) fn failure(id: &str, message: &str) -> TaskResult {
    let error = ExceptionInfo::new("ValueError", message, "builtins");
    coarse(TaskResult::failure(
        id,
        &error,
        Some("Traceback: conformance".to_owned()),
    ))
}

/// A result in any state, e.g. a custom progress state.
pub(crate) fn in_state(id: &str, state: TaskState, meta: Value) -> TaskResult {
    coarse(TaskResult::new(id, state, meta))
}

/// The custom state tasks report progress with.
pub(crate) fn progress_state() -> TaskState {
    TaskState::Custom("PROGRESS".to_owned())
}

/// Fails unless the stored result of `id` has this state and value.
pub(crate) async fn expect_result<R: ResultBackend + ?Sized>(
    backend: &R,
    id: &str,
    state: &TaskState,
    value: &Value,
    when: &str,
) -> Result<(), String> {
    let got = backend.get(id).await.ctx("get")?;
    let Some(got) = got else {
        return Err(format!("{when}: expected {state} {value}, got no result"));
    };
    ensure!(
        &got.state == state && &got.result == value,
        "{when}: expected {state} {value}, got {} {}",
        got.state,
        got.result
    );
    Ok(())
}
