//! Celeriac's vocabulary crate: the Celery task protocol (v2, v1 on input),
//! signatures and chains, the task trait and registry, result records, the
//! [`Broker`] and [`ResultBackend`] traits every backend implements, and the
//! [`BlobStore`] and [`RecordStore`] traits for data tasks and apps share.
//!
//! Heavy dependencies start where a backend starts; this crate has none.
#![deny(missing_docs)]

mod async_result;
mod backend;
mod blob;
mod broker;
mod client;
pub mod control;
mod error;
pub mod events;
pub mod host;
mod ids;
pub mod memory;
pub mod protocol;
mod records;
mod redact;
mod result;
mod signal;
mod state;
pub mod task;
pub mod trace;

pub use async_result::{AsyncResult, ResultError};
pub use backend::{BackendCapabilities, ChordPart, ChordProgress, ResultBackend};
pub use blob::{check_content_type, is_valid_blob_key, new_blob_key, Blob, BlobStore, MAX_BLOB_KEY_LEN};
pub use broker::{
    store_then_ack, termination_key, Broker, Capabilities, DeadLetter, DeadSelector, Delivery, DeliveryTag,
    FetchRequest, NewMessage, QueueStats, WorkerInfo, WorkerStatus,
};
pub use client::{build_message, Client, Parent, SendError, DEFAULT_QUEUE};
pub use error::{BrokerError, RetryMethod};
pub use ids::{new_task_id, new_uuid4};
pub use protocol::{Chain, DecodeError, DecodeLimits, Signature, TaskMessage};
pub use records::{check_record_name, Record, RecordStore, MAX_RECORD_NAME_LEN};
pub use redact::redact_password;
pub use result::{ExceptionInfo, ExtendedMeta, TaskResult};
pub use signal::Signal;
pub use state::TaskState;
pub use task::{
    ExecutionKind, Resources, Task, TaskArgs, TaskContext, TaskError, TaskHandler, TaskOptions, TaskOutcome,
    TaskRegistry,
};
