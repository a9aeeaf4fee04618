//! The audit log of a branch, kept as an index beside the mirror so long histories are read
//! once: each later read walks only the commits that arrived since.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::PathBuf;

use git2::Oid;
use serde::{Deserialize, Serialize};

use super::audit::{AuditRecord, OverlayMap};
use super::error::GitOpsError;
use super::history::read_history;
use super::mirror::Mirror;
use super::trailers::Action;
use crate::domain::{CommitSha, EnvironmentName, ImageRef, ServiceName};
use crate::policy::history::{History, HistoryError};

const INDEX_VERSION: u32 = 2;

#[derive(Deserialize)]
struct IndexFile {
    version: u32,
    branch: String,
    tip: String,
    overlays: String,
    records: Vec<AuditRecord>,
}

/// Every record of a branch, oldest first.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    pub records: Vec<AuditRecord>,
    /// `(service, source commit)` -> the environments it ran in.
    runs: HashMap<(String, String), HashSet<String>>,
    /// `(service, image)` -> the source commit it was built from.
    builds: HashMap<(String, String), String>,
}

impl AuditLog {
    pub fn new(records: Vec<AuditRecord>) -> Self {
        let mut runs: HashMap<(String, String), HashSet<String>> = HashMap::new();
        let mut builds = HashMap::new();
        for record in &records {
            let Some(sha) = record.source.as_ref().and_then(|s| s.sha.clone()) else {
                continue;
            };
            runs.entry((record.service.clone(), sha.clone()))
                .or_default()
                .insert(record.environment.clone());
            builds.insert((record.service.clone(), record.image.clone()), sha);
        }
        Self {
            records,
            runs,
            builds,
        }
    }

    /// The log of `branch` in the mirror (as of its last fetch), from the index when it is
    /// current, extending it with the commits that arrived since.
    pub fn load(mirror: &Mirror, branch: &str, overlays: &OverlayMap) -> Result<Self, GitOpsError> {
        let tip = mirror.head(branch)?.ok_or_else(|| GitOpsError::NoBranch {
            branch: branch.to_owned(),
            remote: mirror.remote().display_url(),
        })?;
        let path = index_path(mirror, branch);
        let fingerprint = overlays.fingerprint();
        let repo = mirror.repo();
        let saved = read_index(&path)
            .filter(|index| {
                index.version == INDEX_VERSION
                    && index.branch == branch
                    && index.overlays == fingerprint
            })
            .and_then(|index| Some((Oid::from_str(&index.tip).ok()?, index.records)))
            // A branch that was rewritten (the saved tip is no longer in its history) is read anew.
            .filter(|(saved_tip, _)| {
                *saved_tip == tip || repo.graph_descendant_of(tip, *saved_tip).unwrap_or(false)
            });
        let (mut records, stop_at) = match saved {
            Some((saved_tip, records)) => (records, Some(saved_tip)),
            None => (Vec::new(), None),
        };
        if stop_at != Some(tip) {
            records.extend(read_history(repo, tip, stop_at, overlays)?);
            // The index is a cache: failing to save it costs speed next time, not correctness.
            if let Err(err) = write_index(&path, branch, tip, &fingerprint, &records) {
                tracing::warn!(path = %path.display(), error = %err, "cannot save the audit index");
            }
        }
        Ok(Self::new(records))
    }

    /// Records matching the filters, oldest first.
    pub fn filter<'a>(
        &'a self,
        environment: Option<&'a str>,
        service: Option<&'a str>,
        since: Option<i64>,
        until: Option<i64>,
    ) -> impl Iterator<Item = &'a AuditRecord> + 'a {
        self.records.iter().filter(move |r| {
            environment.is_none_or(|e| r.environment == e)
                && service.is_none_or(|s| r.service == s)
                && since.is_none_or(|t| r.time >= t)
                && until.is_none_or(|t| r.time <= t)
        })
    }

    /// What ran where at `time`: the last record at or before it for each environment and
    /// service, in environment then service order.
    pub fn at(&self, time: i64) -> Vec<&AuditRecord> {
        let mut latest: HashMap<(&str, &str), &AuditRecord> = HashMap::new();
        for record in self.records.iter().filter(|r| r.time <= time) {
            latest.insert((&record.environment, &record.service), record);
        }
        let mut out: Vec<_> = latest.into_values().collect();
        out.sort_by(|a, b| (&a.environment, &a.service).cmp(&(&b.environment, &b.service)));
        out
    }

    /// The image to roll `service` in `environment` back to, and the record that first put
    /// it there (whose provenance the rollback carries): `to` names a version (a tag, a
    /// digest or a whole reference); without it, the image that ran before the current one.
    pub fn rollback_target(
        &self,
        environment: &str,
        service: &str,
        current: &str,
        to: Option<&str>,
    ) -> Result<&AuditRecord, GitOpsError> {
        let history: Vec<&AuditRecord> = self
            .records
            .iter()
            .filter(|r| r.environment == environment && r.service == service)
            .collect();
        if let Some(version) = to {
            return history
                .iter()
                .rev()
                .find(|r| image_matches(&r.image, version) && r.action != Action::Rollback)
                .or_else(|| {
                    history
                        .iter()
                        .rev()
                        .find(|r| image_matches(&r.image, version))
                })
                .copied()
                .ok_or_else(|| {
                    let mut known: Vec<&str> =
                        history.iter().rev().map(|r| r.image.as_str()).collect();
                    known.dedup();
                    known.truncate(5);
                    GitOpsError::Invalid(format!(
                        "`{version}` never ran for {service} in {environment}; recent images: {}",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ))
                });
        }
        // Walk back past the records of the current image to the one before it.
        let mut rest = history.iter().rev().skip_while(|r| r.image == current);
        rest.next().copied().ok_or_else(|| {
            GitOpsError::Invalid(format!(
                "history has no image of {service} in {environment} before {current}; name one with `--to VERSION`"
            ))
        })
    }
}

fn image_matches(image: &str, version: &str) -> bool {
    if image == version {
        return true;
    }
    let (_, tag, digest) = crate::domain::image::split_reference(image);
    tag == Some(version) || digest == Some(version)
}

impl History for AuditLog {
    fn commit_of(
        &self,
        service: &ServiceName,
        image: &ImageRef,
    ) -> Result<Option<CommitSha>, HistoryError> {
        let key = (service.to_string(), image.to_string());
        Ok(self
            .builds
            .get(&key)
            .and_then(|sha| CommitSha::parse(sha).ok()))
    }

    fn ran_in(
        &self,
        service: &ServiceName,
        commit: &CommitSha,
        environment: &EnvironmentName,
    ) -> Result<bool, HistoryError> {
        let key = (service.to_string(), commit.to_string());
        Ok(self
            .runs
            .get(&key)
            .is_some_and(|envs| envs.contains(environment.as_str())))
    }
}

/// What [`IndexFile`] is read back from, written without copying the records.
#[derive(Serialize)]
struct IndexOut<'a> {
    version: u32,
    branch: &'a str,
    tip: String,
    overlays: &'a str,
    records: &'a [AuditRecord],
}

fn index_path(mirror: &Mirror, branch: &str) -> PathBuf {
    let safe: String = branch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    mirror
        .dir()
        .join("ferry-audit")
        .join(format!("{safe}.json"))
}

fn read_index(path: &std::path::Path) -> Option<IndexFile> {
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_index(
    path: &std::path::Path,
    branch: &str,
    tip: Oid,
    overlays: &str,
    records: &[AuditRecord],
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(path);
    fs::create_dir_all(dir)?;
    let index = IndexOut {
        version: INDEX_VERSION,
        branch,
        tip: tip.to_string(),
        overlays,
        records,
    };
    let file = tempfile::NamedTempFile::new_in(dir)?;
    // serde_json writes a few bytes at a time: unbuffered, tens of thousands of records
    // were millions of write calls.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 20, file);
    serde_json::to_writer(&mut buffered, &index)?;
    let file = buffered.into_inner().map_err(|err| err.into_error())?;
    file.persist(path).map_err(|err| err.error)?;
    Ok(())
}
