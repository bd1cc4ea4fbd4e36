//! The conformance suites of blob and record stores.

mod blobs;
mod events;
mod records;

use std::future::Future;
use std::sync::Arc;

use celeriac_core::events::EventBus;
use celeriac_core::{BlobStore, RecordStore};

use crate::check::run_check;
use crate::config::ConformanceConfig;
use crate::report::ConformanceReport;

/// Short type name of the store under test, for the report.
fn store_name<R: ?Sized>() -> String {
    let full = std::any::type_name::<R>();
    full.rsplit("::").next().unwrap_or(full).to_owned()
}

/// Runs each named check on a fresh store from `$make` and adds its
/// outcome to `$report`.
macro_rules! run_checks {
    ($report:ident, $config:ident, $make:ident, [$($name:literal => $check:path),* $(,)?]) => {
        $(
            let outcome = run_check($name, $config.check_timeout, async {
                $check($make().await, $config).await
            })
            .await;
            $report.checks.push(outcome);
        )*
    };
}

/// Runs every blob-store check and reports each one.
///
/// `make` must return a fresh, isolated store on every call. Checks (all
/// prefixed `blobs.`): `put_then_get`, `keys_are_fresh`, `missing_is_none`,
/// `delete`, `large_blob`, `bad_content_type`, `ttl_expiry`.
pub async fn blob_conformance<F, Fut, R>(config: &ConformanceConfig, make: F) -> ConformanceReport
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<R>>,
    R: BlobStore + ?Sized,
{
    let mut report = ConformanceReport::new("blob store");
    report.backend = store_name::<R>();
    run_checks!(report, config, make, [
        "blobs.put_then_get" => blobs::put_then_get,
        "blobs.keys_are_fresh" => blobs::keys_are_fresh,
        "blobs.missing_is_none" => blobs::missing_is_none,
        "blobs.delete" => blobs::delete,
        "blobs.large_blob" => blobs::large_blob,
        "blobs.bad_content_type" => blobs::bad_content_type,
        "blobs.ttl_expiry" => blobs::ttl_expiry,
    ]);
    report
}

/// Runs every record-store check and reports each one.
///
/// `make` must return a fresh, isolated store on every call. Checks (all
/// prefixed `records.`): `put_then_get`, `recent_order_and_limit`,
/// `replace_keeps_place`, `collections_are_separate`, `delete`,
/// `bad_names`, `ttl_expiry`.
pub async fn record_conformance<F, Fut, R>(config: &ConformanceConfig, make: F) -> ConformanceReport
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<R>>,
    R: RecordStore + ?Sized,
{
    let mut report = ConformanceReport::new("record store");
    report.backend = store_name::<R>();
    run_checks!(report, config, make, [
        "records.put_then_get" => records::put_then_get,
        "records.recent_order_and_limit" => records::recent_order_and_limit,
        "records.replace_keeps_place" => records::replace_keeps_place,
        "records.collections_are_separate" => records::collections_are_separate,
        "records.delete" => records::delete,
        "records.bad_names" => records::bad_names,
        "records.ttl_expiry" => records::ttl_expiry,
    ]);
    report
}

/// Runs every event-bus check and reports each one.
///
/// `make` must return a fresh bus with an empty log on every call. Checks
/// (all prefixed `events.`): `publish_then_read`, `read_waits_for_publish`,
/// `large_batches`, `foreign_cursor_refused`.
pub async fn event_conformance<F, Fut, R>(config: &ConformanceConfig, make: F) -> ConformanceReport
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<R>>,
    R: EventBus + ?Sized,
{
    let mut report = ConformanceReport::new("event bus");
    report.backend = store_name::<R>();
    run_checks!(report, config, make, [
        "events.publish_then_read" => events::publish_then_read,
        "events.read_waits_for_publish" => events::read_waits_for_publish,
        "events.large_batches" => events::large_batches,
        "events.foreign_cursor_refused" => events::foreign_cursor_refused,
    ]);
    report
}
