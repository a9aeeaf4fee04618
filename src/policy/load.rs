//! Reads `policies/promotion.yaml` into a [`Policy`], reporting every problem at once with
//! its file, line and column.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::domain::{ImageName, ProjectPath, ServiceName};

use super::check;
use super::decode::{self, Fields};
use super::diagnostic::{Diagnostic, Diagnostics};
use super::environment;
use super::node::{Node, Pos, Value};
use super::principal::Principal;
use super::schema::{GITOPS_KEYS, Gitops, Policy, SERVICE_KEYS, Service, TOP_KEYS};

/// The promotion policy's file name inside the policy directory.
pub const POLICY_FILE: &str = "promotion.yaml";

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}; check the path, or pass the policy directory", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} problem(s) in the policy", .0.len())]
    Invalid(Vec<Diagnostic>),
}

/// Loads `<dir>/promotion.yaml`.
pub fn load_dir(dir: &Path) -> Result<Policy, LoadError> {
    let path = dir.join(POLICY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
        path: path.clone(),
        source,
    })?;
    parse(&path.display().to_string(), &text).map_err(LoadError::Invalid)
}

/// Parses policy text; `file` names it in diagnostics.
pub fn parse(file: &str, text: &str) -> Result<Policy, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new(file);
    let root = match serde_saphyr::from_str::<Node>(text) {
        Ok(root) => root,
        Err(error) => {
            let location = error.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
            diags.error_with_help(
                Pos {
                    line: location.line(),
                    column: location.column(),
                },
                "yaml-syntax",
                error.without_snippet().to_string(),
                "fix the YAML syntax at this position; the policy is not read until it parses",
            );
            return Err(diags.into_sorted());
        }
    };
    let policy = decode_policy(&root, &mut diags);
    match policy {
        Some(policy) if diags.is_empty() => Ok(policy),
        _ => Err(diags.into_sorted()),
    }
}

fn decode_policy(root: &Node, diags: &mut Diagnostics) -> Option<Policy> {
    if root.value == Value::Null {
        diags.error_with_help(
            Pos { line: 1, column: 1 },
            "empty-policy",
            "the policy file is empty",
            "start from templates/gitops-example/policies/promotion.yaml",
        );
        return None;
    }
    let top = Fields::read(root, "the policy file", TOP_KEYS, diags)?;
    let gitops = top
        .require("gitops", diags)
        .and_then(|node| decode_gitops(node, diags));
    let registries = top
        .require("registries", diags)
        .map(|node| decode_registries(node, diags))
        .unwrap_or_default();
    let services = top
        .require("services", diags)
        .map(|node| decode_services(node, diags))
        .unwrap_or_default();
    let environments = top
        .require("environments", diags)
        .map(|node| environment::decode_all(node, &services, diags))
        .unwrap_or_default();
    let policy = Policy {
        gitops: gitops?,
        services,
        registries,
        environments,
    };
    check::cross_check(&policy, diags);
    Some(policy)
}

fn decode_gitops(node: &Node, diags: &mut Diagnostics) -> Option<Gitops> {
    let fields = Fields::read(node, "`gitops`", GITOPS_KEYS, diags)?;
    let branch = fields
        .require("branch", diags)
        .and_then(|n| decode::string(n, "`gitops.branch`", diags));
    let overlay = fields.require("overlay", diags).and_then(|n| {
        let text = decode::string(n, "`gitops.overlay`", diags)?;
        let reason = fields.get("overlay_reason");
        match check::overlay_template(text, reason.is_some()) {
            Ok(template) => Some(template),
            Err((message, help)) => {
                diags.error_with_help(n.pos, "bad-overlay", message, help);
                None
            }
        }
    });
    if let Some(reason) = fields.get("overlay_reason") {
        decode::string(reason, "`gitops.overlay_reason`", diags);
    }
    let policy_owners = fields
        .get("policy_owners")
        .map(|n| principals(n, "`gitops.policy_owners`", diags))
        .unwrap_or_default();
    let policy_approvals = match fields.get("policy_approvals") {
        Some(n) => decode::count(n, "`gitops.policy_approvals`", diags)?,
        None => 1,
    };
    Some(Gitops {
        branch: branch?.to_owned(),
        overlay: overlay?,
        policy_owners,
        policy_approvals,
    })
}

fn decode_registries(node: &Node, diags: &mut Diagnostics) -> Vec<String> {
    decode::string_list(node, "`registries`", diags)
        .into_iter()
        .filter_map(|(host, pos)| {
            let valid = !host.is_empty()
                && !host.contains('/')
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            if !valid {
                diags.error_with_help(
                    pos,
                    "bad-registry",
                    format!("`{host}` is not a registry host"),
                    "write the host only, with its port if any, e.g. `registry.example.com:5000`",
                );
            }
            valid.then(|| host.to_owned())
        })
        .collect()
}

fn decode_services(node: &Node, diags: &mut Diagnostics) -> Vec<Service> {
    decode::named_entries(node, "`services`", diags)
        .into_iter()
        .filter_map(|(name, pos, body)| decode_service(name, pos, body, diags))
        .collect()
}

fn decode_service(name: &str, pos: Pos, node: &Node, diags: &mut Diagnostics) -> Option<Service> {
    let name = ServiceName::parse(name)
        .map_err(|e| diags.error(pos, "bad-name", e.to_string()))
        .ok();
    let section = format!("service `{}`", name.as_ref().map_or("?", |n| n.as_str()));
    let fields = Fields::read(node, &section, SERVICE_KEYS, diags)?.at(pos);
    let image = fields.require("image", diags).and_then(|n| {
        let text = decode::string(n, "`image`", diags)?;
        ImageName::parse(text)
            .map_err(|e| {
                diags.error_with_help(
                    n.pos,
                    "bad-image",
                    e.to_string(),
                    "write the image name as it appears in the overlays' `images[].name`, without a tag",
                )
            })
            .ok()
    });
    let source = fields.require("source", diags).and_then(|n| {
        let text = decode::string(n, "`source`", diags)?;
        ProjectPath::parse(text)
            .map_err(|e| diags.error(n.pos, "bad-source", e.to_string()))
            .ok()
    });
    let paths = fields
        .get("path")
        .map(|n| decode::strings(n, "`path`", diags))
        .unwrap_or_default()
        .into_iter()
        .map(|(path, _)| path.trim_start_matches("./").to_owned())
        .collect();
    Some(Service {
        name: name?,
        pos,
        image: image?,
        source: source?,
        paths,
    })
}

/// A list of `user:<id>` / `group:<path>` entries.
pub fn principals(node: &Node, what: &str, diags: &mut Diagnostics) -> Vec<Principal> {
    decode::string_list(node, what, diags)
        .into_iter()
        .filter_map(|(text, pos)| {
            Principal::parse(text)
                .map_err(|message| diags.error(pos, "bad-principal", message))
                .ok()
        })
        .collect()
}
