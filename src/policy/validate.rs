//! Merge request validation: what in a GitOps merge request breaks the policy.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::domain::{ImageRef, Source};

use super::history::{History, HistoryError};
use super::overlay::{OverlayImage, overlay_images};
use super::plan::allowed_source;
use super::principal::{self, Person};
use super::schema::{Environment, Policy, Service};

/// The directory whose files are the policy; changing it needs the policy owners.
pub const POLICY_DIR: &str = "policies/";

/// One changed file: `old` is `None` for an added file, `new` for a deleted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A GitOps merge request as the checks see it.
#[derive(Debug, Clone)]
pub struct MergeRequest<'a> {
    pub changes: &'a [FileChange],
    pub author: &'a Person,
    pub approvals: &'a [Person],
    /// The provenance a promotion MR declares (from its audit trailers); `None` for
    /// merge requests written by people, whose images are looked up in history.
    pub source: Option<&'a Source>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Stable id: `outside-overlays`, `registry-not-allowed`, `tag-not-allowed`,
    /// `provenance-unknown`, `provenance-not-in-from`, `policy-owners`,
    /// `kustomization-unparsable`.
    pub rule: &'static str,
    pub message: String,
    pub file: String,
    pub line: u64,
}

/// Every violation in `request`, in file order. History errors are not violations: the
/// check could not be made, and the caller should retry.
pub fn validate(
    policy: &Policy,
    request: &MergeRequest<'_>,
    history: &dyn History,
) -> Result<Vec<Violation>, HistoryError> {
    let mut violations = Vec::new();
    for change in request.changes {
        if change.path.starts_with(POLICY_DIR) {
            violations.extend(policy_owner_violation(policy, request, change));
            continue;
        }
        let Some((service, environment)) = overlay_of(policy, &change.path) else {
            violations.push(Violation {
                rule: "outside-overlays",
                message: format!(
                    "`{}` is outside every overlay the policy knows (`{}`); change it in a separate merge request reviewed by the repository owners",
                    change.path,
                    policy.gitops.overlay.as_str()
                ),
                file: change.path.clone(),
                line: 1,
            });
            continue;
        };
        if is_kustomization(&change.path)
            && let Some(new) = &change.new
        {
            let ctx = Context {
                policy,
                service,
                environment,
                path: &change.path,
                source: request.source,
                history,
            };
            check_kustomization(&ctx, change.old.as_deref(), new, &mut violations)?;
        }
    }
    violations.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(violations)
}

/// The service and environment whose overlay directory holds `path`.
fn overlay_of<'p>(policy: &'p Policy, path: &str) -> Option<(&'p Service, &'p Environment)> {
    policy.environments.iter().find_map(|environment| {
        policy
            .services_in(environment)
            .find(|service| {
                let dir = policy.overlay_dir(service, environment);
                path.strip_prefix(&dir)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|service| (service, environment))
    })
}

fn is_kustomization(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    matches!(
        file,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

fn policy_owner_violation(
    policy: &Policy,
    request: &MergeRequest<'_>,
    change: &FileChange,
) -> Option<Violation> {
    let owners = &policy.gitops.policy_owners;
    let approved_by: BTreeSet<_> = request
        .approvals
        .iter()
        .filter(|p| p.user != request.author.user && principal::any_includes(owners, p))
        .map(|p| p.user)
        .collect();
    let need = policy.gitops.policy_approvals.max(1);
    let have = u32::try_from(approved_by.len()).unwrap_or(u32::MAX);
    (have < need).then(|| Violation {
        rule: "policy-owners",
        message: if owners.is_empty() {
            format!(
                "`{}` changes the policy, and the policy names no owners who could approve it; add `gitops.policy_owners` first",
                change.path
            )
        } else {
            format!(
                "`{}` changes the policy: it needs {need} approval(s) from {} other than the author; it has {have}",
                change.path,
                principal::list(owners)
            )
        },
        file: change.path.clone(),
        line: 1,
    })
}

struct Context<'a> {
    policy: &'a Policy,
    service: &'a Service,
    environment: &'a Environment,
    path: &'a str,
    source: Option<&'a Source>,
    history: &'a dyn History,
}

impl Context<'_> {
    fn violation(&self, rule: &'static str, line: u64, message: String) -> Violation {
        Violation {
            rule,
            message,
            file: self.path.to_owned(),
            line,
        }
    }
}

fn check_kustomization(
    ctx: &Context<'_>,
    old: Option<&str>,
    new: &str,
    violations: &mut Vec<Violation>,
) -> Result<(), HistoryError> {
    let images = match overlay_images(new) {
        Ok(images) => images,
        Err(unreadable) => {
            violations.push(ctx.violation(
                "kustomization-unparsable",
                unreadable.line,
                format!(
                    "Ferry cannot edit this kustomization: {}; fix it so promotions can set images here",
                    unreadable.message
                ),
            ));
            return Ok(());
        }
    };
    // Entries that were already there unchanged were accepted before: only new or changed
    // entries are judged, so a policy change does not block unrelated merge requests.
    let before = old
        .and_then(|text| overlay_images(text).ok())
        .unwrap_or_default();
    for image in images
        .iter()
        .filter(|new| !before.iter().any(|old| old.same_target(new)))
    {
        check_registry(ctx, image, violations);
        if image.name == ctx.service.image.as_str() {
            check_tag(ctx, image, violations);
            check_provenance(ctx, image, violations)?;
        }
    }
    Ok(())
}

fn check_registry(ctx: &Context<'_>, image: &OverlayImage, violations: &mut Vec<Violation>) {
    let name = image.effective_name();
    let registry = ImageRef::parse(name)
        .ok()
        .and_then(|r| r.name.registry().map(str::to_owned));
    if !registry
        .as_deref()
        .is_some_and(|r| ctx.policy.registries.iter().any(|allowed| allowed == r))
    {
        violations.push(ctx.violation(
            "registry-not-allowed",
            image.line,
            format!(
                "image `{name}` is not from an allowed registry ({}); push it to one of them first",
                ctx.policy.registries.join(", ")
            ),
        ));
    }
}

fn check_tag(ctx: &Context<'_>, image: &OverlayImage, violations: &mut Vec<Violation>) {
    let Some(allowed) = &ctx.environment.allow_tags else {
        return;
    };
    let tag = image.new_tag.as_deref().unwrap_or("");
    if !allowed.is_match(tag) {
        violations.push(ctx.violation(
            "tag-not-allowed",
            image.line,
            format!(
                "tag `{tag}` of {} is not allowed in {}: tags there must match `{}`",
                ctx.service.name,
                ctx.environment.name,
                allowed_source(allowed)
            ),
        ));
    }
}

fn check_provenance(
    ctx: &Context<'_>,
    image: &OverlayImage,
    violations: &mut Vec<Violation>,
) -> Result<(), HistoryError> {
    let Some(from) = &ctx.environment.from else {
        return Ok(());
    };
    let reference = format!(
        "{}{}{}",
        image.effective_name(),
        image
            .new_tag
            .as_ref()
            .map_or(String::new(), |t| format!(":{t}")),
        image
            .digest
            .as_ref()
            .map_or(String::new(), |d| format!("@{d}")),
    );
    let commit = match ctx.source.and_then(|s| s.sha.clone()) {
        Some(sha) => Some(sha),
        None => match ImageRef::parse(&reference) {
            Ok(parsed) => ctx.history.commit_of(&ctx.service.name, &parsed)?,
            Err(_) => None,
        },
    };
    let Some(commit) = commit else {
        violations.push(ctx.violation(
            "provenance-unknown",
            image.line,
            format!(
                "Ferry cannot tell which source commit built `{reference}`, so it cannot check that it ran in {from}; promote it from {from} with Ferry instead"
            ),
        ));
        return Ok(());
    };
    if !ctx.history.ran_in(&ctx.service.name, &commit, from)? {
        violations.push(ctx.violation(
            "provenance-not-in-from",
            image.line,
            format!(
                "`{reference}` was built from commit {}, which never ran in {from}; {} takes only what ran in {from} first",
                commit.short(),
                ctx.environment.name
            ),
        ));
    }
    Ok(())
}
