//! The suites are not vacuous: a store that breaks one promise fails the
//! checks written for it.

mod faulty;

use std::sync::Arc;

use celeriac_testkit::{
    backend_conformance, broker_conformance, event_conformance, ConformanceConfig, ConformanceReport,
};
use faulty::backend::{Fault as BackendFault, FaultyBackend};
use faulty::broker::{Fault as BrokerFault, FaultyBroker};
use faulty::events::{Fault as EventFault, FaultyEventBus};
use futures::future::{join_all, BoxFuture, FutureExt};

/// Every named check must have failed; returns what was not caught.
fn missed(fault: &str, report: &ConformanceReport, checks: &[&str]) -> Vec<String> {
    checks
        .iter()
        .filter(|name| report.get(name).is_none_or(|c| c.passed))
        .map(|name| format!("{fault} was not caught by {name}:\n{report}"))
        .collect()
}

fn broker_case(fault: BrokerFault, checks: &'static [&'static str]) -> BoxFuture<'static, Vec<String>> {
    async move {
        let config = ConformanceConfig::default();
        let report = broker_conformance(&config, || async move { Arc::new(FaultyBroker::new(fault)) }).await;
        missed(&format!("{fault:?}"), &report, checks)
    }
    .boxed()
}

fn backend_case(fault: BackendFault, checks: &'static [&'static str]) -> BoxFuture<'static, Vec<String>> {
    async move {
        let config = ConformanceConfig::default();
        let ttl = config.result_ttl;
        let report = backend_conformance(&config, || async move { Arc::new(FaultyBackend::new(fault, ttl)) }).await;
        missed(&format!("{fault:?}"), &report, checks)
    }
    .boxed()
}

fn event_case(fault: EventFault, checks: &'static [&'static str]) -> BoxFuture<'static, Vec<String>> {
    async move {
        let config = ConformanceConfig::default();
        let report = event_conformance(&config, || async move { Arc::new(FaultyEventBus::new(fault)) }).await;
        missed(&format!("{fault:?}"), &report, checks)
    }
    .boxed()
}

// The suites mostly sleep, so running every case at once keeps this fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_is_caught() {
    use BackendFault as K;
    use BrokerFault as F;
    let cases = vec![
        broker_case(F::IgnorePriority, &["broker.priority_order"]),
        broker_case(F::IgnoreEta, &["broker.delayed_delivery", "broker.queue_stats"]),
        broker_case(F::ReverseBatches, &["broker.enqueue_many"]),
        broker_case(F::IgnoreLease, &["broker.redelivery_after_lease_expiry"]),
        broker_case(
            F::IgnoreHeartbeat,
            &["broker.heartbeat_renews_lease", "broker.worker_registry"],
        ),
        broker_case(
            F::AckCountsStaleTags,
            &["broker.ack", "broker.redelivery_after_lease_expiry", "broker.defer"],
        ),
        broker_case(F::DeferIsRequeue, &["broker.defer"]),
        broker_case(F::LeakLeasedMessages, &["broker.concurrent_consumers"]),
        broker_case(F::PollingFetch, &["broker.fetch_wakeup"]),
        broker_case(F::IgnoreRevoke, &["broker.revoke"]),
        broker_case(F::PurgeReportsZero, &["broker.purge"]),
        broker_case(
            F::DelayedCountedReady,
            &["broker.delayed_delivery", "broker.queue_stats", "broker.defer"],
        ),
        broker_case(F::LossyDeadLetters, &["broker.dead_letters"]),
        broker_case(F::IgnoreDeregister, &["broker.worker_registry"]),
        backend_case(
            K::LastWriteWins,
            &["backend.success_is_final", "backend.ready_not_replaced_by_progress"],
        ),
        backend_case(K::NoExpiry, &["backend.ttl_expiry"]),
        backend_case(K::PollingWait, &["backend.wait_notified"]),
        backend_case(K::WaitReturnsAtOnce, &["backend.wait_missing_times_out"]),
        backend_case(K::IgnoreForget, &["backend.forget"]),
        backend_case(K::DropLastOfBatch, &["backend.store_many"]),
        backend_case(K::DropGroupId, &["backend.store_then_get"]),
        event_case(EventFault::NeverWaits, &["events.read_waits_for_publish"]),
        event_case(EventFault::TruncatesBatches, &["events.large_batches"]),
        event_case(EventFault::AcceptsForeignCursors, &["events.foreign_cursor_refused"]),
        event_case(EventFault::RepeatsTheCursor, &["events.publish_then_read"]),
    ];
    let missed: Vec<String> = join_all(cases).await.into_iter().flatten().collect();
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}
