//! `RecordStore` for the embedded store: a `records` table, written through
//! the writer thread, read on the reader pool.

use std::time::Duration;

use async_trait::async_trait;
use celeriac_core::{check_record_name, BrokerError, Record, RecordStore};
use serde_json::Value;

use crate::queue_ops::now_ms;
use crate::record_ops::{self, NewRecord};
use crate::store::{millis, SqliteStore};

#[async_trait]
impl RecordStore for SqliteStore {
    async fn put_record(
        &self,
        collection: &str,
        id: &str,
        doc: &Value,
        ttl: Option<Duration>,
    ) -> Result<(), BrokerError> {
        check_record_name("collection", collection)?;
        check_record_name("record id", id)?;
        // Encoded here, on the caller's thread, so the writer only runs SQL.
        let record = NewRecord {
            collection: collection.to_owned(),
            id: id.to_owned(),
            doc: serde_json::to_vec(doc).map_err(|e| BrokerError::Internal(e.to_string()))?,
            expires_at: ttl.map(|t| now_ms().saturating_add(millis(t))),
        };
        self.writer.submit(move |conn, _| record_ops::put(conn, &record)).await
    }

    async fn get_record(&self, collection: &str, id: &str) -> Result<Option<Record>, BrokerError> {
        self.readers.read(|conn| record_ops::get(conn, collection, id))
    }

    async fn recent_records(&self, collection: &str, limit: usize) -> Result<Vec<Record>, BrokerError> {
        let collection = collection.to_owned();
        self.readers
            .read_blocking(move |conn| record_ops::recent(conn, &collection, limit))
            .await
    }

    async fn delete_record(&self, collection: &str, id: &str) -> Result<bool, BrokerError> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.writer
            .submit(move |conn, _| record_ops::delete(conn, &collection, &id))
            .await
    }
}
