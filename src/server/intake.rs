//! What intake reads from an authenticated delivery before storing it: its delivery id,
//! its event type, and the repository that orders it. Only that: turning payloads into
//! domain events is the handler's job, done later from the stored body.

use axum::http::HeaderMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::store::{Forge, Intake, NewDelivery};

/// Event types Ferry handles; others are stored as ignored (and answered 2xx, because a
/// forge disables a webhook whose deliveries keep failing).
pub fn is_handled(forge: Forge, event_type: &str) -> bool {
    match forge {
        Forge::GitLab => matches!(
            event_type,
            "Push Hook" | "Tag Push Hook" | "Merge Request Hook" | "Note Hook" | "Pipeline Hook"
        ),
        Forge::GitHub => matches!(
            event_type,
            "push"
                | "create"
                | "pull_request"
                | "issue_comment"
                | "pull_request_review"
                | "check_suite"
                | "status"
        ),
    }
}

/// The header naming the event type.
pub fn event_header(forge: Forge) -> &'static str {
    match forge {
        Forge::GitLab => "x-gitlab-event",
        Forge::GitHub => "x-github-event",
    }
}

// Longer or odd delivery ids are not trusted as keys (they are stored and shown).
const MAX_ID_LEN: usize = 128;
const MAX_EVENT_LEN: usize = 100;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// The delivery id: GitLab's `Idempotency-Key` (stable across its retries), else
/// `X-Gitlab-Event-UUID`; GitHub's `X-GitHub-Delivery`. Without one, the SHA-256 of the
/// body, so that a resent identical body is still recognised.
pub fn delivery_id(forge: Forge, headers: &HeaderMap, body: &[u8]) -> String {
    let names: &[&str] = match forge {
        Forge::GitLab => &["idempotency-key", "x-gitlab-event-uuid"],
        Forge::GitHub => &["x-github-delivery"],
    };
    names
        .iter()
        .filter_map(|name| header(headers, name))
        .find(|id| id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(body))))
}

#[derive(Deserialize)]
struct Probe {
    project: Option<ProjectProbe>,
    repository: Option<RepositoryProbe>,
}

#[derive(Deserialize)]
struct ProjectProbe {
    path_with_namespace: Option<String>,
}

#[derive(Deserialize)]
struct RepositoryProbe {
    full_name: Option<String>,
}

/// Decides how an authenticated delivery is stored.
pub fn classify(forge: Forge, headers: &HeaderMap, body: Vec<u8>) -> NewDelivery {
    let delivery_id = delivery_id(forge, headers, &body);
    let event_type: String = header(headers, event_header(forge))
        .unwrap_or_default()
        .chars()
        .take(MAX_EVENT_LEN)
        .collect();
    let intake = if event_type.is_empty() {
        Intake::Ignored {
            reason: format!("no {} header", event_header(forge)),
        }
    } else if !is_handled(forge, &event_type) {
        Intake::Ignored {
            reason: format!("Ferry does not handle `{event_type}` events"),
        }
    } else {
        match repository(forge, &body) {
            Ok(repository) => Intake::Queued { repository },
            Err(reason) => Intake::Failed { reason },
        }
    };
    NewDelivery {
        forge,
        delivery_id,
        event_type,
        intake,
        body,
    }
}

/// The repository key that orders processing: `project.path_with_namespace` (GitLab),
/// `repository.full_name` (GitHub).
pub fn repository(forge: Forge, body: &[u8]) -> Result<String, String> {
    let probe: Probe = serde_json::from_slice(body)
        .map_err(|error| format!("the body is not a JSON object Ferry can read: {error}"))?;
    let (found, path) = match forge {
        Forge::GitLab => (
            probe
                .project
                .and_then(|project| project.path_with_namespace),
            "project.path_with_namespace",
        ),
        Forge::GitHub => (
            probe.repository.and_then(|repository| repository.full_name),
            "repository.full_name",
        ),
    };
    found
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| format!("the body has no {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn gitlab_prefers_the_idempotency_key() {
        let both = headers(&[
            ("idempotency-key", "key-1"),
            ("x-gitlab-event-uuid", "uuid-1"),
        ]);
        assert_eq!(delivery_id(Forge::GitLab, &both, b"{}"), "key-1");
        let uuid = headers(&[("x-gitlab-event-uuid", "uuid-1")]);
        assert_eq!(delivery_id(Forge::GitLab, &uuid, b"{}"), "uuid-1");
    }

    #[test]
    fn without_an_id_the_body_digest_stands_in() {
        let none = HeaderMap::new();
        let a = delivery_id(Forge::GitHub, &none, b"{\"a\":1}");
        assert!(a.starts_with("sha256:"));
        assert_eq!(a, delivery_id(Forge::GitHub, &none, b"{\"a\":1}"));
        assert_ne!(a, delivery_id(Forge::GitHub, &none, b"{\"a\":2}"));
        let odd = headers(&[("x-github-delivery", &"x".repeat(500))]);
        assert!(delivery_id(Forge::GitHub, &odd, b"{}").starts_with("sha256:"));
    }

    #[test]
    fn known_events_queue_by_repository() {
        let gitlab = classify(
            Forge::GitLab,
            &headers(&[("x-gitlab-event", "Push Hook")]),
            br#"{"object_kind":"push","project":{"path_with_namespace":"eap/website"}}"#.to_vec(),
        );
        assert_eq!(
            gitlab.intake,
            Intake::Queued {
                repository: "eap/website".into()
            }
        );
        let github = classify(
            Forge::GitHub,
            &headers(&[("x-github-event", "pull_request")]),
            br#"{"repository":{"full_name":"eap/website"}}"#.to_vec(),
        );
        assert_eq!(
            github.intake,
            Intake::Queued {
                repository: "eap/website".into()
            }
        );
    }

    #[test]
    fn unknown_or_missing_event_types_are_ignored_even_with_bad_bodies() {
        let unknown = classify(
            Forge::GitHub,
            &headers(&[("x-github-event", "star")]),
            b"not json".to_vec(),
        );
        assert!(
            matches!(unknown.intake, Intake::Ignored { ref reason } if reason.contains("star"))
        );
        let missing = classify(Forge::GitLab, &HeaderMap::new(), b"{}".to_vec());
        assert!(matches!(missing.intake, Intake::Ignored { .. }));
    }

    #[test]
    fn unreadable_bodies_fail_with_their_reason() {
        let push = headers(&[("x-gitlab-event", "Push Hook")]);
        let cases: [(&[u8], &str); 5] = [
            (b"not json", "not a JSON object"),
            (b"[1,2]", "not a JSON object"),
            (b"{\"project\":\"x\"}", "not a JSON object"),
            (b"{\"project\":{}}", "no project.path_with_namespace"),
            (
                b"{\"project\":{\"path_with_namespace\":\"  \"}}",
                "no project.path_with_namespace",
            ),
        ];
        for (body, expected) in cases {
            let delivery = classify(Forge::GitLab, &push, body.to_vec());
            match delivery.intake {
                Intake::Failed { reason } => assert!(reason.contains(expected), "{reason}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
