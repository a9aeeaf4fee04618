//! The audit of a history long enough to be read on several threads gives the same records,
//! in history's order, as the commits say: promotions by their trailers, hand edits found by
//! comparing trees, merges with the promotions they bring.

#[allow(dead_code)]
mod git_support;

use std::path::Path;

use ferry::gitops::{Action, AuditLog, Mirror, OverlayMap, Remote};
use git_support::Fixture;
use git2::{FileMode, Oid, Repository, Signature};

const IMAGE: &str = "registry.example.com/eap/website";
const OVERLAYS: [(&str, &str); 2] = [
    ("staging", "apps/web/overlays/staging/kustomization.yaml"),
    (
        "production",
        "apps/web/overlays/production/kustomization.yaml",
    ),
];
/// Well over the chunk of commits one thread takes.
const COMMITS: usize = 1_700;

/// What a commit of the generated history is expected to be recorded as.
#[derive(Debug, PartialEq, Eq)]
struct Expected {
    commit: String,
    action: Action,
    environment: String,
    image: String,
}

/// `COMMITS` commits on the remote's `main`: mostly promotions with trailers, every fifth a
/// hand edit, every 97th a merge of a side branch holding one promotion, and now and then a
/// commit that touches no overlay.
fn generate(remote: &Path) -> Vec<Expected> {
    let repo = Repository::open_bare(remote).expect("remote");
    let who = Signature::new("Gen", "gen@example.com", &git2::Time::new(1_750_000_000, 0))
        .expect("signature");
    let main = repo.find_reference("refs/heads/main").expect("main");
    let mut head = main.target().expect("target");
    let mut expected = Vec::new();
    let text_of = |repo: &Repository, tree: &git2::Tree<'_>, path: &str| {
        let entry = tree.get_path(Path::new(path)).expect("overlay");
        let blob = repo.find_blob(entry.id()).expect("blob");
        String::from_utf8(blob.content().to_vec()).expect("utf-8")
    };
    let edit = |parent: Oid, path: &str, tag: &str| -> Oid {
        let parent = repo.find_commit(parent).expect("parent");
        let tree = parent.tree().expect("tree");
        let text = text_of(&repo, &tree, path);
        let old_tag = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("newTag: "))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("a tag")
            .to_owned();
        let new = text.replace(&format!("newTag: {old_tag}"), &format!("newTag: {tag}"));
        let mut update = git2::build::TreeUpdateBuilder::new();
        update.upsert(
            path,
            repo.blob(new.as_bytes()).expect("blob"),
            FileMode::Blob,
        );
        update.create_updated(&repo, &tree).expect("tree")
    };
    let commit = |message: &str, tree: Oid, parents: &[Oid]| -> Oid {
        let tree = repo.find_tree(tree).expect("tree");
        let parents: Vec<_> = parents
            .iter()
            .map(|id| repo.find_commit(*id).expect("parent"))
            .collect();
        let parents: Vec<_> = parents.iter().collect();
        repo.commit(None, &who, &who, message, &tree, &parents)
            .expect("commit")
    };
    let promotion_message = |environment: &str, tag: &str| {
        format!(
            "Promote web to {environment}: {tag}\n\nFerry-Action: promote\nFerry-Service: web\n\
             Ferry-Environment: {environment}\nFerry-Image: {IMAGE}:{tag}\n"
        )
    };
    for n in 0..COMMITS {
        let (environment, path) = OVERLAYS[n % 2];
        let tag = format!("build-{n}");
        let image = format!("{IMAGE}:{tag}");
        let mut record = |commit: Oid, action: Action| {
            expected.push(Expected {
                commit: commit.to_string(),
                action,
                environment: environment.to_owned(),
                image: image.clone(),
            });
        };
        if n % 97 == 96 {
            let side = commit(
                &promotion_message(environment, &tag),
                edit(head, path, &tag),
                &[head],
            );
            let tree = repo.find_commit(side).expect("side").tree_id();
            head = commit("Merge branch 'ferry/x/web'", tree, &[head, side]);
            record(head, Action::Promote);
        } else if n % 31 == 30 {
            let tree = repo.find_commit(head).expect("head").tree_id();
            let mut update = git2::build::TreeUpdateBuilder::new();
            let note = repo.blob(format!("note {n}\n").as_bytes()).expect("blob");
            update.upsert("docs/notes.md", note, FileMode::Blob);
            let tree = update
                .create_updated(&repo, &repo.find_tree(tree).expect("tree"))
                .expect("tree");
            head = commit("Notes", tree, &[head]);
        } else if n % 5 == 4 {
            head = commit("Hand edit", edit(head, path, &tag), &[head]);
            record(head, Action::Manual);
        } else {
            head = commit(
                &promotion_message(environment, &tag),
                edit(head, path, &tag),
                &[head],
            );
            record(head, Action::Promote);
        }
    }
    repo.reference("refs/heads/main", head, true, "generated")
        .expect("main");
    expected
}

#[test]
fn a_long_history_reads_back_commit_by_commit_in_order() {
    let fixture = Fixture::example();
    let before = fixture.rev("main");
    let expected = generate(&fixture.remote);
    let mirror = Mirror::open(&fixture.data_dir(), Remote::local(&fixture.remote)).expect("mirror");
    mirror.fetch().expect("fetch");
    let policy = ferry::gitops::policy_at(&mirror, "main").expect("policy");
    let overlays = OverlayMap::from_policy(&policy);
    let log = AuditLog::load(&mirror, "main", &overlays).expect("audit");
    let earlier: Vec<String> = git_support::git(&fixture.remote, &["rev-list", &before])
        .lines()
        .map(str::to_owned)
        .collect();
    let read: Vec<Expected> = log
        .records
        .iter()
        .filter(|record| !earlier.contains(&record.commit))
        .map(|record| Expected {
            commit: record.commit.clone(),
            action: record.action,
            environment: record.environment.clone(),
            image: record.image.clone(),
        })
        .collect();
    assert_eq!(read.len(), expected.len());
    for (n, (read, expected)) in read.iter().zip(&expected).enumerate() {
        assert_eq!(read, expected, "record {n}");
    }
    let manual = log
        .records
        .iter()
        .rev()
        .find(|r| r.action == Action::Manual && !earlier.contains(&r.commit))
        .expect("a hand edit");
    assert!(
        manual
            .previous
            .as_deref()
            .is_some_and(|p| p.starts_with(IMAGE)),
        "a hand edit names the image before it: {manual:?}"
    );

    // The index saved by that read answers the same.
    let again = AuditLog::load(&mirror, "main", &overlays).expect("audit from the index");
    assert_eq!(again.records, log.records);
}
