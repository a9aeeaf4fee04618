//! Landing a change: fetch, build the commit on the newest head, push; on a race, again.
//!
//! The change is a function of the tree it is applied to, not a saved diff, so re-applying it
//! after someone else pushed gives the right file, and a change that already holds gives no
//! commit at all.

use std::time::Duration;

use git2::{Oid, Repository, Tree};

use super::commit::CommitSettings;
use super::error::GitOpsError;
use super::mirror::Mirror;
use super::push::{Pushed, push};
use super::staging::in_one_pack;
use super::tree::{FileWrite, write_tree};

/// Something to commit, worked out afresh on every attempt.
pub trait Change {
    /// The files to write onto `onto` and the commit message, or `None` when `onto` already
    /// has them. `target` is the target branch's tree, which says what runs now.
    fn prepare(
        &self,
        repo: &Repository,
        target: &Tree<'_>,
        onto: &Tree<'_>,
    ) -> Result<Option<Prepared>, GitOpsError>;
}

#[derive(Debug, Clone)]
pub struct Prepared {
    pub writes: Vec<FileWrite>,
    pub message: String,
}

/// How often and how patiently to retry a push that lost a race.
#[derive(Debug, Clone)]
pub struct Retry {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Retry {
    /// Generous enough for 50 writers racing on one branch (each round one of them wins).
    fn default() -> Self {
        Self {
            attempts: 60,
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(800),
        }
    }
}

impl Retry {
    /// Full jitter: a random wait up to an exponentially growing cap, so racing writers
    /// spread out instead of colliding again in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .first_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        cap.mul_f64(fastrand::f64())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new commit is on `branch`.
    Landed {
        commit: Oid,
        /// The target branch head the change was built on.
        base: Oid,
        attempts: u32,
    },
    /// The branch already had the change: nothing was pushed.
    Unchanged { head: Oid },
}

/// Lands `change` on `push_to`, built from the head of `target`.
///
/// - `push_to == target`: a fast-forward of the target branch, never a force push.
/// - a promotion branch: while it still contains the target head, the change is stacked on
///   it (reviewers see one new commit, not a rewritten branch); once the target moved on, the
///   branch is rebuilt from the target head, force-pushed with a lease on the value seen.
pub fn land(
    mirror: &Mirror,
    settings: &CommitSettings,
    retry: &Retry,
    target: &str,
    push_to: &str,
    change: &dyn Change,
) -> Result<Outcome, GitOpsError> {
    let repo = mirror.repo();
    for attempt in 1..=retry.attempts {
        mirror.fetch()?;
        let base = mirror.head(target)?.ok_or_else(|| GitOpsError::NoBranch {
            branch: target.to_owned(),
            remote: mirror.remote().display_url(),
        })?;
        let target_tree = tree_of(repo, base)?;
        let existing = if push_to == target {
            Some(base)
        } else {
            mirror.head(push_to)?
        };
        let stack_on = match existing {
            Some(tip) if tip == base || is_ancestor(repo, base, tip)? => Some(tip),
            _ => None,
        };
        let onto = stack_on.unwrap_or(base);
        let onto_tree = tree_of(repo, onto)?;
        let Some(prepared) = change.prepare(repo, &target_tree, &onto_tree)? else {
            return Ok(Outcome::Unchanged {
                head: existing.unwrap_or(base),
            });
        };
        let build = || -> Result<Option<Oid>, GitOpsError> {
            let tree = write_tree(repo, &onto_tree, &prepared.writes)?;
            if tree == onto_tree.id() {
                return Ok(None);
            }
            Ok(Some(settings.commit(
                repo,
                &prepared.message,
                tree,
                &[onto],
            )?))
        };
        // A wide change (hundreds of overlays) goes into one pack rather than a loose file
        // per object (see `staging`); a small one stays loose, so packs do not pile up.
        let built = if prepared.writes.len() >= PACK_FROM_FILES {
            in_one_pack(repo, build)?
        } else {
            build()?
        };
        let Some(commit) = built else {
            return Ok(Outcome::Unchanged { head: onto });
        };
        let force = stack_on.is_none() && existing.is_some();
        match push(mirror, push_to, existing, commit, force)? {
            Pushed::Landed => {
                tracing::info!(branch = push_to, %commit, attempt, "pushed");
                return Ok(Outcome::Landed {
                    commit,
                    base,
                    attempts: attempt,
                });
            }
            Pushed::Moved => {
                tracing::debug!(branch = push_to, attempt, "branch moved; rebuilding");
                std::thread::sleep(retry.backoff(attempt));
            }
        }
    }
    Err(GitOpsError::Contended {
        branch: push_to.to_owned(),
        attempts: retry.attempts,
    })
}

/// From this many files in one commit, its objects are written as one pack.
const PACK_FROM_FILES: usize = 50;

fn tree_of(repo: &Repository, commit: Oid) -> Result<Tree<'_>, GitOpsError> {
    repo.find_commit(commit)
        .and_then(|commit| commit.tree())
        .map_err(GitOpsError::git(format!("cannot read commit {commit}")))
}

fn is_ancestor(repo: &Repository, ancestor: Oid, of: Oid) -> Result<bool, GitOpsError> {
    repo.graph_descendant_of(of, ancestor)
        .map_err(GitOpsError::git("cannot compare branches"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        let retry = Retry::default();
        for attempt in 1..100 {
            assert!(retry.backoff(attempt) <= retry.max_backoff);
        }
        let early: Duration = (0..200).map(|_| retry.backoff(1)).max().unwrap_or_default();
        assert!(early <= Duration::from_millis(20), "{early:?}");
    }
}
