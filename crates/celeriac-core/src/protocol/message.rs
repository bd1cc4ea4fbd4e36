//! The single internal message model: a Celery task protocol v2 message.

use std::borrow::Cow;
use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};

use super::embed::Embed;
use super::error::DecodeError;
use super::fields::{kind_of, Key, Object};
use super::headers::TaskHeaders;
use super::limits::{nesting_exceeds, DecodeLimits};
use super::properties::{Base64Body, MessageProperties};

/// The only content type Celeriac accepts (Celery's default accept list).
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// The compression header value meaning a zlib stream (PROTOCOL.md §3.4).
pub const COMPRESSION_ZLIB: &str = "application/x-gzip";

/// Which task protocol a message arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolVersion {
    /// Everything in a body object (accepted on input, never sent).
    V1,
    /// Headers plus `[args, kwargs, embed]` (what Celeriac sends).
    V2,
}

/// A task message: headers, properties and the decoded body.
///
/// Decoded from, and encoded to, kombu's JSON envelope (PROTOCOL.md §4.1),
/// which is also the form every Celeriac broker stores.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMessage {
    /// Protocol the message arrived in; encoding always writes v2.
    pub protocol: ProtocolVersion,
    /// Task headers.
    pub headers: TaskHeaders,
    /// Message properties.
    pub properties: MessageProperties,
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
    /// Workflow continuations.
    pub embed: Embed,
    /// `content-encoding` of the envelope (`utf-8` for JSON).
    pub content_encoding: String,
    /// Envelope keys Celeriac does not interpret, kept verbatim.
    pub envelope_extra: Map<String, Value>,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    body: String,
    #[serde(rename = "content-encoding")]
    content_encoding: &'a str,
    #[serde(rename = "content-type")]
    content_type: &'a str,
    headers: &'a TaskHeaders,
    properties: Base64Body<'a>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

/// The envelope's top-level fields, read without building maps.
#[derive(Default)]
struct RawEnvelope<'de> {
    body: Option<Value>,
    content_type: Option<Value>,
    content_encoding: Option<Value>,
    headers: Object<'de>,
    properties: Object<'de>,
    extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;
        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = RawEnvelope<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEnvelope<'de>, A::Error> {
                let mut e = RawEnvelope::default();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    match &*key {
                        "body" => e.body = Some(map.next_value()?),
                        "content-type" => e.content_type = Some(map.next_value()?),
                        "content-encoding" => e.content_encoding = Some(map.next_value()?),
                        "headers" => e.headers = map.next_value()?,
                        "properties" => e.properties = map.next_value()?,
                        _ => {
                            let value = map.next_value()?;
                            e.extra.insert(key.into_owned(), value);
                        }
                    }
                }
                Ok(e)
            }
        }
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

impl TaskMessage {
    /// A v2 message for `task` with id `id`, routed to `queue`, no arguments.
    pub fn new(task: impl Into<String>, id: impl Into<String>, queue: impl Into<String>) -> Self {
        let id = id.into();
        let queue = queue.into();
        TaskMessage {
            protocol: ProtocolVersion::V2,
            headers: TaskHeaders {
                lang: Some("rust".into()),
                task: task.into(),
                root_id: Some(id.clone()),
                id: id.clone(),
                ignore_result: Some(false),
                ..TaskHeaders::default()
            },
            properties: MessageProperties {
                correlation_id: Some(id),
                delivery_mode: Some(2),
                exchange: String::new(),
                routing_key: queue,
                delivery_tag: crate::ids::new_uuid4(),
                body_encoding: Some("base64".into()),
                ..MessageProperties::default()
            },
            args: Vec::new(),
            kwargs: Map::new(),
            embed: Embed::default(),
            content_encoding: "utf-8".into(),
            envelope_extra: Map::new(),
        }
    }

    /// Decodes a kombu JSON envelope.
    ///
    /// Never panics: every malformed input gives a [`DecodeError`] that says
    /// what was wrong, suitable as a dead-letter reason.
    ///
    /// # Errors
    ///
    /// See [`DecodeError`]'s variants.
    pub fn decode(raw: &[u8], limits: &DecodeLimits) -> Result<Self, DecodeError> {
        if raw.len() > limits.max_message_bytes {
            return Err(DecodeError::TooLarge {
                size: raw.len(),
                limit: limits.max_message_bytes,
            });
        }
        // serde_json's own recursion limit keeps a deep envelope from
        // overflowing the stack; the configured depth applies to the body.
        let envelope: RawEnvelope = sonic_rs::from_slice(raw).map_err(|e| DecodeError::Envelope(e.to_string()))?;
        let content_type = match envelope.content_type {
            None | Some(Value::Null) => return Err(DecodeError::MissingContentType),
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(DecodeError::invalid(
                    "content-type",
                    format!("expected a string, got {other}"),
                ))
            }
        };
        if content_type != CONTENT_TYPE_JSON {
            return Err(DecodeError::DisallowedContentType(content_type));
        }
        let content_encoding = match envelope.content_encoding {
            None | Some(Value::Null) => "utf-8".to_owned(),
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(DecodeError::invalid(
                    "content-encoding",
                    format!("expected a string, got {other}"),
                ))
            }
        };
        let properties = match envelope.properties {
            Object::Pairs(pairs) => MessageProperties::from_fields(pairs)?,
            Object::Absent | Object::Null => return Err(DecodeError::MissingField("properties")),
            Object::Other(other) => {
                return Err(DecodeError::invalid(
                    "properties",
                    format!("expected an object, got {other}"),
                ))
            }
        };
        let headers = match envelope.headers {
            Object::Pairs(pairs) => pairs,
            Object::Absent | Object::Null => Vec::new(),
            Object::Other(other) => {
                return Err(DecodeError::invalid(
                    "headers",
                    format!("expected an object, got {other}"),
                ))
            }
        };
        let body_text = match envelope.body {
            Some(Value::String(s)) => s,
            None | Some(Value::Null) => return Err(DecodeError::MissingField("body")),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "body",
                    format!("expected a string, got {}", kind_of(&other)),
                ))
            }
        };
        let mut body = match properties.body_encoding.as_deref() {
            Some("base64") => BASE64
                .decode(body_text.as_bytes())
                .map_err(|e| DecodeError::BodyEncoding(e.to_string()))?,
            None | Some("utf-8") | Some("utf8") => body_text.into_bytes(),
            Some(other) => {
                return Err(DecodeError::invalid(
                    "properties.body_encoding",
                    format!("unknown encoding `{other}`"),
                ))
            }
        };
        let compression = headers
            .iter()
            .find(|(k, _)| k == "compression")
            .and_then(|(_, v)| v.as_str());
        if let Some(compression) = compression {
            body = decompress(compression, &body, limits.max_message_bytes)?;
        }
        if body.len() > limits.max_message_bytes {
            return Err(DecodeError::TooLarge {
                size: body.len(),
                limit: limits.max_message_bytes,
            });
        }
        if nesting_exceeds(&body, limits.max_depth) {
            return Err(DecodeError::TooDeep {
                limit: limits.max_depth,
            });
        }
        let body: Value = serde_json::from_slice(&body).map_err(|e| {
            let base64_json = properties.body_encoding.is_none()
                && BASE64
                    .decode(&body)
                    .is_ok_and(|decoded| serde_json::from_slice::<serde::de::IgnoredAny>(&decoded).is_ok());
            if base64_json {
                DecodeError::BodyJson(format!(
                    "{e} (the body is base64-encoded JSON but properties.body_encoding is missing)"
                ))
            } else {
                DecodeError::BodyJson(e.to_string())
            }
        })?;
        if headers.iter().any(|(k, _)| k == "task") {
            Self::from_v2(headers, properties, body, content_encoding, envelope.extra)
        } else {
            Self::from_v1(headers, properties, body, content_encoding, envelope.extra)
        }
    }

    fn from_v2(
        headers: Vec<(Cow<'_, str>, Value)>,
        properties: MessageProperties,
        body: Value,
        content_encoding: String,
        envelope_extra: Map<String, Value>,
    ) -> Result<Self, DecodeError> {
        let Value::Array(parts) = body else {
            return Err(DecodeError::BodyShape(format!(
                "expected [args, kwargs, embed], got {}",
                kind_of(&body)
            )));
        };
        if parts.len() != 3 {
            return Err(DecodeError::BodyShape(format!(
                "expected 3 elements [args, kwargs, embed], got {}",
                parts.len()
            )));
        }
        let mut parts = parts.into_iter();
        let args = match parts.next() {
            Some(Value::Array(args)) => args,
            Some(Value::Null) => Vec::new(),
            other => {
                return Err(DecodeError::BodyShape(format!(
                    "args must be a list, got {}",
                    other.as_ref().map_or("nothing", kind_of)
                )))
            }
        };
        let kwargs = match parts.next() {
            Some(Value::Object(kwargs)) => kwargs,
            Some(Value::Null) => Map::new(),
            other => {
                return Err(DecodeError::BodyShape(format!(
                    "kwargs must be an object, got {}",
                    other.as_ref().map_or("nothing", kind_of)
                )))
            }
        };
        let embed = Embed::from_value(parts.next().unwrap_or(Value::Null))?;
        Ok(TaskMessage {
            protocol: ProtocolVersion::V2,
            headers: TaskHeaders::from_fields(headers)?,
            properties,
            args,
            kwargs,
            embed,
            content_encoding,
            envelope_extra,
        })
    }

    fn from_v1(
        mut headers: Vec<(Cow<'_, str>, Value)>,
        properties: MessageProperties,
        body: Value,
        content_encoding: String,
        envelope_extra: Map<String, Value>,
    ) -> Result<Self, DecodeError> {
        let Value::Object(mut body) = body else {
            return Err(DecodeError::UnknownMessage);
        };
        if !body.contains_key("task") {
            return Err(DecodeError::UnknownMessage);
        }
        let args = match body.remove("args") {
            Some(Value::Array(args)) => args,
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                return Err(DecodeError::BodyShape(format!(
                    "args must be a list, got {}",
                    kind_of(&other)
                )))
            }
        };
        let kwargs = match body.remove("kwargs") {
            Some(Value::Object(kwargs)) => kwargs,
            None | Some(Value::Null) => Map::new(),
            Some(other) => {
                return Err(DecodeError::BodyShape(format!(
                    "kwargs must be an object, got {}",
                    kind_of(&other)
                )))
            }
        };
        let mut embed = Map::new();
        for key in ["callbacks", "errbacks", "chord"] {
            if let Some(value) = body.remove(key) {
                embed.insert(key.into(), value);
            }
        }
        let embed = Embed::from_value(Value::Object(embed))?;
        // v1 names the group `taskset`; both may be present.
        let taskset = body.remove("taskset");
        if body.get("group").is_none_or(Value::is_null) {
            if let Some(taskset) = taskset {
                body.insert("group".into(), taskset);
            }
        }
        body.remove("utc");
        headers.extend(body.into_iter().map(|(k, v)| (Cow::Owned(k), v)));
        let mut headers = TaskHeaders::from_fields(headers)?;
        if headers.root_id.is_none() {
            headers.root_id = Some(headers.id.clone());
        }
        Ok(TaskMessage {
            protocol: ProtocolVersion::V1,
            headers,
            properties,
            args,
            kwargs,
            embed,
            content_encoding,
            envelope_extra,
        })
    }

    /// The body in Celery's v2 form: `[args, kwargs, embed]` as JSON bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        sonic_rs::to_vec(&(&self.args, &self.kwargs, &self.embed)).unwrap_or_default()
    }

    /// Encodes the message as a kombu JSON envelope, always protocol v2 with
    /// a base64 body; compressed with zlib if the `compression` header says so.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = self.body_bytes();
        if matches!(
            self.headers.compression.as_deref(),
            Some(COMPRESSION_ZLIB) | Some("zlib")
        ) {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            if encoder.write_all(&body).is_ok() {
                if let Ok(compressed) = encoder.finish() {
                    body = compressed;
                }
            }
        }
        let envelope = EnvelopeOut {
            body: BASE64.encode(&body),
            content_encoding: &self.content_encoding,
            content_type: CONTENT_TYPE_JSON,
            headers: &self.headers,
            properties: Base64Body(&self.properties),
            extra: &self.envelope_extra,
        };
        sonic_rs::to_vec(&envelope).unwrap_or_default()
    }

    /// Queue the message was routed to.
    pub fn queue(&self) -> &str {
        &self.properties.routing_key
    }
}

fn decompress(compression: &str, data: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    match compression {
        COMPRESSION_ZLIB | "zlib" => {
            let mut out = Vec::new();
            // Read one byte past the limit so a bomb is detected, not inflated.
            let mut reader = flate2::read::ZlibDecoder::new(data).take(limit as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|e| DecodeError::Compression(e.to_string()))?;
            if out.len() > limit {
                return Err(DecodeError::TooLarge { size: out.len(), limit });
            }
            Ok(out)
        }
        other => Err(DecodeError::Compression(format!("unsupported compression `{other}`"))),
    }
}
