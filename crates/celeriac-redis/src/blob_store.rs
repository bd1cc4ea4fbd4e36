//! `BlobStore` on Redis: one hash per blob (`data`, `content_type`), with
//! the time to live as the key's own expiry.

use std::time::Duration;

use async_trait::async_trait;
use celeriac_core::{check_content_type, is_valid_blob_key, new_blob_key, Blob, BlobStore, BrokerError};
use redis::AsyncCommands as _;

use crate::store::{to_broker_error, RedisStore};

impl RedisStore {
    fn blob_key(&self, key: &str) -> String {
        format!("{}celeriac.blob.{key}", self.shared.config.global_keyprefix)
    }
}

#[async_trait]
impl BlobStore for RedisStore {
    async fn put(&self, data: Vec<u8>, content_type: &str, ttl: Option<Duration>) -> Result<String, BrokerError> {
        check_content_type(content_type)?;
        let key = new_blob_key();
        let redis_key = self.blob_key(&key);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(
                &redis_key,
                &[("data", data.as_slice()), ("content_type", content_type.as_bytes())],
            )
            .ignore();
        if let Some(ttl) = ttl {
            pipe.pexpire(&redis_key, i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1))
                .ignore();
        }
        pipe.query_async::<()>(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BrokerError> {
        if !is_valid_blob_key(key) {
            return Ok(None);
        }
        let (data, content_type): (Option<Vec<u8>>, Option<String>) = redis::cmd("HMGET")
            .arg(self.blob_key(key))
            .arg("data")
            .arg("content_type")
            .query_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(data
            .zip(content_type)
            .map(|(data, content_type)| Blob { data, content_type }))
    }

    async fn delete(&self, key: &str) -> Result<bool, BrokerError> {
        if !is_valid_blob_key(key) {
            return Ok(false);
        }
        let n: i64 = self
            .shared
            .conn()
            .del(self.blob_key(key))
            .await
            .map_err(to_broker_error)?;
        Ok(n > 0)
    }
}
