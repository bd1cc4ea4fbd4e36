//! Task states, as Celery names them.

use std::fmt;

/// Where a task is in its life (Celery's state names).
///
/// `Pending` is never stored: it means "no result known". Custom states
/// (progress reports) carry any other name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Unknown or not yet run.
    Pending,
    /// A worker received it.
    Received,
    /// A worker started it (only stored when tracking is on).
    Started,
    /// It failed and will run again.
    Retry,
    /// It returned a value.
    Success,
    /// It failed for good.
    Failure,
    /// It was revoked or expired before running.
    Revoked,
    /// A custom state reported by the task (progress).
    Custom(String),
}

impl TaskState {
    /// True for the states that end a task: SUCCESS, FAILURE, REVOKED.
    pub fn is_ready(&self) -> bool {
        matches!(self, TaskState::Success | TaskState::Failure | TaskState::Revoked)
    }

    /// Celery's name for the state.
    pub fn as_str(&self) -> &str {
        match self {
            TaskState::Pending => "PENDING",
            TaskState::Received => "RECEIVED",
            TaskState::Started => "STARTED",
            TaskState::Retry => "RETRY",
            TaskState::Success => "SUCCESS",
            TaskState::Failure => "FAILURE",
            TaskState::Revoked => "REVOKED",
            TaskState::Custom(name) => name,
        }
    }

    /// Parses Celery's name; anything unknown is a custom state.
    pub fn parse(name: &str) -> TaskState {
        match name {
            "PENDING" => TaskState::Pending,
            "RECEIVED" => TaskState::Received,
            "STARTED" => TaskState::Started,
            "RETRY" => TaskState::Retry,
            "SUCCESS" => TaskState::Success,
            "FAILURE" => TaskState::Failure,
            "REVOKED" => TaskState::Revoked,
            other => TaskState::Custom(other.to_owned()),
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
