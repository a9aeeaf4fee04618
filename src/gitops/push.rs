//! Pushing one branch update, as a compare-and-swap against the value Ferry built on.
//!
//! Over the network the smart protocol already is one: the server moves the ref only if it
//! still has the old value the client saw. libgit2's local transport is not: it writes the
//! ref unconditionally, so two processes pushing to a bare repository on disk could each
//! overwrite the other's commit. For local remotes Ferry therefore copies the new objects
//! itself and moves the ref with `git_reference_create_matching`, which checks the old value
//! under the ref's lock file, the same lock `git receive-pack` takes.

use std::cell::RefCell;

use git2::{Oid, PushOptions, RemoteCallbacks, Repository};

use super::error::GitOpsError;
use super::mirror::Mirror;
use super::objects;

/// What the remote did with an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    Landed,
    /// The branch no longer has the value the commit was built on; fetch and rebuild.
    Moved,
}

/// Sets `branch` on the remote to `new` if it still points at `expected` (`None`: the branch
/// must not exist yet). Without `force` the update must also be a fast-forward.
pub fn push(
    mirror: &Mirror,
    branch: &str,
    expected: Option<Oid>,
    new: Oid,
    force: bool,
) -> Result<Pushed, GitOpsError> {
    let refname = format!("refs/heads/{branch}");
    let outcome = match mirror.remote().local_path() {
        Some(path) => {
            let remote = Repository::open(&path).map_err(GitOpsError::git(format!(
                "cannot open the repository {}",
                path.display()
            )))?;
            push_local(mirror.repo(), &remote, &refname, expected, new)?
        }
        None => push_network(mirror, &refname, expected, new, force)?,
    };
    if outcome == Pushed::Landed {
        mirror.set_head(branch, new)?;
    }
    Ok(outcome)
}

fn push_local(
    source: &Repository,
    remote: &Repository,
    refname: &str,
    expected: Option<Oid>,
    new: Oid,
) -> Result<Pushed, GitOpsError> {
    if !remote.is_bare()
        && remote
            .head()
            .ok()
            .and_then(|head| head.name().ok().map(|name| name == refname))
            .unwrap_or(false)
    {
        return Err(GitOpsError::Refused {
            reference: refname.to_owned(),
            message: "it is checked out in a non-bare repository; push to a bare repository".into(),
        });
    }
    copy_missing_objects(source, remote, new)?;
    let result = match expected {
        Some(old) => remote.reference_matching(refname, new, true, old, "ferry: push"),
        None => remote.reference(refname, new, false, "ferry: push"),
    };
    match result {
        Ok(_) => Ok(Pushed::Landed),
        Err(err)
            if matches!(
                err.code(),
                git2::ErrorCode::Modified | git2::ErrorCode::Exists | git2::ErrorCode::Locked
            ) =>
        {
            Ok(Pushed::Moved)
        }
        Err(err) => Err(GitOpsError::git(format!("cannot update `{refname}`"))(err)),
    }
}

/// From this many objects, a local push writes them into the remote as one pack.
const PACK_FROM_OBJECTS: usize = 200;

/// Copies the objects reachable from `tip` that `remote` lacks, many as one pack, a few as
/// loose files (as git itself writes them, so packs do not pile up).
fn copy_missing_objects(
    source: &Repository,
    remote: &Repository,
    tip: Oid,
) -> Result<(), GitOpsError> {
    let to = remote
        .odb()
        .map_err(GitOpsError::git("cannot open the remote's objects"))?;
    let missing = objects::missing_from(source, &to, tip)?;
    if missing.len() >= PACK_FROM_OBJECTS {
        return objects::write_pack(source, &missing, &to);
    }
    let from = source
        .odb()
        .map_err(GitOpsError::git("cannot open the mirror's objects"))?;
    for oid in missing {
        let object = from
            .read(oid)
            .map_err(GitOpsError::git(format!("cannot read object {oid}")))?;
        to.write(object.kind(), object.data())
            .map_err(GitOpsError::git(format!(
                "cannot write object {oid} to the remote"
            )))?;
    }
    Ok(())
}

fn push_network(
    mirror: &Mirror,
    refname: &str,
    expected: Option<Oid>,
    new: Oid,
    force: bool,
) -> Result<Pushed, GitOpsError> {
    let repo = mirror.repo();
    // libgit2 pushes from a local ref, so the commit gets a scratch ref in the mirror first.
    let scratch = format!(
        "refs/ferry/push/{}",
        refname.trim_start_matches("refs/heads/")
    );
    repo.reference(&scratch, new, true, "ferry: to push")
        .map_err(GitOpsError::git("cannot prepare the push"))?;
    let mut remote = repo
        .remote_anonymous(mirror.remote().url())
        .map_err(GitOpsError::git("cannot set up the remote"))?;
    let moved = RefCell::new(false);
    let refused: RefCell<Option<String>> = RefCell::new(None);
    let mut attempts = 0;
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(|_url, user, allowed| {
        attempts += 1;
        mirror.remote().credentials(attempts, user, allowed)
    });
    // The lease: the push goes ahead only if the remote still has what Ferry built on.
    callbacks.push_negotiation(|updates| {
        let current = expected.unwrap_or(Oid::ZERO_SHA1);
        if updates.iter().any(|update| update.src() != current) {
            *moved.borrow_mut() = true;
            return Err(git2::Error::from_str("the branch moved"));
        }
        Ok(())
    });
    callbacks.push_update_reference(|_name, status| {
        if let Some(message) = status {
            *refused.borrow_mut() = Some(message.to_owned());
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    let spec = format!("{}{scratch}:{refname}", if force { "+" } else { "" });
    let result = remote.push(&[spec.as_str()], Some(&mut options));
    drop(options);
    let _ = repo
        .find_reference(&scratch)
        .and_then(|mut reference| reference.delete());
    if *moved.borrow() {
        return Ok(Pushed::Moved);
    }
    match result {
        Err(err) if err.code() == git2::ErrorCode::NotFastForward => return Ok(Pushed::Moved),
        Err(err) => {
            return Err(GitOpsError::git(format!(
                "cannot push to {}",
                mirror.remote().display_url()
            ))(err));
        }
        Ok(()) => {}
    }
    match refused.into_inner() {
        None => Ok(Pushed::Landed),
        // Servers word these differently; all mean "someone else got there first".
        Some(message)
            if [
                "non-fast-forward",
                "fetch first",
                "stale info",
                "failed to lock",
                "cannot lock",
            ]
            .iter()
            .any(|word| message.contains(word)) =>
        {
            Ok(Pushed::Moved)
        }
        Some(message) => Err(GitOpsError::Refused {
            reference: refname.to_owned(),
            message,
        }),
    }
}
