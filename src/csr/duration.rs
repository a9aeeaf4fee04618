//! Certificate lifetimes written the way people say them: `90d`, `12h`, `2w`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A positive lifetime, kept in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl {
    seconds: u64,
}

/// Why a lifetime string was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a lifetime: {reason}; write a positive number and a unit, e.g. `90d`, `12h`, `30m`, `2w`"
)]
pub struct TtlError {
    input: String,
    reason: &'static str,
}

/// More than ten years is certainly a typo for a client certificate and would overflow
/// some time arithmetic further down.
const MAX_SECONDS: u64 = 10 * 366 * 24 * 3600;

impl Ttl {
    pub fn from_seconds(seconds: u64) -> Option<Self> {
        (seconds > 0 && seconds <= MAX_SECONDS).then_some(Ttl { seconds })
    }

    pub fn seconds(self) -> u64 {
        self.seconds
    }

    pub fn as_i64(self) -> i64 {
        // MAX_SECONDS keeps this far below i64::MAX.
        i64::try_from(self.seconds).unwrap_or(i64::MAX)
    }
}

impl FromStr for Ttl {
    type Err = TtlError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| TtlError {
            input: input.to_owned(),
            reason,
        };
        let digits_end = input
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| fail("the unit is missing"))?;
        let (number, unit) = input.split_at(digits_end);
        if number.is_empty() {
            return Err(fail("it does not start with a number"));
        }
        let unit_seconds: u64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(fail("the unit must be one of s, m, h, d, w")),
        };
        let count: u64 = number
            .parse()
            .map_err(|_| fail("the number is too large"))?;
        let seconds = count
            .checked_mul(unit_seconds)
            .ok_or_else(|| fail("the number is too large"))?;
        if seconds == 0 {
            return Err(fail("it must be longer than zero"));
        }
        Ttl::from_seconds(seconds).ok_or_else(|| fail("it must be at most ten years"))
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(7 * 86_400, "w"), (86_400, "d"), (3600, "h"), (60, "m")];
        for (size, name) in units {
            if self.seconds.is_multiple_of(size) {
                return write!(f, "{}{name}", self.seconds / size);
            }
        }
        write!(f, "{}s", self.seconds)
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        let cases = [
            ("45s", 45),
            ("30m", 1800),
            ("12h", 43_200),
            ("90d", 90 * 86_400),
            ("2w", 14 * 86_400),
        ];
        for (text, seconds) in cases {
            assert_eq!(text.parse::<Ttl>().map(Ttl::seconds), Ok(seconds), "{text}");
        }
    }

    #[test]
    fn refuses_malformed_lifetimes() {
        for text in [
            "",
            "d",
            "90",
            "90 d",
            "-1d",
            "0d",
            "1.5d",
            "90D",
            "1y",
            "99999999999999999999d",
            "4000d",
            "1d2h",
        ] {
            assert!(text.parse::<Ttl>().is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn displays_in_the_largest_whole_unit() {
        for text in ["90d", "2w", "12h", "30m", "45s", "25h"] {
            let ttl: Ttl = text.parse().unwrap();
            assert_eq!(ttl.to_string(), text);
        }
    }
}
