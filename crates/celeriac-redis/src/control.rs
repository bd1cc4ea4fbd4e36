//! Celery's remote control on Redis (PROTOCOL.md §10): broadcasts are
//! PUBLISHed on `/<db>.celery.pidbox` in kombu's envelope; replies are
//! LPUSHed to the client's `<oid>.reply.celery.pidbox` list.
//!
//! A store that listens keeps one dedicated pub/sub connection (started by
//! the first [`Broker::next_control`](celeriac_core::Broker::next_control)),
//! which reconnects by itself; commands wait in an inbox until read.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use base64::Engine as _;
use celeriac_core::control::ControlCommand;
use celeriac_core::{BrokerError, Signal};
use futures::StreamExt as _;
use serde_json::{json, Value};

use crate::store::{now_secs, to_broker_error, Shared};

/// How long a broadcast stays valid (Celery's clients use about this).
const EXPIRES_SECS: f64 = 30.0;

/// Most commands kept unread; older ones are dropped.
const INBOX_LIMIT: usize = 10_000;

/// Commands received and not yet read.
#[derive(Default)]
pub(crate) struct Inbox {
    commands: Mutex<VecDeque<ControlCommand>>,
    signal: Signal,
}

impl Inbox {
    fn push(&self, command: ControlCommand) {
        if let Ok(mut q) = self.commands.lock() {
            if q.len() >= INBOX_LIMIT {
                q.pop_front();
            }
            q.push_back(command);
        }
        self.signal.bump();
    }

    fn drain(&self) -> Vec<ControlCommand> {
        self.commands
            .lock()
            .map(|mut q| q.drain(..).collect())
            .unwrap_or_default()
    }
}

impl Shared {
    /// `/<db>.celery.pidbox` under the key prefix.
    pub(crate) fn pidbox_channel(&self) -> String {
        let db = self.client.get_connection_info().redis_settings().db();
        format!("{}/{db}.celery.pidbox", self.keys.prefix)
    }
}

/// A broadcast's command, if the envelope holds one that has not expired.
pub(crate) fn decode_broadcast(raw: &[u8], now: f64) -> Result<Option<ControlCommand>, String> {
    let envelope: Value = serde_json::from_slice(raw).map_err(|e| format!("envelope is not JSON: {e}"))?;
    if envelope
        .pointer("/headers/expires")
        .and_then(Value::as_f64)
        .is_some_and(|expires| expires < now)
    {
        return Ok(None);
    }
    let body = envelope.get("body").and_then(Value::as_str).ok_or("no string body")?;
    let bytes = match envelope.pointer("/properties/body_encoding").and_then(Value::as_str) {
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("body is not base64: {e}"))?,
        _ => body.as_bytes().to_vec(),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("not a control command: {e}"))
}

/// kombu's envelope around a JSON body.
fn envelope(body: &Value, headers: Value, exchange: &str, routing_key: &str, delivery_mode: u8) -> Vec<u8> {
    let body = serde_json::to_vec(body).unwrap_or_default();
    let env = json!({
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            "delivery_mode": delivery_mode,
            "delivery_info": {"exchange": exchange, "routing_key": routing_key},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": uuid::Uuid::new_v4().to_string(),
        },
    });
    serde_json::to_vec(&env).unwrap_or_default()
}

/// The inbox, with its listener started on first use.
pub(crate) fn inbox(shared: &Arc<Shared>) -> Arc<Inbox> {
    shared
        .control
        .get_or_init(|| {
            let inbox = Arc::new(Inbox::default());
            tokio::spawn(listen(Arc::downgrade(shared), inbox.clone()));
            inbox
        })
        .clone()
}

/// Subscribes to the pidbox channel and files what arrives, reconnecting
/// with backoff, until the store is dropped.
async fn listen(shared: Weak<Shared>, inbox: Arc<Inbox>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(strong) = shared.upgrade() else { return };
        let (client, channel) = (strong.client.clone(), strong.pidbox_channel());
        drop(strong);
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match subscribed.await {
            Ok(mut pubsub) => {
                backoff = Duration::from_millis(100);
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    match decode_broadcast(msg.get_payload_bytes(), now_secs()) {
                        Ok(Some(command)) => inbox.push(command),
                        Ok(None) => {}
                        Err(why) => tracing::warn!(%why, "ignoring a malformed control broadcast"),
                    }
                    if shared.strong_count() == 0 {
                        return;
                    }
                }
                tracing::warn!("control channel connection lost; reconnecting");
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen on the control channel; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Waits up to `wait` for commands.
pub(crate) async fn next(shared: &Arc<Shared>, wait: Duration) -> Vec<ControlCommand> {
    let inbox = inbox(shared);
    let seen = inbox.signal.generation();
    let now = inbox.drain();
    if !now.is_empty() {
        return now;
    }
    inbox.signal.changed_since(seen, wait).await;
    inbox.drain()
}

/// PUBLISHes `command` on the pidbox channel as Celery's `Mailbox` does.
pub(crate) async fn broadcast(shared: &Shared, command: &ControlCommand) -> Result<(), BrokerError> {
    let mut body = serde_json::to_value(command).map_err(|e| BrokerError::Internal(e.to_string()))?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("pattern".into(), Value::Null);
        obj.insert("matcher".into(), Value::Null);
    }
    let headers = json!({"clock": 1, "expires": now_secs() + EXPIRES_SECS});
    let raw = envelope(&body, headers, "celery.pidbox", "", 2);
    redis::cmd("PUBLISH")
        .arg(shared.pidbox_channel())
        .arg(raw)
        .query_async::<()>(&mut shared.conn())
        .await
        .map_err(to_broker_error)
}

/// LPUSHes `{nodename: reply}` to the client's reply queue.
pub(crate) async fn reply(
    shared: &Shared,
    command: &ControlCommand,
    nodename: &str,
    reply: Value,
) -> Result<(), BrokerError> {
    let Some(to) = &command.reply_to else { return Ok(()) };
    let body = json!({ nodename: reply });
    let headers = json!({"ticket": command.ticket, "clock": 1});
    let raw = envelope(&body, headers, &to.exchange, &to.routing_key, 1);
    let list = format!("{}{}.reply.celery.pidbox", shared.keys.prefix, to.routing_key);
    redis::cmd("LPUSH")
        .arg(list)
        .arg(raw)
        .query_async::<()>(&mut shared.conn())
        .await
        .map_err(to_broker_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_celery_57_pidbox_broadcasts_and_drops_expired_ones() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/celery");
        let raw = std::fs::read(format!("{dir}/redis-pubsub-pidbox-broadcast-revoke.raw.json")).expect("fixture");
        let command = decode_broadcast(&raw, 0.0).expect("decodes").expect("not expired");
        assert_eq!(command.method, "revoke");
        assert_eq!(command.task_ids(), ["00000000-0000-4000-8000-000000000299"]);
        assert!(command.reply_to.is_some());
        assert!(decode_broadcast(&raw, 4_000_000_000.0).expect("decodes").is_none());
        assert!(decode_broadcast(b"{}", 0.0).is_err());
        let ours = envelope(
            &json!({"method": "ping", "arguments": {}}),
            json!({}),
            "celery.pidbox",
            "",
            2,
        );
        assert_eq!(
            decode_broadcast(&ours, 0.0).expect("ours").map(|c| c.method),
            Some("ping".into())
        );
    }
}
