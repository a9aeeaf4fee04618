//! Forge failures, sorted by what the caller does next.

use std::time::Duration;

use thiserror::Error;

use super::types::ForgeKind;

/// Every variant names the forge and the operation (`what`, e.g. "read merge request !3 of
/// eap/gitops") so a log line alone says what failed.
#[derive(Debug, Error)]
pub enum ForgeError {
    #[error(
        "{}: {what}: not found (check the project path, the number and the token's access)"
    , .forge.name())]
    NotFound { forge: ForgeKind, what: String },

    #[error("{}: {what}: conflict: {message}", .forge.name())]
    Conflict {
        forge: ForgeKind,
        what: String,
        message: String,
    },

    #[error("{}: {what}: the token was refused (401): check that it is valid and not expired", .forge.name())]
    Unauthorized { forge: ForgeKind, what: String },

    #[error(
        "{}: {what}: forbidden (403): {message}; give the bot account the needed role or token scope (see docs/forges.md)"
    , .forge.name())]
    Forbidden {
        forge: ForgeKind,
        what: String,
        message: String,
    },

    #[error("{}: {what}: the forge refused the request ({status}): {message}", .forge.name())]
    Rejected {
        forge: ForgeKind,
        what: String,
        status: u16,
        message: String,
    },

    #[error("{}: {what}: rate limited{}; try again later", retry_after.map(|d| format!(" for {}s", d.as_secs())).unwrap_or_default(), .forge.name())]
    RateLimited {
        forge: ForgeKind,
        what: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "{}: {what}: server error {status} after {attempts} attempt(s); the forge may be down, the event stays queued"
    , .forge.name())]
    Server {
        forge: ForgeKind,
        what: String,
        status: u16,
        attempts: u32,
    },

    #[error("{}: {what}: no answer within the timeout after {attempts} attempt(s)", .forge.name())]
    Timeout {
        forge: ForgeKind,
        what: String,
        attempts: u32,
    },

    #[error("{}: {what}: could not reach the forge after {attempts} attempt(s): {message}", .forge.name())]
    Transport {
        forge: ForgeKind,
        what: String,
        attempts: u32,
        message: String,
    },

    #[error("{}: {what}: {message}", .forge.name())]
    InvalidInput {
        forge: ForgeKind,
        what: String,
        message: String,
    },

    #[error("{}: {what}: unexpected answer: {message}", .forge.name())]
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
