//! Label values: the stand-ins for missing or folded values, the length
//! bound, and escaping for the text format.

use std::borrow::Cow;

/// The `task` or `queue` label of an event that did not carry it and whose
/// task no earlier event named.
pub const UNKNOWN: &str = "unknown";

/// The `task` label (and, past a further bound, `queue` label) that label
/// sets beyond a family's [`Limits::max_series`](crate::Limits) are counted
/// under, and the `type` of event kinds beyond it.
pub const OTHER: &str = "other";

/// Longest label value kept, in bytes: longer ones are cut (at a character
/// boundary), so one odd task name cannot bloat every scrape.
pub const MAX_LABEL_LEN: usize = 256;

/// `value` cut to at most [`MAX_LABEL_LEN`] bytes.
pub(crate) fn clip(value: &str) -> &str {
    if value.len() <= MAX_LABEL_LEN {
        return value;
    }
    let mut end = MAX_LABEL_LEN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// A label value as the text format writes it between double quotes:
/// backslash, double quote and newline escaped.
pub(crate) fn escape(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Appends `{k1="v1",k2="v2"}` (nothing for no labels), values escaped.
pub(crate) fn write_labels(out: &mut String, labels: &[(&str, &str)]) {
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        out.push_str(&escape(value));
        out.push('"');
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_backslash_quote_and_newline_only() {
        assert_eq!(escape("tasks.add"), "tasks.add");
        assert_eq!(escape("a\\b\"c\nd\te"), "a\\\\b\\\"c\\nd\te");
        let mut out = String::new();
        write_labels(&mut out, &[("task", "say \"hi\""), ("queue", "q")]);
        assert_eq!(out, r#"{task="say \"hi\"",queue="q"}"#);
        let mut none = String::new();
        write_labels(&mut none, &[]);
        assert!(none.is_empty());
    }

    #[test]
    fn clips_long_values_at_a_char_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(MAX_LABEL_LEN); // two bytes each
        let clipped = clip(&long);
        assert!(clipped.len() <= MAX_LABEL_LEN);
        assert_eq!(clipped.chars().count(), MAX_LABEL_LEN / 2);
        let odd = format!("x{long}");
        assert_eq!(clip(&odd).len(), MAX_LABEL_LEN - 1);
    }
}
