//! Finding, reading and atomically rewriting kustomization files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The file names kustomize accepts, in its order of preference.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, Error)]
pub enum FileError {
    #[error(
        "{path}: no kustomization file here; expected one of kustomization.yaml, kustomization.yml or Kustomization"
    )]
    NotFound { path: String },
    #[error("{path}: holds both {first} and {second}; kustomize refuses that too, so remove one")]
    Ambiguous {
        path: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: is not UTF-8 text; YAML files must be UTF-8")]
    NotUtf8 { path: String },
    #[error("{path}: cannot write: {source}; the file was left as it was")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// `path` itself when it is a file, else the kustomization file in the directory `path`.
pub fn locate(path: &Path) -> Result<PathBuf, FileError> {
    let metadata = fs::metadata(path).map_err(|source| FileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    if !metadata.is_dir() {
        return Ok(path.to_path_buf());
    }
    let present: Vec<&'static str> = KUSTOMIZATION_FILE_NAMES
        .into_iter()
        .filter(|name| path.join(name).is_file())
        .collect();
    match present.as_slice() {
        [] => Err(FileError::NotFound {
            path: path.display().to_string(),
        }),
        [one] => Ok(path.join(one)),
        [first, second, ..] => Err(FileError::Ambiguous {
            path: path.display().to_string(),
            first,
            second,
        }),
    }
}

pub fn read(path: &Path) -> Result<String, FileError> {
    let bytes = fs::read(path).map_err(|source| FileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| FileError::NotUtf8 {
        path: path.display().to_string(),
    })
}

/// Replaces the file's content atomically (temporary file in the same directory, then rename),
/// keeping its permissions. A crash leaves either the old or the new file, never half of one.
pub fn write_atomic(path: &Path, content: &str) -> Result<(), FileError> {
    let fail = |source: std::io::Error| FileError::Write {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let permissions = fs::metadata(path).map_err(fail)?.permissions();
    let mut temp = tempfile::Builder::new()
        .prefix(".ferry-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    temp.write_all(content.as_bytes()).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    fs::set_permissions(temp.path(), permissions).map_err(fail)?;
    temp.persist(path).map_err(|err| fail(err.error))?;
    Ok(())
}

/// A unified diff of a file's old and new content, as `git diff` would label it.
pub fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let label = path.display().to_string();
    let (from, to) = if path.is_absolute() {
        (label.clone(), label)
    } else {
        (format!("a/{label}"), format!("b/{label}"))
    };
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &to)
        .to_string()
}
