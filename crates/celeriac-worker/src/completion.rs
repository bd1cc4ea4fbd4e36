//! What a processed delivery leaves behind, and the task that writes it:
//! follow-up messages, the result, then the ack — batched, so a busy worker
//! makes a few store round trips per hundred tasks, not several per task.

use std::sync::Arc;
use std::time::Duration;

use celeriac_core::task::TaskRegistry;
use celeriac_core::{
    Broker, BrokerError, ChordProgress, DeliveryTag, NewMessage, ResultBackend, RetryMethod, TaskResult,
};
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

use crate::shared::Counters;
use crate::workflow::{chord_outcome, ChordOutcome, ChordStep};

/// How the delivery itself ends.
#[derive(Debug)]
pub(crate) enum Settle {
    /// Done: remove it.
    Ack,
    /// Cannot or must not run again by itself: keep it with the reason.
    DeadLetter(String),
    /// Not yet due: wait in the broker until then.
    Defer(DateTime<Utc>),
    /// Already acknowledged before running (`acks_late = false`).
    Settled,
}

/// The outcome of processing one delivery.
pub(crate) struct Completion {
    pub(crate) tag: DeliveryTag,
    pub(crate) settle: Settle,
    pub(crate) result: Option<TaskResult>,
    pub(crate) publish: Vec<NewMessage>,
    /// The chord this task is a header task of, with its outcome.
    pub(crate) chord: Option<ChordStep>,
    /// The prefetch slot, released once the delivery is settled.
    pub(crate) _slot: OwnedSemaphorePermit,
}

/// Most completions written in one round.
const MAX_BATCH: usize = 512;

/// Writes completions until `stop` is cancelled and the channel is drained.
pub(crate) async fn run_completer(
    mut rx: mpsc::UnboundedReceiver<Completion>,
    broker: Arc<dyn Broker>,
    backend: Arc<dyn ResultBackend>,
    counters: Arc<Counters>,
    registry: TaskRegistry,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            biased;
            c = rx.recv() => c,
            _ = stop.cancelled() => rx.try_recv().ok(),
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        flush(&mut batch, broker.as_ref(), backend.as_ref(), &counters, &registry).await;
        counters.settled.add(n);
    }
}

/// Retries a transient failure with backoff; a permanent one is logged and
/// given up (retrying cannot fix it, and the lease returns the message if
/// this worker stops).
async fn persist<F, Fut>(what: &str, mut attempt: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), BrokerError>>,
{
    let mut delay = Duration::from_millis(50);
    loop {
        match attempt().await {
            Ok(()) => return true,
            Err(e) if e.retry_method() == RetryMethod::RetryWithBackoff => {
                tracing::warn!(error = %e, "{what} failed; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(error = %e, "{what} failed permanently");
                return false;
            }
        }
    }
}

/// Reports a header task to its chord and, if it completed the chord,
/// dispatches the callback (or records its failure).
async fn join_chord(step: &ChordStep, broker: &dyn Broker, backend: &dyn ResultBackend, registry: &TaskRegistry) {
    let group = &step.part.group_id;
    let progress = loop {
        match backend.chord_part(&step.part).await {
            Ok(p) => break p,
            Err(e) if e.retry_method() == RetryMethod::RetryWithBackoff => {
                tracing::warn!(error = %e, %group, "joining the chord failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, %group, "cannot join the chord: its callback will not run");
                return;
            }
        }
    };
    let ChordProgress::Complete { results, claim } = progress else {
        return;
    };
    match chord_outcome(step, &results, registry) {
        Ok(ChordOutcome::Callback(message)) => {
            if !persist("publishing the chord callback", || broker.enqueue(message.clone())).await {
                return;
            }
        }
        Ok(ChordOutcome::Failed(result)) => {
            tracing::warn!(%group, "a chord header task failed; the callback is recorded FAILURE");
            persist("storing the chord failure", || backend.store((*result).clone())).await;
        }
        Err(e) => tracing::error!(%group, "cannot build the chord callback: {e}"),
    }
    persist("releasing the chord", || backend.chord_done(group, &claim)).await;
}

async fn flush(
    batch: &mut Vec<Completion>,
    broker: &dyn Broker,
    backend: &dyn ResultBackend,
    counters: &Counters,
    registry: &TaskRegistry,
) {
    let publish: Vec<NewMessage> = batch.iter_mut().flat_map(|c| std::mem::take(&mut c.publish)).collect();
    let results: Vec<TaskResult> = batch.iter_mut().filter_map(|c| c.result.take()).collect();
    // Follow-ups, then results, then the ack: a crash in between runs the
    // task again (at-least-once) but never loses its outcome or continuation.
    let enqueue = async {
        if !publish.is_empty() {
            persist("publishing follow-up messages", || broker.enqueue_many(publish.clone())).await;
        }
    };
    enqueue.await;
    let acks: Vec<DeliveryTag> = batch
        .iter()
        .filter(|c| matches!(c.settle, Settle::Ack))
        .map(|c| c.tag.clone())
        .collect();
    let chords: Vec<&ChordStep> = batch.iter().filter_map(|c| c.chord.as_ref()).collect();
    if chords.is_empty() {
        if !results.is_empty() || !acks.is_empty() {
            persist("storing results and acknowledging", || async {
                broker.store_and_ack(backend, &results, &acks).await.map(|_| ())
            })
            .await;
        }
    } else {
        // Chord header tasks join their chord after their own result is
        // stored and before their ack, so a crash cannot skip the join.
        if !results.is_empty() {
            persist("storing results", || backend.store_many(&results)).await;
        }
        for step in chords {
            join_chord(step, broker, backend, registry).await;
        }
        if !acks.is_empty() {
            persist("acknowledging", || async { broker.ack(&acks).await.map(|_| ()) }).await;
        }
    }
    for c in batch.iter() {
        match &c.settle {
            Settle::DeadLetter(reason) => {
                if persist("dead-lettering", || broker.dead_letter(&c.tag, reason)).await {
                    counters.dead_lettered.inc();
                }
            }
            Settle::Defer(until) => {
                persist("deferring", || broker.defer(&c.tag, *until)).await;
            }
            Settle::Ack | Settle::Settled => {}
        }
    }
    // Dropping the completions releases their prefetch slots.
    batch.clear();
}
