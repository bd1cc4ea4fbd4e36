//! A handle on a sent task's result.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use thiserror::Error;

use crate::backend::ResultBackend;
use crate::error::BrokerError;
use crate::result::{ExceptionInfo, TaskResult};
use crate::state::TaskState;

/// Why a result could not be obtained.
#[derive(Debug, Error)]
pub enum ResultError {
    /// The task did not finish within the timeout.
    #[error("task {id} did not finish within {waited:?} (state {state})")]
    Timeout {
        /// Task id.
        id: String,
        /// How long we waited.
        waited: Duration,
        /// Last state seen.
        state: TaskState,
    },
    /// The task failed.
    #[error("task {id} failed: {}: {}", error.exc_type, error.message())]
    Failed {
        /// Task id.
        id: String,
        /// The error as stored.
        error: ExceptionInfo,
        /// Error detail.
        traceback: Option<String>,
    },
    /// The task was revoked or expired.
    #[error("task {id} was revoked ({reason})")]
    Revoked {
        /// Task id.
        id: String,
        /// `revoked`, `expired`, or another reason.
        reason: String,
    },
    /// The result value does not have the expected type.
    #[error("task {id} returned a value of another type: {reason}")]
    Decode {
        /// Task id.
        id: String,
        /// Deserialization error.
        reason: String,
    },
    /// The result store failed.
    #[error(transparent)]
    Backend(#[from] BrokerError),
}

/// The result of a sent task: its state, and its value once ready.
///
/// `T` is the task's return type (`serde_json::Value` when unknown).
pub struct AsyncResult<T = Value> {
    id: String,
    backend: Arc<dyn ResultBackend>,
    output: PhantomData<fn() -> T>,
}

impl<T> Clone for AsyncResult<T> {
    fn clone(&self) -> Self {
        AsyncResult {
            id: self.id.clone(),
            backend: self.backend.clone(),
            output: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult").field("id", &self.id).finish()
    }
}

impl<T> AsyncResult<T> {
    /// A handle on task `id`'s result in `backend`.
    pub fn new(id: String, backend: Arc<dyn ResultBackend>) -> Self {
        AsyncResult {
            id,
            backend,
            output: PhantomData,
        }
    }

    /// Task id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Forgets the value type.
    pub fn untyped(self) -> AsyncResult<Value> {
        AsyncResult::new(self.id, self.backend)
    }
}

impl<T: DeserializeOwned> AsyncResult<T> {
    /// Current state (PENDING when nothing is stored).
    ///
    /// # Errors
    ///
    /// [`ResultError::Backend`] when the store fails.
    pub async fn state(&self) -> Result<TaskState, ResultError> {
        Ok(self
            .backend
            .get(&self.id)
            .await?
            .map_or(TaskState::Pending, |r| r.state))
    }

    /// The stored record (progress metadata for custom states), if any.
    ///
    /// # Errors
    ///
    /// [`ResultError::Backend`] when the store fails.
    pub async fn info(&self) -> Result<Option<TaskResult>, ResultError> {
        Ok(self.backend.get(&self.id).await?)
    }

    /// True once the task succeeded, failed or was revoked.
    ///
    /// # Errors
    ///
    /// [`ResultError::Backend`] when the store fails.
    pub async fn ready(&self) -> Result<bool, ResultError> {
        Ok(self.state().await?.is_ready())
    }

    /// Waits up to `timeout` for the task to finish and returns its value.
    ///
    /// # Errors
    ///
    /// [`ResultError::Failed`] or [`ResultError::Revoked`] with the stored
    /// error, [`ResultError::Timeout`] when not finished in time.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn get(&self, timeout: Duration) -> Result<T, ResultError> {
        let record = self.backend.wait(&self.id, timeout).await?;
        match record {
            Some(record) if record.state.is_ready() => self.outcome(record),
            other => Err(ResultError::Timeout {
                id: self.id.clone(),
                waited: timeout,
                state: other.map_or(TaskState::Pending, |r| r.state),
            }),
        }
    }

    /// Converts a ready record into the value or the error.
    fn outcome(&self, record: TaskResult) -> Result<T, ResultError> {
        match record.state {
            TaskState::Success => serde_json::from_value(record.result).map_err(|e| ResultError::Decode {
                id: self.id.clone(),
                reason: e.to_string(),
            }),
            TaskState::Revoked => Err(ResultError::Revoked {
                id: self.id.clone(),
                reason: record.exception().map_or_else(|| "revoked".into(), |e| e.message()),
            }),
            _ => Err(ResultError::Failed {
                id: self.id.clone(),
                error: record
                    .exception()
                    .unwrap_or_else(|| ExceptionInfo::new("Unknown", record.result.to_string(), "celeriac")),
                traceback: record.traceback,
            }),
        }
    }

    /// Deletes the stored result.
    ///
    /// # Errors
    ///
    /// [`ResultError::Backend`] when the store fails.
    pub async fn forget(&self) -> Result<(), ResultError> {
        Ok(self.backend.forget(&self.id).await?)
    }
}
