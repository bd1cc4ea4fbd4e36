//! The result-backend trait.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::BrokerError;
use crate::result::TaskResult;
use crate::state::TaskState;

/// One chord header task's outcome, to be joined with the others.
#[derive(Debug, Clone, PartialEq)]
pub struct ChordPart {
    /// The chord's group id (the header tasks' `group` header).
    pub group_id: String,
    /// The task's position in the header.
    pub group_index: Option<i64>,
    /// The header task's id.
    pub task_id: String,
    /// Its final state.
    pub state: TaskState,
    /// Its value, or its exception object for a failure.
    pub result: serde_json::Value,
}

/// Where a chord stands after a header task reported.
#[derive(Debug, Clone, PartialEq)]
pub enum ChordProgress {
    /// Other header tasks have yet to finish.
    Pending,
    /// This part completed the chord and this caller holds the right to
    /// dispatch the callback (one caller across the fleet). The header
    /// outcomes come in header order; call [`ResultBackend::chord_done`]
    /// with the claim once the callback is published.
    Complete {
        /// `(task id, state, value or exception)` per header task.
        results: Vec<(String, TaskState, serde_json::Value)>,
        /// The dispatch claim.
        claim: String,
    },
    /// The chord was already completed (a late duplicate of a header task).
    AlreadyDone,
}

/// What a result backend can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendCapabilities {
    /// Backend name.
    pub backend: &'static str,
    /// Waiters are woken by a notification, not by polling.
    pub push_wakeup: bool,
    /// Several processes can use it at once.
    pub multi_process: bool,
    /// Default time to live of a stored result.
    pub default_ttl: Option<Duration>,
}

/// Stores task results and lets callers wait for them.
///
/// A stored SUCCESS is final; a ready state is never replaced by a
/// non-ready one (see [`TaskResult::may_replace`]). Results expire after the
/// backend's TTL.
///
/// # Cancel safety
///
/// `get` and `wait` are cancel safe. A dropped `store_many` may or may not
/// have stored its results.
#[async_trait]
pub trait ResultBackend: Send + Sync + 'static {
    /// What this backend can do.
    fn capabilities(&self) -> BackendCapabilities;

    /// Stores results (atomically where the store allows). Takes a slice so
    /// a caller can retry the same batch after a transient failure.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn store_many(&self, results: &[TaskResult]) -> Result<(), BrokerError>;

    /// Stores one result.
    ///
    /// # Errors
    ///
    /// As [`ResultBackend::store_many`].
    async fn store(&self, result: TaskResult) -> Result<(), BrokerError> {
        self.store_many(std::slice::from_ref(&result)).await
    }

    /// The latest result of a task, if any and not expired.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn get(&self, task_id: &str) -> Result<Option<TaskResult>, BrokerError>;

    /// Waits up to `timeout` for the task to reach a ready state (SUCCESS,
    /// FAILURE, REVOKED), woken by the store's notification. Returns the
    /// latest result seen (possibly not ready) or `None` on timeout with
    /// nothing stored.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn wait(&self, task_id: &str, timeout: Duration) -> Result<Option<TaskResult>, BrokerError>;

    /// Deletes a task's result.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn forget(&self, task_id: &str) -> Result<(), BrokerError>;

    /// Records a chord header task's outcome and reports whether the chord
    /// is complete (Celery 5.7's join, so Python and Celeriac workers can
    /// share one chord's header tasks and the callback fires once).
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unsupported`] when the backend cannot join chords.
    async fn chord_part(&self, part: &ChordPart) -> Result<ChordProgress, BrokerError> {
        let _ = part;
        Err(BrokerError::Unsupported("joining chords"))
    }

    /// Releases a chord after its callback was published: its join state is
    /// deleted and later duplicates are ignored.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unsupported`] when the backend cannot join chords.
    async fn chord_done(&self, group_id: &str, claim: &str) -> Result<(), BrokerError> {
        let _ = (group_id, claim);
        Err(BrokerError::Unsupported("joining chords"))
    }

    /// Deletes every expired result now; returns the count. Backends also
    /// expire on their own; this makes it prompt and testable.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn expire(&self) -> Result<u64, BrokerError>;
}
