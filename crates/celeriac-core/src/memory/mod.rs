//! In-memory broker, result backend, blob and record stores, for tests and
//! embedding.

mod backend;
mod blobs;
mod broker;
mod records;

pub use backend::MemoryBackend;
pub use blobs::MemoryBlobStore;
pub use broker::MemoryBroker;
pub use records::MemoryRecordStore;
