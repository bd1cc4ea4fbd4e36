//! The error a task returns, with Celery's `exc_type`/`exc_message` mapping.

use std::fmt;
use std::time::Duration;

use crate::result::ExceptionInfo;

/// Python built-in exception names: errors of these kinds are stored with
/// `exc_module: "builtins"` so Python clients rebuild the real class.
const PYTHON_BUILTINS: &[&str] = &[
    "Exception",
    "ValueError",
    "TypeError",
    "KeyError",
    "IndexError",
    "RuntimeError",
    "ZeroDivisionError",
    "TimeoutError",
    "ConnectionError",
    "OSError",
    "IOError",
    "NotImplementedError",
    "AssertionError",
    "ArithmeticError",
    "LookupError",
    "PermissionError",
    "FileNotFoundError",
];

/// A request to run the task again later.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryRequest {
    /// Delay before the retry; `None` uses the task's backoff policy.
    pub countdown: Option<Duration>,
}

/// Why a task did not return a value.
///
/// Any `std::error::Error` converts into it with `?`: the kind becomes the
/// error's type name (`ParseIntError`, `io::Error`), the message its
/// `Display`, and the source chain goes to the traceback field. Name a Python
/// kind (`ValueError`) with [`TaskError::new`] so Python clients see that
/// exception class. Ask for a retry with [`TaskError::retry`] or
/// [`TaskError::retry_in`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskError {
    kind: String,
    message: String,
    module: Option<String>,
    detail: Option<String>,
    retry: Option<RetryRequest>,
}

impl TaskError {
    /// An error of `kind` (e.g. `ValueError`) with `message`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        TaskError {
            kind: kind.into(),
            message: message.into(),
            module: None,
            detail: None,
            retry: None,
        }
    }

    /// An error with a message and the generic kind `TaskError`.
    pub fn msg(message: impl Into<String>) -> Self {
        TaskError::new("TaskError", message)
    }

    /// A retry request using the task's backoff policy.
    pub fn retry(reason: impl Into<String>) -> Self {
        let mut e = TaskError::new("Retry", reason);
        e.retry = Some(RetryRequest { countdown: None });
        e
    }

    /// A retry request after `countdown`.
    pub fn retry_in(countdown: Duration, reason: impl Into<String>) -> Self {
        let mut e = TaskError::new("Retry", reason);
        e.retry = Some(RetryRequest {
            countdown: Some(countdown),
        });
        e
    }

    /// Turns this error into a retry request (keeping kind and message).
    pub fn with_retry(mut self, countdown: Option<Duration>) -> Self {
        self.retry = Some(RetryRequest { countdown });
        self
    }

    /// Sets the Python module reported in `exc_module`.
    pub fn with_module(mut self, module: impl Into<String>) -> Self {
        self.module = Some(module.into());
        self
    }

    /// Adds detail (a traceback or source chain).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The error kind (Celery's `exc_type`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Detail for the traceback field.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The retry request, if this error asks for one.
    pub fn retry_request(&self) -> Option<&RetryRequest> {
        self.retry.as_ref()
    }

    /// The module reported to Celery: explicit, else `builtins` for Python
    /// built-in kinds, else `celeriac`.
    pub fn module(&self) -> &str {
        match &self.module {
            Some(m) => m,
            None if PYTHON_BUILTINS.contains(&self.kind.as_str()) => "builtins",
            None => "celeriac",
        }
    }

    /// The Celery exception object for the result document.
    pub fn to_exception_info(&self) -> ExceptionInfo {
        ExceptionInfo::new(self.kind.clone(), self.message.clone(), self.module().to_owned())
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// The readable kind of an error type: its last path segment, or
/// `module::Error` when the type is just called `Error`.
pub(crate) fn kind_of_type(type_name: &str) -> String {
    let base = type_name.split('<').next().unwrap_or(type_name);
    let segments: Vec<&str> = base.split("::").collect();
    let last = segments.last().copied().unwrap_or("Error");
    if last != "Error" || segments.len() < 2 {
        return last.to_owned();
    }
    // `std::io::error::Error` -> `io::Error`; `serde_json::error::Error` -> `serde_json::Error`.
    let owner = segments[..segments.len() - 1]
        .iter()
        .rev()
        .find(|s| **s != "error")
        .copied()
        .unwrap_or("Error");
    format!("{owner}::Error")
}

impl<E> From<E> for TaskError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        let mut chain = Vec::new();
        let mut source = error.source();
        while let Some(s) = source {
            chain.push(format!("caused by: {s}"));
            source = s.source();
        }
        let mut e = TaskError::new(kind_of_type(std::any::type_name::<E>()), error.to_string());
        if !chain.is_empty() {
            e.detail = Some(chain.join("\n"));
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_well() {
        assert_eq!(kind_of_type("std::io::error::Error"), "io::Error");
        assert_eq!(kind_of_type("serde_json::error::Error"), "serde_json::Error");
        assert_eq!(kind_of_type("core::num::error::ParseIntError"), "ParseIntError");
        assert_eq!(kind_of_type("my::Thing<u8>"), "Thing");
    }

    #[test]
    fn std_errors_convert() {
        let e: TaskError = "x".parse::<i32>().unwrap_err().into();
        assert_eq!(e.kind(), "ParseIntError");
        assert_eq!(e.module(), "celeriac");
        assert_eq!(TaskError::new("ValueError", "bad").module(), "builtins");
    }
}
