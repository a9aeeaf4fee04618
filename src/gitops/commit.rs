//! Commit objects: who Ferry says it is, and optional SSH signatures.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use git2::{Oid, Repository, Signature};

use super::error::GitOpsError;

/// A name and e-mail address as git records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            name: "Ferry".into(),
            email: "ferry@localhost".into(),
        }
    }
}

/// How Ferry writes its commits.
#[derive(Debug, Clone, Default)]
pub struct CommitSettings {
    pub author: Identity,
    /// `None`: the author commits too.
    pub committer: Option<Identity>,
    /// An SSH private key to sign commits with (`gpg.format=ssh`); see docs/gitops.md for
    /// how reviewers verify them.
    pub signing_key: Option<PathBuf>,
}

impl CommitSettings {
    /// Writes a commit of `tree` on `parents` into `repo`'s object database; no ref moves.
    pub fn commit(
        &self,
        repo: &Repository,
        message: &str,
        tree: Oid,
        parents: &[Oid],
    ) -> Result<Oid, GitOpsError> {
        let author = signature(&self.author)?;
        let committer = signature(self.committer.as_ref().unwrap_or(&self.author))?;
        let tree = repo
            .find_tree(tree)
            .map_err(GitOpsError::git("cannot read the new tree"))?;
        let parents = parents
            .iter()
            .map(|oid| repo.find_commit(*oid))
            .collect::<Result<Vec<_>, _>>()
            .map_err(GitOpsError::git("cannot read the parent commit"))?;
        let parents: Vec<_> = parents.iter().collect();
        let Some(key) = &self.signing_key else {
            return repo
                .commit(None, &author, &committer, message, &tree, &parents)
                .map_err(GitOpsError::git("cannot write the commit"));
        };
        let buffer = repo
            .commit_create_buffer(&author, &committer, message, &tree, &parents)
            .map_err(GitOpsError::git("cannot prepare the commit"))?;
        let content = std::str::from_utf8(&buffer)
            .map_err(|_| GitOpsError::Signing("the commit is not UTF-8".into()))?;
        let signature = ssh_sign(key, content.as_bytes())?;
        repo.commit_signed(content, &signature, None)
            .map_err(GitOpsError::git("cannot write the signed commit"))
    }
}

fn signature(identity: &Identity) -> Result<Signature<'static>, GitOpsError> {
    Signature::now(&identity.name, &identity.email).map_err(GitOpsError::git(format!(
        "`{} <{}>` is not a usable git identity",
        identity.name, identity.email
    )))
}

/// Signs with `ssh-keygen -Y sign`, the same program `git commit -S` runs for SSH keys, so
/// `git verify-commit` accepts the result.
fn ssh_sign(key: &std::path::Path, content: &[u8]) -> Result<String, GitOpsError> {
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "git", "-f"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            GitOpsError::Signing(format!(
                "cannot run ssh-keygen ({err}); install openssh-client or turn commit signing off"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(content)
            .map_err(|err| GitOpsError::Signing(format!("cannot write to ssh-keygen: {err}")))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|err| GitOpsError::Signing(format!("ssh-keygen did not finish: {err}")))?;
    if !output.status.success() {
        return Err(GitOpsError::Signing(format!(
            "ssh-keygen refused to sign with {}: {}",
            key.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| GitOpsError::Signing("ssh-keygen printed a signature that is not text".into()))
}
