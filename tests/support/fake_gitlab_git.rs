//! The real-git side of the fake GitLab: for a project attached to a bare repository
//! (`FakeGitLab::attach_repo`), branch heads come from its `refs/heads`, mergeability and
//! diffs are computed from its commits, and merges are real commits on the target branch.
//!
//! Everything is deterministic: merge commits are dated one second after the newer of their
//! parents, signed by the merging user as `username <username@gitlab.test>`.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{Delta, DiffFindOptions, Oid, Repository, Signature, Time};

use super::fake_gitlab::Diff;

/// How an attached project merges, as GitLab's project setting "Merge method".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeMethod {
    /// "Merge commit": always a merge commit with both parents (`--no-ff`).
    #[default]
    Merge,
    /// "Fast-forward merge": the target moves to the source head; refused when the source
    /// is not based on the target (GitLab: "needs rebase"). No merge commit.
    FastForward,
}

/// What a merge did.
pub struct Landed {
    /// The merge commit; `None` for a fast-forward, where GitLab reports none either.
    pub merge_commit: Option<String>,
}

/// Why a merge could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The branches conflict.
    Conflict,
    /// Fast-forward only, and the source is not based on the target head.
    NeedsRebase,
    /// A branch is missing.
    NoBranch(String),
}

fn open(path: &Path) -> Repository {
    Repository::open(path)
        .unwrap_or_else(|e| panic!("the fake GitLab cannot open {}: {e}", path.display()))
}

fn oid(text: &str) -> Oid {
    Oid::from_str(text).unwrap_or_else(|e| panic!("`{text}` is not a commit id: {e}"))
}

/// `refs/heads/*` of the repository: branch name -> commit id.
pub fn heads(path: &Path) -> BTreeMap<String, String> {
    let repo = open(path);
    let mut out = BTreeMap::new();
    for reference in repo
        .references_glob("refs/heads/*")
        .expect("list refs/heads")
    {
        let reference = reference.expect("read a ref");
        let Some(name) = reference
            .name()
            .ok()
            .and_then(|n| n.strip_prefix("refs/heads/"))
        else {
            continue;
        };
        let name = name.to_owned();
        if let Ok(commit) = reference.peel_to_commit() {
            out.insert(name, commit.id().to_string());
        }
    }
    out
}

/// Points `refs/heads/branch` at `sha`, which must be a commit of the repository.
pub fn set_head(path: &Path, branch: &str, sha: &str) {
    let repo = open(path);
    let commit = repo
        .find_commit(oid(sha))
        .unwrap_or_else(|e| panic!("{sha} is not a commit of {}: {e}", path.display()));
    repo.reference(
        &format!("refs/heads/{branch}"),
        commit.id(),
        true,
        "fake GitLab: set branch",
    )
    .expect("update the branch");
}

fn head_of(repo: &Repository, branch: &str) -> Result<Oid, Refused> {
    repo.find_reference(&format!("refs/heads/{branch}"))
        .and_then(|r| r.peel_to_commit())
        .map(|c| c.id())
        .map_err(|_| Refused::NoBranch(branch.to_owned()))
}

/// Whether `source` (at `sha`) merges cleanly into `target` with `method`.
pub fn check(path: &Path, sha: &str, target: &str, method: MergeMethod) -> Result<(), Refused> {
    let repo = open(path);
    let target = head_of(&repo, target)?;
    let source = oid(sha);
    match method {
        MergeMethod::FastForward => {
            if source == target || repo.graph_descendant_of(source, target).unwrap_or(false) {
                Ok(())
            } else {
                Err(Refused::NeedsRebase)
            }
        }
        MergeMethod::Merge => {
            let ours = repo.find_commit(target).expect("target commit");
            let theirs = repo.find_commit(source).expect("source commit");
            let index = repo
                .merge_commits(&ours, &theirs, None)
                .expect("merge the trees");
            if index.has_conflicts() {
                Err(Refused::Conflict)
            } else {
                Ok(())
            }
        }
    }
}

/// The files the merge request changes: from the merge base of target and source to the
/// source head, renames detected, as GitLab's diff of the latest version.
pub fn diffs(path: &Path, sha: &str, target: &str) -> Vec<Diff> {
    let repo = open(path);
    let Ok(target) = head_of(&repo, target) else {
        return Vec::new();
    };
    let source = oid(sha);
    let Ok(base) = repo.merge_base(target, source) else {
        return Vec::new();
    };
    let old = repo
        .find_commit(base)
        .and_then(|c| c.tree())
        .expect("base tree");
    let new = repo
        .find_commit(source)
        .and_then(|c| c.tree())
        .expect("head tree");
    let mut diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .expect("diff the trees");
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))
        .expect("find renames");
    diff.deltas()
        .map(|delta| {
            let path_of = |file: git2::DiffFile<'_>| {
                file.path()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            let old_path = path_of(delta.old_file());
            let new_path = path_of(delta.new_file());
            Diff {
                old_path,
                new_path,
                new_file: delta.status() == Delta::Added,
                renamed_file: delta.status() == Delta::Renamed,
                deleted_file: delta.status() == Delta::Deleted,
            }
        })
        .collect()
}

/// Merges `sha` (the head of `source`) into `target` as GitLab does, and moves `target` with
/// a compare-and-swap (retried if someone pushed to `target` meanwhile).
pub fn merge(
    path: &Path,
    sha: &str,
    target: &str,
    method: MergeMethod,
    message: &str,
    username: &str,
) -> Result<Landed, Refused> {
    let repo = open(path);
    let source = oid(sha);
    let target_ref = format!("refs/heads/{target}");
    for _ in 0..3 {
        let current = head_of(&repo, target)?;
        check(path, sha, target, method)?;
        let (new_head, merge_commit) = match method {
            MergeMethod::FastForward => (source, None),
            MergeMethod::Merge => {
                let ours = repo.find_commit(current).expect("target commit");
                let theirs = repo.find_commit(source).expect("source commit");
                let mut index = repo
                    .merge_commits(&ours, &theirs, None)
                    .expect("merge the trees");
                let tree = index.write_tree_to(&repo).expect("write the merged tree");
                let tree = repo.find_tree(tree).expect("merged tree");
                let when = ours.time().seconds().max(theirs.time().seconds()) + 1;
                let signature = Signature::new(
                    username,
                    &format!("{username}@gitlab.test"),
                    &Time::new(when, 0),
                )
                .expect("signature");
                let commit = repo
                    .commit(
                        None,
                        &signature,
                        &signature,
                        message,
                        &tree,
                        &[&ours, &theirs],
                    )
                    .expect("write the merge commit");
                (commit, Some(commit.to_string()))
            }
        };
        if new_head == current
            || repo
                .reference_matching(&target_ref, new_head, true, current, "fake GitLab: merge")
                .is_ok()
        {
            return Ok(Landed { merge_commit });
        }
    }
    panic!("the fake GitLab could not move {target}: it kept moving under the merge");
}

/// Deletes `refs/heads/branch` if it still points at `sha` (GitLab's "delete source branch").
pub fn delete_branch(path: &Path, branch: &str, sha: &str) {
    let repo = open(path);
    if let Ok(mut reference) = repo.find_reference(&format!("refs/heads/{branch}"))
        && reference.target().map(|t| t.to_string()).as_deref() == Some(sha)
    {
        reference.delete().expect("delete the source branch");
    }
}
