//! Names of services and environments. Both become path segments of overlay directories and
//! appear in branch names and commands, so they are kept to a safe alphabet.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "`{name}` is not a valid {what} name: use 1 to 63 lowercase letters, digits, `-` and `_`, starting with a letter or digit"
)]
pub struct NameError {
    pub what: &'static str,
    pub name: String,
}

fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(b))
}

macro_rules! name_type {
    ($(#[$doc:meta])* $type:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $type(String);

        impl $type {
            pub fn parse(name: &str) -> Result<Self, NameError> {
                if is_valid_name(name) {
                    Ok(Self(name.to_owned()))
                } else {
                    Err(NameError { what: $what, name: name.to_owned() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// One deployable image, e.g. `web`.
    ServiceName,
    "service"
);
name_type!(
    /// A stage such as `integration`, `staging` or `production`.
    EnvironmentName,
    "environment"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_path_safe() {
        assert!(ServiceName::parse("web").is_ok());
        assert!(EnvironmentName::parse("staging-alpha").is_ok());
        assert!(ServiceName::parse("Web").is_err());
        assert!(ServiceName::parse("a/b").is_err());
        assert!(ServiceName::parse("").is_err());
        assert!(ServiceName::parse("-x").is_err());
        assert_eq!(
            EnvironmentName::parse("prod uction")
                .unwrap_err()
                .to_string(),
            "`prod uction` is not a valid environment name: use 1 to 63 lowercase letters, digits, `-` and `_`, starting with a letter or digit"
        );
    }
}
