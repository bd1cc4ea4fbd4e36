//! Celery task protocol: messages, envelopes, signatures (PROTOCOL.md §2–4).

mod embed;
mod error;
mod fields;
mod headers;
mod limits;
mod message;
mod properties;
mod signature;
pub mod time;

pub use embed::Embed;
pub use error::DecodeError;
pub use headers::TaskHeaders;
pub use limits::DecodeLimits;
pub use message::{ProtocolVersion, TaskMessage, COMPRESSION_ZLIB, CONTENT_TYPE_JSON};
pub use properties::MessageProperties;
pub use signature::{Chain, Signature};
