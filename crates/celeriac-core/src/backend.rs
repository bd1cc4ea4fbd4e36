//! The result-backend trait.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::BrokerError;
use crate::result::TaskResult;

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

    /// Deletes every expired result now; returns the count. Backends also
    /// expire on their own; this makes it prompt and testable.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] on store failure.
    async fn expire(&self) -> Result<u64, BrokerError>;
}
