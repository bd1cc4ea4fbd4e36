//! Reading a JSON object as (key, value) pairs without building a map: the
//! decoder's hot path collects pairs, and the typed readers consume them.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// An object key, borrowed from the input when it has no escapes (the
/// common case), so reading a message does not allocate a string per key.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A JSON object field that may be absent, `null`, an object, or something
/// else (kept so the caller can report what it was).
#[derive(Debug, Default)]
pub(crate) enum Object<'de> {
    #[default]
    Absent,
    Null,
    Pairs(Vec<(Cow<'de, str>, Value)>),
    Other(Value),
}

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object<'de>, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(24));
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            pairs.push((key, map.next_value::<Value>()?));
        }
        Ok(Object::Pairs(pairs))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Object<'de>, E> {
        Ok(Object::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Object<'de>, E> {
        Ok(Object::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Object<'de>, E> {
        Ok(Object::Other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Object<'de>, E> {
        Ok(Object::Other(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Object<'de>, E> {
        Ok(Object::Other(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Object<'de>, E> {
        Ok(Object::Other(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Object<'de>, E> {
        Ok(Object::Other(Value::String(v.to_owned())))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Object<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Object::Other(Value::Array(items)))
    }
}

/// Describes a JSON value's kind for error messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
