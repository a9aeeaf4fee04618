//! What can go wrong between Ferry and a GitOps repository.

use thiserror::Error;

use crate::kustomize::KustomizeError;

/// Errors of the GitOps engine. Callers branch on [`GitOpsError::Contended`] (try later) and
/// [`GitOpsError::Edit`] (the repository's content is the problem, not the transport).
#[derive(Debug, Error)]
pub enum GitOpsError {
    #[error("git: {context}: {source}")]
    Git {
        context: String,
        #[source]
        source: git2::Error,
    },
    /// A file Ferry must edit cannot be edited; the text starts with `path:line:col:`.
    #[error("{0}")]
    Edit(String),
    #[error(
        "branch `{branch}` moved under every one of {attempts} attempts to push; another writer is busy there, try again in a minute"
    )]
    Contended { branch: String, attempts: u32 },
    #[error("the remote refused `{reference}`: {message}")]
    Refused { reference: String, message: String },
    #[error(
        "branch `{branch}` does not exist in {remote}; create it first or pass the right `--branch`"
    )]
    NoBranch { branch: String, remote: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("signing the commit: {0}")]
    Signing(String),
}

impl GitOpsError {
    pub(crate) fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Self {
        let context = context.into();
        move |source| Self::Git { context, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    pub(crate) fn edit(path: &str, error: &KustomizeError) -> Self {
        if error.has_position() {
            Self::Edit(format!("{path}:{error}"))
        } else {
            Self::Edit(format!("{path}: {error}"))
        }
    }
}
