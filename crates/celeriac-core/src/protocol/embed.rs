//! The third element of a v2 body: workflow continuations.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::error::DecodeError;
use super::signature::Signature;

/// Workflow continuations embedded in a task message (`body[2]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Embed {
    /// Signatures to run with the result on success (`link`).
    pub callbacks: Option<Vec<Signature>>,
    /// Signatures to run with the task id on failure (`link_error`).
    pub errbacks: Option<Vec<Signature>>,
    /// Remaining chain, **last step to run first** (Celery pops the end).
    pub chain: Option<Vec<Signature>>,
    /// Chord callback carried by each chord header task (kept verbatim).
    pub chord: Option<Value>,
    /// Keys Celeriac does not interpret, kept verbatim.
    pub extra: Map<String, Value>,
}

fn signature_list(value: Option<Value>, field: &'static str) -> Result<Option<Vec<Signature>>, DecodeError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| serde_json::from_value(item).map_err(|e| DecodeError::invalid(field, e.to_string())))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(DecodeError::invalid(
            field,
            format!("expected a list of signatures, got {other}"),
        )),
    }
}

impl Embed {
    /// Reads `body[2]`; `null` and `{}` both mean "nothing embedded".
    ///
    /// # Errors
    ///
    /// [`DecodeError::InvalidField`] when a continuation is not a list of
    /// signatures, or [`DecodeError::BodyShape`] when `body[2]` is not an
    /// object.
    pub fn from_value(value: Value) -> Result<Self, DecodeError> {
        let map = match value {
            Value::Null => return Ok(Embed::default()),
            Value::Object(map) => map,
            other => {
                return Err(DecodeError::BodyShape(format!(
                    "embed must be an object or null, got {other}"
                )))
            }
        };
        let mut embed = Embed::default();
        for (key, value) in map {
            match key.as_str() {
                "callbacks" => embed.callbacks = signature_list(Some(value), "embed.callbacks")?,
                "errbacks" => embed.errbacks = signature_list(Some(value), "embed.errbacks")?,
                "chain" => embed.chain = signature_list(Some(value), "embed.chain")?,
                "chord" => embed.chord = Some(value).filter(|v| !v.is_null()),
                _ => {
                    embed.extra.insert(key, value);
                }
            }
        }
        Ok(embed)
    }

    /// Writes `body[2]` in Celery's form (all four keys present).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Serializes straight to Celery's embed object, all four keys present.
impl Serialize for Embed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4 + self.extra.len()))?;
        map.serialize_entry("callbacks", &self.callbacks)?;
        map.serialize_entry("errbacks", &self.errbacks)?;
        map.serialize_entry("chain", &self.chain)?;
        map.serialize_entry("chord", &self.chord)?;
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
