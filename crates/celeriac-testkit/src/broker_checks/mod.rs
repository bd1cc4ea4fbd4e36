//! The broker conformance suite.

mod admin;
mod delay;
mod leases;
mod lifecycle;
mod ordering;
mod support;
mod wakeup;

use std::future::Future;
use std::sync::{Arc, OnceLock};

use celeriac_core::Broker;

use crate::check::run_check;
use crate::config::ConformanceConfig;
use crate::report::ConformanceReport;

/// Runs every broker check and reports each one.
///
/// `make` must return a fresh, isolated broker on every call (its own file,
/// database or key prefix): each check starts from an empty broker, uses
/// queue names of its own, and drops the broker when it ends. A check that does not finish within
/// [`ConformanceConfig::check_timeout`] fails instead of hanging the suite.
///
/// Checks (all prefixed `broker.`): `fifo_within_priority`,
/// `priority_order`, `enqueue_many`, `delayed_delivery`, `defer`,
/// `heartbeat_renews_lease`, `redelivery_after_lease_expiry`, `ack`,
/// `requeue`, `dead_letters`, `purge`, `revoke`, `queue_stats`,
/// `worker_registry`, `pause_resume`, `terminate`, `concurrent_consumers`,
/// `fetch_wakeup`.
pub async fn broker_conformance<F, Fut, B>(config: &ConformanceConfig, make: F) -> ConformanceReport
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<B>>,
    B: Broker + ?Sized,
{
    let mut report = ConformanceReport::new("broker");
    // Recorded from inside the checks so creating the broker is timed out too;
    // a `OnceLock` keeps the suite's future `Send`.
    let backend = OnceLock::<&'static str>::new();
    macro_rules! check {
        ($name:literal, $check:path) => {{
            let outcome = run_check($name, config.check_timeout, async {
                let broker = make().await;
                let _ = backend.set(broker.capabilities().backend);
                $check(broker, config).await
            })
            .await;
            report.checks.push(outcome);
        }};
    }
    check!("broker.fifo_within_priority", ordering::fifo_within_priority);
    check!("broker.priority_order", ordering::priority_order);
    check!("broker.enqueue_many", ordering::enqueue_many);
    check!("broker.delayed_delivery", delay::delayed_delivery);
    check!("broker.defer", delay::defer);
    check!("broker.heartbeat_renews_lease", leases::heartbeat_renews_lease);
    check!(
        "broker.redelivery_after_lease_expiry",
        leases::redelivery_after_lease_expiry
    );
    check!("broker.ack", lifecycle::ack);
    check!("broker.requeue", lifecycle::requeue);
    check!("broker.dead_letters", lifecycle::dead_letters);
    check!("broker.purge", lifecycle::purge);
    check!("broker.revoke", admin::revoke);
    check!("broker.queue_stats", admin::queue_stats);
    check!("broker.worker_registry", admin::worker_registry);
    check!("broker.pause_resume", admin::pause_resume);
    check!("broker.terminate", admin::terminate);
    check!("broker.concurrent_consumers", leases::concurrent_consumers);
    check!("broker.fetch_wakeup", wakeup::fetch_wakeup);
    if let Some(name) = backend.get() {
        (*name).clone_into(&mut report.backend);
    }
    report
}
