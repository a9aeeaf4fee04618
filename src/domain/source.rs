//! Where an image comes from: the source project, the git ref and the commit that built it.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// What is wrong with a source identifier, worded for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SourceError {
    #[error("commit SHA `{0}` is not valid: write the full 40 (SHA-1) or 64 (SHA-256) hex digits")]
    InvalidSha(String),
    #[error(
        "project path `{0}` is not valid: write it as `group/project` (subgroups allowed), without a leading or trailing `/`"
    )]
    InvalidProject(String),
}

/// A full git commit id, stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CommitSha(String);

impl CommitSha {
    pub fn parse(sha: &str) -> Result<Self, SourceError> {
        let valid = matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit());
        if valid {
            Ok(Self(sha.to_ascii_lowercase()))
        } else {
            Err(SourceError::InvalidSha(sha.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 hex digits, as GitLab and GitHub show them.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }

    /// Git's all-zero id, which webhooks send as `after` when a ref was deleted.
    pub fn is_null(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }
}

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A forge project path such as `eap/website` (GitLab `path_with_namespace`, GitHub
/// `full_name`). Compared case-sensitively: both forges report one canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ProjectPath(String);

impl ProjectPath {
    pub fn parse(path: &str) -> Result<Self, SourceError> {
        let valid = path.contains('/')
            && path.split('/').all(|segment| {
                !segment.is_empty()
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            });
        if valid {
            Ok(Self(path.to_owned()))
        } else {
            Err(SourceError::InvalidProject(path.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A forge user's numeric id. Permissions and approvals are keyed on it, never on the user
/// name, because names can be changed and then taken by someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A branch or a tag, by its short name (`develop`, `v1.2.3`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GitRef {
    Branch(String),
    Tag(String),
}

impl GitRef {
    /// Reads a full ref name such as `refs/heads/develop` or `refs/tags/v1.2.3`.
    pub fn from_full_name(full: &str) -> Option<Self> {
        if let Some(branch) = full.strip_prefix("refs/heads/") {
            (!branch.is_empty()).then(|| Self::Branch(branch.to_owned()))
        } else if let Some(tag) = full.strip_prefix("refs/tags/") {
            (!tag.is_empty()).then(|| Self::Tag(tag.to_owned()))
        } else {
            None
        }
    }

    pub fn short_name(&self) -> &str {
        match self {
            Self::Branch(name) | Self::Tag(name) => name,
        }
    }

    pub fn full_name(&self) -> String {
        match self {
            Self::Branch(name) => format!("refs/heads/{name}"),
            Self::Tag(name) => format!("refs/tags/{name}"),
        }
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_name())
    }
}

impl Serialize for GitRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.full_name())
    }
}

/// The provenance of a promotion: which project, ref and commit the image was built from.
/// The SHA is unknown only for events that do not carry one (GitHub `create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub project: ProjectPath,
    #[serde(rename = "ref")]
    pub git_ref: GitRef,
    pub sha: Option<CommitSha>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_request: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shas_are_full_hex_and_lowercased() {
        let sha = CommitSha::parse(&"AB12CD3".repeat(6)[..40]).unwrap();
        assert_eq!(sha.short(), "ab12cd3");
        assert!(CommitSha::parse("ab12cd3").is_err());
        assert!(CommitSha::parse(&"g".repeat(40)).is_err());
        assert!(CommitSha::parse(&"0".repeat(40)).unwrap().is_null());
    }

    #[test]
    fn project_paths_need_a_namespace() {
        assert!(ProjectPath::parse("eap/website").is_ok());
        assert!(ProjectPath::parse("eap/sub/website").is_ok());
        assert!(ProjectPath::parse("website").is_err());
        assert!(ProjectPath::parse("eap/").is_err());
        assert!(ProjectPath::parse("eap/web site").is_err());
    }

    #[test]
    fn refs_round_trip_through_full_names() {
        let branch = GitRef::from_full_name("refs/heads/feature/x").unwrap();
        assert_eq!(branch, GitRef::Branch("feature/x".into()));
        assert_eq!(branch.full_name(), "refs/heads/feature/x");
        assert_eq!(
            GitRef::from_full_name("refs/tags/v1.2.3"),
            Some(GitRef::Tag("v1.2.3".into()))
        );
        assert_eq!(GitRef::from_full_name("refs/merge-requests/1/head"), None);
        assert_eq!(GitRef::from_full_name("refs/heads/"), None);
    }
}
