//! Message properties (AMQP-like), as kombu carries them.

use serde_json::{Map, Value};

use super::error::DecodeError;

/// Properties of a task message (PROTOCOL.md §2.1 and §4.1).
///
/// `delivery_tag` and the `delivery_info` pair are kombu bookkeeping: a Python
/// worker loses a message that lacks them, so Celeriac always writes them and
/// refuses to run a message without them rather than pass it on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageProperties {
    /// Normally the task id.
    pub correlation_id: Option<String>,
    /// The sender's reply queue id (used only by the `rpc://` backend).
    pub reply_to: Option<String>,
    /// 2 = persistent.
    pub delivery_mode: Option<u8>,
    /// Exchange it was published to (`""` for direct-to-queue).
    pub exchange: String,
    /// Routing key; the queue name for direct publishing.
    pub routing_key: String,
    /// Native priority as sent (0–255; Celeriac uses 0–9).
    pub priority: u8,
    /// Unique per publish (a UUID in kombu).
    pub delivery_tag: String,
    /// Per-message TTL in milliseconds, as a string (AMQP).
    pub expiration: Option<String>,
    /// `properties.body_encoding`: `base64` or absent for plain text.
    pub body_encoding: Option<String>,
    /// Properties Celeriac does not interpret, kept verbatim (including
    /// `delivery_info` keys other than exchange and routing key).
    pub extra: Map<String, Value>,
    /// Extra keys of `delivery_info` (e.g. `redelivered`).
    pub delivery_info_extra: Map<String, Value>,
}

fn opt_string(map: &mut Map<String, Value>, key: &str, field: &'static str) -> Result<Option<String>, DecodeError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        // Some AMQP clients send numeric expirations; keep them usable.
        Some(Value::Number(n)) if key == "expiration" => Ok(Some(n.to_string())),
        Some(other) => Err(DecodeError::invalid(field, format!("expected a string, got {other}"))),
    }
}

impl MessageProperties {
    /// Reads properties from the envelope's `properties` object.
    ///
    /// # Errors
    ///
    /// [`DecodeError::MissingField`] when `delivery_tag` or either half of
    /// `delivery_info` is missing (kombu loses such messages), and
    /// [`DecodeError::InvalidField`] for wrong types.
    pub fn from_map(mut map: Map<String, Value>) -> Result<Self, DecodeError> {
        let delivery_tag = match map.remove("delivery_tag") {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            None | Some(Value::Null) => return Err(DecodeError::MissingField("properties.delivery_tag")),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "properties.delivery_tag",
                    format!("expected a string, got {other}"),
                ))
            }
        };
        let mut info = match map.remove("delivery_info") {
            Some(Value::Object(info)) => info,
            None | Some(Value::Null) => return Err(DecodeError::MissingField("properties.delivery_info")),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "properties.delivery_info",
                    format!("expected an object, got {other}"),
                ))
            }
        };
        let exchange = opt_string(&mut info, "exchange", "properties.delivery_info.exchange")?
            .ok_or(DecodeError::MissingField("properties.delivery_info.exchange"))?;
        let routing_key = opt_string(&mut info, "routing_key", "properties.delivery_info.routing_key")?
            .ok_or(DecodeError::MissingField("properties.delivery_info.routing_key"))?;
        let priority = match map.remove("priority") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n.as_u64().map_or(0, |p| p.min(255) as u8),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "properties.priority",
                    format!("expected an integer, got {other}"),
                ))
            }
        };
        let delivery_mode = match map.remove("delivery_mode") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_u64().map(|m| m.min(255) as u8),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "properties.delivery_mode",
                    format!("expected an integer, got {other}"),
                ))
            }
        };
        Ok(MessageProperties {
            correlation_id: opt_string(&mut map, "correlation_id", "properties.correlation_id")?,
            reply_to: opt_string(&mut map, "reply_to", "properties.reply_to")?,
            expiration: opt_string(&mut map, "expiration", "properties.expiration")?,
            body_encoding: opt_string(&mut map, "body_encoding", "properties.body_encoding")?,
            delivery_mode,
            exchange,
            routing_key,
            priority,
            delivery_tag,
            extra: map,
            delivery_info_extra: info,
        })
    }

    /// Writes the properties in kombu's form.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(id) = &self.correlation_id {
            map.insert("correlation_id".into(), Value::String(id.clone()));
        }
        if let Some(reply_to) = &self.reply_to {
            map.insert("reply_to".into(), Value::String(reply_to.clone()));
        }
        map.insert("delivery_mode".into(), Value::from(self.delivery_mode.unwrap_or(2)));
        let mut info = Map::new();
        info.insert("exchange".into(), Value::String(self.exchange.clone()));
        info.insert("routing_key".into(), Value::String(self.routing_key.clone()));
        for (k, v) in &self.delivery_info_extra {
            info.insert(k.clone(), v.clone());
        }
        map.insert("delivery_info".into(), Value::Object(info));
        map.insert("priority".into(), Value::from(self.priority));
        if let Some(encoding) = &self.body_encoding {
            map.insert("body_encoding".into(), Value::String(encoding.clone()));
        }
        map.insert("delivery_tag".into(), Value::String(self.delivery_tag.clone()));
        if let Some(expiration) = &self.expiration {
            map.insert("expiration".into(), Value::String(expiration.clone()));
        }
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        map
    }
}
