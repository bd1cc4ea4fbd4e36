//! `BlobStore` for the embedded store: a `blobs` table, written through the
//! writer thread, read on the reader pool off the async threads (a blob may
//! be megabytes).

use std::time::Duration;

use async_trait::async_trait;
use celeriac_core::{check_content_type, is_valid_blob_key, new_blob_key, Blob, BlobStore, BrokerError};

use crate::blob_ops;
use crate::queue_ops::now_ms;
use crate::store::{millis, SqliteStore};

#[async_trait]
impl BlobStore for SqliteStore {
    async fn put(&self, data: Vec<u8>, content_type: &str, ttl: Option<Duration>) -> Result<String, BrokerError> {
        check_content_type(content_type)?;
        let key = new_blob_key();
        let content_type = content_type.to_owned();
        let expires_at = ttl.map(|t| now_ms().saturating_add(millis(t)));
        let stored = key.clone();
        self.writer
            .submit(move |conn, _| blob_ops::put(conn, &stored, &content_type, &data, expires_at))
            .await?;
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BrokerError> {
        if !is_valid_blob_key(key) {
            return Ok(None);
        }
        let key = key.to_owned();
        self.readers.read_blocking(move |conn| blob_ops::get(conn, &key)).await
    }

    async fn delete(&self, key: &str) -> Result<bool, BrokerError> {
        if !is_valid_blob_key(key) {
            return Ok(false);
        }
        let key = key.to_owned();
        self.writer.submit(move |conn, _| blob_ops::delete(conn, &key)).await
    }
}
