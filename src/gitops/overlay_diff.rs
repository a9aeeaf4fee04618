//! The overlay kustomizations a commit changed relative to its first parent.
//!
//! libgit2's tree-to-tree diff visits every entry of both trees, equal subtrees included: on a
//! 50,000-file repository that is tens of milliseconds a commit, and the first audit of a long
//! history compares every commit Ferry did not make. This walk descends only into subtrees
//! whose ids differ and whose path leads to an overlay the policy names, so a commit costs
//! the depth of its change.

use git2::{ObjectType, Oid, Repository, Tree};

use super::audit::OverlayMap;
use super::error::GitOpsError;
use crate::kustomize::file::KUSTOMIZATION_FILE_NAMES;

/// A kustomization file of an overlay whose content differs from the parent's.
pub(super) struct ChangedKustomization {
    pub path: String,
    /// The parent's blob at that path, if it had a file there.
    pub before: Option<Oid>,
    pub after: Oid,
}

/// The overlay kustomizations that are new or changed in `new` against `old` (a root commit
/// compares with nothing). Deleted files are not listed: a deleted overlay sets no image.
pub(super) fn changed_kustomizations(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    overlays: &OverlayMap,
) -> Result<Vec<ChangedKustomization>, GitOpsError> {
    let mut changed = Vec::new();
    let mut dir = String::new();
    walk(repo, old, new, &mut dir, overlays, &mut changed)?;
    Ok(changed)
}

fn walk(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    dir: &mut String,
    overlays: &OverlayMap,
    changed: &mut Vec<ChangedKustomization>,
) -> Result<(), GitOpsError> {
    let is_overlay = overlays.is_overlay_dir(dir);
    for entry in new.iter() {
        // A name that is not UTF-8 cannot be on a path the policy names.
        let Ok(name) = entry.name() else { continue };
        let before = old
            .and_then(|old| old.get_name(name))
            .map(|before| (before.id(), before.kind()));
        if before.is_some_and(|(id, _)| id == entry.id()) {
            continue;
        }
        match entry.kind() {
            Some(ObjectType::Tree) => {
                let parent_len = dir.len();
                if !dir.is_empty() {
                    dir.push('/');
                }
                dir.push_str(name);
                if overlays.leads_to_overlay(dir) {
                    let read = |id: Oid| {
                        repo.find_tree(id)
                            .map_err(GitOpsError::git(format!("cannot read the tree {dir}")))
                    };
                    let subtree = read(entry.id())?;
                    let old_subtree = match before {
                        Some((id, Some(ObjectType::Tree))) => Some(read(id)?),
                        _ => None,
                    };
                    walk(repo, old_subtree.as_ref(), &subtree, dir, overlays, changed)?;
                }
                dir.truncate(parent_len);
            }
            Some(ObjectType::Blob) if is_overlay && KUSTOMIZATION_FILE_NAMES.contains(&name) => {
                changed.push(ChangedKustomization {
                    path: format!("{dir}/{name}"),
                    before: before
                        .filter(|(_, kind)| *kind == Some(ObjectType::Blob))
                        .map(|(id, _)| id),
                    after: entry.id(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::build::TreeUpdateBuilder;
    use git2::{Delta, FileMode};

    const DIRS: [&str; 4] = [
        "apps/web/overlays/staging",
        "apps/web/overlays/production",
        "apps/api/overlays/staging",
        "clusters/one",
    ];
    const NAMES: [&str; 4] = [
        "kustomization.yaml",
        "kustomization.yml",
        "Kustomization",
        "patch.yaml",
    ];

    fn overlays() -> OverlayMap {
        // `clusters/one` is not an overlay: its kustomization is not the policy's business.
        OverlayMap::from_dirs(DIRS[..3].iter().map(|dir| {
            let (s, e) = (dir.split('/').nth(1).unwrap_or(""), dir.rsplit('/').next());
            let e = e.unwrap_or("").to_owned();
            (dir.to_string(), s.to_owned(), e, "img".to_owned())
        }))
    }

    /// What libgit2's full tree diff says, filtered the same way.
    fn oracle(repo: &Repository, old: &Tree<'_>, new: &Tree<'_>, map: &OverlayMap) -> Vec<String> {
        let diff = repo
            .diff_tree_to_tree(Some(old), Some(new), None)
            .expect("diff");
        let mut paths: Vec<String> = diff
            .deltas()
            .filter(|delta| delta.status() != Delta::Deleted)
            .filter_map(|delta| Some(delta.new_file().path()?.to_str()?.to_owned()))
            .filter(|path| {
                path.rsplit_once('/').is_some_and(|(dir, name)| {
                    map.is_overlay_dir(dir) && KUSTOMIZATION_FILE_NAMES.contains(&name)
                })
            })
            .collect();
        paths.sort();
        paths
    }

    #[test]
    fn agrees_with_libgit2_s_full_diff_on_random_histories() {
        let dir = tempfile::tempdir().expect("dir");
        let repo = Repository::init_bare(dir.path()).expect("repo");
        let map = overlays();
        let mut rng = fastrand::Rng::with_seed(11);
        let mut tree = repo
            .find_tree(
                repo.treebuilder(None)
                    .expect("builder")
                    .write()
                    .expect("tree"),
            )
            .expect("tree");
        let mut found = 0;
        for step in 0..200 {
            let mut next = tree.clone();
            // Each edit on its own: one builder refuses two edits of one path.
            for _ in 0..rng.usize(1..4) {
                let path = format!(
                    "{}/{}",
                    DIRS[rng.usize(..DIRS.len())],
                    NAMES[rng.usize(..NAMES.len())]
                );
                let mut update = TreeUpdateBuilder::new();
                match rng.usize(..5) {
                    0 => update.remove(path.as_str()),
                    // A file where a directory was; later edits turn it back.
                    1 => update.upsert(
                        path.rsplit_once('/').map_or("x", |(dir, _)| dir),
                        repo.blob(b"not a dir\n").expect("blob"),
                        FileMode::Blob,
                    ),
                    _ => update.upsert(
                        path.as_str(),
                        repo.blob(format!("v{step}\n").as_bytes()).expect("blob"),
                        FileMode::Blob,
                    ),
                };
                // Removing what is not there, or writing below a file, is refused: skip it.
                if let Ok(id) = update.create_updated(&repo, &next) {
                    next = repo.find_tree(id).expect("tree");
                }
            }
            let mut walked: Vec<String> = changed_kustomizations(&repo, Some(&tree), &next, &map)
                .expect("walk")
                .into_iter()
                .map(|file| file.path)
                .collect();
            walked.sort();
            assert_eq!(walked, oracle(&repo, &tree, &next, &map), "step {step}");
            found += walked.len();
            tree = next;
        }
        assert!(found > 100, "the histories change overlays often enough: {found}");
    }

    #[test]
    fn the_parent_s_blob_is_given_only_when_it_was_a_file() {
        let dir = tempfile::tempdir().expect("dir");
        let repo = Repository::init_bare(dir.path()).expect("repo");
        let blob = |text: &str| repo.blob(text.as_bytes()).expect("blob");
        let build = |files: &[(&str, Oid)]| {
            let empty = repo.treebuilder(None).expect("b").write().expect("tree");
            let mut update = TreeUpdateBuilder::new();
            for (path, id) in files {
                update.upsert(*path, *id, FileMode::Blob);
            }
            let id = update
                .create_updated(&repo, &repo.find_tree(empty).expect("tree"))
                .expect("update");
            repo.find_tree(id).expect("tree")
        };
        let (one, two) = (blob("one\n"), blob("two\n"));
        let path = "apps/web/overlays/staging/kustomization.yaml";
        let before = build(&[(path, one)]);
        let after = build(&[(path, two)]);
        let changed =
            changed_kustomizations(&repo, Some(&before), &after, &overlays()).expect("walk");
        assert_eq!(changed.len(), 1);
        assert_eq!((changed[0].before, changed[0].after), (Some(one), two));
        let root = changed_kustomizations(&repo, None, &after, &overlays()).expect("walk");
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].before, None, "a root commit compares with nothing");
    }
}
