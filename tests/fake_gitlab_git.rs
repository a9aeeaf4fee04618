//! The fake GitLab backed by a real bare repository, driven through the real GitLab adapter:
//! merge requests need their branch and follow it, and merges are real commits on `main`.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferry::domain::{CommitSha, MrIid, ProjectPath};
use ferry::forge::*;
use git_support::{Fixture, git};
use secrecy::SecretString;
use serde_json::Value;
use support::fake_gitlab::FakeGitLab;
use support::fake_gitlab_git::MergeMethod;

const REPO: &str = "platform/gitops";
const TOKEN: &str = "glpat-bot";
const STAGING: &str = "apps/web/overlays/staging/kustomization.yaml";
const BRANCH: &str = "ferry/staging/web";
const TITLE: &str = "Promote web to staging: release-1.0.0.ab12cd3";

struct World {
    fixture: Fixture,
    fake: FakeGitLab,
    forge: Arc<dyn Forge>,
    bot: u64,
}

fn policy() -> HttpPolicy {
    HttpPolicy {
        max_attempts: 2,
        request_timeout: Duration::from_secs(5),
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        max_rate_limit_wait: Duration::from_secs(1),
        requests_per_second: NonZeroU32::new(1000).expect("non-zero"),
        burst: NonZeroU32::new(1000).expect("non-zero"),
    }
}

async fn world() -> World {
    let fixture = Fixture::example();
    let fake = FakeGitLab::start().await;
    let bot = fake.add_user("ferry-bot");
    fake.add_token(TOKEN, bot);
    fake.add_project(REPO);
    fake.attach_repo(REPO, &fixture.remote);
    let forge = GitLabForge::new(GitLabConfig {
        base_url: fake.base_url.clone(),
        token: SecretString::from(TOKEN),
        policy: policy(),
    })
    .expect("adapter");
    World {
        fixture,
        fake,
        forge: Arc::new(forge),
        bot,
    }
}

fn project() -> ProjectPath {
    ProjectPath::parse(REPO).expect("project path")
}

fn sha(text: &str) -> CommitSha {
    CommitSha::parse(text).expect("sha")
}

/// A working clone named `name` (made once), on `branch` as it is on the remote, or a new
/// branch from `main` when the remote has none.
fn checkout(fixture: &Fixture, name: &str, branch: &str) -> PathBuf {
    let clone = fixture.dir.path().join(name);
    if !clone.exists() {
        git(
            fixture.dir.path(),
            &["clone", "-q", &fixture.remote.display().to_string(), name],
        );
    }
    git(&clone, &["fetch", "-q", "--prune", "origin"]);
    let remote_branch = format!("origin/{branch}");
    let exists = !git(&clone, &["branch", "-r", "--list", &remote_branch])
        .trim()
        .is_empty();
    let start = if exists {
        remote_branch
    } else {
        "origin/main".into()
    };
    git(&clone, &["checkout", "-q", "-B", branch, &start]);
    clone
}

/// Commits `content` at `path` on `branch` with the git CLI and pushes it; returns the commit.
fn push_file(fixture: &Fixture, branch: &str, path: &str, content: &str, message: &str) -> String {
    let clone = checkout(fixture, "dana", branch);
    let file = clone.join(path);
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
    std::fs::write(&file, content).expect("write");
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-q", "-m", message]);
    git(
        &clone,
        &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")],
    );
    git(&clone, &["rev-parse", "HEAD"]).trim().to_owned()
}

fn staging_with(tag: &str, fixture: &Fixture) -> String {
    fixture
        .show("main", STAGING)
        .replace("release-0.9.0.5d6e7f8", tag)
}

fn new_mr(branch: &str) -> NewMergeRequest {
    NewMergeRequest {
        source_branch: branch.into(),
        target_branch: "main".into(),
        title: TITLE.into(),
        body: "| service | environment |\n|---|---|\n| web | staging |".into(),
        labels: vec!["ferry".into(), "environment::staging".into()],
    }
}

fn merge_at(head: &CommitSha) -> MergeOptions {
    MergeOptions {
        sha: head.clone(),
        when_pipeline_succeeds: false,
        commit_message: None,
        remove_source_branch: true,
    }
}

/// `git cat-file -p` of a commit on the remote: (parents, message).
fn commit_of(remote: &Path, sha: &str) -> (Vec<String>, String) {
    let raw = git(remote, &["cat-file", "-p", sha]);
    let (head, message) = raw.split_once("\n\n").expect("commit header and message");
    let parents = head
        .lines()
        .filter_map(|l| l.strip_prefix("parent "))
        .map(str::to_owned)
        .collect();
    (parents, message.to_owned())
}

fn branches(remote: &Path) -> Vec<String> {
    git(
        remote,
        &["for-each-ref", "--format=%(refname:short)", "refs/heads"],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// The merge request as GitLab's API answers it (fields the adapter does not map).
async fn raw_mr(w: &World, iid: u64) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{}/api/v4/projects/platform%2Fgitops/merge_requests/{iid}",
            w.fake.base_url
        ))
        .header("PRIVATE-TOKEN", TOKEN)
        .send()
        .await
        .expect("GET the merge request")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn a_merge_request_needs_its_branch_and_records_its_head() {
    let w = world().await;
    let missing = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect_err("no branch yet");
    assert!(
        missing.to_string().contains("does not exist"),
        "the refusal says why: {missing}"
    );
    assert!(w.fake.mrs(REPO).is_empty());

    let head = push_file(
        &w.fixture,
        BRANCH,
        STAGING,
        &staging_with("release-1.0.0.ab12cd3", &w.fixture),
        "Promote web to staging",
    );
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");
    assert_eq!(mr.head_sha, Some(sha(&head)));
    assert_eq!(mr.author.0, w.bot);
    let found = w
        .forge
        .find_open_merge_request(&project(), BRANCH)
        .await
        .expect("listed")
        .expect("found");
    assert_eq!(found.iid, mr.iid);
    assert_eq!(found.head_sha, Some(sha(&head)));

    let files = w
        .forge
        .changed_files(&project(), mr.iid)
        .await
        .expect("diffs from the repository");
    assert_eq!(
        files,
        vec![ChangedFile {
            path: STAGING.into(),
            previous_path: None,
            change: FileChange::Modified,
        }]
    );
    let raw = raw_mr(&w, mr.iid.0).await;
    assert_eq!(raw["detailed_merge_status"], "mergeable");
    assert_eq!(raw["has_conflicts"], false);
}

#[tokio::test]
async fn the_head_sha_follows_pushes_and_resets_approvals() {
    let w = world().await;
    let first = push_file(&w.fixture, BRANCH, STAGING, "first: 1\n", "First");
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");
    let alice = w.fake.add_user("alice");
    w.fake.approve(REPO, mr.iid.0, alice);
    assert_eq!(
        w.forge
            .approvals(&project(), mr.iid)
            .await
            .expect("approvals")
            .len(),
        1
    );

    let second = push_file(&w.fixture, BRANCH, "notes.txt", "second\n", "Second");
    assert_ne!(first, second);
    let read = w
        .forge
        .merge_request(&project(), mr.iid)
        .await
        .expect("read back");
    assert_eq!(read.head_sha, Some(sha(&second)));
    assert!(
        w.forge
            .approvals(&project(), mr.iid)
            .await
            .expect("approvals")
            .is_empty(),
        "approvals reset on push"
    );
    let mut paths: Vec<String> = w
        .forge
        .changed_files(&project(), mr.iid)
        .await
        .expect("diffs")
        .into_iter()
        .map(|f| f.path)
        .collect();
    paths.sort();
    assert_eq!(paths, vec![STAGING.to_owned(), "notes.txt".to_owned()]);

    // A push through the handle moves the real branch as well.
    w.fake.push(REPO, mr.iid.0, &first);
    assert_eq!(w.fixture.rev(BRANCH), first);
    assert_eq!(w.fake.mr(REPO, mr.iid.0).sha, first);
}

#[tokio::test]
async fn merging_at_the_head_lands_a_real_merge_commit_on_main() {
    let w = world().await;
    let main_before = w.fixture.rev("main");
    let content = staging_with("release-1.0.0.ab12cd3", &w.fixture);
    let head = push_file(&w.fixture, BRANCH, STAGING, &content, "Promote web");
    // Someone else changes main meanwhile, elsewhere: still a clean merge.
    let other = w
        .fixture
        .push_by_hand("README.md", "GitOps\n", "Add a readme");
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");

    let outcome = w
        .forge
        .merge(&project(), mr.iid, &merge_at(&sha(&head)))
        .await
        .expect("merged");
    let main = w.fixture.rev("main");
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_commit: Some(sha(&main))
        }
    );
    assert_ne!(main, main_before);
    let (parents, message) = commit_of(&w.fixture.remote, &main);
    assert_eq!(parents, vec![other, head.clone()], "first parent is main");
    assert_eq!(
        message.trim_end(),
        format!("Merge branch '{BRANCH}' into 'main'\n\n{TITLE}\n\nSee merge request {REPO}!1")
    );
    assert_eq!(w.fixture.show("main", STAGING), content);
    assert_eq!(w.fixture.show("main", "README.md"), "GitOps\n");
    let author = git(
        &w.fixture.remote,
        &["log", "-1", "--format=%an <%ae>", &main],
    );
    assert_eq!(author.trim(), "ferry-bot <ferry-bot@gitlab.test>");

    let read = w
        .forge
        .merge_request(&project(), mr.iid)
        .await
        .expect("read back");
    assert_eq!(read.state, MrState::Merged);
    assert_eq!(
        read.head_sha,
        Some(sha(&head)),
        "a merged MR keeps its head"
    );
    assert!(
        !branches(&w.fixture.remote).contains(&BRANCH.to_owned()),
        "the source branch is removed"
    );
    let raw = raw_mr(&w, mr.iid.0).await;
    assert_eq!(raw["merge_commit_sha"], main.as_str());
    assert_eq!(raw["merged_by"]["username"], "ferry-bot");
    // The Merge Request Hook GitLab would send now names the real merge commit.
    let hook = support::gitlab_hooks::merge_request_from(
        &w.fake,
        REPO,
        mr.iid.0,
        &support::gitlab_hooks::MrAction::Merge,
        &support::gitlab_hooks::Who::from_fake(&w.fake, w.bot),
    );
    let body = serde_json::to_vec(&hook).expect("JSON");
    match ferry::events::parse(ferry::domain::Forge::GitLab, "Merge Request Hook", &body) {
        Ok(ferry::domain::ForgeEvent::MrMerged(merged)) => {
            assert_eq!(merged.merge_sha, sha(&main));
            assert_eq!(merged.merge_request.head_sha, Some(sha(&head)));
        }
        other => panic!("expected MrMerged, got {other:?}"),
    }
    // What the merge request changed is still listed after its branch is gone.
    assert_eq!(
        w.forge
            .changed_files(&project(), mr.iid)
            .await
            .expect("diffs")
            .len(),
        1
    );
    // Merging again is refused; the adapter reads back that it is merged at that head.
    let again = w
        .forge
        .merge(&project(), mr.iid, &merge_at(&sha(&head)))
        .await
        .expect("answered");
    assert!(matches!(again, MergeOutcome::Merged { .. }), "{again:?}");
    assert_eq!(w.fixture.rev("main"), main, "nothing merged twice");
}

#[tokio::test]
async fn a_custom_message_is_the_merge_commit_message() {
    let w = world().await;
    let head = push_file(&w.fixture, BRANCH, STAGING, "x: 1\n", "Change");
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");
    let mut options = merge_at(&sha(&head));
    options.commit_message = Some("Promote web to staging\n\nFerry-Promotion: web staging".into());
    options.remove_source_branch = false;
    w.forge
        .merge(&project(), mr.iid, &options)
        .await
        .expect("merged");
    let (parents, message) = commit_of(&w.fixture.remote, &w.fixture.rev("main"));
    assert_eq!(parents.len(), 2);
    assert_eq!(
        message.trim_end(),
        "Promote web to staging\n\nFerry-Promotion: web staging"
    );
    // The merge request asked for removal at creation (`remove_source_branch: true`).
    assert!(!branches(&w.fixture.remote).contains(&BRANCH.to_owned()));
}

#[tokio::test]
async fn a_stale_sha_is_refused_as_head_moved() {
    let w = world().await;
    let old = push_file(&w.fixture, BRANCH, STAGING, "a: 1\n", "One");
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");
    let new = push_file(&w.fixture, BRANCH, STAGING, "a: 2\n", "Two");
    let main = w.fixture.rev("main");
    let outcome = w
        .forge
        .merge(&project(), mr.iid, &merge_at(&sha(&old)))
        .await
        .expect("answered");
    assert_eq!(outcome, MergeOutcome::ShaMismatch);
    assert_eq!(w.fixture.rev("main"), main, "main did not move");
    assert_eq!(w.fixture.rev(BRANCH), new);
    assert_eq!(w.fake.mr(REPO, mr.iid.0).state, "opened");
    // At the new head it merges.
    let merged = w
        .forge
        .merge(&project(), mr.iid, &merge_at(&sha(&new)))
        .await
        .expect("merged");
    assert!(matches!(merged, MergeOutcome::Merged { .. }), "{merged:?}");
}

#[tokio::test]
async fn a_conflicting_merge_is_refused_and_main_is_untouched() {
    let w = world().await;
    let head = push_file(
        &w.fixture,
        BRANCH,
        STAGING,
        &staging_with("release-1.0.0.ab12cd3", &w.fixture),
        "Promote web",
    );
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");
    // The same line changes on main.
    let theirs = staging_with("release-1.0.1.ffffff0", &w.fixture);
    let main = w.fixture.push_by_hand(STAGING, &theirs, "Hotfix by hand");
    let raw = raw_mr(&w, mr.iid.0).await;
    assert_eq!(raw["detailed_merge_status"], "conflict");
    assert_eq!(raw["has_conflicts"], true);

    let outcome = w
        .forge
        .merge(&project(), mr.iid, &merge_at(&sha(&head)))
        .await
        .expect("answered");
    match outcome {
        MergeOutcome::NotMergeable { reason } => {
            assert!(reason.contains("cannot be merged"), "{reason}")
        }
        other => panic!("expected NotMergeable, got {other:?}"),
    }
    assert_eq!(w.fixture.rev("main"), main);
    assert_eq!(w.fixture.show("main", STAGING), theirs);
    assert_eq!(w.fake.mr(REPO, mr.iid.0).state, "opened");
    assert!(branches(&w.fixture.remote).contains(&BRANCH.to_owned()));
    // Auto-merge is refused the same way.
    let mut auto = merge_at(&sha(&head));
    auto.when_pipeline_succeeds = true;
    let outcome = w
        .forge
        .merge(&project(), mr.iid, &auto)
        .await
        .expect("answered");
    assert!(
        matches!(outcome, MergeOutcome::NotMergeable { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn fast_forward_projects_move_main_to_the_head_or_refuse() {
    let w = world().await;
    w.fake.set_merge_method(REPO, MergeMethod::FastForward);
    let head = push_file(&w.fixture, BRANCH, STAGING, "ff: 1\n", "Fast");
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");
    let outcome = w
        .forge
        .merge(&project(), mr.iid, &merge_at(&sha(&head)))
        .await
        .expect("merged");
    assert_eq!(outcome, MergeOutcome::Merged { merge_commit: None });
    assert_eq!(w.fixture.rev("main"), head);

    // A branch behind main needs a rebase first.
    let behind = push_file(
        &w.fixture,
        "ferry/production/web",
        "prod.txt",
        "p\n",
        "Prod",
    );
    w.fixture.push_by_hand("README.md", "moved\n", "Move main");
    let mut second = new_mr("ferry/production/web");
    second.title = "Promote web to production".into();
    let mr2 = w
        .forge
        .create_merge_request(&project(), &second)
        .await
        .expect("created");
    assert_eq!(
        raw_mr(&w, mr2.iid.0).await["detailed_merge_status"],
        "need_rebase"
    );
    let outcome = w
        .forge
        .merge(&project(), mr2.iid, &merge_at(&sha(&behind)))
        .await
        .expect("answered");
    assert!(
        matches!(outcome, MergeOutcome::NotMergeable { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn auto_merge_merges_for_real_when_the_pipeline_succeeds() {
    let w = world().await;
    let head = push_file(&w.fixture, BRANCH, STAGING, "auto: 1\n", "Auto");
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");
    let pipeline = w.fake.add_pipeline(REPO, mr.iid.0, "running");
    let main = w.fixture.rev("main");
    let mut auto = merge_at(&sha(&head));
    auto.when_pipeline_succeeds = true;
    let outcome = w
        .forge
        .merge(&project(), mr.iid, &auto)
        .await
        .expect("scheduled");
    assert_eq!(outcome, MergeOutcome::AutoMergeScheduled);
    assert_eq!(w.fixture.rev("main"), main, "nothing merged yet");

    w.fake.finish_pipeline(REPO, pipeline, "success");
    let merged = w.fake.mr(REPO, mr.iid.0);
    assert_eq!(merged.state, "merged");
    let new_main = w.fixture.rev("main");
    assert_eq!(merged.merge_commit_sha.as_deref(), Some(new_main.as_str()));
    let (parents, message) = commit_of(&w.fixture.remote, &new_main);
    assert_eq!(parents, vec![main, head]);
    assert!(message.starts_with(&format!("Merge branch '{BRANCH}' into 'main'")));
    let read = w
        .forge
        .merge_request(&project(), mr.iid)
        .await
        .expect("read");
    assert_eq!(read.state, MrState::Merged);
}

#[tokio::test]
async fn a_push_aborts_a_scheduled_auto_merge() {
    let w = world().await;
    let head = push_file(&w.fixture, BRANCH, STAGING, "auto: 1\n", "Auto");
    let mr = w
        .forge
        .create_merge_request(&project(), &new_mr(BRANCH))
        .await
        .expect("created");
    let pipeline = w.fake.add_pipeline(REPO, mr.iid.0, "running");
    let mut auto = merge_at(&sha(&head));
    auto.when_pipeline_succeeds = true;
    assert_eq!(
        w.forge
            .merge(&project(), mr.iid, &auto)
            .await
            .expect("scheduled"),
        MergeOutcome::AutoMergeScheduled
    );
    push_file(&w.fixture, BRANCH, STAGING, "auto: 2\n", "Again");
    let main = w.fixture.rev("main");
    w.fake.finish_pipeline(REPO, pipeline, "success");
    let after = w.fake.mr(REPO, mr.iid.0);
    assert_eq!(after.state, "opened");
    assert!(!after.merge_when_pipeline_succeeds);
    assert!(
        after
            .notes
            .iter()
            .any(|n| n.system && n.body.contains("aborted the automatic merge")),
        "{:?}",
        after.notes
    );
    assert_eq!(w.fixture.rev("main"), main);
    // System notes are not comments to the adapter.
    assert!(
        w.forge
            .comments(&project(), mr.iid)
            .await
            .expect("comments")
            .is_empty()
    );
}

#[tokio::test]
async fn unattached_projects_keep_fake_branches() {
    let w = world().await;
    w.fake.add_project("eap/website");
    let iid = w
        .fake
        .open_mr("eap/website", w.bot, "feature", "main", &"ab".repeat(20));
    let outcome = w
        .forge
        .merge(
            &ProjectPath::parse("eap/website").expect("path"),
            MrIid(iid),
            &merge_at(&sha(&"ab".repeat(20))),
        )
        .await
        .expect("merged");
    assert!(matches!(
        outcome,
        MergeOutcome::Merged {
            merge_commit: Some(_)
        }
    ));
    assert_eq!(branches(&w.fixture.remote), vec!["main".to_owned()]);
}
