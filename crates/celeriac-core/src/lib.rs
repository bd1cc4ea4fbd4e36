//! Celeriac's vocabulary crate: the Celery task protocol (v2, v1 on input),
//! signatures and chains, the task trait and registry, result records, and
//! the [`Broker`] and [`ResultBackend`] traits every backend implements.
//!
//! Heavy dependencies start where a backend starts; this crate has none.
#![deny(missing_docs)]

mod async_result;
mod backend;
mod broker;
mod client;
mod error;
pub mod host;
mod ids;
pub mod memory;
pub mod protocol;
mod result;
mod state;
pub mod task;

pub use async_result::{AsyncResult, ResultError};
pub use backend::{BackendCapabilities, ResultBackend};
pub use broker::{
    store_then_ack, Broker, Capabilities, DeadLetter, DeadSelector, Delivery, DeliveryTag, FetchRequest, NewMessage,
    QueueStats, WorkerInfo, WorkerStatus,
};
pub use client::{build_message, Client, Parent, SendError, DEFAULT_QUEUE};
pub use error::{BrokerError, RetryMethod};
pub use ids::{new_task_id, new_uuid4};
pub use protocol::{Chain, DecodeError, DecodeLimits, Signature, TaskMessage};
pub use result::{ExceptionInfo, ExtendedMeta, TaskResult};
pub use state::TaskState;
pub use task::{
    ExecutionKind, Task, TaskArgs, TaskContext, TaskError, TaskHandler, TaskOptions, TaskOutcome, TaskRegistry,
};
