//! The result-backend conformance suite.

mod expiry;
mod states;
mod store;
mod support;
mod wait;

use std::future::Future;
use std::sync::{Arc, OnceLock};

use celeriac_core::ResultBackend;

use crate::check::run_check;
use crate::config::ConformanceConfig;
use crate::report::ConformanceReport;

/// Runs every result-backend check and reports each one.
///
/// `make` must return a fresh, isolated backend on every call, created with
/// a time to live of [`ConformanceConfig::result_ttl`]. A check that does not
/// finish within [`ConformanceConfig::check_timeout`] fails instead of
/// hanging the suite.
///
/// Checks (all prefixed `backend.`): `store_then_get`, `store_many`,
/// `forget`, `success_is_final`, `ready_not_replaced_by_progress`,
/// `progress_readable`, `wait_notified`, `wait_missing_times_out`,
/// `ttl_expiry`.
pub async fn backend_conformance<F, Fut, R>(config: &ConformanceConfig, make: F) -> ConformanceReport
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<R>>,
    R: ResultBackend + ?Sized,
{
    let mut report = ConformanceReport::new("result backend");
    // Recorded from inside the checks so creating the backend is timed out too;
    // a `OnceLock` keeps the suite's future `Send`.
    let backend = OnceLock::<&'static str>::new();
    macro_rules! check {
        ($name:literal, $check:path) => {{
            let outcome = run_check($name, config.check_timeout, async {
                let store = make().await;
                let _ = backend.set(store.capabilities().backend);
                $check(store, config).await
            })
            .await;
            report.checks.push(outcome);
        }};
    }
    check!("backend.store_then_get", store::store_then_get);
    check!("backend.store_many", store::store_many);
    check!("backend.forget", store::forget);
    check!("backend.success_is_final", states::success_is_final);
    check!(
        "backend.ready_not_replaced_by_progress",
        states::ready_not_replaced_by_progress
    );
    check!("backend.progress_readable", states::progress_readable);
    check!("backend.wait_notified", wait::wait_notified);
    check!("backend.wait_missing_times_out", wait::wait_missing_times_out);
    check!("backend.ttl_expiry", expiry::ttl_expiry);
    if let Some(name) = backend.get() {
        (*name).clone_into(&mut report.backend);
    }
    report
}
