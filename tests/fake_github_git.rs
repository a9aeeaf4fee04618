//! The fake GitHub backed by a real bare repository, driven through the real GitHub adapter:
//! pull requests need their branch and follow it, the `sha` guard of
//! `PUT /pulls/{n}/merge` answers 409 when the head moved and 405 when it cannot merge, and
//! merges are real merge commits on the base branch with GitHub's default message.

#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use ferry::domain::{CommitSha, MrIid, ProjectPath};
use ferry::forge::*;
use git_support::{Fixture, git};
use secrecy::SecretString;
use support::fake_github::FakeGitHub;

const REPO: &str = "platform/gitops";
const TOKEN: &str = "ghp_bot";
const STAGING: &str = "apps/web/overlays/staging/kustomization.yaml";
const BRANCH: &str = "ferry/staging/web";
const TITLE: &str = "Promote web to staging: release-1.0.0.ab12cd3";

struct World {
    fixture: Fixture,
    fake: FakeGitHub,
    forge: GitHubForge,
    bot: u64,
}

async fn world() -> World {
    let fixture = Fixture::example();
    let fake = FakeGitHub::start().await;
    let bot = fake.add_user("ferry-bot");
    fake.add_token(TOKEN, bot);
    fake.add_repo(REPO);
    fake.attach_repo(REPO, &fixture.remote);
    let forge = GitHubForge::new(GitHubConfig {
        api_url: fake.base_url.clone(),
        token: SecretString::from(TOKEN),
        policy: HttpPolicy {
            max_attempts: 2,
            request_timeout: Duration::from_secs(5),
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
            max_rate_limit_wait: Duration::from_secs(1),
            requests_per_second: NonZeroU32::new(1000).expect("non-zero"),
            burst: NonZeroU32::new(1000).expect("non-zero"),
        },
    })
    .expect("adapter");
    World {
        fixture,
        fake,
        forge,
        bot,
    }
}

fn project() -> ProjectPath {
    ProjectPath::parse(REPO).expect("project path")
}

fn sha(text: &str) -> CommitSha {
    CommitSha::parse(text).expect("sha")
}

/// Commits `content` at `path` on `branch` (made from `main` when new) and pushes it.
fn push_file(fixture: &Fixture, branch: &str, path: &str, content: &str) -> String {
    let clone: PathBuf = fixture.dir.path().join("dana");
    if !clone.exists() {
        git(
            fixture.dir.path(),
            &["clone", "-q", &fixture.remote.display().to_string(), "dana"],
        );
    }
    git(&clone, &["fetch", "-q", "--prune", "origin"]);
    let remote = format!("origin/{branch}");
    let exists = !git(&clone, &["branch", "-r", "--list", &remote])
        .trim()
        .is_empty();
    let start = if exists { remote } else { "origin/main".into() };
    git(&clone, &["checkout", "-q", "-B", branch, &start]);
    std::fs::write(clone.join(path), content).expect("write");
    git(&clone, &["commit", "-q", "-am", &format!("Change {path}")]);
    git(
        &clone,
        &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")],
    );
    git(&clone, &["rev-parse", "HEAD"]).trim().to_owned()
}

fn staging_with(fixture: &Fixture, tag: &str) -> String {
    fixture
        .show("main", STAGING)
        .replace("release-0.9.0.5d6e7f8", tag)
}

fn new_pull(branch: &str) -> NewMergeRequest {
    NewMergeRequest {
        source_branch: branch.into(),
        target_branch: "main".into(),
        title: TITLE.into(),
        body: "promotion".into(),
        labels: vec!["ferry".into()],
    }
}

fn merge_at(head: &CommitSha) -> MergeOptions {
    MergeOptions {
        sha: head.clone(),
        when_pipeline_succeeds: true,
        commit_message: None,
        remove_source_branch: true,
    }
}

#[tokio::test]
async fn a_pull_request_follows_its_branch_and_merges_into_main_for_real() {
    let w = world().await;
    // No branch in the repository: GitHub refuses the head.
    let refused = w
        .forge
        .create_merge_request(&project(), &new_pull(BRANCH))
        .await;
    assert!(refused.is_err(), "{refused:?}");

    let first = push_file(&w.fixture, BRANCH, STAGING, &staging_with(&w.fixture, "r1"));
    let pull = w
        .forge
        .create_merge_request(&project(), &new_pull(BRANCH))
        .await
        .expect("open");
    assert_eq!(pull.head_sha, Some(sha(&first)));
    let files = w
        .forge
        .changed_files(&project(), pull.iid)
        .await
        .expect("files");
    assert_eq!(
        files,
        vec![ChangedFile {
            path: STAGING.into(),
            previous_path: None,
            change: FileChange::Modified,
        }]
    );

    // A push moves the head; merging at the old head is refused by the `sha` guard (409).
    let second = push_file(&w.fixture, BRANCH, STAGING, &staging_with(&w.fixture, "r2"));
    let moved = w
        .forge
        .merge_request(&project(), pull.iid)
        .await
        .expect("read");
    assert_eq!(moved.head_sha, Some(sha(&second)));
    assert_eq!(
        w.forge
            .merge(&project(), pull.iid, &merge_at(&sha(&first)))
            .await
            .expect("merge"),
        MergeOutcome::ShaMismatch
    );
    assert_eq!(w.fixture.rev("main").len(), 40);
    let before = w.fixture.rev("main");

    let outcome = w
        .forge
        .merge(&project(), pull.iid, &merge_at(&sha(&second)))
        .await
        .expect("merge");
    let main = w.fixture.rev("main");
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_commit: Some(sha(&main))
        }
    );
    let parents = git(&w.fixture.remote, &["log", "-1", "--format=%P", "main"]);
    assert_eq!(
        parents.split_whitespace().collect::<Vec<_>>(),
        vec![before.as_str(), second.as_str()]
    );
    let message = git(&w.fixture.remote, &["log", "-1", "--format=%B", "main"]);
    assert_eq!(
        message.trim(),
        format!(
            "Merge pull request #{} from platform/{BRANCH}\n\n{TITLE}",
            pull.iid
        )
    );
    let people = git(
        &w.fixture.remote,
        &["log", "-1", "--format=%an <%ae> / %cn <%ce>", "main"],
    );
    assert_eq!(
        people.trim(),
        format!(
            "ferry-bot <{}+ferry-bot@users.noreply.github.com> / GitHub <noreply@github.com>",
            w.bot
        )
    );
    assert!(w.fixture.show("main", STAGING).contains("newTag: r2"));
    // The source branch is gone from the repository, and the merged pull request still lists
    // what it changed.
    assert!(
        git(&w.fixture.remote, &["branch", "--list", BRANCH])
            .trim()
            .is_empty()
    );
    let merged = w
        .forge
        .merge_request(&project(), pull.iid)
        .await
        .expect("read");
    assert_eq!(merged.state, MrState::Merged);
    assert_eq!(
        w.forge
            .changed_files(&project(), pull.iid)
            .await
            .expect("files")
            .len(),
        1
    );
    assert_eq!(w.fake.pull(REPO, pull.iid.0).merged_by, Some(w.bot));
}

#[tokio::test]
async fn a_conflicting_pull_request_is_not_mergeable() {
    let w = world().await;
    let head = push_file(
        &w.fixture,
        BRANCH,
        STAGING,
        &staging_with(&w.fixture, "mine"),
    );
    let pull = w
        .forge
        .create_merge_request(&project(), &new_pull(BRANCH))
        .await
        .expect("open");
    // Someone changes the same line on main.
    w.fixture.push_by_hand(
        STAGING,
        &staging_with(&w.fixture, "theirs"),
        "Hand-edit staging",
    );
    let before = w.fixture.rev("main");
    let outcome = w
        .forge
        .merge(&project(), MrIid(pull.iid.0), &merge_at(&sha(&head)))
        .await
        .expect("merge");
    assert!(
        matches!(outcome, MergeOutcome::NotMergeable { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.fixture.rev("main"), before, "main did not move");
    let pulls = w.fake.pulls(REPO);
    assert_eq!(pulls[0].state, "open");
}
