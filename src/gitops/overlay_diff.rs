//! The overlay kustomizations a commit changed relative to its first parent.
//!
//! libgit2's tree-to-tree diff visits every entry of both trees, equal subtrees included: on a
//! 50,000-file repository that is tens of milliseconds a commit, and the first audit of a long
//! history compares every commit Ferry did not make. This walk descends only into subtrees
//! whose ids differ and whose path leads to an overlay the policy names, so a commit costs
//! the depth of its change.

use std::cmp::Ordering;

use git2::{ObjectType, Odb, OdbObject, Oid, Repository};

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

/// The overlay kustomizations that are new or changed in the tree `new` against the tree
/// `old` (a root commit compares with nothing). Deleted files are not listed: a deleted
/// overlay sets no image.
pub(super) fn changed_kustomizations(
    repo: &Repository,
    old: Option<Oid>,
    new: Oid,
    overlays: &OverlayMap,
) -> Result<Vec<ChangedKustomization>, GitOpsError> {
    let odb = repo
        .odb()
        .map_err(GitOpsError::git("cannot open the object database"))?;
    let mut changed = Vec::new();
    let mut dir = String::new();
    walk(&odb, old, new, &mut dir, overlays, &mut changed)?;
    Ok(changed)
}

/// Trees are read raw from the object database and their entries parsed here: libgit2's
/// parsed trees allocate per entry and fill the object cache with `apps/`-sized trees that
/// a history walk reads only once.
fn walk(
    odb: &Odb<'_>,
    old: Option<Oid>,
    new: Oid,
    dir: &mut String,
    overlays: &OverlayMap,
    changed: &mut Vec<ChangedKustomization>,
) -> Result<(), GitOpsError> {
    let new_tree = read_tree(odb, new, dir)?;
    let old_tree = old.map(|old| read_tree(odb, old, dir)).transpose()?;
    let is_overlay = overlays.is_overlay_dir(dir);
    // Both entry lists are in git's tree order: walk them side by side rather than search
    // the old tree for each new name (a 2,000-entry `apps/` made that a fifth of the time).
    let mut old_entries = old_tree
        .as_ref()
        .map(|tree| RawEntries::new(tree.data()))
        .into_iter()
        .flatten()
        .peekable();
    for entry in RawEntries::new(new_tree.data()) {
        let entry = entry.map_err(|error| malformed(new, dir, error))?;
        let mut before = None;
        while let Some(&candidate) = old_entries.peek() {
            let candidate = candidate.map_err(|error| malformed(old.unwrap_or(new), dir, error))?;
            match tree_order(candidate.key(), entry.key()) {
                Ordering::Less => {
                    old_entries.next();
                }
                Ordering::Equal => {
                    before = Some(candidate.id);
                    old_entries.next();
                    break;
                }
                Ordering::Greater => break,
            }
        }
        if before == Some(entry.id) {
            continue;
        }
        // A name that is not UTF-8 cannot be on a path the policy names.
        let Ok(name) = std::str::from_utf8(entry.name) else {
            continue;
        };
        match entry.kind {
            Kind::Tree => {
                let parent_len = dir.len();
                if !dir.is_empty() {
                    dir.push('/');
                }
                dir.push_str(name);
                if overlays.leads_to_overlay(dir) {
                    walk(odb, before, entry.id, dir, overlays, changed)?;
                }
                dir.truncate(parent_len);
            }
            Kind::File if is_overlay && KUSTOMIZATION_FILE_NAMES.contains(&name) => {
                changed.push(ChangedKustomization {
                    path: format!("{dir}/{name}"),
                    before,
                    after: entry.id,
                });
            }
            Kind::File | Kind::Other => {}
        }
    }
    Ok(())
}

fn read_tree<'o>(odb: &'o Odb<'_>, id: Oid, dir: &str) -> Result<OdbObject<'o>, GitOpsError> {
    let shown = if dir.is_empty() { "/" } else { dir };
    let object = odb
        .read(id)
        .map_err(GitOpsError::git(format!("cannot read the tree {shown}")))?;
    if object.kind() != ObjectType::Tree {
        return Err(malformed(id, dir, "it is not a tree object"));
    }
    Ok(object)
}

fn malformed(id: Oid, dir: &str, error: &str) -> GitOpsError {
    let shown = if dir.is_empty() { "/" } else { dir };
    GitOpsError::Invalid(format!(
        "the tree {id} at {shown} is malformed ({error}); run `git fsck` on the repository"
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tree,
    /// A regular file, executable or not, or a symbolic link: what git's diff compares as
    /// content.
    File,
    /// A submodule.
    Other,
}

/// One entry of a tree object as git stores it.
#[derive(Debug, Clone, Copy)]
struct RawEntry<'a> {
    name: &'a [u8],
    kind: Kind,
    id: Oid,
}

impl<'a> RawEntry<'a> {
    fn key(&self) -> (&'a [u8], bool) {
        (self.name, self.kind == Kind::Tree)
    }
}

/// The entries of a tree object's content: `<octal mode> <name>\0<20-byte id>`, repeated.
struct RawEntries<'a> {
    rest: &'a [u8],
}

impl<'a> RawEntries<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    fn parse(&mut self) -> Result<RawEntry<'a>, &'static str> {
        let space = self
            .rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or("an entry without a mode")?;
        let mode = std::str::from_utf8(&self.rest[..space])
            .ok()
            .and_then(|digits| u32::from_str_radix(digits, 8).ok())
            .ok_or("a mode that is not octal")?;
        let after_mode = &self.rest[space + 1..];
        let nul = after_mode
            .iter()
            .position(|&b| b == 0)
            .ok_or("an entry without a name end")?;
        let name = &after_mode[..nul];
        let id_bytes = after_mode
            .get(nul + 1..nul + 1 + ID_LEN)
            .ok_or("an entry cut short")?;
        let id = Oid::from_bytes(id_bytes).map_err(|_| "an id of the wrong length")?;
        self.rest = &after_mode[nul + 1 + ID_LEN..];
        let kind = match mode & 0o170000 {
            0o040000 => Kind::Tree,
            0o100000 | 0o120000 => Kind::File,
            _ => Kind::Other,
        };
        Ok(RawEntry { name, kind, id })
    }
}

/// SHA-1 object ids, the only kind libgit2 reads here.
const ID_LEN: usize = 20;

impl<'a> Iterator for RawEntries<'a> {
    type Item = Result<RawEntry<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let entry = self.parse();
        if entry.is_err() {
            self.rest = &[]; // nothing after a broken entry can be trusted
        }
        Some(entry)
    }
}

/// git's order of tree entries: by name bytes, a tree's name read as if it ended in `/`.
/// So an entry that changed between file and tree is a different key, and is compared
/// with nothing: the old file is gone and the new tree is all new, as git's diff sees it.
fn tree_order((a, a_is_tree): (&[u8], bool), (b, b_is_tree): (&[u8], bool)) -> Ordering {
    let common = a.len().min(b.len());
    a[..common].cmp(&b[..common]).then_with(|| {
        let next = |name: &[u8], is_tree: bool| {
            name.get(common)
                .copied()
                .unwrap_or(if is_tree { b'/' } else { 0 })
        };
        next(a, a_is_tree).cmp(&next(b, b_is_tree))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::build::TreeUpdateBuilder;
    use git2::{Delta, FileMode, Tree};

    /// `staging.v2` sorts between a file `staging` and a tree `staging/`: what an entry
    /// turning from tree to file has to get right.
    const DIRS: [&str; 5] = [
        "apps/web/overlays/staging",
        "apps/web/overlays/staging.v2",
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
        OverlayMap::from_dirs(DIRS[..4].iter().map(|dir| {
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
            let mut walked: Vec<String> =
                changed_kustomizations(&repo, Some(tree.id()), next.id(), &map)
                    .expect("walk")
                    .into_iter()
                    .map(|file| file.path)
                    .collect();
            walked.sort();
            assert_eq!(walked, oracle(&repo, &tree, &next, &map), "step {step}");
            found += walked.len();
            tree = next;
        }
        assert!(
            found > 100,
            "the histories change overlays often enough: {found}"
        );
    }

    #[test]
    fn broken_tree_data_is_an_error_and_never_a_panic() {
        let dir = tempfile::tempdir().expect("dir");
        let repo = Repository::init_bare(dir.path()).expect("repo");
        let mut builder = repo.treebuilder(None).expect("builder");
        for name in ["a", "kustomization.yaml"] {
            let blob = repo.blob(name.as_bytes()).expect("blob");
            builder.insert(name, blob, 0o100644).expect("insert");
        }
        let id = builder.write().expect("tree");
        let data = repo
            .odb()
            .expect("odb")
            .read(id)
            .expect("read")
            .data()
            .to_vec();
        let whole: Vec<_> = RawEntries::new(&data).collect();
        assert_eq!(whole.len(), 2);
        assert!(whole.iter().all(Result::is_ok));
        let first_entry = "100644 a\0".len() + ID_LEN;
        for cut in (1..data.len()).filter(|&cut| cut != first_entry) {
            let parsed: Vec<_> = RawEntries::new(&data[..cut]).collect();
            assert!(
                parsed.last().is_some_and(Result::is_err),
                "cut at {cut} is noticed"
            );
        }
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..2000 {
            let noise: Vec<u8> = (0..rng.usize(..80))
                .map(|_| *rng.choice(b"0174 \0ab/").unwrap_or(&0))
                .collect();
            let _ = RawEntries::new(&noise).count();
        }
    }

    #[test]
    fn tree_order_is_the_order_git_writes_entries_in() {
        let dir = tempfile::tempdir().expect("dir");
        let repo = Repository::init_bare(dir.path()).expect("repo");
        let blob = repo.blob(b"x").expect("blob");
        let mut sub = repo.treebuilder(None).expect("b");
        sub.insert("f", blob, 0o100644).expect("insert");
        let sub = sub.write().expect("tree");
        let mut builder = repo.treebuilder(None).expect("builder");
        for (name, is_tree) in [
            ("a", true),
            ("a.b", false),
            ("a-b", true),
            ("a0", false),
            ("ab", true),
            ("b", false),
            ("a.b.c", true),
        ] {
            let (id, mode) = if is_tree {
                (sub, 0o040000)
            } else {
                (blob, 0o100644)
            };
            builder.insert(name, id, mode).expect("insert");
        }
        let tree = repo
            .find_tree(builder.write().expect("tree"))
            .expect("tree");
        let keys: Vec<(Vec<u8>, bool)> = tree
            .iter()
            .map(|e| (e.name_bytes().to_vec(), e.kind() == Some(ObjectType::Tree)))
            .collect();
        for pair in keys.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert_eq!(
                tree_order((&a.0, a.1), (&b.0, b.1)),
                Ordering::Less,
                "{:?} before {:?}",
                String::from_utf8_lossy(&a.0),
                String::from_utf8_lossy(&b.0)
            );
        }
        let file_a = (&b"a"[..], false);
        assert_eq!(tree_order(file_a, (b"a", true)), Ordering::Less);
        assert_eq!(tree_order(file_a, file_a), Ordering::Equal);
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
        let changed = changed_kustomizations(&repo, Some(before.id()), after.id(), &overlays())
            .expect("walk");
        assert_eq!(changed.len(), 1);
        assert_eq!((changed[0].before, changed[0].after), (Some(one), two));
        let root = changed_kustomizations(&repo, None, after.id(), &overlays()).expect("walk");
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].before, None, "a root commit compares with nothing");
    }
}
