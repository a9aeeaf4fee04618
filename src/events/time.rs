//! Forge timestamps. GitHub writes RFC 3339; GitLab writes RFC 3339 in some hooks and
//! `2025-01-01 10:00:00 UTC` or `2025-01-01 12:00:00 +0200` in others (notes, pipelines).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use super::EventError;

pub(crate) fn parse(
    kind: &'static str,
    field: &'static str,
    text: &str,
) -> Result<Timestamp, EventError> {
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp);
    }
    let bad = || {
        EventError::bad(
            kind,
            field,
            format!(
                "`{text}` is not a date: expected `2025-01-01T10:00:00Z`, `2025-01-01 10:00:00 UTC` or `2025-01-01 10:00:00 +0200`"
            ),
        )
    };
    let (civil, zone) = text.rsplit_once(' ').ok_or_else(bad)?;
    let datetime: DateTime = civil.parse().map_err(|_| bad())?;
    let time_zone = if zone == "UTC" {
        TimeZone::UTC
    } else {
        TimeZone::fixed(offset(zone).ok_or_else(bad)?)
    };
    datetime
        .to_zoned(time_zone)
        .map(|zoned| zoned.timestamp())
        .map_err(|_| bad())
}

/// `+0200` or `-0530`.
fn offset(text: &str) -> Option<Offset> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// An optional date field: absent and `null` are `None`, anything else must parse.
pub(crate) fn optional(
    kind: &'static str,
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<Timestamp>, EventError> {
    text.filter(|t| !t.is_empty())
        .map(|t| parse(kind, field, t))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forges_formats() {
        let expected: Timestamp = "2025-01-01T10:00:00Z".parse().unwrap();
        for text in [
            "2025-01-01T10:00:00Z",
            "2025-01-01 10:00:00 UTC",
            "2025-01-01 12:00:00 +0200",
            "2025-01-01T11:00:00+01:00",
        ] {
            assert_eq!(parse("k", "f", text).unwrap(), expected, "{text}");
        }
        assert_eq!(
            parse("GitLab note", "created_at", "yesterday")
                .unwrap_err()
                .to_string(),
            "the GitLab note payload is missing or has a bad `created_at`: `yesterday` is not a date: expected `2025-01-01T10:00:00Z`, `2025-01-01 10:00:00 UTC` or `2025-01-01 10:00:00 +0200`"
        );
        assert!(parse("k", "f", "2025-13-01 10:00:00 UTC").is_err());
        assert!(parse("k", "f", "2025-01-01 10:00:00 +02").is_err());
        assert_eq!(optional("k", "f", None).unwrap(), None);
    }
}
