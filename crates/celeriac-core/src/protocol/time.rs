//! ISO-8601 timestamps as Celery writes and reads them.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Parses an ISO-8601 timestamp as Celery does: an offset (`Z` or `+hh:mm`)
/// is honoured, a naive value is taken as UTC.
///
/// # Errors
///
/// Returns a description of the problem when the text is not a timestamp.
pub fn parse_iso8601(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Ok(dt.with_timezone(&Utc));
    }
    // Python's isoformat() may use a space separator; chrono's rfc3339 parser
    // accepts it, but not naive values, which Celery reads as UTC.
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(naive.and_utc());
        }
    }
    if let Ok(dt) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(dt.with_timezone(&Utc));
    }
    Err(format!("`{text}` is not an ISO-8601 timestamp"))
}

/// Formats a timestamp the way Python's `isoformat()` does for an aware UTC
/// datetime: microseconds and a `+00:00` offset.
pub fn format_iso8601(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Micros, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_celery_forms() {
        let a = parse_iso8601("2026-11-22T01:58:39.098437+00:00").unwrap();
        let b = parse_iso8601("2026-11-22T01:58:39.098437Z").unwrap();
        let c = parse_iso8601("2026-11-22T01:58:39.098437").unwrap();
        let d = parse_iso8601("2026-11-22T02:58:39.098437+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert_eq!(format_iso8601(&a), "2026-11-22T01:58:39.098437+00:00");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_iso8601("not-a-date").is_err());
        assert!(parse_iso8601("").is_err());
    }
}
