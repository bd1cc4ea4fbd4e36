//! Type-erased task functions, as the worker stores and calls them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use super::args::TaskArgs;
use super::context::TaskContext;
use super::error::TaskError;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a task call produced: its JSON result or an error.
pub type TaskOutcome = Result<Value, TaskError>;

/// A task function with its argument types erased (as axum erases handlers).
#[derive(Clone)]
pub enum TaskHandler {
    /// An `async fn`.
    Async(Arc<dyn Fn(TaskContext, TaskArgs) -> BoxFuture<TaskOutcome> + Send + Sync>),
    /// A plain `fn`.
    Sync(Arc<dyn Fn(TaskContext, TaskArgs) -> TaskOutcome + Send + Sync>),
}

impl std::fmt::Debug for TaskHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskHandler::Async(_) => f.write_str("TaskHandler::Async"),
            TaskHandler::Sync(_) => f.write_str("TaskHandler::Sync"),
        }
    }
}

impl TaskHandler {
    /// Wraps an async closure.
    pub fn from_async<F, Fut>(f: F) -> Self
    where
        F: Fn(TaskContext, TaskArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TaskOutcome> + Send + 'static,
    {
        TaskHandler::Async(Arc::new(move |ctx, args| Box::pin(f(ctx, args))))
    }

    /// Wraps a plain closure.
    pub fn from_sync<F>(f: F) -> Self
    where
        F: Fn(TaskContext, TaskArgs) -> TaskOutcome + Send + Sync + 'static,
    {
        TaskHandler::Sync(Arc::new(f))
    }

    /// Calls the handler on the current thread, driving an async handler to
    /// completion with a minimal executor (for `blocking` and `cpu` threads).
    pub fn call_blocking(&self, ctx: TaskContext, args: TaskArgs) -> TaskOutcome {
        match self {
            TaskHandler::Sync(f) => f(ctx, args),
            TaskHandler::Async(f) => futures::executor::block_on(f(ctx, args)),
        }
    }
}
