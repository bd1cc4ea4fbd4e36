//! Limits applied while decoding untrusted messages.

/// Size and nesting limits for decoding.
///
/// Defaults: 32 MiB per message and a JSON nesting depth of 64. Both protect a
/// worker from a hostile or broken producer; a message over a limit is
/// dead-lettered with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted envelope or (decompressed) body, in bytes.
    pub max_message_bytes: usize,
    /// Deepest accepted JSON nesting (arrays and objects) in the body.
    pub max_depth: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_message_bytes: 32 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// Returns the deepest array/object nesting in `json`, stopping early once it
/// exceeds `limit` (so hostile input costs at most one linear scan).
///
/// Strings are skipped, including escaped quotes; the input need not be valid
/// JSON (the parser reports that separately).
pub(crate) fn nesting_exceeds(json: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::nesting_exceeds;

    #[test]
    fn counts_only_structure_outside_strings() {
        assert!(!nesting_exceeds(br#"[[1],{"a":"[[[[["}]"#, 2));
        assert!(nesting_exceeds(br#"[[[1]]]"#, 2));
        assert!(!nesting_exceeds(br#"["\"[[[["]"#, 1));
    }
}
