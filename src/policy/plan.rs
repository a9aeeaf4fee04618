//! Plan: which promotions a source event triggers.

use serde::{Serialize, Serializer};

use crate::domain::{EnvironmentName, GitRef, ImageRef, ServiceName, Source, SourceEvent};

use super::schema::{Environment, Policy, Service};
use super::template::{self, TagValues};

/// "Set service S in environment E to image I", with where the image came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promotion {
    pub service: ServiceName,
    pub environment: EnvironmentName,
    #[serde(serialize_with = "as_text")]
    pub image: ImageRef,
    /// Directory of the overlay's kustomization.
    pub overlay: String,
    /// `auto` or `manual`.
    pub gate: &'static str,
    pub source: Source,
}

fn as_text<S: Serializer>(image: &ImageRef, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(image)
}

/// A promotion the event matched but that cannot be made, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub service: ServiceName,
    pub environment: EnvironmentName,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub promotions: Vec<Promotion>,
    pub skipped: Vec<Skipped>,
}

/// The promotions `event` triggers, in the policy's environment then service order.
pub fn plan(policy: &Policy, event: &SourceEvent) -> Plan {
    let mut plan = Plan::default();
    for environment in policy
        .environments
        .iter()
        .filter(|e| triggered(e, &event.git_ref))
    {
        for service in policy
            .services_in(environment)
            .filter(|s| s.source == event.project)
        {
            let skip = |reason: String| Skipped {
                service: service.name.clone(),
                environment: environment.name.clone(),
                reason,
            };
            if let Some(prefixes) = unchanged_paths(service, event) {
                plan.skipped
                    .push(skip(format!("no change under {prefixes}")));
                continue;
            }
            match promotion(policy, environment, service, event) {
                Ok(promotion) => plan.promotions.push(promotion),
                Err(reason) => plan.skipped.push(skip(reason)),
            }
        }
    }
    plan
}

fn triggered(environment: &Environment, git_ref: &GitRef) -> bool {
    let Some(trigger) = &environment.trigger else {
        return false;
    };
    match git_ref {
        GitRef::Branch(name) => trigger.branches.iter().any(|g| g.matches(name)),
        GitRef::Tag(name) => trigger.tags.iter().any(|g| g.matches(name)),
    }
}

/// `Some(prefixes)` when the service has path filters and the event lists its changed paths
/// and none of them is under a prefix. Unknown paths let the event through.
fn unchanged_paths(service: &Service, event: &SourceEvent) -> Option<String> {
    let changed = event.changed_paths.as_ref()?;
    if service.paths.is_empty() {
        return None;
    }
    let touched = changed
        .iter()
        .any(|path| service.paths.iter().any(|prefix| is_under(path, prefix)));
    (!touched).then(|| service.paths.join(", "))
}

/// `services/api` and `services/api/` both cover `services/api/x`, not `services/api2/x`.
pub fn is_under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn promotion(
    policy: &Policy,
    environment: &Environment,
    service: &Service,
    event: &SourceEvent,
) -> Result<Promotion, String> {
    let template = environment
        .tag
        .as_ref()
        .ok_or("the environment has no `tag` template")?;
    let sha = event.sha.as_ref();
    let values = TagValues {
        branch: matches!(event.git_ref, GitRef::Branch(_)).then(|| event.git_ref.short_name()),
        tag: matches!(event.git_ref, GitRef::Tag(_)).then(|| event.git_ref.short_name()),
        sha: sha.map(|s| s.as_str()),
        short_sha: sha.map(|s| s.short()),
        pipeline_id: event.pipeline_id.map(|id| id.to_string()),
    };
    let tag = template::render_tag(template, &values).map_err(|e| e.to_string())?;
    if let Some(allowed) = &environment.allow_tags
        && !allowed.is_match(tag.as_str())
    {
        return Err(format!(
            "tag `{tag}` does not match `allow_tags` ({})",
            allowed_source(allowed)
        ));
    }
    Ok(Promotion {
        service: service.name.clone(),
        environment: environment.name.clone(),
        image: ImageRef {
            name: service.image.clone(),
            tag: Some(tag),
            digest: None,
        },
        overlay: policy.overlay_dir(service, environment),
        gate: environment.gate.kind(),
        source: Source {
            project: event.project.clone(),
            git_ref: event.git_ref.clone(),
            sha: event.sha.clone(),
            merge_request: event.merge_request,
        },
    })
}

/// The pattern as the user wrote it, without the anchors the loader added.
pub fn allowed_source(regex: &regex::Regex) -> &str {
    let text = regex.as_str();
    text.strip_prefix("^(?:")
        .and_then(|t| t.strip_suffix(")$"))
        .unwrap_or(text)
}

/// After `promotion` merged, the promotion of the same image to the environment's `next`,
/// if it has one. Errors say why the image may not go there.
pub fn next_promotion(policy: &Policy, promotion: &Promotion) -> Result<Option<Promotion>, String> {
    let Some(current) = policy.environment(promotion.environment.as_str()) else {
        return Err(format!(
            "environment `{}` is no longer in the policy",
            promotion.environment
        ));
    };
    let Some(next) = current
        .next
        .as_ref()
        .and_then(|name| policy.environment(name.as_str()))
    else {
        return Ok(None);
    };
    let service = policy
        .services_in(next)
        .find(|s| s.name == promotion.service)
        .ok_or_else(|| {
            format!(
                "service `{}` is not deployed in `{}`",
                promotion.service, next.name
            )
        })?;
    if let Some(allowed) = &next.allow_tags {
        let tag = promotion.image.tag.as_ref().map_or("", |t| t.as_str());
        if !allowed.is_match(tag) {
            return Err(format!(
                "tag `{tag}` does not match `allow_tags` of `{}` ({})",
                next.name,
                allowed_source(allowed)
            ));
        }
    }
    Ok(Some(Promotion {
        environment: next.name.clone(),
        overlay: policy.overlay_dir(service, next),
        gate: next.gate.kind(),
        ..promotion.clone()
    }))
}

#[cfg(test)]
mod tests {
    use super::is_under;

    #[test]
    fn path_prefixes_cover_whole_directories() {
        assert!(is_under("services/api/main.go", "services/api/"));
        assert!(is_under("services/api/main.go", "services/api"));
        assert!(is_under("services/api", "services/api"));
        assert!(!is_under("services/api2/main.go", "services/api"));
        assert!(!is_under("docs/api.md", "services/api/"));
    }
}
