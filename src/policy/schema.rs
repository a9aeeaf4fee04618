//! The typed promotion policy, as loaded from `policies/promotion.yaml`.

use regex::Regex;

use crate::domain::{EnvironmentName, ImageName, ProjectPath, ServiceName};

use super::freeze::FreezeWindow;
use super::glob::Glob;
use super::node::Pos;
use super::principal::Principal;
use super::template::Template;

/// Keys allowed in each section; the loader rejects others and the JSON Schema test checks
/// that `docs/policy.schema.json` lists exactly these.
pub const TOP_KEYS: &[&str] = &["gitops", "services", "registries", "environments"];
pub const GITOPS_KEYS: &[&str] = &[
    "branch",
    "overlay",
    "overlay_reason",
    "policy_owners",
    "policy_approvals",
];
pub const SERVICE_KEYS: &[&str] = &["image", "source", "path"];
pub const ENVIRONMENT_KEYS: &[&str] = &[
    "trigger",
    "tag",
    "allow_tags",
    "from",
    "next",
    "gate",
    "rollback",
    "approvals",
    "approvers",
    "authors_may_approve",
    "freeze",
    "overrides",
    "services",
];
pub const TRIGGER_KEYS: &[&str] = &["branch", "tag"];
pub const FREEZE_KEYS: &[&str] = &["days", "from", "to", "timezone"];

#[derive(Debug, Clone)]
pub struct Policy {
    pub gitops: Gitops,
    /// In file order.
    pub services: Vec<Service>,
    /// Registry hosts (with port, if any) that images may come from.
    pub registries: Vec<String>,
    /// In file order.
    pub environments: Vec<Environment>,
}

#[derive(Debug, Clone)]
pub struct Gitops {
    /// Target branch of promotion merge requests.
    pub branch: String,
    /// Directory of each overlay, from `{service}` and `{environment}`.
    pub overlay: Template,
    /// Who must approve merge requests that change `policies/`.
    pub policy_owners: Vec<Principal>,
    pub policy_approvals: u32,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: ServiceName,
    pub pos: Pos,
    /// The `images[].name` used in overlays.
    pub image: ImageName,
    /// The source project whose events trigger promotions of this service.
    pub source: ProjectPath,
    /// Path prefixes in the source project; empty means every change counts.
    pub paths: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: EnvironmentName,
    pub pos: Pos,
    /// `None`: no source event promotes here directly (only `next` or a command does).
    pub trigger: Option<Trigger>,
    pub tag: Option<Template>,
    /// Anchored: the whole tag must match.
    pub allow_tags: Option<Regex>,
    /// Provenance: the same source commit must have run there first.
    pub from: Option<EnvironmentName>,
    /// After a promotion here merges, prepare one to this environment.
    pub next: Option<EnvironmentName>,
    pub gate: Gate,
    /// `rollback: fast`: rollbacks here need no approvals and ignore freezes (holds, the
    /// pipeline and the policy still apply). Default `gated`: a rollback is a promotion.
    pub fast_rollback: bool,
    pub freeze: Vec<FreezeWindow>,
    /// Who may promote during a freeze (with a reason).
    pub overrides: Vec<Principal>,
    /// The services deployed here; `None` means all.
    pub services: Option<Vec<ServiceName>>,
}

#[derive(Debug, Clone, Default)]
pub struct Trigger {
    pub branches: Vec<Glob>,
    pub tags: Vec<Glob>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Auto,
    Manual {
        approvals: u32,
        approvers: Vec<Principal>,
        authors_may_approve: bool,
    },
}

impl Gate {
    pub fn kind(&self) -> &'static str {
        match self {
            Gate::Auto => "auto",
            Gate::Manual { .. } => "manual",
        }
    }
}

impl Policy {
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name.as_str() == name)
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name.as_str() == name)
    }

    /// The services deployed in `environment`, in file order.
    pub fn services_in<'a>(
        &'a self,
        environment: &'a Environment,
    ) -> impl Iterator<Item = &'a Service> + 'a {
        self.services.iter().filter(move |service| {
            environment
                .services
                .as_ref()
                .is_none_or(|names| names.contains(&service.name))
        })
    }

    /// The overlay directory of `service` in `environment`, without a trailing `/`.
    pub fn overlay_dir(&self, service: &Service, environment: &Environment) -> String {
        let rendered = self
            .gitops
            .overlay
            .render(|name| match name {
                "service" => Some(service.name.as_str()),
                "environment" => Some(environment.name.as_str()),
                _ => None,
            })
            .unwrap_or_default();
        rendered.trim_end_matches('/').to_owned()
    }
}
