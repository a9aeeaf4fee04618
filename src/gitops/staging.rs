//! The objects of one commit written as one pack instead of one file each. A promotion into
//! 500 overlays makes about 2,000 new objects (blobs and the trees above them), and creating a
//! loose file per object costs more than building them.
//!
//! While `build` runs, the repository's object database is swapped for one whose only writer
//! is an in-memory backend and whose readers are the repository's own object directory; then
//! the original database is put back and the new objects are written into it as one pack. No
//! in-memory backend outlives the call, so nothing written later can be lost with it.

use std::io::Write;
use std::path::Path;

use git2::{Buf, Odb, Repository};

use super::error::GitOpsError;

/// Consulted before the on-disk backends, which the alternate adds at their usual priorities.
const MEMORY_FIRST: i32 = 1000;

/// A pack with no objects is a 12-byte header and a 20-byte checksum.
const EMPTY_PACK: usize = 32;

pub(crate) fn in_one_pack<T>(
    repo: &Repository,
    build: impl FnOnce() -> Result<T, GitOpsError>,
) -> Result<T, GitOpsError> {
    let original = repo
        .odb()
        .map_err(GitOpsError::git("cannot open the object database"))?;
    let staging = Odb::new().map_err(GitOpsError::git("cannot make an object database"))?;
    let memory = staging
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
    let built = build();
    let mut pack = Buf::new();
    let dumped = memory.dump(repo, &mut pack);
    // Put the on-disk database back before anything can fail on the way out.
    repo.set_odb(&original)
        .map_err(GitOpsError::git("cannot restore the object database"))?;
    let value = built?;
    dumped.map_err(GitOpsError::git("cannot pack the new objects"))?;
    if pack.len() > EMPTY_PACK {
        let mut writer = original
            .packwriter()
            .map_err(GitOpsError::git("cannot write a pack"))?;
        writer
            .write_all(&pack)
            .map_err(GitOpsError::io("cannot write a pack"))?;
        writer
            .commit()
            .map_err(GitOpsError::git("cannot index the new pack"))?;
    }
    Ok(value)
}

fn objects_dir(repo: &Repository) -> Result<String, GitOpsError> {
    let dir = Path::new(repo.path()).join("objects");
    dir.to_str()
        .map(str::to_owned)
        .ok_or_else(|| GitOpsError::Invalid(format!("{} is not a UTF-8 path", dir.display())))
}
