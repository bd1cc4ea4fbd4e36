//! [`EventBus`] on Redis: a stream Celeriac's monitors read with a cursor
//! (so a server restart loses nothing), and the pub/sub channels Celery's
//! monitors listen on (`/<db>.celeryev/<routing key>`, PROTOCOL.md §9), so
//! Flower and `celery events` see Celeriac workers too.
//!
//! One publish is one pipeline: XADD of the batch (trimmed to about
//! [`KEPT_BATCHES`] entries), a wake-up for waiting readers, and the Celery
//! broadcasts (task events as one `task.multi` list, worker events one by
//! one under their own routing key).

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use celeriac_core::events::{Event, EventBatch, EventBus, EventCursor};
use celeriac_core::BrokerError;
use redis::Value;
use tokio::time::Instant;

use crate::store::{to_broker_error, RedisStore, Shared};

/// Stream entries (batches) kept; Redis trims older ones approximately.
pub(crate) const KEPT_BATCHES: u64 = 100_000;

/// Longest sleep between looks when no wake-up comes (one may be lost
/// while the pub/sub connection reconnects).
const POLL: Duration = Duration::from_secs(1);

/// A stream entry id, `<ms>-<seq>`.
fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The kombu envelope Celery's event receivers decode (body base64 JSON).
/// Written directly into one buffer: the body is most of it, and going
/// through a `serde_json::Value` would copy it twice more.
pub(crate) fn celery_envelope(body: &[u8], routing_key: &str, hostname: &str) -> Vec<u8> {
    let json = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut out = Vec::with_capacity(body.len() * 4 / 3 + 384);
    out.extend_from_slice(b"{\"body\": \"");
    let start = out.len();
    out.resize(start + base64::encoded_len(body.len(), true).unwrap_or(0), 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(body, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    let tail = format!(
        "\", \"content-encoding\": \"utf-8\", \"content-type\": \"application/json\", \
         \"headers\": {{\"hostname\": {}}}, \"properties\": {{\"delivery_mode\": 1, \
         \"delivery_info\": {{\"exchange\": \"celeryev\", \"routing_key\": {}}}, \"priority\": 0, \
         \"body_encoding\": \"base64\", \"delivery_tag\": \"{}\"}}}}",
        json(hostname),
        json(routing_key),
        uuid::Uuid::new_v4()
    );
    out.extend_from_slice(tail.as_bytes());
    out
}

/// The events in a kombu envelope published on a Celery event channel.
///
/// # Errors
///
/// A description of what is wrong with the envelope or its body.
pub fn decode_celery_envelope(raw: &[u8]) -> Result<Vec<Event>, String> {
    let envelope: serde_json::Value = serde_json::from_slice(raw).map_err(|e| format!("envelope is not JSON: {e}"))?;
    let body = envelope
        .get("body")
        .and_then(serde_json::Value::as_str)
        .ok_or("envelope has no string body")?;
    let bytes = match envelope.pointer("/properties/body_encoding").and_then(|v| v.as_str()) {
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("body is not base64: {e}"))?,
        _ => body.as_bytes().to_vec(),
    };
    Event::decode_many(&bytes).map_err(|e| e.to_string())
}

impl Shared {
    fn events_key(&self) -> String {
        format!("{}celeriac.events", self.keys.prefix)
    }

    fn events_wake(&self) -> String {
        format!("{}celeriac.wake.events", self.keys.prefix)
    }

    /// `/<db>.celeryev/<routing key>`, under the global key prefix as kombu
    /// puts it.
    fn celery_event_channel(&self, routing_key: &str) -> String {
        let db = self.client.get_connection_info().redis_settings().db();
        format!("{}/{db}.celeryev/{routing_key}", self.keys.prefix)
    }
}

/// Reads entries after `after`, and whether entries after it were trimmed.
async fn read_entries(shared: &Shared, after: &str, max: usize) -> Result<(EventBatch, usize), BrokerError> {
    let key = shared.events_key();
    let mut pipe = redis::pipe();
    // Batches hold up to a few thousand events: read few entries at a time.
    let count = max.div_ceil(64).clamp(1, 256);
    pipe.cmd("XRANGE")
        .arg(&key)
        .arg(format!("({after}"))
        .arg("+")
        .arg("COUNT")
        .arg(count);
    pipe.cmd("XINFO").arg("STREAM").arg(&key);
    let mut conn = shared.conn.clone();
    let replies: Vec<Value> = match pipe.query_async(&mut conn).await {
        Ok(r) => r,
        // XINFO on a stream nobody wrote yet is an error: nothing to read.
        Err(e) if e.to_string().contains("no such key") => return Ok((EventBatch::default(), 0)),
        Err(e) => return Err(to_broker_error(e)),
    };
    let mut out = EventBatch::default();
    let mut rows = 0;
    if let Some(Value::Array(entries)) = replies.first() {
        for entry in entries {
            let Value::Array(parts) = entry else { continue };
            let (Some(id), Some(Value::Array(fields))) = (parts.first().and_then(as_text), parts.get(1)) else {
                continue;
            };
            rows += 1;
            let data = fields.chunks(2).find_map(|kv| match kv {
                [k, v] if as_text(k).as_deref() == Some("b") => as_bytes(v),
                _ => None,
            });
            match data.map(|d| Event::decode_many(&d)) {
                Some(Ok(events)) => out.events.extend(events),
                _ => tracing::warn!(entry = %id, "skipping an unreadable event batch"),
            }
            out.cursor = Some(EventCursor(id));
        }
    }
    if let (Some(after), Some(Value::Map(info))) = (parse_id(after), replies.get(1)) {
        let deleted = info.iter().find_map(|(k, v)| {
            (as_text(k).as_deref() == Some("max-deleted-entry-id"))
                .then(|| as_text(v).and_then(|id| parse_id(&id)))
                .flatten()
        });
        out.missed = deleted.is_some_and(|deleted| deleted > after);
    } else if let (Some(after), Some(Value::Array(info))) = (parse_id(after), replies.get(1)) {
        // RESP2 returns the map as a flat array.
        let deleted = info.chunks(2).find_map(|kv| match kv {
            [k, v] if as_text(k).as_deref() == Some("max-deleted-entry-id") => as_text(v).and_then(|id| parse_id(&id)),
            _ => None,
        });
        out.missed = deleted.is_some_and(|deleted| deleted > after);
    }
    Ok((out, rows))
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn as_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}

#[async_trait]
impl EventBus for RedisStore {
    async fn publish(&self, events: &[Event]) -> Result<(), BrokerError> {
        if events.is_empty() {
            return Ok(());
        }
        let shared = &self.shared;
        let body = Event::encode_many(events);
        let mut pipe = redis::pipe();
        pipe.cmd("XADD")
            .arg(shared.events_key())
            .arg("MAXLEN")
            .arg("~")
            .arg(KEPT_BATCHES)
            .arg("*")
            .arg("b")
            .arg(&body)
            .ignore();
        pipe.cmd("PUBLISH").arg(shared.events_wake()).arg("1").ignore();
        let hostname = events[0].hostname.as_str();
        let task_count = events.iter().filter(|e| e.is_task()).count();
        if task_count > 0 {
            // Usually the batch is all task events: its list is the body.
            let only_tasks;
            let list: &[u8] = if task_count == events.len() {
                &body
            } else {
                let tasks: Vec<&Event> = events.iter().filter(|e| e.is_task()).collect();
                only_tasks = serde_json::to_vec(&tasks).unwrap_or_default();
                &only_tasks
            };
            pipe.cmd("PUBLISH")
                .arg(shared.celery_event_channel("task.multi"))
                .arg(celery_envelope(list, "task.multi", hostname))
                .ignore();
        }
        for e in events.iter().filter(|e| !e.is_task()) {
            let key = e.routing_key();
            let one = serde_json::to_vec(e).unwrap_or_default();
            pipe.cmd("PUBLISH")
                .arg(shared.celery_event_channel(&key))
                .arg(celery_envelope(&one, &key, &e.hostname))
                .ignore();
        }
        let mut conn = shared.conn.clone();
        pipe.query_async::<()>(&mut conn).await.map_err(to_broker_error)
    }

    async fn read(&self, after: Option<&EventCursor>, max: usize, wait: Duration) -> Result<EventBatch, BrokerError> {
        let after = match after {
            Some(c) if parse_id(&c.0).is_some() => c.0.clone(),
            Some(c) => return Err(BrokerError::Invalid(format!("not a Redis event cursor: {:?}", c.0))),
            None => "0-0".to_owned(),
        };
        let shared = &self.shared;
        let name = shared.events_wake();
        let hub = shared.hub();
        let kept = shared.wake_subscriptions.lock().is_ok_and(|m| m.contains_key(&name));
        if !kept {
            let held = hub.subscribe(&name).await;
            if let Ok(mut map) = shared.wake_subscriptions.lock() {
                map.entry(name.clone()).or_insert(held);
            }
        }
        let subscription = hub.subscribe(&name).await;
        let deadline = Instant::now() + wait;
        loop {
            let seen = subscription.channel.generation();
            let (batch, _) = read_entries(shared, &after, max.max(1)).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if batch.cursor.is_some() || batch.missed || left.is_zero() {
                return Ok(batch);
            }
            subscription.channel.changed_since(seen, left.min(POLL)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_celery_57_event_broadcasts_and_round_trips_ours() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/celery");
        for (file, kinds) in [
            ("redis-pubsub-event-worker-online.raw.json", vec!["worker-online"]),
            (
                "redis-pubsub-event-task-multi--task-failed+task-received+task-started.raw.json",
                vec!["task-received", "task-started", "task-failed"],
            ),
        ] {
            let raw = std::fs::read(format!("{dir}/{file}")).expect("fixture");
            let mut got: Vec<String> = decode_celery_envelope(&raw)
                .expect(file)
                .into_iter()
                .map(|e| e.kind)
                .collect();
            got.sort();
            let mut want: Vec<String> = kinds.into_iter().map(str::to_owned).collect();
            want.sort();
            assert_eq!(got, want, "{file}");
        }
        let ours = Event::task("task-succeeded", "celeriac@h", 4, "id").with("result", "5");
        let raw = celery_envelope(
            &Event::encode_many(std::slice::from_ref(&ours)),
            "task.multi",
            "celeriac@h",
        );
        assert_eq!(decode_celery_envelope(&raw).expect("ours"), vec![ours]);
        assert!(decode_celery_envelope(b"{\"body\": 3}").is_err());
    }
}
