//! Forge failures, sorted by what the caller does next.

use std::time::Duration;

use thiserror::Error;

use super::types::ForgeKind;

/// Every variant names the forge and the operation (`what`, e.g. "read merge request !3 of
/// eap/gitops") so a log line alone says what failed.
#[derive(Debug, Error)]
pub enum ForgeError {
    #[error(
        "{forge}: {what}: not found (check the project path, the number and the token's access)"
    )]
    NotFound { forge: ForgeKind, what: String },

    #[error("{forge}: {what}: conflict: {message}")]
    Conflict {
        forge: ForgeKind,
        what: String,
        message: String,
    },

    #[error("{forge}: {what}: the token was refused (401): check that it is valid and not expired")]
    Unauthorized { forge: ForgeKind, what: String },

    #[error(
        "{forge}: {what}: forbidden (403): {message}; give the bot account the needed role or token scope (see docs/forges.md)"
    )]
    Forbidden {
        forge: ForgeKind,
        what: String,
        message: String,
    },

    #[error("{forge}: {what}: the forge refused the request ({status}): {message}")]
    Rejected {
        forge: ForgeKind,
        what: String,
        status: u16,
        message: String,
    },

    #[error("{forge}: {what}: rate limited{}; try again later", retry_after.map(|d| format!(" for {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        forge: ForgeKind,
        what: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "{forge}: {what}: server error {status} after {attempts} attempt(s); the forge may be down, the event stays queued"
    )]
    Server {
        forge: ForgeKind,
        what: String,
        status: u16,
        attempts: u32,
    },

    #[error("{forge}: {what}: no answer within the timeout after {attempts} attempt(s)")]
    Timeout {
        forge: ForgeKind,
        what: String,
        attempts: u32,
    },

    #[error("{forge}: {what}: could not reach the forge after {attempts} attempt(s): {message}")]
    Transport {
        forge: ForgeKind,
        what: String,
        attempts: u32,
        message: String,
    },

    #[error("{forge}: {what}: {message}")]
    InvalidInput {
        forge: ForgeKind,
        what: String,
        message: String,
    },

    #[error("{forge}: {what}: unexpected answer: {message}")]
    InvalidResponse {
        forge: ForgeKind,
        what: String,
        message: String,
    },
}

impl ForgeError {
    /// Whether the same call may succeed later without anyone changing anything: the caller
    /// keeps the event queued and tries again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Transport { .. }
        )
    }
}
