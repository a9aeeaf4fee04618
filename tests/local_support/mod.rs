//! A local forge over a real bare repository, for the local forge's and `ferry mr`'s tests:
//! branches are made with the git CLI in a working clone, as a person would.

use std::path::{Path, PathBuf};

use ferry::domain::{CommitSha, MrIid, ProjectPath};
use ferry::forge::{
    LocalForge, MergeOptions, MergeOutcome, MergeRequest, MrState, NewMergeRequest,
};

use crate::git_support::{Fixture, git};

pub const PROJECT: &str = "eap/gitops";

/// One change a commit makes.
pub enum Change<'a> {
    Write(&'a str, &'a str),
    Delete(&'a str),
    Rename(&'a str, &'a str),
}

pub struct World {
    pub fixture: Fixture,
    pub forge: LocalForge,
    pub project: ProjectPath,
}

impl World {
    /// `main` holds `README.md`, `app.yaml`, `old.txt` and `gone.txt`; the forge, acting as
    /// `ferry`, serves it as [`PROJECT`].
    pub fn new() -> Self {
        let fixture = Fixture::with(|seed| {
            for (path, content) in [
                ("README.md", "# gitops\n"),
                ("app.yaml", "image: web:1\nreplicas: 1\n"),
                (
                    "old.txt",
                    "a file that will be renamed\nwith enough lines\nto be similar\n",
                ),
                ("gone.txt", "deleted soon\n"),
            ] {
                std::fs::write(seed.join(path), content).expect("seed file");
            }
        });
        let forge = LocalForge::open(&fixture.dir.path().join("forge"), "ferry").expect("open");
        let project = ProjectPath::parse(PROJECT).expect("project");
        forge
            .add_project(&project, &fixture.remote.display().to_string())
            .expect("add project");
        Self {
            fixture,
            forge,
            project,
        }
    }

    pub fn forge_dir(&self) -> PathBuf {
        self.forge.dir().to_path_buf()
    }

    fn work(&self) -> PathBuf {
        let work = self.fixture.dir.path().join("work");
        if !work.exists() {
            let remote = self.fixture.remote.display().to_string();
            git(self.fixture.dir.path(), &["clone", "-q", &remote, "work"]);
        }
        git(&work, &["fetch", "-q", "origin"]);
        work
    }

    /// Commits `changes` on top of `from` (a branch of the remote) and pushes the commit as
    /// `branch` with plain git; returns its sha.
    pub fn push(&self, from: &str, branch: &str, changes: &[Change<'_>], message: &str) -> String {
        let work = self.work();
        git(
            &work,
            &["checkout", "-q", "-B", branch, &format!("origin/{from}")],
        );
        for change in changes {
            match change {
                Change::Write(path, content) => {
                    std::fs::write(work.join(path), content).expect("write");
                }
                Change::Delete(path) => {
                    git(&work, &["rm", "-q", path]);
                }
                Change::Rename(from, to) => {
                    git(&work, &["mv", from, to]);
                }
            }
        }
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", message]);
        git(
            &work,
            &[
                "push",
                "-q",
                "-f",
                "origin",
                &format!("HEAD:refs/heads/{branch}"),
            ],
        );
        git(&work, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// A new branch from `main` with one commit writing `path`.
    pub fn branch(&self, branch: &str, path: &str, content: &str) -> String {
        self.push(
            "main",
            branch,
            &[Change::Write(path, content)],
            &format!("{branch}: {path}"),
        )
    }

    /// A new commit on an existing branch.
    pub fn add_commit(&self, branch: &str, path: &str, content: &str) -> String {
        self.push(
            branch,
            branch,
            &[Change::Write(path, content)],
            &format!("more on {branch}"),
        )
    }

    pub fn open_mr(&self, branch: &str, title: &str) -> MergeRequest {
        self.forge
            .create(&self.project, &new_mr(branch, title))
            .expect("create merge request")
    }

    pub fn state(&self, iid: MrIid) -> MrState {
        self.forge.get(&self.project, iid).expect("get").state
    }

    /// Merges `iid` at `head` with [`merge_at`], blocking.
    pub fn accept(&self, iid: MrIid, head: &str) -> MergeOutcome {
        self.forge
            .accept(&self.project, iid, &merge_at(head))
            .expect("merge")
    }

    pub fn main(&self) -> String {
        self.rev("main").expect("main")
    }

    /// `git rev-parse` in the bare repository; `None` when the revision does not exist.
    pub fn rev(&self, rev: &str) -> Option<String> {
        let output = std::process::Command::new("git")
            .args(["rev-parse", "--verify", "-q", rev])
            .current_dir(&self.fixture.remote)
            .output()
            .expect("git runs");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The parents of `rev` in the bare repository.
    pub fn parents(&self, rev: &str) -> Vec<String> {
        git(&self.fixture.remote, &["log", "-1", "--format=%P", rev])
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    pub fn remote(&self) -> &Path {
        &self.fixture.remote
    }
}

pub fn new_mr(branch: &str, title: &str) -> NewMergeRequest {
    NewMergeRequest {
        source_branch: branch.to_owned(),
        target_branch: "main".to_owned(),
        title: title.to_owned(),
        body: format!("{title}, in detail"),
        labels: vec!["ferry".to_owned()],
    }
}

pub fn sha(text: &str) -> CommitSha {
    CommitSha::parse(text).expect("sha")
}

/// Merge at `head`, deleting the source branch, nothing to wait for.
pub fn merge_at(head: &str) -> MergeOptions {
    MergeOptions {
        sha: sha(head),
        when_pipeline_succeeds: false,
        commit_message: None,
        remove_source_branch: true,
    }
}
