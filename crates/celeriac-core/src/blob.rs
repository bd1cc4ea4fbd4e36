//! Blobs: byte payloads kept in the same store as the queues, so a task
//! message carries a short key instead of the bytes (a photo to process, a
//! file to convert). Messages stay small, and a retried or redelivered task
//! reads the same bytes again.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::BrokerError;

/// Longest key a blob store accepts.
pub const MAX_BLOB_KEY_LEN: usize = 128;

/// Bytes and their media type, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Blob {
    /// The bytes.
    pub data: Vec<u8>,
    /// Media type given when stored, e.g. `image/png`.
    pub content_type: String,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob")
            .field("bytes", &self.data.len())
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// Stores blobs under keys it chooses.
///
/// Keys are random (about 122 bits), so holding a key is what lets a caller
/// read a blob: the store has no listing. A blob stored with a time to live
/// reads as missing once it has passed and is deleted by the store's own
/// maintenance later. Every process that opens the same store sees the same
/// blobs, so a web server can put a photo and a worker in another process
/// read it.
///
/// # Cancel safety
///
/// `get` is cancel safe. A dropped `put` or `delete` may or may not have
/// taken effect.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `data` and returns its new key (see [`new_blob_key`]).
    /// `ttl: None` keeps it until deleted.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Invalid`] for an empty or overlong content type,
    /// [`BrokerError::Unavailable`] when the store cannot be reached
    /// (retry), [`BrokerError::Internal`] otherwise.
    async fn put(&self, data: Vec<u8>, content_type: &str, ttl: Option<Duration>) -> Result<String, BrokerError>;

    /// The blob stored under `key`, or `None` when there is none (never
    /// stored, deleted or expired).
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the store cannot be reached
    /// (retry), [`BrokerError::Internal`] otherwise. An unknown or malformed
    /// key is `Ok(None)`, not an error.
    async fn get(&self, key: &str) -> Result<Option<Blob>, BrokerError>;

    /// Deletes the blob under `key`; true if there was one.
    ///
    /// # Errors
    ///
    /// As [`BlobStore::get`].
    async fn delete(&self, key: &str) -> Result<bool, BrokerError>;
}

/// A fresh blob key: 32 lowercase hex digits of a random UUID, safe in URLs,
/// file names and Redis keys.
pub fn new_blob_key() -> String {
    crate::ids::new_uuid4().replace('-', "")
}

/// True for a key any store could have issued: 1 to [`MAX_BLOB_KEY_LEN`]
/// ASCII letters, digits, `-` or `_`. Lets callers reject a reference from
/// outside before asking the store.
pub fn is_valid_blob_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_BLOB_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a content type given to [`BlobStore::put`].
///
/// # Errors
///
/// [`BrokerError::Invalid`] when it is empty, longer than 255 bytes or holds
/// control characters.
pub fn check_content_type(content_type: &str) -> Result<(), BrokerError> {
    if content_type.is_empty() || content_type.len() > 255 || content_type.chars().any(char::is_control) {
        return Err(BrokerError::Invalid(format!(
            "`{}` is not a usable content type",
            content_type.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_and_valid() {
        let (a, b) = (new_blob_key(), new_blob_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(is_valid_blob_key(&a));
        assert!(!is_valid_blob_key(""));
        assert!(!is_valid_blob_key("../etc/passwd"));
        assert!(!is_valid_blob_key(&"a".repeat(MAX_BLOB_KEY_LEN + 1)));
    }

    #[test]
    fn content_types_are_checked() {
        assert!(check_content_type("image/png").is_ok());
        assert!(check_content_type("").is_err());
        assert!(check_content_type("image/png\r\nX: y").is_err());
    }
}
