//! Typed reasons why bytes could not become a [`TaskMessage`](super::TaskMessage).

use thiserror::Error;

/// Why a message could not be decoded.
///
/// Every variant carries enough detail to be shown to an operator as the
/// dead-letter reason; none of them is produced by a panic.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message is larger than the configured limit.
    #[error("message is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Size of the offending part, in bytes.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// JSON nesting is deeper than the configured limit.
    #[error("JSON nesting is deeper than the limit of {limit}")]
    TooDeep {
        /// Configured limit.
        limit: usize,
    },
    /// The envelope is not a JSON object of the expected shape.
    #[error("envelope is not valid: {0}")]
    Envelope(String),
    /// A required envelope or header field is missing.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong type or an impossible value.
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField {
        /// Dotted path of the field, e.g. `headers.eta`.
        field: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// The content type is absent (a null content type kills Celery workers).
    #[error("content-type is missing")]
    MissingContentType,
    /// The content type is not on the accept list (pickle, for example).
    #[error("content-type `{0}` is not accepted (only application/json is)")]
    DisallowedContentType(String),
    /// The body could not be base64-decoded.
    #[error("body is not valid base64: {0}")]
    BodyEncoding(String),
    /// The body could not be decompressed.
    #[error("body could not be decompressed: {0}")]
    Compression(String),
    /// The body is not valid JSON.
    #[error("body is not valid JSON: {0}")]
    BodyJson(String),
    /// The body is JSON but not `[args, kwargs, embed]` (or a protocol 1 object).
    #[error("body has the wrong shape: {0}")]
    BodyShape(String),
    /// No `task` header and a body that is not a protocol 1 object.
    #[error("unknown message: no `task` header and the body is not a protocol 1 task")]
    UnknownMessage,
}

impl DecodeError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DecodeError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}
