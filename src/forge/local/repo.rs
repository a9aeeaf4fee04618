//! Where a project's branches live: a git repository Ferry reads heads from, writes merge
//! commits into and moves refs in with compare-and-swap.
//!
//! Only repositories on this machine (a path or `file://`) for now. A network URL would go
//! through a `gitops::Mirror` (fetch, merge there, `gitops::push` as compare-and-swap); the
//! location is stored as a URL so that needs no change to the store.

use git2::{Delta, DiffFindOptions, ErrorCode, Oid, Repository, Signature};

use crate::domain::CommitSha;
use crate::forge::{ChangedFile, FileChange};
use crate::gitops::{Auth, Remote};

use super::error::LocalError;

pub(crate) struct ProjectRepo {
    repo: Repository,
    location: String,
}

/// A merge that could not be made, with the words for the person who asked.
pub(crate) enum Refusal {
    Conflict(String),
    /// The target moved under every attempt to move it.
    Contended(String),
}

impl ProjectRepo {
    pub(crate) fn open(location: &str) -> Result<Self, LocalError> {
        let path = Remote::new(location, Auth::None).local_path().ok_or_else(|| {
            LocalError::Invalid(format!(
                "`{location}` is not on this machine; the local forge serves repositories by path for now (a bare repository on disk)"
            ))
        })?;
        let repo = Repository::open(&path).map_err(LocalError::git(format!(
            "cannot open the repository {}",
            path.display()
        )))?;
        Ok(Self {
            repo,
            location: location.to_owned(),
        })
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    pub(crate) fn head(&self, branch: &str) -> Result<Option<Oid>, LocalError> {
        match self
            .repo
            .find_reference(&format!("refs/heads/{branch}"))
            .and_then(|reference| reference.peel_to_commit())
        {
            Ok(commit) => Ok(Some(commit.id())),
            Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
            Err(err) => Err(LocalError::git(format!("cannot read branch `{branch}`"))(
                err,
            )),
        }
    }

    pub(crate) fn head_sha(&self, branch: &str) -> Result<Option<CommitSha>, LocalError> {
        self.head(branch)?
            .map(|oid| {
                CommitSha::parse(&oid.to_string())
                    .map_err(|err| LocalError::Corrupt(err.to_string()))
            })
            .transpose()
    }

    /// Whether `target` already holds every commit of `source`.
    pub(crate) fn contains(&self, target: Oid, source: Oid) -> Result<bool, LocalError> {
        Ok(target == source
            || self
                .repo
                .graph_descendant_of(target, source)
                .map_err(LocalError::git("cannot compare the branches"))?)
    }

    /// Merges `source` into `target` with a merge commit (both parents, as `git merge
    /// --no-ff`), then moves `target` only if it still is where the merge started from.
    /// Someone pushing to `target` meanwhile makes it start over from the new head.
    pub(crate) fn merge(
        &self,
        source: Oid,
        target: &str,
        message: &str,
        merger: &str,
    ) -> Result<Result<Oid, Refusal>, LocalError> {
        let target_ref = format!("refs/heads/{target}");
        for _ in 0..5 {
            let current = self.head(target)?.ok_or_else(|| {
                LocalError::NotFound(format!(
                    "the target branch `{target}` no longer exists in {}",
                    self.location
                ))
            })?;
            let ours = self
                .repo
                .find_commit(current)
                .map_err(LocalError::git("cannot read the target head"))?;
            let theirs = self
                .repo
                .find_commit(source)
                .map_err(LocalError::git("cannot read the source head"))?;
            let mut index = self
                .repo
                .merge_commits(&ours, &theirs, None)
                .map_err(LocalError::git("cannot merge the trees"))?;
            if index.has_conflicts() {
                let paths = conflicted_paths(&index);
                return Ok(Err(Refusal::Conflict(format!(
                    "the source branch conflicts with `{target}` in {paths}; merge `{target}` into it, resolve and push"
                ))));
            }
            let tree = index
                .write_tree_to(&self.repo)
                .and_then(|oid| self.repo.find_tree(oid))
                .map_err(LocalError::git("cannot write the merged tree"))?;
            let signature = Signature::now(merger, &format!("{merger}@ferry.local"))
                .map_err(LocalError::git("cannot sign the merge commit"))?;
            let commit = self
                .repo
                .commit(
                    None,
                    &signature,
                    &signature,
                    message,
                    &tree,
                    &[&ours, &theirs],
                )
                .map_err(LocalError::git("cannot write the merge commit"))?;
            match self.repo.reference_matching(
                &target_ref,
                commit,
                true,
                current,
                "ferry local forge: merge",
            ) {
                Ok(_) => return Ok(Ok(commit)),
                Err(err)
                    if matches!(
                        err.code(),
                        ErrorCode::Modified | ErrorCode::Locked | ErrorCode::Exists
                    ) => {}
                Err(err) => {
                    return Err(LocalError::git(format!("cannot move `{target}`"))(err));
                }
            }
        }
        Ok(Err(Refusal::Contended(format!(
            "`{target}` kept moving while merging; try again"
        ))))
    }

    /// Deletes `branch` if it still points at `sha`; someone else's newer commit stays.
    pub(crate) fn delete_branch(&self, branch: &str, sha: Oid) -> Result<(), LocalError> {
        let mut reference = match self.repo.find_reference(&format!("refs/heads/{branch}")) {
            Ok(reference) => reference,
            Err(err) if err.code() == ErrorCode::NotFound => return Ok(()),
            Err(err) => {
                return Err(LocalError::git(format!("cannot read branch `{branch}`"))(
                    err,
                ));
            }
        };
        if reference.target() != Some(sha) {
            return Ok(());
        }
        // libgit2 deletes with the value it read as the expected one: a push in between wins.
        match reference.delete() {
            Ok(()) => Ok(()),
            Err(err) if matches!(err.code(), ErrorCode::Modified | ErrorCode::NotFound) => Ok(()),
            Err(err) => Err(LocalError::git(format!("cannot delete branch `{branch}`"))(
                err,
            )),
        }
    }

    /// The target's commit before `merge` brought `source` in: its first parent. `None` when
    /// `merge` is no merge commit of `source` (the target already held it).
    pub(crate) fn target_before_merge(
        &self,
        merge: Oid,
        source: Oid,
    ) -> Result<Option<Oid>, LocalError> {
        let commit = self
            .repo
            .find_commit(merge)
            .map_err(LocalError::git("cannot read the merge commit"))?;
        let parents: Vec<Oid> = commit.parent_ids().collect();
        Ok(match parents.as_slice() {
            [before, merged] if *merged == source => Some(*before),
            _ => None,
        })
    }

    /// The files `source` changes since it left `target`: from their merge base to `source`,
    /// renames detected.
    pub(crate) fn changed_files(
        &self,
        source: Oid,
        target: Oid,
    ) -> Result<Vec<ChangedFile>, LocalError> {
        let base = match self.repo.merge_base(target, source) {
            Ok(base) => base,
            Err(err) if err.code() == ErrorCode::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(LocalError::git("cannot find the merge base")(err)),
        };
        let tree_of = |oid: Oid| {
            self.repo
                .find_commit(oid)
                .and_then(|commit| commit.tree())
                .map_err(LocalError::git("cannot read a tree"))
        };
        let (old, new) = (tree_of(base)?, tree_of(source)?);
        let mut diff = self
            .repo
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .map_err(LocalError::git("cannot diff the trees"))?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true)))
            .map_err(LocalError::git("cannot find renames"))?;
        let path_of = |file: git2::DiffFile<'_>| {
            file.path()
                .map(|path| path.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        Ok(diff
            .deltas()
            .filter_map(|delta| {
                let change = match delta.status() {
                    Delta::Added | Delta::Copied => FileChange::Added,
                    Delta::Deleted => FileChange::Deleted,
                    Delta::Renamed => FileChange::Renamed,
                    Delta::Modified | Delta::Typechange => FileChange::Modified,
                    _ => return None,
                };
                let path = match change {
                    FileChange::Deleted => path_of(delta.old_file()),
                    _ => path_of(delta.new_file()),
                };
                let previous_path =
                    (change == FileChange::Renamed).then(|| path_of(delta.old_file()));
                Some(ChangedFile {
                    path,
                    previous_path,
                    change,
                })
            })
            .collect())
    }
}

fn conflicted_paths(index: &git2::Index) -> String {
    let mut paths: Vec<String> = index
        .conflicts()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|conflict| conflict.our.or(conflict.their).or(conflict.ancestor))
        .map(|entry| String::from_utf8_lossy(&entry.path).into_owned())
        .collect();
    paths.dedup();
    if paths.is_empty() {
        "some files".to_owned()
    } else {
        paths.join(", ")
    }
}

pub(crate) fn oid(sha: &CommitSha) -> Result<Oid, LocalError> {
    Oid::from_str(sha.as_str()).map_err(|err| LocalError::Invalid(format!("`{sha}`: {err}")))
}
