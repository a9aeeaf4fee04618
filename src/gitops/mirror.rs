//! A persistent bare mirror of one GitOps repository under Ferry's data directory.
//!
//! Every promotion fetches into the mirror (only new objects travel) and builds its commit
//! there; nothing is cloned per event and no worktree is ever checked out.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use git2::{FetchOptions, FetchPrune, Oid, RemoteCallbacks, Repository};
use sha2::{Digest, Sha256};

use super::error::GitOpsError;
use super::remote::Remote;

/// Branches are fetched into the mirror's own `refs/heads/`: the remote is the truth and the
/// mirror only a cache of it, so its refs are force-updated and pruned on every fetch.
const FETCH_REFSPEC: &str = "+refs/heads/*:refs/heads/*";

pub struct Mirror {
    repo: Repository,
    remote: Remote,
    dir: PathBuf,
    // Held for the mirror's lifetime: one writer per mirror across threads and processes
    // (libgit2 takes no lock around a whole fetch-edit-push round).
    _lock: File,
}

impl Mirror {
    /// Opens (or creates) the mirror of `remote` under `data_dir/mirrors/`, waiting for any
    /// other process that holds it.
    pub fn open(data_dir: &Path, remote: Remote) -> Result<Self, GitOpsError> {
        let mirrors = data_dir.join("mirrors");
        fs::create_dir_all(&mirrors).map_err(GitOpsError::io(format!(
            "cannot create the mirror directory {}",
            mirrors.display()
        )))?;
        let dir = mirrors.join(mirror_name(remote.url()));
        let lock_path = dir.with_extension("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(GitOpsError::io(format!(
                "cannot open {}",
                lock_path.display()
            )))?;
        lock.lock().map_err(GitOpsError::io(format!(
            "cannot lock {}",
            lock_path.display()
        )))?;
        let repo = match Repository::open_bare(&dir) {
            Ok(repo) => repo,
            Err(_) => Repository::init_bare(&dir).map_err(GitOpsError::git(format!(
                "cannot create the mirror {}",
                dir.display()
            )))?,
        };
        Ok(Self {
            repo,
            remote,
            dir,
            _lock: lock,
        })
    }

    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Brings every branch of the remote into the mirror; only missing objects are sent.
    pub fn fetch(&self) -> Result<(), GitOpsError> {
        let mut remote = self
            .repo
            .remote_anonymous(self.remote.url())
            .map_err(GitOpsError::git("cannot set up the remote"))?;
        let mut attempts = 0;
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(|_url, user, allowed| {
            attempts += 1;
            self.remote.credentials(attempts, user, allowed)
        });
        let mut options = FetchOptions::new();
        options
            .remote_callbacks(callbacks)
            .prune(FetchPrune::On)
            .download_tags(git2::AutotagOption::None);
        remote
            .fetch(&[FETCH_REFSPEC], Some(&mut options), None)
            .map_err(GitOpsError::git(format!(
                "cannot fetch from {}",
                self.remote.display_url()
            )))
    }

    /// The commit `branch` points at in the mirror (as of the last fetch or push).
    pub fn head(&self, branch: &str) -> Result<Option<Oid>, GitOpsError> {
        match self.repo.refname_to_id(&format!("refs/heads/{branch}")) {
            Ok(oid) => Ok(Some(oid)),
            Err(err) if err.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(err) => Err(GitOpsError::git(format!("cannot read branch `{branch}`"))(
                err,
            )),
        }
    }

    /// Records in the mirror a push that landed, so the next round starts from it.
    pub(crate) fn set_head(&self, branch: &str, oid: Oid) -> Result<(), GitOpsError> {
        self.repo
            .reference(&format!("refs/heads/{branch}"), oid, true, "ferry: pushed")
            .map(|_| ())
            .map_err(GitOpsError::git(format!(
                "cannot update branch `{branch}` in the mirror"
            )))
    }
}

/// A readable, collision-free directory name: the repository's last path segment and a hash
/// of the whole URL.
fn mirror_name(url: &str) -> String {
    let tail = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("repo");
    let readable: String = tail
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let hash = Sha256::digest(url.as_bytes());
    format!("{readable}-{}.git", hex::encode(&hash[..6]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_names_are_readable_and_distinct() {
        let a = mirror_name("https://gitlab.example.com/eap/gitops.git");
        let b = mirror_name("https://gitlab.example.com/other/gitops.git");
        assert!(a.starts_with("gitops-") && a.ends_with(".git"), "{a}");
        assert_ne!(a, b);
        assert!(mirror_name("/tmp/../weird name/").starts_with("weird_name-"));
    }
}
