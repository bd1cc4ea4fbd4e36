//! Python-style short renderings of values and exceptions, as Celery puts
//! them in events (`result: "9"`, `exception: "ValueError('boom')"`).

use serde_json::Value;

/// Longest rendering an event carries, as Celery's `resultrepr_maxsize`.
pub const REPR_MAX_LEN: usize = 1024;

/// A short rendering of a value: its JSON text, cut at [`REPR_MAX_LEN`]
/// bytes (on a character boundary) with `...` marking the cut.
pub fn value_repr(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    truncate(text)
}

/// `Type('message')`, as Python's `repr` of an exception.
pub fn exception_repr(exc_type: &str, message: &str) -> String {
    let escaped = message.replace('\\', "\\\\").replace('\'', "\\'");
    truncate(format!("{exc_type}('{escaped}')"))
}

fn truncate(mut text: String) -> String {
    if text.len() > REPR_MAX_LEN {
        let mut end = REPR_MAX_LEN - 3;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_python_and_cuts_long_values() {
        assert_eq!(value_repr(&serde_json::json!(9)), "9");
        assert_eq!(value_repr(&serde_json::json!("hi")), "'hi'");
        assert_eq!(exception_repr("ValueError", "it's bad"), "ValueError('it\\'s bad')");
        let long = value_repr(&Value::String("é".repeat(2000)));
        assert!(long.len() <= REPR_MAX_LEN && long.ends_with("..."));
    }
}
