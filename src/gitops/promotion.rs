//! A promotion as a commit: overlay edits through the lossless editor, a summary and trailers.

use std::collections::BTreeMap;

use git2::{Repository, Tree};

use super::error::GitOpsError;
use super::land::{Change, Prepared};
use super::trailers::{Action, ChangeTrailers, SourceTrailer, Trailers};
use super::tree::{FileWrite, read_kustomization};
use crate::domain::{EnvironmentName, ImageName, ImageRef, ServiceName, Source};
use crate::kustomize::{ImageSpec, Kustomization};
use crate::policy::Policy;

/// "Set service S in environment E to image I": one overlay's `images:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayChange {
    pub service: ServiceName,
    pub environment: EnvironmentName,
    /// The overlay directory, relative to the repository root.
    pub overlay: String,
    /// The `images[].name` the overlay uses for the service.
    pub image_name: ImageName,
    pub image: ImageRef,
}

impl OverlayChange {
    /// The change for `service` in `environment` as the policy lays the repository out.
    pub fn from_policy(
        policy: &Policy,
        service: &str,
        environment: &str,
        image: ImageRef,
    ) -> Result<Self, GitOpsError> {
        let known = |names: Vec<&str>| names.join(", ");
        let env = policy.environment(environment).ok_or_else(|| {
            GitOpsError::Invalid(format!(
                "the policy has no environment `{environment}`; it has: {}",
                known(
                    policy
                        .environments
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect()
                )
            ))
        })?;
        let svc = policy
            .services_in(env)
            .find(|s| s.name.as_str() == service)
            .ok_or_else(|| {
                GitOpsError::Invalid(format!(
                    "the policy deploys no service `{service}` in {environment}; it deploys: {}",
                    known(policy.services_in(env).map(|s| s.name.as_str()).collect())
                ))
            })?;
        if image.tag.is_none() && image.digest.is_none() {
            return Err(GitOpsError::Invalid(format!(
                "image `{image}` has neither a tag nor a digest; promote an exact build such as `{image}:v1.2.3`"
            )));
        }
        Ok(Self {
            service: svc.name.clone(),
            environment: env.name.clone(),
            overlay: policy.overlay_dir(svc, env),
            image_name: svc.image.clone(),
            image,
        })
    }

    /// The set-image spec: `NAME:TAG` when the image keeps the overlay's name (so `newName`
    /// is left alone), `NAME=NEWNAME:TAG` when it moves to another name.
    fn spec(&self) -> Result<ImageSpec, GitOpsError> {
        let text = if self.image.name == self.image_name {
            self.image.to_string()
        } else {
            format!("{}={}", self.image_name, self.image)
        };
        ImageSpec::parse(&text).map_err(|err| GitOpsError::Invalid(format!("{err}")))
    }

    /// How the summary names the new image: its tag, else its digest.
    fn version(&self) -> String {
        match (&self.image.tag, &self.image.digest) {
            (Some(tag), _) => tag.to_string(),
            (None, Some(digest)) => digest.to_string(),
            (None, None) => self.image.to_string(),
        }
    }
}

/// One promotion commit: one or more overlay changes made together, with their provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub action: Action,
    pub changes: Vec<OverlayChange>,
    pub source: Option<Source>,
    pub merge_request: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Vec<String>,
}

impl Promotion {
    pub fn new(changes: Vec<OverlayChange>) -> Self {
        Self {
            action: Action::Promote,
            changes,
            source: None,
            merge_request: None,
            requested_by: None,
            approved_by: Vec::new(),
        }
    }

    /// The deterministic branch a merge request for this promotion comes from.
    pub fn branch(&self) -> String {
        match self.changes.as_slice() {
            [one] => format!("ferry/{}/{}", one.environment, one.service),
            _ => {
                let mut environments: Vec<_> = self
                    .changes
                    .iter()
                    .map(|c| c.environment.as_str())
                    .collect();
                environments.dedup();
                let services: Vec<_> = self.changes.iter().map(|c| c.service.as_str()).collect();
                format!("ferry/{}/{}", environments.join("+"), services.join("+"))
            }
        }
    }

    /// `Promote web to staging: release-1.0.0.ab12cd3`, and for groups a list in the body.
    pub fn summary(&self) -> String {
        let verb = match self.action {
            Action::Rollback => "Roll back",
            _ => "Promote",
        };
        match self.changes.as_slice() {
            [one] => match self.action {
                Action::Rollback => format!(
                    "Roll back {} in {} to {}",
                    one.service,
                    one.environment,
                    one.version()
                ),
                _ => format!(
                    "Promote {} to {}: {}",
                    one.service,
                    one.environment,
                    one.version()
                ),
            },
            many => {
                let mut environments: Vec<_> =
                    many.iter().map(|c| c.environment.as_str()).collect();
                environments.dedup();
                let services: Vec<_> = many.iter().map(|c| c.service.as_str()).collect();
                format!(
                    "{verb} {} to {}",
                    services.join(", "),
                    environments.join(", ")
                )
            }
        }
    }

    fn message(&self, previous: &[Option<String>]) -> String {
        let mut message = self.summary();
        message.push_str("\n\n");
        if self.changes.len() > 1 {
            for (change, previous) in self.changes.iter().zip(previous) {
                message.push_str(&format!(
                    "- {} in {}: {} -> {}\n",
                    change.service,
                    change.environment,
                    previous.as_deref().unwrap_or("(none)"),
                    change.image
                ));
            }
            message.push('\n');
        }
        let trailers = Trailers {
            action: self.action,
            changes: self
                .changes
                .iter()
                .zip(previous)
                .map(|(change, previous)| ChangeTrailers {
                    service: change.service.to_string(),
                    environment: change.environment.to_string(),
                    image: change.image.to_string(),
                    previous: previous.clone(),
                })
                .collect(),
            source: self.source.as_ref().map(|source| SourceTrailer {
                project: source.project.to_string(),
                git_ref: source.git_ref.full_name(),
                sha: source.sha.as_ref().map(ToString::to_string),
            }),
            merge_request: self.merge_request.clone(),
            requested_by: self.requested_by.clone(),
            approved_by: self.approved_by.clone(),
        };
        message.push_str(&trailers.render());
        message
    }
}

impl Change for Promotion {
    fn prepare(
        &self,
        repo: &Repository,
        target: &Tree<'_>,
        onto: &Tree<'_>,
    ) -> Result<Option<Prepared>, GitOpsError> {
        // Several changes may share a file; each applies to the text the ones before left.
        // Built on the target itself (the usual case), what runs now is read from the same
        // text, so each overlay is read and parsed once however wide the promotion is.
        let same_tree = target.id() == onto.id();
        let mut overlays: BTreeMap<String, OverlayText> = BTreeMap::new();
        let mut previous = Vec::with_capacity(self.changes.len());
        for change in &self.changes {
            let mut overlay = match overlays.remove(&change.overlay) {
                Some(overlay) => overlay,
                None => {
                    let (path, text) = read_kustomization(repo, onto, &change.overlay)?
                        .ok_or_else(|| {
                            GitOpsError::Edit(format!(
                                "{}: no kustomization.yaml here; check the policy's `gitops.overlay` or add the overlay",
                                change.overlay
                            ))
                        })?;
                    OverlayText {
                        path,
                        original: text.clone(),
                        edited: text,
                    }
                }
            };
            previous.push(if same_tree {
                image_in(&overlay.path, &overlay.original, &change.image_name)?
            } else {
                current_image(repo, target, &change.overlay, &change.image_name)?
            });
            let spec = change.spec()?;
            overlay.edited = Kustomization::parse(&overlay.edited)
                .and_then(|k| k.set_images(&[spec]))
                .map_err(|err| GitOpsError::edit(&overlay.path, &err))?;
            overlays.insert(change.overlay.clone(), overlay);
        }
        let writes: Vec<FileWrite> = overlays
            .into_values()
            .filter(|overlay| overlay.edited != overlay.original)
            .map(|overlay| FileWrite {
                path: overlay.path,
                content: overlay.edited.into_bytes(),
            })
            .collect();
        if writes.is_empty() {
            return Ok(None);
        }
        Ok(Some(Prepared {
            writes,
            message: self.message(&previous),
        }))
    }
}

/// The image the overlay `dir` in `tree` sets for `image_name`.
pub fn current_image(
    repo: &Repository,
    tree: &Tree<'_>,
    dir: &str,
    image_name: &ImageName,
) -> Result<Option<String>, GitOpsError> {
    let Some((path, text)) = read_kustomization(repo, tree, dir)? else {
        return Ok(None);
    };
    image_in(&path, &text, image_name)
}

/// The image the kustomization `text` (at `path`) sets for `image_name`.
fn image_in(path: &str, text: &str, image_name: &ImageName) -> Result<Option<String>, GitOpsError> {
    let kustomization = Kustomization::parse(text).map_err(|err| GitOpsError::edit(path, &err))?;
    Ok(kustomization
        .images()
        .into_iter()
        .find(|entry| entry.name == image_name.as_str())
        .map(|entry| entry.reference()))
}

/// One overlay's kustomization while a promotion edits it.
struct OverlayText {
    path: String,
    original: String,
    edited: String,
}
