//! What a running task can learn about itself and do.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::error::TaskError;
use super::resources::Resources;
use crate::backend::ResultBackend;
use crate::protocol::{TaskHeaders, TaskMessage};
use crate::result::TaskResult;
use crate::state::TaskState;

/// The running task's identity, headers, cancellation and progress channel.
///
/// Declare a parameter of type `TaskContext` in a `#[task]` function to
/// receive it. Cloning is cheap.
#[derive(Clone)]
pub struct TaskContext {
    inner: Arc<ContextInner>,
}

#[derive(Clone)]
struct ContextInner {
    message: Arc<TaskMessage>,
    queue: String,
    deliveries: u32,
    worker: String,
    cancel: CancellationToken,
    backend: Option<Arc<dyn ResultBackend>>,
    runtime: Option<tokio::runtime::Handle>,
    resources: Arc<Resources>,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("id", &self.id())
            .field("task", &self.task_name())
            .field("retries", &self.retries())
            .finish()
    }
}

impl TaskContext {
    /// A context for one execution of `message` (built by the worker).
    pub fn new(
        message: Arc<TaskMessage>,
        queue: String,
        deliveries: u32,
        worker: String,
        backend: Option<Arc<dyn ResultBackend>>,
    ) -> Self {
        TaskContext {
            inner: Arc::new(ContextInner {
                message,
                queue,
                deliveries,
                worker,
                cancel: CancellationToken::new(),
                backend,
                runtime: tokio::runtime::Handle::try_current().ok(),
                resources: Arc::default(),
            }),
        }
    }

    /// This context with the worker's shared services (see
    /// [`TaskContext::resource`]).
    #[must_use]
    pub fn with_resources(mut self, resources: Arc<Resources>) -> Self {
        Arc::make_mut(&mut self.inner).resources = resources;
        self
    }

    /// A context for calling a task function directly (tests, inline use):
    /// no progress store, never cancelled.
    pub fn detached(task: &str, id: &str) -> Self {
        let message = TaskMessage::new(task, id, crate::DEFAULT_QUEUE);
        TaskContext::new(Arc::new(message), crate::DEFAULT_QUEUE.into(), 1, String::new(), None)
    }

    /// Task id.
    pub fn id(&self) -> &str {
        &self.inner.message.headers.id
    }

    /// Registered task name.
    pub fn task_name(&self) -> &str {
        &self.inner.message.headers.task
    }

    /// Retries done before this run (0 on the first run).
    pub fn retries(&self) -> u32 {
        self.inner.message.headers.retries
    }

    /// First task of the workflow.
    pub fn root_id(&self) -> &str {
        self.inner
            .message
            .headers
            .root_id
            .as_deref()
            .unwrap_or(&self.inner.message.headers.id)
    }

    /// Task that sent this one, if any.
    pub fn parent_id(&self) -> Option<&str> {
        self.inner.message.headers.parent_id.as_deref()
    }

    /// Group id, for group members.
    pub fn group(&self) -> Option<&str> {
        self.inner.message.headers.group.as_deref()
    }

    /// All message headers, custom ones in `extra`.
    pub fn headers(&self) -> &TaskHeaders {
        &self.inner.message.headers
    }

    /// Queue the message came from.
    pub fn queue(&self) -> &str {
        &self.inner.queue
    }

    /// How many times the broker delivered this message (1 normally; more
    /// after a worker died while running it).
    pub fn delivery_count(&self) -> u32 {
        self.inner.deliveries
    }

    /// Id of the worker running the task.
    pub fn worker(&self) -> &str {
        &self.inner.worker
    }

    /// True once the soft time limit passed or the task was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Completes when the soft time limit passes or the task is asked to
    /// stop; `select!` on it to clean up and return early.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.inner.cancel.cancelled()
    }

    /// The cancellation token (the worker cancels it at the soft limit).
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.inner.cancel
    }

    /// The worker's shared service of type `T` (registered with
    /// `Worker::with_resources`), e.g. `ctx.resource::<Arc<dyn BlobStore>>()`.
    pub fn resource<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.inner.resources.get::<T>().cloned()
    }

    /// Runs an async call — a blob read, an async client — to completion
    /// from a `blocking` or `cpu` task, on the worker's runtime (so clients
    /// that need Tokio's reactor work), or on a minimal executor when there
    /// is none. Never call it from an `async` task: await instead.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.inner.runtime {
            Some(handle) => handle.block_on(future),
            None => futures::executor::block_on(future),
        }
    }

    /// A retry request after `countdown`, to return as the task's error.
    pub fn retry_in(&self, countdown: Duration, reason: impl Into<String>) -> TaskError {
        TaskError::retry_in(countdown, reason)
    }

    /// Reports progress: stores custom `state` with `meta`, readable by the
    /// caller through `AsyncResult::state()` and `info()`.
    ///
    /// # Errors
    ///
    /// A task error when the result store fails or `meta` does not serialize;
    /// tasks usually log it and go on.
    pub async fn progress(&self, state: &str, meta: impl Serialize) -> Result<(), TaskError> {
        let Some(backend) = &self.inner.backend else {
            return Ok(());
        };
        let meta = serde_json::to_value(meta).map_err(|e| TaskError::new("TypeError", e.to_string()))?;
        let mut result = TaskResult::new(self.id(), TaskState::parse(state), meta);
        result.parent_id = self.inner.message.headers.parent_id.clone();
        backend
            .store(result)
            .await
            .map_err(|e| TaskError::new("BackendError", e.to_string()))
    }

    /// [`TaskContext::progress`] for `blocking` and `cpu` tasks, which run
    /// outside the async runtime.
    ///
    /// # Errors
    ///
    /// As [`TaskContext::progress`].
    pub fn progress_blocking(&self, state: &str, meta: impl Serialize) -> Result<(), TaskError> {
        let meta: Value = serde_json::to_value(meta).map_err(|e| TaskError::new("TypeError", e.to_string()))?;
        if self.inner.runtime.is_none() {
            return Ok(());
        }
        self.block_on(self.progress(state, meta))
    }
}
