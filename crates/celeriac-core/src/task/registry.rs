//! The table of tasks a worker can run.

use std::collections::HashMap;
use std::sync::Arc;

use super::handler::TaskHandler;
use super::options::TaskOptions;
use super::Task;

/// A registered task: name, options and handler.
#[derive(Debug, Clone)]
pub struct RegisteredTask {
    /// Registered name.
    pub name: String,
    /// Options.
    pub options: TaskOptions,
    /// The function.
    pub handler: TaskHandler,
}

/// Tasks by name.
#[derive(Debug, Clone, Default)]
pub struct TaskRegistry {
    tasks: HashMap<String, Arc<RegisteredTask>>,
}

impl TaskRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        TaskRegistry::default()
    }

    /// Registers a `#[task]` (replacing one of the same name).
    pub fn register<T: Task>(&mut self) -> &mut Self {
        self.register_handler(T::NAME, T::options(), T::handler())
    }

    /// Registers a handler under `name` (for tasks built without the macro).
    pub fn register_handler(
        &mut self,
        name: impl Into<String>,
        options: TaskOptions,
        handler: TaskHandler,
    ) -> &mut Self {
        let name = name.into();
        self.tasks
            .insert(name.clone(), Arc::new(RegisteredTask { name, options, handler }));
        self
    }

    /// Adds every task of `other`.
    pub fn merge(&mut self, other: &TaskRegistry) -> &mut Self {
        for (name, task) in &other.tasks {
            self.tasks.insert(name.clone(), task.clone());
        }
        self
    }

    /// The task registered under `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<RegisteredTask>> {
        self.tasks.get(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tasks.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True when no task is registered.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}
