//! Reading the audit records of a stretch of first-parent history, on every core.
//!
//! Only the first read of a long history (the audit index build) is long: 20,000 commits of
//! a 50,000-file repository. Each commit's records depend on that commit and its parent's
//! tree alone, so the commits are cut into chunks that threads take in turn, each with its
//! own handle on the repository (a libgit2 handle is not for sharing between threads).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use git2::{Oid, Repository};

use super::audit::{AuditRecord, OverlayMap, commit_records};
use super::error::GitOpsError;

/// Commits per unit of work when several threads read history.
const CHUNK: usize = 512;
/// More threads than this only contend for the same pack files.
const MAX_THREADS: usize = 4;

/// The records of the first-parent commits from `tip` back to (not including) `stop_at`,
/// oldest first.
pub fn read_history(
    repo: &Repository,
    tip: Oid,
    stop_at: Option<Oid>,
    overlays: &OverlayMap,
) -> Result<Vec<AuditRecord>, GitOpsError> {
    let mut oids = first_parent_chain(repo, tip, stop_at)?;
    oids.reverse();
    let chunks: Vec<&[Oid]> = oids.chunks(CHUNK).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_THREADS)
        .min(chunks.len());
    if threads <= 1 {
        return records_of(repo, &oids, overlays);
    }
    let path = repo.path().to_owned();
    let next = AtomicUsize::new(0);
    let per_chunk: Vec<OnceLock<Vec<AuditRecord>>> =
        chunks.iter().map(|_| OnceLock::new()).collect();
    let read_chunks = || -> Result<(), GitOpsError> {
        let repo = Repository::open(&path).map_err(GitOpsError::git("cannot open the mirror"))?;
        loop {
            let chunk = next.fetch_add(1, Ordering::Relaxed);
            let (Some(oids), Some(slot)) = (chunks.get(chunk), per_chunk.get(chunk)) else {
                return Ok(());
            };
            let _ = slot.set(records_of(&repo, oids, overlays)?);
        }
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(read_chunks)).collect();
        workers.into_iter().try_for_each(|worker| {
            worker.join().unwrap_or_else(|_| {
                Err(GitOpsError::Invalid(
                    "a thread reading history stopped unexpectedly".to_owned(),
                ))
            })
        })
    })?;
    Ok(per_chunk
        .into_iter()
        .filter_map(OnceLock::into_inner)
        .flatten()
        .collect())
}

/// The first-parent commits from `tip` back to (not including) `stop_at`, newest first.
fn first_parent_chain(
    repo: &Repository,
    tip: Oid,
    stop_at: Option<Oid>,
) -> Result<Vec<Oid>, GitOpsError> {
    let mut walk = repo
        .revwalk()
        .map_err(GitOpsError::git("cannot walk the history"))?;
    walk.push(tip)
        .and_then(|()| walk.simplify_first_parent())
        .and_then(|()| match stop_at {
            Some(stop) => walk.hide(stop),
            None => Ok(()),
        })
        .map_err(GitOpsError::git("cannot walk the history"))?;
    walk.collect::<Result<Vec<_>, _>>()
        .map_err(GitOpsError::git("cannot walk the history"))
}

/// The records of `oids`, a stretch of a first-parent chain, oldest first.
fn records_of(
    repo: &Repository,
    oids: &[Oid],
    overlays: &OverlayMap,
) -> Result<Vec<AuditRecord>, GitOpsError> {
    let mut records = Vec::new();
    // Each commit's parent is usually the one before it, whose tree is then known without
    // reading the parent again.
    let mut previous: Option<(Oid, Oid)> = None;
    for &oid in oids {
        let commit = repo
            .find_commit(oid)
            .map_err(GitOpsError::git(format!("cannot read commit {oid}")))?;
        let parent_tree = match (commit.parent_ids().next(), previous) {
            (None, _) => None,
            (Some(parent), Some((commit, tree))) if parent == commit => Some(tree),
            (Some(parent), _) => Some(
                repo.find_commit(parent)
                    .map_err(GitOpsError::git(format!("cannot read commit {parent}")))?
                    .tree_id(),
            ),
        };
        records.extend(commit_records(repo, &commit, parent_tree, overlays)?);
        previous = Some((oid, commit.tree_id()));
    }
    Ok(records)
}
