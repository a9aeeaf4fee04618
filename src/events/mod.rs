//! Webhook payloads -> forge-independent [`ForgeEvent`]s.
//!
//! Each payload kind has its own small serde structs that read only the fields Ferry needs and
//! ignore every other one, so fields and actions the forges add later do not break parsing
//! (the forge crates' webhook models do break). Unknown event types and actions are not
//! errors: they become [`ForgeEvent::Ignored`] with the reason, because GitLab disables a
//! webhook that keeps failing. Errors are kept for bodies that are not the documented shape.
//!
//! Named `events` (not `webhook`) because it knows nothing of HTTP, headers beyond the event
//! type, or authentication: the server verifies and stores a delivery, then calls [`parse`].

mod error;
mod github;
mod gitlab;
mod paths;
mod time;

pub use error::EventError;

use serde::Deserialize;

use crate::domain::{Forge, ForgeEvent, ProjectPath};

/// Parses one delivery. `event_type` is the `X-Gitlab-Event` or `X-GitHub-Event` header.
pub fn parse(forge: Forge, event_type: &str, body: &[u8]) -> Result<ForgeEvent, EventError> {
    match forge {
        Forge::GitLab => gitlab::parse(event_type, body),
        Forge::GitHub => github::parse(event_type, body),
    }
}

/// The project a delivery belongs to (GitLab `project.path_with_namespace`, GitHub
/// `repository.full_name`), for per-repository queue ordering. Reads nothing else into
/// memory, so it is cheap enough to call at intake. `Ok(None)` for deliveries about no
/// project (GitHub organisation hooks, pings of organisation hooks).
pub fn repository_of(forge: Forge, body: &[u8]) -> Result<Option<ProjectPath>, EventError> {
    #[derive(Deserialize)]
    struct GitLabProject {
        path_with_namespace: String,
    }
    #[derive(Deserialize)]
    struct GitLabBody {
        project: Option<GitLabProject>,
    }
    #[derive(Deserialize)]
    struct GitHubRepository {
        full_name: String,
    }
    #[derive(Deserialize)]
    struct GitHubBody {
        repository: Option<GitHubRepository>,
    }
    let (kind, field, path) = match forge {
        Forge::GitLab => {
            let body: GitLabBody = decode("GitLab", body)?;
            (
                "GitLab",
                "project.path_with_namespace",
                body.project.map(|p| p.path_with_namespace),
            )
        }
        Forge::GitHub => {
            let body: GitHubBody = decode("GitHub", body)?;
            (
                "GitHub",
                "repository.full_name",
                body.repository.map(|r| r.full_name),
            )
        }
    };
    path.map(|path| ProjectPath::parse(&path).map_err(|e| EventError::bad(kind, field, e)))
        .transpose()
}

/// Reads a body into one payload struct. The error says what is missing or of the wrong type;
/// serde's line and column are dropped because webhook bodies are usually one long line.
fn decode<'de, T: Deserialize<'de>>(kind: &'static str, body: &'de [u8]) -> Result<T, EventError> {
    serde_json::from_slice(body).map_err(|error| EventError::from_serde(kind, &error))
}
