//! The objects of one commit written as one pack instead of one file each. A promotion into
//! 500 overlays makes about 2,000 new objects (blobs and the trees above them), and creating a
//! loose file per object costs more than building them.
//!
//! While `build` runs, the repository's object database is swapped for one whose only writer
//! is an in-memory backend and whose readers are the repository's own object directory; then
//! the original database is put back and the new objects are written into it as one pack. No
//! in-memory backend outlives the call, so nothing written later can be lost with it.

use std::path::Path;

use git2::{Odb, Oid, Repository};

use super::error::GitOpsError;
use super::objects;

/// Consulted before the on-disk backends, which the alternate adds at their usual priorities.
const MEMORY_FIRST: i32 = 1000;

/// Runs `build`, which makes a commit (or nothing), and writes the commit and the objects
/// under it that the repository lacks as one pack. Only those: libgit2's own `mempack` dump
/// packs the commit's whole tree, 50,000 objects for a 50,000-file repository.
pub(crate) fn in_one_pack(
    repo: &Repository,
    build: impl FnOnce() -> Result<Option<Oid>, GitOpsError>,
) -> Result<Option<Oid>, GitOpsError> {
    let original = repo
        .odb()
        .map_err(GitOpsError::git("cannot open the object database"))?;
    let staging = Odb::new().map_err(GitOpsError::git("cannot make an object database"))?;
    staging
        .add_new_mempack_backend(MEMORY_FIRST)
        .map_err(GitOpsError::git("cannot make an in-memory object store"))?;
    let objects = objects_dir(repo)?;
    staging
        .add_disk_alternate(&objects)
        .map_err(GitOpsError::git(format!(
            "cannot read objects from {objects}"
        )))?;
    repo.set_odb(&staging)
        .map_err(GitOpsError::git("cannot stage new objects"))?;
    // The pack is built while the staged objects are readable, from the repository's view.
    let packed = build().and_then(|commit| {
        if let Some(commit) = commit {
            let new = objects::missing_from(repo, &original, commit)?;
            objects::write_pack(repo, &new, &original)?;
        }
        Ok(commit)
    });
    // Put the on-disk database back before anything can fail on the way out.
    repo.set_odb(&original)
        .map_err(GitOpsError::git("cannot restore the object database"))?;
    packed
}

fn objects_dir(repo: &Repository) -> Result<String, GitOpsError> {
    let dir = Path::new(repo.path()).join("objects");
    dir.to_str()
        .map(str::to_owned)
        .ok_or_else(|| GitOpsError::Invalid(format!("{} is not a UTF-8 path", dir.display())))
}
