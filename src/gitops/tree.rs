//! Reading files from commits and writing new trees, straight in the object database.

use git2::{FileMode, ObjectType, Oid, Repository, Tree};

use super::error::GitOpsError;
use crate::kustomize::file::KUSTOMIZATION_FILE_NAMES;

/// A file's new content at a path relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    pub path: String,
    pub content: Vec<u8>,
}

/// The bytes of the file at `path`, or `None` when there is no file there.
pub fn read_file(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
) -> Result<Option<Vec<u8>>, GitOpsError> {
    let entry = match tree.get_path(std::path::Path::new(path)) {
        Ok(entry) => entry,
        Err(err) if err.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(GitOpsError::git(format!("cannot look up {path}"))(err)),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let blob = repo
        .find_blob(entry.id())
        .map_err(GitOpsError::git(format!("cannot read {path}")))?;
    Ok(Some(blob.content().to_vec()))
}

/// The same as [`read_file`], as UTF-8 text.
pub fn read_text(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
) -> Result<Option<String>, GitOpsError> {
    read_file(repo, tree, path)?
        .map(|bytes| {
            String::from_utf8(bytes).map_err(|_| {
                GitOpsError::Edit(format!(
                    "{path}: is not UTF-8 text; YAML files must be UTF-8"
                ))
            })
        })
        .transpose()
}

/// The kustomization file of the overlay directory `dir`, and its text.
pub fn read_kustomization(
    repo: &Repository,
    tree: &Tree<'_>,
    dir: &str,
) -> Result<Option<(String, String)>, GitOpsError> {
    let mut found = None;
    for name in KUSTOMIZATION_FILE_NAMES {
        let path = format!("{dir}/{name}");
        if let Some(text) = read_text(repo, tree, &path)? {
            if let Some((first, _)) = &found {
                return Err(GitOpsError::Edit(format!(
                    "{dir}: holds both {first} and {path}; kustomize refuses that too, keep one"
                )));
            }
            found = Some((path, text));
        }
    }
    Ok(found)
}

/// A tree equal to `base` with `writes` applied. Only the trees on the written paths are new;
/// an existing file keeps its mode (an executable stays executable).
pub fn write_tree(
    repo: &Repository,
    base: &Tree<'_>,
    writes: &[FileWrite],
) -> Result<Oid, GitOpsError> {
    let mut update = git2::build::TreeUpdateBuilder::new();
    for write in writes {
        let blob = repo
            .blob(&write.content)
            .map_err(GitOpsError::git(format!("cannot store {}", write.path)))?;
        let mode = match base.get_path(std::path::Path::new(&write.path)) {
            Ok(entry) if entry.filemode() == i32::from(FileMode::BlobExecutable) => {
                FileMode::BlobExecutable
            }
            _ => FileMode::Blob,
        };
        update.upsert(write.path.as_str(), blob, mode);
    }
    update
        .create_updated(repo, base)
        .map_err(GitOpsError::git("cannot build the new tree"))
}
