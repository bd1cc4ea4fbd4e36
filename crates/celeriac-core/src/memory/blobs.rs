//! An in-process blob store for tests and embedding.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::blob::{check_content_type, new_blob_key, Blob, BlobStore};
use crate::error::BrokerError;

struct Stored {
    blob: Blob,
    expires: Option<Instant>,
}

impl Stored {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

/// The in-memory blob store; expired blobs are dropped on the next `put`.
#[derive(Default)]
pub struct MemoryBlobStore {
    blobs: Mutex<HashMap<String, Stored>>,
}

impl MemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryBlobStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Stored>> {
        self.blobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, data: Vec<u8>, content_type: &str, ttl: Option<Duration>) -> Result<String, BrokerError> {
        check_content_type(content_type)?;
        let now = Instant::now();
        let key = new_blob_key();
        let mut blobs = self.lock();
        blobs.retain(|_, stored| stored.live(now));
        blobs.insert(
            key.clone(),
            Stored {
                blob: Blob {
                    data,
                    content_type: content_type.to_owned(),
                },
                expires: ttl.map(|t| now + t),
            },
        );
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BrokerError> {
        let now = Instant::now();
        Ok(self
            .lock()
            .get(key)
            .filter(|stored| stored.live(now))
            .map(|stored| stored.blob.clone()))
    }

    async fn delete(&self, key: &str) -> Result<bool, BrokerError> {
        let now = Instant::now();
        Ok(self.lock().remove(key).is_some_and(|stored| stored.live(now)))
    }
}
