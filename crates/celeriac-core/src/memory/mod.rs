//! In-memory broker and result backend, for tests and embedding.

mod backend;
mod broker;

pub use backend::MemoryBackend;
pub use broker::MemoryBroker;
