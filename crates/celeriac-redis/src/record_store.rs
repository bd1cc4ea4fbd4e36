//! `RecordStore` on Redis: per collection, a hash of records (JSON with the
//! document and its expiry) and a zset of their creation times, which is
//! also their order.

use std::time::Duration;

use async_trait::async_trait;
use celeriac_core::{check_record_name, BrokerError, Record, RecordStore};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use crate::store::{now_ms, to_broker_error, RedisStore};

type Res<T> = Result<T, BrokerError>;

impl RedisStore {
    fn record_keys(&self, collection: &str) -> (String, String) {
        let p = &self.shared.config.global_keyprefix;
        (
            format!("{p}celeriac.records.{collection}"),
            format!("{p}celeriac.records.{collection}.order"),
        )
    }
}

/// A live record from its stored form, `None` when expired or unreadable.
fn live(id: &str, stored: &str, created_ms: f64, now: i64) -> Option<Record> {
    let v: Value = serde_json::from_str(stored).ok()?;
    if v["expires_at"].as_i64().is_some_and(|e| e <= now) {
        return None;
    }
    Some(Record {
        id: id.to_owned(),
        created_at: Utc.timestamp_millis_opt(created_ms as i64).single()?,
        doc: v["doc"].clone(),
    })
}

#[async_trait]
impl RecordStore for RedisStore {
    async fn put_record(&self, collection: &str, id: &str, doc: &Value, ttl: Option<Duration>) -> Res<()> {
        check_record_name("collection", collection)?;
        check_record_name("record id", id)?;
        let (records, order) = self.record_keys(collection);
        let now = now_ms();
        let expires_at = ttl.map(|t| now.saturating_add(i64::try_from(t.as_millis()).unwrap_or(i64::MAX)));
        // Replacing keeps the creation time (and the place in the order).
        let script = redis::Script::new(
            "local created = redis.call('ZSCORE', KEYS[2], ARGV[1]) or ARGV[2] \
             redis.call('ZADD', KEYS[2], created, ARGV[1]) \
             redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) \
             return 1",
        );
        let stored = json!({"expires_at": expires_at, "doc": doc}).to_string();
        let _: i64 = script
            .key(records)
            .key(order)
            .arg(id)
            .arg(now)
            .arg(stored)
            .invoke_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }

    async fn get_record(&self, collection: &str, id: &str) -> Res<Option<Record>> {
        let (records, order) = self.record_keys(collection);
        let mut pipe = redis::pipe();
        pipe.hget(records, id).zscore(order, id);
        let (stored, created): (Option<String>, Option<f64>) = pipe
            .query_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(stored.zip(created).and_then(|(s, c)| live(id, &s, c, now_ms())))
    }

    async fn recent_records(&self, collection: &str, limit: usize) -> Res<Vec<Record>> {
        let (records, order) = self.record_keys(collection);
        let mut conn = self.shared.conn();
        let now = now_ms();
        let mut out = Vec::new();
        let mut expired = Vec::new();
        let mut start = 0isize;
        let page = limit.clamp(1, 500) as isize;
        while out.len() < limit {
            let ids: Vec<(String, f64)> = redis::cmd("ZREVRANGE")
                .arg(&order)
                .arg(start)
                .arg(start + page - 1)
                .arg("WITHSCORES")
                .query_async(&mut conn)
                .await
                .map_err(to_broker_error)?;
            if ids.is_empty() {
                break;
            }
            let names: Vec<&str> = ids.iter().map(|(id, _)| id.as_str()).collect();
            let stored: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(&records)
                .arg(&names)
                .query_async(&mut conn)
                .await
                .map_err(to_broker_error)?;
            for ((id, created), s) in ids.iter().zip(stored) {
                match s.as_deref().and_then(|s| live(id, s, *created, now)) {
                    Some(r) if out.len() < limit => out.push(r),
                    Some(_) => {}
                    None => expired.push(id.clone()),
                }
            }
            start += page;
        }
        if !expired.is_empty() {
            let mut pipe = redis::pipe();
            pipe.hdel(&records, &expired).ignore().zrem(&order, &expired).ignore();
            pipe.query_async::<()>(&mut conn).await.map_err(to_broker_error)?;
        }
        Ok(out)
    }

    async fn delete_record(&self, collection: &str, id: &str) -> Res<bool> {
        let (records, order) = self.record_keys(collection);
        let mut pipe = redis::pipe();
        pipe.atomic().hdel(&records, id).zrem(&order, id).ignore();
        let (n,): (i64,) = pipe
            .query_async(&mut self.shared.conn())
            .await
            .map_err(to_broker_error)?;
        Ok(n > 0)
    }
}
