//! An in-process record store for tests and embedding.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::BrokerError;
use crate::records::{check_record_name, Record, RecordStore};

struct Stored {
    /// Creation order; ties of `created_at` are broken by it.
    serial: u64,
    created_at: DateTime<Utc>,
    doc: Value,
    expires: Option<Instant>,
}

impl Stored {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|e| e > now)
    }

    fn to_record(&self, id: &str) -> Record {
        Record {
            id: id.to_owned(),
            created_at: self.created_at,
            doc: self.doc.clone(),
        }
    }
}

#[derive(Default)]
struct Collections {
    next_serial: u64,
    by_name: HashMap<String, HashMap<String, Stored>>,
}

/// The in-memory record store; expired records are dropped on the next write.
#[derive(Default)]
pub struct MemoryRecordStore {
    inner: Mutex<Collections>,
}

impl MemoryRecordStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryRecordStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Collections> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl RecordStore for MemoryRecordStore {
    async fn put_record(
        &self,
        collection: &str,
        id: &str,
        doc: &Value,
        ttl: Option<Duration>,
    ) -> Result<(), BrokerError> {
        check_record_name("collection", collection)?;
        check_record_name("record id", id)?;
        let now = Instant::now();
        let mut inner = inner_pruned(self.lock(), now);
        inner.next_serial += 1;
        let serial = inner.next_serial;
        let records = inner.by_name.entry(collection.to_owned()).or_default();
        let (serial, created_at) = match records.get(id) {
            Some(old) => (old.serial, old.created_at),
            None => (serial, Utc::now()),
        };
        records.insert(
            id.to_owned(),
            Stored {
                serial,
                created_at,
                doc: doc.clone(),
                expires: ttl.map(|t| now + t),
            },
        );
        Ok(())
    }

    async fn get_record(&self, collection: &str, id: &str) -> Result<Option<Record>, BrokerError> {
        let now = Instant::now();
        Ok(self
            .lock()
            .by_name
            .get(collection)
            .and_then(|records| records.get(id))
            .filter(|stored| stored.live(now))
            .map(|stored| stored.to_record(id)))
    }

    async fn recent_records(&self, collection: &str, limit: usize) -> Result<Vec<Record>, BrokerError> {
        let now = Instant::now();
        let inner = self.lock();
        let Some(records) = inner.by_name.get(collection) else {
            return Ok(Vec::new());
        };
        let mut live: Vec<(&String, &Stored)> = records.iter().filter(|(_, s)| s.live(now)).collect();
        live.sort_by_key(|entry| std::cmp::Reverse(entry.1.serial));
        Ok(live.into_iter().take(limit).map(|(id, s)| s.to_record(id)).collect())
    }

    async fn delete_record(&self, collection: &str, id: &str) -> Result<bool, BrokerError> {
        let now = Instant::now();
        let mut inner = self.lock();
        let removed = inner.by_name.get_mut(collection).and_then(|records| records.remove(id));
        Ok(removed.is_some_and(|stored| stored.live(now)))
    }
}

fn inner_pruned(mut inner: MutexGuard<'_, Collections>, now: Instant) -> MutexGuard<'_, Collections> {
    for records in inner.by_name.values_mut() {
        records.retain(|_, stored| stored.live(now));
    }
    inner
}
