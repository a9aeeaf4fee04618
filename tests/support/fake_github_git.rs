//! The real-git side of the fake GitHub: for a repository attached to a bare repository
//! (`FakeGitHub::attach_repo`), branches are its `refs/heads`, a pull request's files and
//! mergeability come from its commits, and merging writes a real merge commit.
//!
//! Reading heads, checking and diffing are the same git work as for the fake GitLab and are
//! shared with it; the merge commit itself is made as GitHub makes it: authored by the
//! merging user with their noreply address, committed by `GitHub <noreply@github.com>`.

use std::path::Path;

use git2::{Oid, Repository, Signature, Time};

use super::fake_github::File;
use super::fake_gitlab_git::{self as shared, MergeMethod};
pub use super::fake_gitlab_git::{Refused, delete_branch, heads, set_head};

fn open(path: &Path) -> Repository {
    Repository::open(path)
        .unwrap_or_else(|e| panic!("the fake GitHub cannot open {}: {e}", path.display()))
}

/// Whether `sha` merges into `base` without conflicts.
pub fn mergeable(path: &Path, sha: &str, base: &str) -> Result<(), Refused> {
    shared::check(path, sha, base, MergeMethod::Merge)
}

/// The files a pull request changes, as `GET /pulls/{n}/files` lists them: from the merge
/// base of base and head to the head, renames detected.
pub fn files(path: &Path, sha: &str, base: &str) -> Vec<File> {
    shared::diffs(path, sha, base)
        .into_iter()
        .map(|diff| {
            let status = if diff.new_file {
                "added"
            } else if diff.deleted_file {
                "removed"
            } else if diff.renamed_file {
                "renamed"
            } else {
                "modified"
            };
            File {
                filename: diff.new_path.clone(),
                status: status.into(),
                previous_filename: diff.renamed_file.then(|| diff.old_path.clone()),
            }
        })
        .collect()
}

/// Merges `sha` into `base` with a merge commit (GitHub's "Create a merge commit" method),
/// moving `base` with a compare-and-swap; returns the merge commit.
pub fn merge(
    path: &Path,
    sha: &str,
    base: &str,
    message: &str,
    merger: (u64, &str),
) -> Result<String, Refused> {
    let repo = open(path);
    let theirs_id =
        Oid::from_str(sha).unwrap_or_else(|e| panic!("`{sha}` is not a commit id: {e}"));
    let base_ref = format!("refs/heads/{base}");
    for _ in 0..3 {
        mergeable(path, sha, base)?;
        let current = repo
            .find_reference(&base_ref)
            .and_then(|r| r.peel_to_commit())
            .map_err(|_| Refused::NoBranch(base.to_owned()))?;
        let theirs = repo.find_commit(theirs_id).expect("head commit");
        let mut index = repo
            .merge_commits(&current, &theirs, None)
            .expect("merge the trees");
        let tree = index.write_tree_to(&repo).expect("write the merged tree");
        let tree = repo.find_tree(tree).expect("merged tree");
        // Deterministic: one second after the newer parent.
        let when = Time::new(current.time().seconds().max(theirs.time().seconds()) + 1, 0);
        let (id, login) = merger;
        let author = Signature::new(
            login,
            &format!("{id}+{login}@users.noreply.github.com"),
            &when,
        )
        .expect("author");
        let committer = Signature::new("GitHub", "noreply@github.com", &when).expect("committer");
        let commit = repo
            .commit(
                None,
                &author,
                &committer,
                message,
                &tree,
                &[&current, &theirs],
            )
            .expect("write the merge commit");
        if repo
            .reference_matching(&base_ref, commit, true, current.id(), "fake GitHub: merge")
            .is_ok()
        {
            return Ok(commit.to_string());
        }
    }
    panic!("the fake GitHub could not move {base}: it kept moving under the merge");
}
