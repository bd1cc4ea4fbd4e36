//! Records: small JSON documents in named collections, newest first, each
//! with a time to live — application state that must outlive a process and
//! be shared by every process using the store (a web app's list of recent
//! uploads), kept in the same store as the queues.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::BrokerError;

/// Longest collection name or record id a record store accepts.
pub const MAX_RECORD_NAME_LEN: usize = 128;

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its id, unique within its collection.
    pub id: String,
    /// When it was first stored (replacing it keeps this).
    pub created_at: DateTime<Utc>,
    /// The document.
    pub doc: Value,
}

/// Keeps records in collections.
///
/// Order is creation order: [`RecordStore::recent_records`] lists the most
/// recently created first, and replacing a record does not move it. A record
/// past its time to live reads as missing and is deleted by the store's own
/// maintenance later.
///
/// # Cancel safety
///
/// Reads are cancel safe. A dropped write may or may not have taken effect.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    /// Stores `doc` as record `id` of `collection`, replacing any record of
    /// that id (which keeps its creation time). The time to live counts from
    /// now; `None` keeps it until deleted.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Invalid`] for an empty or overlong collection or id
    /// (see [`check_record_name`]), [`BrokerError::Unavailable`] when the
    /// store cannot be reached (retry), [`BrokerError::Internal`] otherwise.
    async fn put_record(
        &self,
        collection: &str,
        id: &str,
        doc: &Value,
        ttl: Option<Duration>,
    ) -> Result<(), BrokerError>;

    /// Record `id` of `collection`, if stored and not expired.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Unavailable`] when the store cannot be reached
    /// (retry), [`BrokerError::Internal`] otherwise.
    async fn get_record(&self, collection: &str, id: &str) -> Result<Option<Record>, BrokerError>;

    /// Up to `limit` records of `collection`, most recently created first.
    ///
    /// # Errors
    ///
    /// As [`RecordStore::get_record`].
    async fn recent_records(&self, collection: &str, limit: usize) -> Result<Vec<Record>, BrokerError>;

    /// Deletes record `id` of `collection`; true if there was one.
    ///
    /// # Errors
    ///
    /// As [`RecordStore::get_record`].
    async fn delete_record(&self, collection: &str, id: &str) -> Result<bool, BrokerError>;
}

/// Checks a collection name or record id.
///
/// # Errors
///
/// [`BrokerError::Invalid`] when it is empty, longer than
/// [`MAX_RECORD_NAME_LEN`] bytes or holds control characters.
pub fn check_record_name(what: &str, name: &str) -> Result<(), BrokerError> {
    if name.is_empty() || name.len() > MAX_RECORD_NAME_LEN || name.chars().any(char::is_control) {
        return Err(BrokerError::Invalid(format!(
            "`{}` is not a usable {what} (1 to {MAX_RECORD_NAME_LEN} bytes, no control characters)",
            name.escape_debug()
        )));
    }
    Ok(())
}
