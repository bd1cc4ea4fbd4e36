//! Unguessable identifiers from the operating system's CSPRNG.

use std::fmt::Write;

/// The operating system's random source failed; nothing secure can be made without it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(String);

/// 32 random bytes from the OS CSPRNG as 64 lowercase hex characters (256 bits, far
/// beyond guessing range).
///
/// # Errors
///
/// [`RandomError`] when the OS random source fails.
pub(crate) fn random_hex_32() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    let mut hex = String::with_capacity(64);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_distinct() {
        let a = random_hex_32().expect("random");
        let b = random_hex_32().expect("random");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
