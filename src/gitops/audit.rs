//! Reading the audit trail back from the first-parent history of a target branch.
//!
//! Ferry's own commits carry trailers; merge commits bring in the trailers of the commits
//! they merge; and any commit that changes an overlay's image without saying so (a hand edit,
//! a squash merge that dropped the trailers) is found by comparing the overlay's images with
//! its first parent's, and recorded as `manual`. So the trail is complete, not only Ferry's.

use std::collections::{HashMap, HashSet};

use git2::{Commit, Oid, Repository, Sort};
use serde::{Deserialize, Serialize};

use super::error::GitOpsError;
use super::overlay_diff::changed_kustomizations;
use super::trailers::{Action, MergeTrailers, SourceTrailer, Trailers};
use crate::kustomize::Kustomization;
use crate::kustomize::file::KUSTOMIZATION_FILE_NAMES;
use crate::policy::Policy;

/// One image change in one environment, as history tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the change reached the branch (committer time of the first-parent commit),
    /// seconds since the Unix epoch.
    pub time: i64,
    /// The first-parent commit that brought the change.
    pub commit: String,
    pub action: Action,
    pub environment: String,
    pub service: String,
    pub image: String,
    pub previous: Option<String>,
    pub source: Option<SourceTrailer>,
    pub merge_request: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Vec<String>,
}

/// Which overlay directory belongs to which service and environment, from the policy.
#[derive(Debug, Clone, Default)]
pub struct OverlayMap {
    by_dir: HashMap<String, Overlay>,
    /// Every overlay directory and each directory above one: where a tree walk looking
    /// for overlay changes has to descend.
    on_the_way: HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Overlay {
    service: String,
    environment: String,
    image_name: String,
}

impl OverlayMap {
    pub fn from_policy(policy: &Policy) -> Self {
        let mut overlays = Vec::new();
        for environment in &policy.environments {
            for service in policy.services_in(environment) {
                overlays.push((
                    policy.overlay_dir(service, environment),
                    service.name.to_string(),
                    environment.name.to_string(),
                    service.image.to_string(),
                ));
            }
        }
        Self::from_dirs(overlays)
    }

    /// From `(overlay directory, service, environment, image name)` tuples.
    pub(crate) fn from_dirs(
        overlays: impl IntoIterator<Item = (String, String, String, String)>,
    ) -> Self {
        let by_dir: HashMap<String, Overlay> = overlays
            .into_iter()
            .map(|(dir, service, environment, image_name)| {
                let overlay = Overlay {
                    service,
                    environment,
                    image_name,
                };
                (dir, overlay)
            })
            .collect();
        let mut on_the_way = HashSet::new();
        for dir in by_dir.keys() {
            let mut above = dir.as_str();
            // An ancestor already there has its own ancestors there too.
            while on_the_way.insert(above.to_owned()) {
                match above.rsplit_once('/') {
                    Some((parent, _)) => above = parent,
                    None => break,
                }
            }
        }
        Self { by_dir, on_the_way }
    }

    /// A stable digest of the mapping: an index built with another mapping is rebuilt.
    pub fn fingerprint(&self) -> String {
        let mut lines: Vec<String> = self
            .by_dir
            .iter()
            .map(|(dir, o)| format!("{dir}\t{}\t{}\t{}", o.service, o.environment, o.image_name))
            .collect();
        lines.sort();
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(lines.join("\n").as_bytes()))
    }

    pub(super) fn is_overlay_dir(&self, dir: &str) -> bool {
        self.by_dir.contains_key(dir)
    }

    /// Whether `dir` is an overlay directory or one above an overlay.
    pub(super) fn leads_to_overlay(&self, dir: &str) -> bool {
        self.on_the_way.contains(dir)
    }

    fn overlay_of(&self, path: &str) -> Option<&Overlay> {
        let (dir, file) = path.rsplit_once('/')?;
        KUSTOMIZATION_FILE_NAMES
            .contains(&file)
            .then(|| self.by_dir.get(dir))
            .flatten()
    }
}

/// The records of `commit`, whose first parent has the tree `parent_tree`.
pub(super) fn commit_records(
    repo: &Repository,
    commit: &Commit<'_>,
    parent_tree: Option<Oid>,
    overlays: &OverlayMap,
) -> Result<Vec<AuditRecord>, GitOpsError> {
    let time = commit.time().seconds();
    let id = commit.id().to_string();
    let own = Trailers::parse(&String::from_utf8_lossy(commit.message_bytes()));
    let is_merge = commit.parent_count() > 1;
    let mut records = Vec::new();
    if let Some(trailers) = &own {
        records.extend(from_trailers(trailers, time, &id));
    }
    if is_merge {
        let merge = MergeTrailers::parse(&String::from_utf8_lossy(commit.message_bytes()));
        for merged in merged_commits(repo, commit)? {
            if let Some(trailers) =
                Trailers::parse(&String::from_utf8_lossy(merged.message_bytes()))
            {
                let brought = from_trailers(&trailers, time, &id);
                records.extend(
                    brought
                        .into_iter()
                        .map(|record| with_merge(record, merge.as_ref())),
                );
            }
        }
    }
    // A commit with its own trailers is Ferry's: it changed exactly what they say. Anything
    // else is compared with its first parent, file by file.
    if own.is_none() || is_merge {
        let author = commit.author().name().ok().map(str::to_owned);
        for ImageChange {
            overlay,
            before: previous,
            after: image,
        } in image_changes(repo, commit, parent_tree, overlays)?
        {
            let explained = records.iter().any(|r| {
                r.service == overlay.service
                    && r.environment == overlay.environment
                    && r.image == image
            });
            if !explained {
                records.push(AuditRecord {
                    time,
                    commit: id.clone(),
                    action: Action::Manual,
                    environment: overlay.environment.clone(),
                    service: overlay.service.clone(),
                    image,
                    previous,
                    source: None,
                    merge_request: None,
                    requested_by: author.clone(),
                    approved_by: Vec::new(),
                });
            }
        }
    }
    Ok(records)
}

/// A record brought in by a merge, with the merge request and approvals the merge commit
/// names where the promotion commit itself could not.
fn with_merge(mut record: AuditRecord, merge: Option<&MergeTrailers>) -> AuditRecord {
    if let Some(merge) = merge {
        if record.merge_request.is_none() {
            record.merge_request = Some(merge.merge_request.clone());
        }
        if record.approved_by.is_empty() {
            record.approved_by = merge.approved_by.clone();
        }
    }
    record
}

fn from_trailers(trailers: &Trailers, time: i64, commit: &str) -> Vec<AuditRecord> {
    trailers
        .changes
        .iter()
        .map(|change| AuditRecord {
            time,
            commit: commit.to_owned(),
            action: trailers.action,
            environment: change.environment.clone(),
            service: change.service.clone(),
            image: change.image.clone(),
            previous: change.previous.clone(),
            source: trailers.source.clone(),
            merge_request: trailers.merge_request.clone(),
            requested_by: trailers.requested_by.clone(),
            approved_by: trailers.approved_by.clone(),
        })
        .collect()
}

/// The Ferry trailers a commit brought to its branch: its own, or for a merge commit those
/// of the commits it merged, oldest first.
pub fn trailers_brought_by(repo: &Repository, sha: &str) -> Result<Vec<Trailers>, GitOpsError> {
    let oid =
        Oid::from_str(sha).map_err(GitOpsError::git(format!("`{sha}` is not a commit id")))?;
    let commit = repo
        .find_commit(oid)
        .map_err(GitOpsError::git(format!("cannot read commit {sha}")))?;
    let mut all: Vec<Trailers> = Vec::new();
    if commit.parent_count() > 1 {
        for merged in merged_commits(repo, &commit)? {
            all.extend(Trailers::parse(&String::from_utf8_lossy(
                merged.message_bytes(),
            )));
        }
    }
    all.extend(Trailers::parse(&String::from_utf8_lossy(
        commit.message_bytes(),
    )));
    Ok(all)
}

/// The commits a merge brings in (reachable from its other parents, not from the first),
/// oldest first.
fn merged_commits<'r>(
    repo: &'r Repository,
    merge: &Commit<'_>,
) -> Result<Vec<Commit<'r>>, GitOpsError> {
    let mut walk = repo
        .revwalk()
        .map_err(GitOpsError::git("cannot walk a merge"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(GitOpsError::git("cannot walk a merge"))?;
    for parent in merge.parent_ids().skip(1) {
        walk.push(parent)
            .map_err(GitOpsError::git("cannot walk a merge"))?;
    }
    if let Some(first) = merge.parent_ids().next() {
        walk.hide(first)
            .map_err(GitOpsError::git("cannot walk a merge"))?;
    }
    walk.map(|oid| oid.and_then(|oid| repo.find_commit(oid)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(GitOpsError::git("cannot read a merged commit"))
}

/// An overlay whose service image a commit changed: the image before (if any) and after.
struct ImageChange<'m> {
    overlay: &'m Overlay,
    before: Option<String>,
    after: String,
}

/// Each overlay whose service image the commit changed relative to its first parent.
fn image_changes<'m>(
    repo: &Repository,
    commit: &Commit<'_>,
    parent_tree: Option<Oid>,
    overlays: &'m OverlayMap,
) -> Result<Vec<ImageChange<'m>>, GitOpsError> {
    let mut changes = Vec::new();
    for file in changed_kustomizations(repo, parent_tree, commit.tree_id(), overlays)? {
        let Some(overlay) = overlays.overlay_of(&file.path) else {
            continue;
        };
        let after = image_in(repo, file.after, &overlay.image_name);
        let before = file
            .before
            .and_then(|blob| image_in(repo, blob, &overlay.image_name));
        if let Some(after) = after
            && before.as_ref() != Some(&after)
        {
            changes.push(ImageChange {
                overlay,
                before,
                after,
            });
        }
    }
    Ok(changes)
}

/// The image a kustomization blob sets for `image_name`. A file that cannot be read sets
/// none: history is reported as it is, and the policy check is where broken files are refused.
fn image_in(repo: &Repository, blob: Oid, image_name: &str) -> Option<String> {
    let blob = repo.find_blob(blob).ok()?;
    let text = std::str::from_utf8(blob.content()).ok()?;
    let kustomization = Kustomization::parse(text).ok()?;
    kustomization
        .images()
        .into_iter()
        .find(|entry| entry.name == image_name)
        .map(|entry| entry.reference())
}
