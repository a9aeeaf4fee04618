//! Real git repositories for the GitOps engine's tests: a bare "remote" seeded from the
//! shipped example, second clones that push with the git CLI, and a smart-HTTP server
//! (`git http-backend` behind a small CGI bridge) on loopback.

pub mod http;

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

pub const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/gitops-example");

/// Runs git in `dir` with a fixed identity and no user or system config, and returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, &[])
}

/// [`git`] with extra environment variables (`GIT_COMMITTER_DATE`, ...).
pub fn git_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Dana Dev",
            "-c",
            "user.email=dana@example.com",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .envs(env.iter().copied())
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A bare remote holding `files` as its first commit on `main`, plus a scratch directory.
pub struct Fixture {
    pub dir: TempDir,
    pub remote: PathBuf,
}

impl Fixture {
    /// The shipped example repository (two services, three overlays, policies).
    pub fn example() -> Self {
        Self::from_dir(Path::new(TEMPLATE))
    }

    /// The shipped example without its freeze window, so a test's outcome does not depend
    /// on the day it runs.
    pub fn example_without_freeze() -> Self {
        Self::with(|seed| {
            copy_dir(Path::new(TEMPLATE), seed);
            let path = seed.join("policies/promotion.yaml");
            let policy = std::fs::read_to_string(&path).expect("policy");
            let kept: String = policy
                .lines()
                .filter(|line| !line.contains("freeze:") && !line.contains("days: [fri"))
                .map(|line| format!("{line}\n"))
                .collect();
            std::fs::write(&path, kept).expect("write policy");
        })
    }

    pub fn from_dir(source: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let seed = dir.path().join("seed");
        copy_dir(source, &seed);
        Self::seeded(dir, &seed)
    }

    /// A repository with the files `write` creates in the seed directory.
    pub fn with(write: impl FnOnce(&Path)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let seed = dir.path().join("seed");
        std::fs::create_dir_all(&seed).expect("seed dir");
        write(&seed);
        Self::seeded(dir, &seed)
    }

    fn seeded(dir: TempDir, seed: &Path) -> Self {
        git(seed, &["init", "-q"]);
        git(seed, &["add", "-A"]);
        // Dated in the past, so tests can ask what ran "before" Ferry's commits of today.
        let date = "2025-12-01T09:00:00Z";
        git_with(
            seed,
            &["commit", "-q", "-m", "Initial GitOps repository"],
            &[("GIT_AUTHOR_DATE", date), ("GIT_COMMITTER_DATE", date)],
        );
        let remote = dir.path().join("remote.git");
        git(dir.path(), &["clone", "-q", "--bare", "seed", "remote.git"]);
        Self { dir, remote }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("ferry-data")
    }

    /// A working clone of the remote, for pushing "someone else's" commits.
    pub fn clone(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if !path.exists() {
            git(
                self.dir.path(),
                &["clone", "-q", &self.remote.display().to_string(), name],
            );
        } else {
            git(&path, &["pull", "-q", "--ff-only"]);
        }
        path
    }

    /// Commits `content` to `path` from a clone and pushes it, as a person would.
    pub fn push_by_hand(&self, path: &str, content: &str, message: &str) -> String {
        let clone = self.clone("hand");
        git(&clone, &["pull", "-q", "--ff-only"]);
        let file = clone.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
        std::fs::write(&file, content).expect("write");
        git(&clone, &["add", "-A"]);
        git(&clone, &["commit", "-q", "-m", message]);
        git(&clone, &["push", "-q", "origin", "HEAD:main"]);
        git(&clone, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Pushes a new branch from `main` with `files` written, in one commit, as a person does
    /// before opening a merge request.
    pub fn push_branch(&self, branch: &str, files: &[(&str, &[u8])], message: &str) {
        let clone = self.clone(branch);
        git(&clone, &["checkout", "-q", "-b", branch]);
        for (path, content) in files {
            let file = clone.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
            std::fs::write(file, content).expect("write");
        }
        git(&clone, &["add", "-A"]);
        git(&clone, &["commit", "-q", "-m", message]);
        git(&clone, &["push", "-q", "origin", branch]);
    }

    /// `git show BRANCH:PATH` on the remote.
    pub fn show(&self, branch: &str, path: &str) -> String {
        git(&self.remote, &["show", &format!("{branch}:{path}")])
    }

    pub fn rev(&self, rev: &str) -> String {
        git(&self.remote, &["rev-parse", rev]).trim().to_owned()
    }

    /// First-parent log of `branch` on the remote, newest first: `(sha, parents, subject)`.
    pub fn log(&self, branch: &str) -> Vec<(String, usize, String)> {
        git(
            &self.remote,
            &["log", "--first-parent", "--format=%H %P%x09%s", branch],
        )
        .lines()
        .map(|line| {
            let (ids, subject) = line.split_once('\t').unwrap_or((line, ""));
            let mut ids = ids.split_whitespace();
            let sha = ids.next().unwrap_or_default().to_owned();
            (sha, ids.count(), subject.to_owned())
        })
        .collect()
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
