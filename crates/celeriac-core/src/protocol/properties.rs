//! Message properties (AMQP-like), as kombu carries them.

use serde::ser::{Serialize, SerializeMap, Serializer};
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
    /// Properties Celeriac does not interpret, kept verbatim.
    pub extra: Map<String, Value>,
    /// Extra keys of `delivery_info` (e.g. `redelivered`).
    pub delivery_info_extra: Map<String, Value>,
}

fn opt_string(value: Value, field: &'static str) -> Result<Option<String>, DecodeError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(DecodeError::invalid(field, format!("expected a string, got {other}"))),
    }
}

impl MessageProperties {
    /// Reads properties from the envelope's `properties` object.
    ///
    /// # Errors
    ///
    /// As [`MessageProperties::from_fields`].
    pub fn from_map(map: Map<String, Value>) -> Result<Self, DecodeError> {
        MessageProperties::from_fields(map)
    }

    /// Reads properties from (name, value) pairs.
    ///
    /// # Errors
    ///
    /// [`DecodeError::MissingField`] when `delivery_tag` or either half of
    /// `delivery_info` is missing (kombu loses such messages), and
    /// [`DecodeError::InvalidField`] for wrong types.
    pub fn from_fields<K>(fields: impl IntoIterator<Item = (K, Value)>) -> Result<Self, DecodeError>
    where
        K: AsRef<str> + Into<String>,
    {
        let mut p = MessageProperties::default();
        let mut tag = None;
        let mut info = None;
        for (key, value) in fields {
            match key.as_ref() {
                "delivery_tag" => {
                    tag = match value {
                        Value::String(s) => Some(s),
                        Value::Number(n) => Some(n.to_string()),
                        Value::Null => None,
                        other => {
                            return Err(DecodeError::invalid(
                                "properties.delivery_tag",
                                format!("expected a string, got {other}"),
                            ))
                        }
                    }
                }
                "delivery_info" => {
                    info = match value {
                        Value::Object(m) => Some(m),
                        Value::Null => None,
                        other => {
                            return Err(DecodeError::invalid(
                                "properties.delivery_info",
                                format!("expected an object, got {other}"),
                            ))
                        }
                    }
                }
                "priority" => {
                    p.priority = match value {
                        Value::Null => 0,
                        Value::Number(n) => n.as_u64().map_or(0, |v| v.min(255) as u8),
                        other => {
                            return Err(DecodeError::invalid(
                                "properties.priority",
                                format!("expected an integer, got {other}"),
                            ))
                        }
                    }
                }
                "delivery_mode" => {
                    p.delivery_mode = match value {
                        Value::Null => None,
                        Value::Number(n) => n.as_u64().map(|m| m.min(255) as u8),
                        other => {
                            return Err(DecodeError::invalid(
                                "properties.delivery_mode",
                                format!("expected an integer, got {other}"),
                            ))
                        }
                    }
                }
                "correlation_id" => p.correlation_id = opt_string(value, "properties.correlation_id")?,
                "reply_to" => p.reply_to = opt_string(value, "properties.reply_to")?,
                // Some AMQP clients send numeric expirations; keep them usable.
                "expiration" => {
                    p.expiration = match value {
                        Value::Number(n) => Some(n.to_string()),
                        other => opt_string(other, "properties.expiration")?,
                    }
                }
                "body_encoding" => p.body_encoding = opt_string(value, "properties.body_encoding")?,
                _ => {
                    p.extra.insert(key.into(), value);
                }
            }
        }
        p.delivery_tag = tag.ok_or(DecodeError::MissingField("properties.delivery_tag"))?;
        let mut info = info.ok_or(DecodeError::MissingField("properties.delivery_info"))?;
        p.exchange = info
            .remove("exchange")
            .map(|v| opt_string(v, "properties.delivery_info.exchange"))
            .transpose()?
            .flatten()
            .ok_or(DecodeError::MissingField("properties.delivery_info.exchange"))?;
        p.routing_key = info
            .remove("routing_key")
            .map(|v| opt_string(v, "properties.delivery_info.routing_key"))
            .transpose()?
            .flatten()
            .ok_or(DecodeError::MissingField("properties.delivery_info.routing_key"))?;
        p.delivery_info_extra = info;
        Ok(p)
    }

    /// Writes the properties in kombu's form.
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

struct DeliveryInfo<'a>(&'a MessageProperties);

impl Serialize for DeliveryInfo<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut map = serializer.serialize_map(Some(2 + p.delivery_info_extra.len()))?;
        map.serialize_entry("exchange", &p.exchange)?;
        map.serialize_entry("routing_key", &p.routing_key)?;
        for (k, v) in &p.delivery_info_extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Serializes straight to kombu's properties object.
impl Serialize for MessageProperties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_with(serializer, self.body_encoding.as_deref())
    }
}

/// The properties with `body_encoding` set to `base64`, as every encoded
/// envelope has them.
pub(crate) struct Base64Body<'a>(pub(crate) &'a MessageProperties);

impl Serialize for Base64Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_with(serializer, Some("base64"))
    }
}

impl MessageProperties {
    fn serialize_with<S: Serializer>(&self, serializer: S, body_encoding: Option<&str>) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(id) = &self.correlation_id {
            map.serialize_entry("correlation_id", id)?;
        }
        if let Some(reply_to) = &self.reply_to {
            map.serialize_entry("reply_to", reply_to)?;
        }
        map.serialize_entry("delivery_mode", &self.delivery_mode.unwrap_or(2))?;
        map.serialize_entry("delivery_info", &DeliveryInfo(self))?;
        map.serialize_entry("priority", &self.priority)?;
        if let Some(encoding) = body_encoding {
            map.serialize_entry("body_encoding", encoding)?;
        }
        map.serialize_entry("delivery_tag", &self.delivery_tag)?;
        if let Some(expiration) = &self.expiration {
            map.serialize_entry("expiration", expiration)?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
