//! Container image references: `name[:tag][@digest]`.
//!
//! A tag is looked for only after the last `/`, so the port in `localhost:5000/team/app` is
//! never mistaken for a tag.

use std::fmt;

use thiserror::Error;

/// What is wrong with an image reference, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImageRefError {
    #[error("the image name is empty")]
    EmptyName,
    #[error(
        "image name `{0}` is not valid: use lowercase path components separated by `/`, optionally after a registry host such as `registry.example.com:5000`"
    )]
    InvalidName(String),
    #[error(
        "tag `{0}` is not valid: a tag is 1 to 128 characters of letters, digits, `_`, `.` and `-`, and does not start with `.` or `-`"
    )]
    InvalidTag(String),
    #[error(
        "digest `{0}` is not valid: write it as `<algorithm>:<hex>`, for example `sha256:` followed by 64 hex digits"
    )]
    InvalidDigest(String),
}

/// The repository part of an image reference, e.g. `registry.example.com/eap/website`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageName(String);

impl ImageName {
    pub fn parse(name: &str) -> Result<Self, ImageRefError> {
        if name.is_empty() {
            return Err(ImageRefError::EmptyName);
        }
        let valid = name.split('/').enumerate().all(|(index, component)| {
            let is_host = index == 0 && name.contains('/') && looks_like_host(component);
            !component.is_empty()
                && if is_host {
                    component
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
                } else {
                    component.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    }) && component
                        .bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_alphanumeric())
                }
        });
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(ImageRefError::InvalidName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The registry host (with port) when the first component names one, as Docker decides:
    /// it contains a `.` or a `:`, or is `localhost`.
    pub fn registry(&self) -> Option<&str> {
        let (first, _) = self.0.split_once('/')?;
        looks_like_host(first).then_some(first)
    }
}

fn looks_like_host(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An image tag such as `release-1.0.0.ab12cd3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(tag: &str) -> Result<Self, ImageRefError> {
        let bytes = tag.as_bytes();
        let valid = (1..=128).contains(&bytes.len())
            && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b));
        if valid {
            Ok(Self(tag.to_owned()))
        } else {
            Err(ImageRefError::InvalidTag(tag.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A content digest such as `sha256:<64 hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(String);

impl Digest {
    pub fn parse(digest: &str) -> Result<Self, ImageRefError> {
        let invalid = || ImageRefError::InvalidDigest(digest.to_owned());
        let (algorithm, hex) = digest.split_once(':').ok_or_else(invalid)?;
        let algorithm_ok = !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
        let hex_ok = hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        let sha256_ok = algorithm != "sha256" || hex.len() == 64;
        if algorithm_ok && hex_ok && sha256_ok {
            Ok(Self(digest.to_owned()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full image reference: name with an optional tag and an optional digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    pub name: ImageName,
    pub tag: Option<Tag>,
    pub digest: Option<Digest>,
}

impl ImageRef {
    pub fn parse(reference: &str) -> Result<Self, ImageRefError> {
        let (name, tag, digest) = split_reference(reference);
        Ok(Self {
            name: ImageName::parse(name)?,
            tag: tag.map(Tag::parse).transpose()?,
            digest: digest.map(Digest::parse).transpose()?,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Splits `name[:tag][@digest]` into its raw parts without validating them. The tag is looked
/// for only after the last `/`, so a registry port is never read as a tag.
pub fn split_reference(reference: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(colon) => {
            let colon = last_slash + colon;
            (&rest[..colon], Some(&rest[colon + 1..]), digest)
        }
        None => (rest, None, digest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_registry_port_is_not_a_tag() {
        assert_eq!(
            split_reference("localhost:5000/team/app"),
            ("localhost:5000/team/app", None, None)
        );
        assert_eq!(
            split_reference("localhost:5000/team/app:1.2"),
            ("localhost:5000/team/app", Some("1.2"), None)
        );
    }

    #[test]
    fn tag_and_digest_are_split() {
        let reference = format!("registry.example.com/eap/website:v1@{DIGEST}");
        let image = ImageRef::parse(&reference).unwrap();
        assert_eq!(image.name.as_str(), "registry.example.com/eap/website");
        assert_eq!(image.tag.as_ref().map(Tag::as_str), Some("v1"));
        assert_eq!(image.digest.as_ref().map(Digest::as_str), Some(DIGEST));
        assert_eq!(image.to_string(), reference);
        assert_eq!(image.name.registry(), Some("registry.example.com"));
    }

    #[test]
    fn docker_hub_short_names_have_no_registry() {
        assert_eq!(ImageName::parse("nginx").unwrap().registry(), None);
        assert_eq!(ImageName::parse("library/nginx").unwrap().registry(), None);
        assert_eq!(
            ImageName::parse("localhost/app").unwrap().registry(),
            Some("localhost")
        );
    }

    #[test]
    fn invalid_parts_are_rejected_with_their_text() {
        assert_eq!(
            ImageName::parse("Web App"),
            Err(ImageRefError::InvalidName("Web App".into()))
        );
        assert_eq!(
            ImageName::parse("a//b"),
            Err(ImageRefError::InvalidName("a//b".into()))
        );
        assert_eq!(
            Tag::parse(".hidden"),
            Err(ImageRefError::InvalidTag(".hidden".into()))
        );
        assert!(Tag::parse(&"a".repeat(129)).is_err());
        assert!(Tag::parse(&"a".repeat(128)).is_ok());
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(Digest::parse("md5").is_err());
        assert_eq!(ImageRef::parse(""), Err(ImageRefError::EmptyName));
    }
}
