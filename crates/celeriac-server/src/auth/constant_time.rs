//! Comparing secrets without leaking, through timing, how much of a guess was right.

use std::hint::black_box;

/// Whether `a == b`, taking time that depends only on the lengths, never on where the
/// first difference is. A length difference is not hidden (lengths are not secret enough
/// to matter: secrets are at least 16 characters anyway).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    // Compare over the longer length so a short guess costs the same as a right-length one.
    let len = a.len().max(b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        // black_box keeps the optimizer from turning the fold into an early exit.
        diff |= black_box(x ^ y);
    }
    black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abcdef", b"abcdef"));
        assert!(!constant_time_eq(b"abcdef", b"abcdeg"));
        assert!(!constant_time_eq(b"abc", b"abcdef"));
        assert!(!constant_time_eq(b"abcdef", b"abc"));
        assert!(!constant_time_eq(b"abc\0", b"abc"));
    }
}
