//! Checks across sections of the policy, run after each section decoded on its own.

use crate::domain::EnvironmentName;

use super::diagnostic::Diagnostics;
use super::schema::{Environment, Policy};
use super::template::{OVERLAY_VARIABLES, Template};

/// Parses the overlay template and checks it names a distinct directory per service and
/// environment, unless the policy gives `overlay_reason` for sharing one.
/// Errors are (message, help).
pub fn overlay_template(text: &str, has_reason: bool) -> Result<Template, (String, String)> {
    let template = Template::parse(text, OVERLAY_VARIABLES).map_err(|message| {
        (
            message,
            "write the overlay directory with `{service}` and `{environment}`, e.g. `apps/{service}/overlays/{environment}`".to_owned(),
        )
    })?;
    if template.as_str().starts_with('/') || template.as_str().split('/').any(|s| s == "..") {
        return Err((
            format!("`{text}` must be a path inside the GitOps repository"),
            "write it relative to the repository root, without `..`".to_owned(),
        ));
    }
    let missing: Vec<String> = OVERLAY_VARIABLES
        .iter()
        .filter(|v| !template.uses(v))
        .map(|v| format!("`{{{v}}}`"))
        .collect();
    if !missing.is_empty() && !has_reason {
        return Err((
            format!(
                "`{text}` has no {}: several promotions would edit the same kustomization",
                missing.join(" and ")
            ),
            "add the missing variable, or explain with `overlay_reason:` why they share one"
                .to_owned(),
        ));
    }
    Ok(template)
}

pub fn cross_check(policy: &Policy, diags: &mut Diagnostics) {
    check_registries(policy, diags);
    check_chain(policy, "from", |e| e.from.as_ref(), diags);
    check_chain(policy, "next", |e| e.next.as_ref(), diags);
}

fn check_registries(policy: &Policy, diags: &mut Diagnostics) {
    for service in &policy.services {
        let registry = service.image.registry();
        if !registry.is_some_and(|r| policy.registries.iter().any(|allowed| allowed == r)) {
            diags.error_with_help(
                service.pos,
                "registry-not-allowed",
                format!(
                    "service `{}` uses image `{}`, whose registry {} is not in `registries`",
                    service.name,
                    service.image,
                    registry.map_or("(Docker Hub, implied)".to_owned(), |r| format!("`{r}`")),
                ),
                "add the registry host to `registries`, or use an image from an allowed registry",
            );
        }
    }
}

/// Each environment has at most one `from` (or `next`), so a cycle is found by following the
/// links; it is reported once, at the first environment of the cycle in file order.
fn check_chain(
    policy: &Policy,
    key: &str,
    link: impl Fn(&Environment) -> Option<&EnvironmentName>,
    diags: &mut Diagnostics,
) {
    let mut reported: Vec<&EnvironmentName> = Vec::new();
    for start in &policy.environments {
        let mut path = vec![&start.name];
        let mut current = start;
        while let Some(target) = link(current).and_then(|name| policy.environment(name.as_str())) {
            if target.name == start.name {
                if !path.iter().any(|name| reported.contains(name)) {
                    reported.extend(path.iter().copied());
                    let names: Vec<&str> = path.iter().map(|n| n.as_str()).collect();
                    diags.error_with_help(
                        start.pos,
                        "cycle",
                        format!(
                            "`{key}` goes round in a cycle: {} -> {}",
                            names.join(" -> "),
                            start.name
                        ),
                        format!("remove `{key}` from one of these environments"),
                    );
                }
                break;
            }
            if path.contains(&&target.name) {
                break;
            }
            path.push(&target.name);
            current = target;
        }
    }
}
