//! `set-image` specs, in the forms of `kustomize edit set image`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::domain::image::split_reference;
use crate::domain::{Digest, ImageName, ImageRefError, Tag};

/// What a spec says about one field of an `images:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<T> {
    /// The spec does not mention it.
    Unmentioned,
    /// `*`: keep whatever the entry has.
    Keep,
    Set(T),
}

impl<T> Field<T> {
    pub fn is_set(&self) -> bool {
        matches!(self, Field::Set(_))
    }

    pub fn set_value(&self) -> Option<&T> {
        match self {
            Field::Set(value) => Some(value),
            _ => None,
        }
    }
}

/// One `set-image` spec: which entry (`name`) and what to set on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    pub name: ImageName,
    pub new_name: Field<ImageName>,
    pub tag: Field<Tag>,
    pub digest: Field<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "image spec `{spec}`: {problem}; use NAME:TAG, NAME@DIGEST, NAME:TAG@DIGEST, NAME=NEWNAME[:TAG][@DIGEST] or NAME=:TAG (`*` keeps a value)"
)]
pub struct SpecError {
    pub spec: String,
    pub problem: String,
}

impl ImageSpec {
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        let fail = |problem: String| SpecError {
            spec: spec.to_owned(),
            problem,
        };
        let invalid = |err: ImageRefError| fail(err.to_string());
        match spec.split_once('=') {
            Some((name, target)) => {
                let (_, tag, digest) = split_reference(name);
                if tag.is_some() || digest.is_some() {
                    return Err(fail(format!(
                        "the part before `=` names the entry to change and cannot carry a tag or digest; write `{}`",
                        split_reference(name).0
                    )));
                }
                if target.is_empty() {
                    return Err(fail("nothing follows `=`".to_owned()));
                }
                let (new_name, tag, digest) = split_reference(target);
                let new_name = match new_name {
                    "" => Field::Unmentioned,
                    "*" => Field::Keep,
                    other => Field::Set(ImageName::parse(other).map_err(invalid)?),
                };
                Ok(Self {
                    name: ImageName::parse(name).map_err(invalid)?,
                    new_name,
                    tag: field(tag, Tag::parse).map_err(invalid)?,
                    digest: field(digest, Digest::parse).map_err(invalid)?,
                })
            }
            None => {
                let (name, tag, digest) = split_reference(spec);
                if tag.is_none() && digest.is_none() {
                    return Err(fail("it names an image but sets nothing".to_owned()));
                }
                Ok(Self {
                    name: ImageName::parse(name).map_err(invalid)?,
                    new_name: Field::Unmentioned,
                    tag: field(tag, Tag::parse).map_err(invalid)?,
                    digest: field(digest, Digest::parse).map_err(invalid)?,
                })
            }
        }
    }
}

fn field<T>(
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, ImageRefError>,
) -> Result<Field<T>, ImageRefError> {
    match raw {
        None => Ok(Field::Unmentioned),
        Some("*") => Ok(Field::Keep),
        Some(value) => parse(value).map(Field::Set),
    }
}

impl FromStr for ImageSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        Self::parse(spec)
    }
}

impl fmt::Display for ImageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn part<T: fmt::Display>(
            f: &mut fmt::Formatter<'_>,
            sep: &str,
            field: &Field<T>,
        ) -> fmt::Result {
            match field {
                Field::Unmentioned => Ok(()),
                Field::Keep => write!(f, "{sep}*"),
                Field::Set(value) => write!(f, "{sep}{value}"),
            }
        }
        write!(f, "{}", self.name)?;
        if self.new_name != Field::Unmentioned {
            part(f, "=", &self.new_name)?;
        }
        part(f, ":", &self.tag)?;
        part(f, "@", &self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn set<T>(value: T) -> Field<T> {
        Field::Set(value)
    }

    #[test]
    fn every_form_parses() {
        let name = |s: &str| ImageName::parse(s).unwrap();
        let tag = |s: &str| Tag::parse(s).unwrap();
        let digest = Digest::parse(DIGEST).unwrap();
        let cases: Vec<(String, ImageSpec)> = vec![
            (
                "web=reg.io/web:v1".into(),
                ImageSpec {
                    name: name("web"),
                    new_name: set(name("reg.io/web")),
                    tag: set(tag("v1")),
                    digest: Field::Unmentioned,
                },
            ),
            (
                format!("web=reg.io/web@{DIGEST}"),
                ImageSpec {
                    name: name("web"),
                    new_name: set(name("reg.io/web")),
                    tag: Field::Unmentioned,
                    digest: set(digest.clone()),
                },
            ),
            (
                format!("web=reg.io/web:v1@{DIGEST}"),
                ImageSpec {
                    name: name("web"),
                    new_name: set(name("reg.io/web")),
                    tag: set(tag("v1")),
                    digest: set(digest.clone()),
                },
            ),
            (
                "web=reg.io/web".into(),
                ImageSpec {
                    name: name("web"),
                    new_name: set(name("reg.io/web")),
                    tag: Field::Unmentioned,
                    digest: Field::Unmentioned,
                },
            ),
            (
                "web:v1".into(),
                ImageSpec {
                    name: name("web"),
                    new_name: Field::Unmentioned,
                    tag: set(tag("v1")),
                    digest: Field::Unmentioned,
                },
            ),
            (
                format!("web@{DIGEST}"),
                ImageSpec {
                    name: name("web"),
                    new_name: Field::Unmentioned,
                    tag: Field::Unmentioned,
                    digest: set(digest.clone()),
                },
            ),
            (
                format!("web:v1@{DIGEST}"),
                ImageSpec {
                    name: name("web"),
                    new_name: Field::Unmentioned,
                    tag: set(tag("v1")),
                    digest: set(digest.clone()),
                },
            ),
            (
                "web=:v1".into(),
                ImageSpec {
                    name: name("web"),
                    new_name: Field::Unmentioned,
                    tag: set(tag("v1")),
                    digest: Field::Unmentioned,
                },
            ),
            (
                "web=*:v1@*".into(),
                ImageSpec {
                    name: name("web"),
                    new_name: Field::Keep,
                    tag: set(tag("v1")),
                    digest: Field::Keep,
                },
            ),
            (
                "localhost:5000/team/app:1.2".into(),
                ImageSpec {
                    name: name("localhost:5000/team/app"),
                    new_name: Field::Unmentioned,
                    tag: set(tag("1.2")),
                    digest: Field::Unmentioned,
                },
            ),
            (
                "localhost:5000/app=localhost:5001/app".into(),
                ImageSpec {
                    name: name("localhost:5000/app"),
                    new_name: set(name("localhost:5001/app")),
                    tag: Field::Unmentioned,
                    digest: Field::Unmentioned,
                },
            ),
        ];
        for (text, expected) in cases {
            let parsed = ImageSpec::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(
                ImageSpec::parse(&parsed.to_string()).unwrap(),
                parsed,
                "round trip of {text}"
            );
        }
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, problem) in [
            ("web", "sets nothing"),
            ("localhost:5000/team/app", "sets nothing"),
            ("web=", "nothing follows"),
            ("web:v1=other", "cannot carry a tag"),
            ("web:-bad", "tag `-bad` is not valid"),
            ("web@md5", "digest `md5` is not valid"),
            ("Web App:v1", "image name `Web App` is not valid"),
            ("=x:v1", "image name is empty"),
        ] {
            let err = ImageSpec::parse(spec).unwrap_err();
            assert!(err.to_string().contains(problem), "{spec}: {err}");
            assert!(
                err.to_string().starts_with(&format!("image spec `{spec}`")),
                "{err}"
            );
        }
    }
}
