//! Errors of brokers and result backends, classified by how to retry them.

use thiserror::Error;

/// How a caller should react to a [`BrokerError`] (after redis-rs's
/// `retry_method`): a transient failure must never kill a worker pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMethod {
    /// Try again after a backoff; the store is busy or unreachable.
    RetryWithBackoff,
    /// Retrying the same request cannot succeed.
    NoRetry,
}

/// A failure of a broker or result backend.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The store could not be reached or is busy; retry with backoff.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The request was invalid (bad URL, bad argument).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The backend cannot do this (see its capability report).
    #[error("not supported by this backend: {0}")]
    Unsupported(&'static str),
    /// The store is in an unexpected state.
    #[error("broker error: {0}")]
    Internal(String),
}

impl BrokerError {
    /// How to react to this error.
    pub fn retry_method(&self) -> RetryMethod {
        match self {
            BrokerError::Unavailable(_) => RetryMethod::RetryWithBackoff,
            _ => RetryMethod::NoRetry,
        }
    }
}
