//! Moving the objects of a new commit from one object database to another: which ones the
//! other lacks, and writing them there as one pack.

use std::collections::HashSet;

use git2::{ObjectType, Odb, Oid, Repository};

use super::error::GitOpsError;

/// The objects reachable from `tip` in `source` that `known` lacks. Descends only into trees
/// `known` does not have (it has everything below those it has), so a commit into a 50,000-file
/// repository costs the objects it made, not the repository's size.
pub(super) fn missing_from(
    source: &Repository,
    known: &Odb<'_>,
    tip: Oid,
) -> Result<Vec<Oid>, GitOpsError> {
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    let mut pending = vec![tip];
    while let Some(oid) = pending.pop() {
        if !seen.insert(oid) || known.exists(oid) {
            continue;
        }
        missing.push(oid);
        match source.find_object(oid, None).map(|object| object.kind()) {
            Ok(Some(ObjectType::Commit)) => {
                let commit = source
                    .find_commit(oid)
                    .map_err(GitOpsError::git(format!("cannot read commit {oid}")))?;
                pending.push(commit.tree_id());
                pending.extend(commit.parent_ids());
            }
            Ok(Some(ObjectType::Tree)) => {
                let tree = source
                    .find_tree(oid)
                    .map_err(GitOpsError::git(format!("cannot read tree {oid}")))?;
                // Gitlinks (submodules) name commits of other repositories: not ours to copy.
                pending.extend(
                    tree.iter()
                        .filter(|entry| entry.kind() != Some(ObjectType::Commit))
                        .map(|entry| entry.id()),
                );
            }
            Ok(_) => {}
            Err(error) => {
                return Err(GitOpsError::git(format!("cannot read object {oid}"))(error));
            }
        }
    }
    Ok(missing)
}

/// Writes `objects`, read from `source`, into `to` as one pack (indexed there).
pub(super) fn write_pack(
    source: &Repository,
    objects: &[Oid],
    to: &Odb<'_>,
) -> Result<(), GitOpsError> {
    let mut builder = source
        .packbuilder()
        .map_err(GitOpsError::git("cannot start a pack"))?;
    for oid in objects {
        builder
            .insert_object(*oid, None)
            .map_err(GitOpsError::git(format!("cannot pack object {oid}")))?;
    }
    let mut pack = git2::Buf::new();
    builder
        .write_buf(&mut pack)
        .map_err(GitOpsError::git("cannot build the pack"))?;
    let mut writer = to
        .packwriter()
        .map_err(GitOpsError::git("cannot write a pack"))?;
    std::io::Write::write_all(&mut writer, &pack)
        .map_err(GitOpsError::io("cannot write a pack"))?;
    writer
        .commit()
        .map_err(GitOpsError::git("cannot index the new pack"))?;
    Ok(())
}
