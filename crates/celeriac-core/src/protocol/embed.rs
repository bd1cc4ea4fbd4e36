//! The third element of a v2 body: workflow continuations.

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

fn signature_value(sigs: &Option<Vec<Signature>>) -> Value {
    match sigs {
        None => Value::Null,
        Some(list) => Value::Array(
            list.iter()
                .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
                .collect(),
        ),
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
        let mut map = match value {
            Value::Null => return Ok(Embed::default()),
            Value::Object(map) => map,
            other => {
                return Err(DecodeError::BodyShape(format!(
                    "embed must be an object or null, got {other}"
                )))
            }
        };
        Ok(Embed {
            callbacks: signature_list(map.remove("callbacks"), "embed.callbacks")?,
            errbacks: signature_list(map.remove("errbacks"), "embed.errbacks")?,
            chain: signature_list(map.remove("chain"), "embed.chain")?,
            chord: map.remove("chord").filter(|v| !v.is_null()),
            extra: map,
        })
    }

    /// Writes `body[2]` in Celery's form (all four keys present).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("callbacks".into(), signature_value(&self.callbacks));
        map.insert("errbacks".into(), signature_value(&self.errbacks));
        map.insert("chain".into(), signature_value(&self.chain));
        map.insert("chord".into(), self.chord.clone().unwrap_or(Value::Null));
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }
}
