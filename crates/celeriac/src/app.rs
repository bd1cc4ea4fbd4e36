//! `App`: a broker, a result backend and the tasks, in one handle.

use celeriac_core::{BrokerError, Client, Task, TaskRegistry};
use celeriac_worker::{Worker, WorkerConfig};

use crate::connect::{connect, Backends};

/// Builds an [`App`].
#[derive(Debug, Default)]
pub struct AppBuilder {
    broker_url: Option<String>,
    result_url: Option<String>,
    registry: TaskRegistry,
}

impl AppBuilder {
    /// Uses this broker (default: the per-user embedded store).
    pub fn broker(mut self, url: impl Into<String>) -> Self {
        self.broker_url = Some(url.into());
        self
    }

    /// Stores results here (default: the broker's own store).
    pub fn result_backend(mut self, url: impl Into<String>) -> Self {
        self.result_url = Some(url.into());
        self
    }

    /// Registers a `#[task]`.
    pub fn task<T: Task>(mut self) -> Self {
        self.registry.register::<T>();
        self
    }

    /// Registers every task of `registry`.
    pub fn tasks(mut self, registry: &TaskRegistry) -> Self {
        self.registry.merge(registry);
        self
    }

    /// Opens the broker and backend.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] for a bad URL or an unreachable store.
    pub fn build(self) -> Result<App, BrokerError> {
        let backends = connect(self.broker_url.as_deref(), self.result_url.as_deref())?;
        Ok(App {
            backends,
            registry: self.registry,
        })
    }
}

/// A connected application: send tasks with [`App::client`], run them with
/// [`App::worker`].
#[derive(Debug, Clone)]
pub struct App {
    backends: Backends,
    registry: TaskRegistry,
}

impl App {
    /// Starts building an app.
    pub fn builder() -> AppBuilder {
        AppBuilder::default()
    }

    /// A client sending to this app's broker.
    pub fn client(&self) -> Client {
        Client::new(self.backends.broker.clone(), self.backends.backend.clone())
    }

    /// A worker for this app's tasks; they reach the store's blobs and
    /// records through [`TaskContext::resource`](crate::TaskContext::resource).
    pub fn worker(&self, config: WorkerConfig) -> Worker {
        Worker::new(
            self.backends.broker.clone(),
            self.backends.backend.clone(),
            self.registry.clone(),
            config,
        )
        .with_resources(self.backends.resources())
    }

    /// The broker and backend.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// The registered tasks.
    pub fn registry(&self) -> &TaskRegistry {
        &self.registry
    }
}
