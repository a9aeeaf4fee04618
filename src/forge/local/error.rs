//! What can go wrong in the local forge, worded for the person at the command line; the
//! `Forge` trait sees the same failures as `ForgeError`s.

use thiserror::Error;

use crate::forge::{ForgeError, ForgeKind};

#[derive(Debug, Error)]
pub enum LocalError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the local forge's store: {context}: {source}")]
    Store {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("git: {context}: {source}")]
    Git {
        context: String,
        #[source]
        source: git2::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A stored row no longer reads back (written by a newer Ferry, or edited by hand).
    #[error("the local forge's store holds something unreadable: {0}")]
    Corrupt(String),
}

impl LocalError {
    pub(crate) fn store(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Self {
        let context = context.into();
        move |source| Self::Store { context, source }
    }

    pub(crate) fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Self {
        let context = context.into();
        move |source| Self::Git { context, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// The same failure for the engine. The local forge has no `ForgeKind` of its own (see
    /// docs/forges.md), so `what` says "local forge" to tell it from a real GitLab.
    pub fn into_forge_error(self, what: &str) -> ForgeError {
        let forge = ForgeKind::GitLab;
        let what = format!("local forge: {what}");
        match self {
            Self::NotFound(message) => ForgeError::NotFound {
                forge,
                what: format!("{what}: {message}"),
            },
            Self::Invalid(message) => ForgeError::InvalidInput {
                forge,
                what,
                message,
            },
            Self::Forbidden(message) => ForgeError::Forbidden {
                forge,
                what,
                message,
            },
            Self::Conflict(message) => ForgeError::Conflict {
                forge,
                what,
                message,
            },
            Self::Corrupt(message) => ForgeError::InvalidResponse {
                forge,
                what,
                message,
            },
            // A busy database or a locked ref usually clears up: the event stays queued.
            other @ (Self::Store { .. } | Self::Git { .. } | Self::Io { .. }) => {
                ForgeError::Transport {
                    forge,
                    what,
                    attempts: 1,
                    message: other.to_string(),
                }
            }
        }
    }
}
