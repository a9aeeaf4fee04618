//! Every webhook fixture under `fixtures/webhooks/` parsed into its forge event and checked
//! field by field; malformed and mutated payloads give errors, never panics.

use std::path::Path;

use ferry::domain::forge_event::{
    Comment, MergeRequest, Pipeline, PipelineStatus, Push, Review, ReviewState,
};
use ferry::domain::{
    Actor, BotIdentity, CommitSha, Forge, ForgeEvent, GitRef, ProjectPath, UserId,
};
use ferry::events::{self, EventError};

const S1: &str = "3f1c9a7e52b04d6c8e19a0b7d4f26c85e1a9b3d0";
const OLD: &str = "5b8d2e7f1a3c94e06b2d8f1a7c3e95b04d6a2f18";
const MERGE: &str = "e91b7c3a05d24f68b1c9e7a3d50f2b864c1a7e39";
const TAG_OBJECT: &str = "c4e8a1f07b2d93e56a1f4c8b0d7e29a35f6c1b84";

/// Fixture file, forge, and the event-type header the forge sends with it.
const FIXTURES: &[(&str, Forge, &str)] = &[
    ("gitlab/push.json", Forge::GitLab, "Push Hook"),
    ("gitlab/tag_push.json", Forge::GitLab, "Tag Push Hook"),
    (
        "gitlab/merge_request_open.json",
        Forge::GitLab,
        "Merge Request Hook",
    ),
    (
        "gitlab/merge_request_update.json",
        Forge::GitLab,
        "Merge Request Hook",
    ),
    (
        "gitlab/merge_request_update_title.json",
        Forge::GitLab,
        "Merge Request Hook",
    ),
    (
        "gitlab/merge_request_merge.json",
        Forge::GitLab,
        "Merge Request Hook",
    ),
    (
        "gitlab/merge_request_close.json",
        Forge::GitLab,
        "Merge Request Hook",
    ),
    (
        "gitlab/merge_request_approval.json",
        Forge::GitLab,
        "Merge Request Hook",
    ),
    ("gitlab/note_merge_request.json", Forge::GitLab, "Note Hook"),
    ("gitlab/note_edited.json", Forge::GitLab, "Note Hook"),
    ("gitlab/note_system.json", Forge::GitLab, "Note Hook"),
    ("gitlab/note_bot.json", Forge::GitLab, "Note Hook"),
    ("gitlab/note_issue.json", Forge::GitLab, "Note Hook"),
    (
        "gitlab/pipeline_success.json",
        Forge::GitLab,
        "Pipeline Hook",
    ),
    (
        "gitlab/pipeline_failed_merge_request.json",
        Forge::GitLab,
        "Pipeline Hook",
    ),
    (
        "gitlab/pipeline_running.json",
        Forge::GitLab,
        "Pipeline Hook",
    ),
    ("github/push.json", Forge::GitHub, "push"),
    ("github/push_tag.json", Forge::GitHub, "push"),
    ("github/push_deleted.json", Forge::GitHub, "push"),
    ("github/create_tag.json", Forge::GitHub, "create"),
    (
        "github/pull_request_opened.json",
        Forge::GitHub,
        "pull_request",
    ),
    (
        "github/pull_request_synchronize.json",
        Forge::GitHub,
        "pull_request",
    ),
    (
        "github/pull_request_merged.json",
        Forge::GitHub,
        "pull_request",
    ),
    (
        "github/pull_request_closed.json",
        Forge::GitHub,
        "pull_request",
    ),
    (
        "github/pull_request_labeled.json",
        Forge::GitHub,
        "pull_request",
    ),
    (
        "github/issue_comment_created.json",
        Forge::GitHub,
        "issue_comment",
    ),
    (
        "github/issue_comment_edited.json",
        Forge::GitHub,
        "issue_comment",
    ),
    (
        "github/issue_comment_bot.json",
        Forge::GitHub,
        "issue_comment",
    ),
    (
        "github/issue_comment_on_issue.json",
        Forge::GitHub,
        "issue_comment",
    ),
    (
        "github/issue_comment_deleted.json",
        Forge::GitHub,
        "issue_comment",
    ),
    (
        "github/pull_request_review_approved.json",
        Forge::GitHub,
        "pull_request_review",
    ),
    (
        "github/pull_request_review_dismissed.json",
        Forge::GitHub,
        "pull_request_review",
    ),
    (
        "github/check_suite_completed.json",
        Forge::GitHub,
        "check_suite",
    ),
    (
        "github/check_suite_requested.json",
        Forge::GitHub,
        "check_suite",
    ),
    ("github/status_failure.json", Forge::GitHub, "status"),
    ("github/status_pending.json", Forge::GitHub, "status"),
    ("github/ping.json", Forge::GitHub, "ping"),
];

fn body(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/webhooks")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(name: &str) -> ForgeEvent {
    let (_, forge, header) = FIXTURES
        .iter()
        .find(|(file, _, _)| *file == name)
        .unwrap_or_else(|| panic!("{name} is not in FIXTURES"));
    events::parse(*forge, header, &body(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sha(text: &str) -> CommitSha {
    CommitSha::parse(text).unwrap()
}

fn project(path: &str) -> ProjectPath {
    ProjectPath::parse(path).unwrap()
}

fn actor(id: u64, username: &str) -> Actor {
    Actor {
        id: UserId(id),
        username: username.into(),
    }
}

fn time(text: &str) -> Option<jiff::Timestamp> {
    Some(text.parse().unwrap())
}

#[test]
fn every_fixture_file_is_listed_and_listed_once() {
    let mut on_disk = Vec::new();
    for forge in ["gitlab", "github"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/webhooks")
            .join(forge);
        for entry in std::fs::read_dir(dir).unwrap() {
            on_disk.push(format!(
                "{forge}/{}",
                entry.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|(f, _, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

// ---------------------------------------------------------------- GitLab

fn gitlab_mr(actor_: Option<Actor>) -> MergeRequest {
    MergeRequest {
        project: project("eap/website"),
        number: 42,
        title: "Add pricing page".into(),
        source_branch: "feature/pricing".into(),
        target_branch: "develop".into(),
        head_sha: Some(sha(S1)),
        author_id: Some(UserId(312)),
        actor: actor_,
        draft: false,
        url: Some("https://gitlab.example.org/eap/website/-/merge_requests/42".into()),
    }
}

#[test]
fn gitlab_push_and_tag_push() {
    assert_eq!(
        parse("gitlab/push.json"),
        ForgeEvent::BranchPushed(Push {
            project: project("eap/website"),
            name: "develop".into(),
            before: Some(sha(OLD)),
            sha: sha(S1),
            changed_paths: Some(vec![
                "site/header.html".into(),
                "site/old.css".into(),
                "site/pricing.html".into(),
            ]),
            pusher: Some(actor(312, "mlin")),
        })
    );
    // An annotated tag: `after` is the tag object, `checkout_sha` the commit; `before` is
    // all zeros because the tag is new.
    assert_eq!(
        parse("gitlab/tag_push.json"),
        ForgeEvent::TagPushed(Push {
            project: project("eap/website"),
            name: "v1.4.0".into(),
            before: None,
            sha: sha(S1),
            changed_paths: None,
            pusher: Some(actor(312, "mlin")),
        })
    );
}

#[test]
fn gitlab_merge_request_actions() {
    let mei = Some(actor(312, "mlin"));
    let ana = actor(515, "asouza");
    let mut draft = gitlab_mr(mei.clone());
    draft.draft = true;
    assert_eq!(
        parse("gitlab/merge_request_open.json"),
        ForgeEvent::MrOpened(draft)
    );
    assert_eq!(
        parse("gitlab/merge_request_update.json"),
        ForgeEvent::MrUpdated(gitlab_mr(mei.clone()))
    );
    assert_eq!(
        parse("gitlab/merge_request_update_title.json"),
        ForgeEvent::Ignored("merge request !42: updated without new commits".into())
    );
    assert_eq!(
        parse("gitlab/merge_request_close.json"),
        ForgeEvent::MrClosed(gitlab_mr(mei))
    );
    let ForgeEvent::MrMerged(merge) = parse("gitlab/merge_request_merge.json") else {
        panic!("not a merge")
    };
    assert_eq!(merge.merge_sha, sha(MERGE));
    assert_eq!(merge.merged_by, Some(ana.clone()));
    assert_eq!(merge.merge_request, gitlab_mr(Some(ana.clone())));
    assert_eq!(
        parse("gitlab/merge_request_approval.json"),
        ForgeEvent::ReviewSubmitted(Review {
            project: project("eap/website"),
            merge_request: 42,
            reviewer: ana,
            state: ReviewState::Approved,
            head_sha: Some(sha(S1)),
        })
    );
}

fn gitops_note(note_id: u64, author: Actor, body: &str) -> Comment {
    Comment {
        project: project("platform/gitops"),
        merge_request: 17,
        note_id,
        author,
        body: body.into(),
        system: false,
        edited: false,
        author_is_bot: false,
        // GitLab's own date format: `2025-03-14 08:02:31 UTC`.
        created_at: time("2025-03-14T08:02:31Z"),
        url: Some(format!(
            "https://gitlab.example.org/platform/gitops/-/merge_requests/17#note_{note_id}"
        )),
    }
}

#[test]
fn gitlab_notes_on_merge_requests() {
    let bot = BotIdentity {
        user_id: Some(UserId(900)),
        username: "ferry-bot".into(),
    };
    let mei = actor(312, "mlin");
    let ForgeEvent::CommentCreated(comment) = parse("gitlab/note_merge_request.json") else {
        panic!()
    };
    assert_eq!(
        comment,
        gitops_note(
            7781,
            mei.clone(),
            "Checked the staging run.\n\n/ferry approve\n/ferry promote production service=web"
        )
    );
    assert_eq!(comment.skip_reason(&bot), None);
    // The commands in it, as the engine will read them.
    let commands = ferry::commands::parse_comment(&comment.body, &bot.username);
    let written: Vec<String> = commands
        .iter()
        .map(|c| c.result.clone().unwrap().to_string())
        .collect();
    assert_eq!(
        written,
        ["/ferry approve", "/ferry promote production service=web"]
    );

    let mut edited = gitops_note(7790, mei.clone(), "/ferry hold waiting for the QA sign-off");
    edited.edited = true;
    assert_eq!(
        parse("gitlab/note_edited.json"),
        ForgeEvent::CommentCreated(edited)
    );

    let ForgeEvent::CommentCreated(system) = parse("gitlab/note_system.json") else {
        panic!()
    };
    assert!(system.system);
    assert_eq!(
        system.skip_reason(&bot),
        Some("it is a system note written by the forge")
    );

    let ForgeEvent::CommentCreated(own) = parse("gitlab/note_bot.json") else {
        panic!()
    };
    assert_eq!(own.author, actor(900, "ferry-bot"));
    assert_eq!(own.skip_reason(&bot), Some("Ferry wrote it"));
    // Without a known id the name decides, ignoring case.
    let by_name = BotIdentity {
        user_id: None,
        username: "Ferry-Bot".into(),
    };
    assert_eq!(own.skip_reason(&by_name), Some("Ferry wrote it"));
    assert_eq!(comment.skip_reason(&by_name), None);

    assert_eq!(
        parse("gitlab/note_issue.json"),
        ForgeEvent::Ignored(
            "GitLab comment 7805 is not on a merge request (noteable_type `Issue`)".into()
        )
    );
}

#[test]
fn gitlab_pipelines() {
    assert_eq!(
        parse("gitlab/pipeline_success.json"),
        ForgeEvent::PipelineFinished(Pipeline {
            project: project("eap/website"),
            id: Some(23517),
            sha: sha(S1),
            git_ref: Some(GitRef::Branch("develop".into())),
            status: PipelineStatus::Success,
            name: None,
            merge_request: None,
            url: Some("https://gitlab.example.org/eap/website/-/pipelines/23517".into()),
            finished_at: time("2025-03-14T01:37:54Z"),
        })
    );
    let ForgeEvent::PipelineFinished(failed) = parse("gitlab/pipeline_failed_merge_request.json")
    else {
        panic!()
    };
    assert_eq!(failed.status, PipelineStatus::Failed);
    assert_eq!(failed.git_ref, None, "merge request refs are not branches");
    assert_eq!(failed.merge_request, Some(42));
    assert_eq!(
        parse("gitlab/pipeline_running.json"),
        ForgeEvent::Ignored("GitLab pipeline 23517 is `running`, not finished".into())
    );
}

#[test]
fn gitlab_headers_and_object_kinds_must_agree() {
    let push = body("gitlab/push.json");
    assert_eq!(
        events::parse(Forge::GitLab, "Note Hook", &push),
        Err(EventError::KindMismatch {
            header: "Note Hook".into(),
            object_kind: "push".into()
        })
    );
    // System hooks say the kind only in the body.
    assert!(matches!(
        events::parse(Forge::GitLab, "System Hook", &push),
        Ok(ForgeEvent::BranchPushed(_))
    ));
    assert_eq!(
        events::parse(
            Forge::GitLab,
            "System Hook",
            br#"{"event_name":"project_create"}"#
        ),
        Ok(ForgeEvent::Ignored(
            "GitLab system `project_create` events are not used by Ferry".into()
        ))
    );
    assert_eq!(
        events::parse(Forge::GitLab, "Wiki Page Hook", b"not even json"),
        Ok(ForgeEvent::Ignored(
            "GitLab `Wiki Page Hook` events are not used by Ferry".into()
        ))
    );
}

// ---------------------------------------------------------------- GitHub

fn github_pr(sender: Actor, draft: bool) -> MergeRequest {
    MergeRequest {
        project: project("eap/website"),
        number: 42,
        title: "Add pricing page".into(),
        source_branch: "feature/pricing".into(),
        target_branch: "develop".into(),
        head_sha: Some(sha(S1)),
        author_id: Some(UserId(8812001)),
        actor: Some(sender),
        draft,
        url: Some("https://github.com/eap/website/pull/42".into()),
    }
}

#[test]
fn github_push_create_and_deletion() {
    let mei = actor(8812001, "meilin");
    assert_eq!(
        parse("github/push.json"),
        ForgeEvent::BranchPushed(Push {
            project: project("eap/website"),
            name: "release-1.4.0".into(),
            before: Some(sha(OLD)),
            sha: sha(S1),
            changed_paths: Some(vec!["site/header.html".into(), "site/pricing.html".into()]),
            pusher: Some(mei.clone()),
        })
    );
    let ForgeEvent::TagPushed(tag) = parse("github/push_tag.json") else {
        panic!()
    };
    assert_eq!(tag.name, "v1.4.0");
    assert_eq!(
        tag.sha,
        sha(S1),
        "the tagged commit, not the tag object {TAG_OBJECT}"
    );
    assert_eq!(tag.before, None);
    assert_eq!(
        parse("github/push_deleted.json"),
        ForgeEvent::Ignored("refs/heads/feature/pricing was deleted".into())
    );
    assert_eq!(
        parse("github/create_tag.json"),
        ForgeEvent::RefCreated {
            project: project("eap/website"),
            git_ref: GitRef::Tag("v1.4.0".into()),
        }
    );
}

#[test]
fn github_pull_request_actions() {
    let mei = actor(8812001, "meilin");
    let ana = actor(8812002, "ana-souza");
    assert_eq!(
        parse("github/pull_request_opened.json"),
        ForgeEvent::MrOpened(github_pr(mei.clone(), true))
    );
    assert_eq!(
        parse("github/pull_request_synchronize.json"),
        ForgeEvent::MrUpdated(github_pr(mei.clone(), false))
    );
    assert_eq!(
        parse("github/pull_request_closed.json"),
        ForgeEvent::MrClosed(github_pr(mei.clone(), false))
    );
    let ForgeEvent::MrMerged(merge) = parse("github/pull_request_merged.json") else {
        panic!()
    };
    assert_eq!(merge.merge_sha, sha(MERGE));
    assert_eq!(merge.merged_by, Some(ana.clone()));
    assert_eq!(merge.merge_request, github_pr(ana.clone(), false));
    assert_eq!(
        parse("github/pull_request_labeled.json"),
        ForgeEvent::Ignored("pull request #42: action `labeled` is not used by Ferry".into())
    );
    assert_eq!(
        parse("github/pull_request_review_approved.json"),
        ForgeEvent::ReviewSubmitted(Review {
            project: project("eap/website"),
            merge_request: 42,
            reviewer: ana.clone(),
            state: ReviewState::Approved,
            head_sha: Some(sha(S1)),
        })
    );
    let ForgeEvent::ReviewSubmitted(dismissed) = parse("github/pull_request_review_dismissed.json")
    else {
        panic!()
    };
    assert_eq!(dismissed.state, ReviewState::Dismissed);
}

#[test]
fn github_comments() {
    let ana = actor(8812002, "ana-souza");
    let bot = BotIdentity {
        user_id: Some(UserId(41000001)),
        username: "ferry-app".into(),
    };
    let comment = |id: u64, author: Actor, body: &str, edited: bool| Comment {
        project: project("platform/gitops"),
        merge_request: 17,
        note_id: id,
        author,
        body: body.into(),
        system: false,
        edited,
        author_is_bot: false,
        created_at: time("2025-03-14T08:02:31Z"),
        url: Some(format!(
            "https://github.com/platform/gitops/pull/17#issuecomment-{id}"
        )),
    };
    let ForgeEvent::CommentCreated(created) = parse("github/issue_comment_created.json") else {
        panic!()
    };
    let body =
        "LGTM\r\n\r\n/ferry approve\r\n@ferry-app promote production override=\"release train\"";
    assert_eq!(created, comment(1987650001, ana.clone(), body, false));
    assert_eq!(created.skip_reason(&bot), None);
    let commands = ferry::commands::parse_comment(&created.body, &bot.username);
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[1].line, 4);
    assert_eq!(
        commands[1].result.clone().unwrap().to_string(),
        "/ferry promote production override=\"release train\""
    );

    assert_eq!(
        parse("github/issue_comment_edited.json"),
        ForgeEvent::CommentCreated(comment(
            1987650002,
            ana,
            "/ferry hold waiting for the QA sign-off",
            true
        ))
    );
    let ForgeEvent::CommentCreated(own) = parse("github/issue_comment_bot.json") else {
        panic!()
    };
    assert!(own.author_is_bot);
    assert_eq!(own.skip_reason(&bot), Some("Ferry wrote it"));
    assert_eq!(
        parse("github/issue_comment_on_issue.json"),
        ForgeEvent::Ignored("comment 1987650004 is on issue #17, not a pull request".into())
    );
    assert_eq!(
        parse("github/issue_comment_deleted.json"),
        ForgeEvent::Ignored("comment 1987650005: action `deleted` is not used by Ferry".into())
    );
}

#[test]
fn github_checks_and_statuses() {
    assert_eq!(
        parse("github/check_suite_completed.json"),
        ForgeEvent::PipelineFinished(Pipeline {
            project: project("eap/website"),
            id: Some(31337000001),
            sha: sha(S1),
            git_ref: Some(GitRef::Branch("release-1.4.0".into())),
            status: PipelineStatus::Success,
            name: Some("github-actions".into()),
            merge_request: None,
            url: None,
            finished_at: time("2025-03-14T01:37:54Z"),
        })
    );
    assert_eq!(
        parse("github/check_suite_requested.json"),
        ForgeEvent::Ignored("check suite 31337000002: action `requested`, not completed".into())
    );
    assert_eq!(
        parse("github/status_failure.json"),
        ForgeEvent::PipelineFinished(Pipeline {
            project: project("eap/website"),
            id: None,
            sha: sha(S1),
            git_ref: Some(GitRef::Branch("develop".into())),
            status: PipelineStatus::Failed,
            name: Some("ci/image-build".into()),
            merge_request: None,
            url: Some("https://ci.example.org/builds/8812".into()),
            finished_at: time("2025-03-14T01:36:02Z"),
        })
    );
    assert_eq!(
        parse("github/status_pending.json"),
        ForgeEvent::Ignored(format!("status `ci/image-build` on {S1} is pending"))
    );
    assert_eq!(
        parse("github/ping.json"),
        ForgeEvent::Ignored("GitHub `ping`: the webhook is set up".into())
    );
    assert_eq!(
        events::parse(Forge::GitHub, "deployment", b"{}"),
        Ok(ForgeEvent::Ignored(
            "GitHub `deployment` events are not used by Ferry".into()
        ))
    );
}

// ---------------------------------------------------------------- both

#[test]
fn the_repository_is_read_without_a_full_parse_and_agrees_with_it() {
    for (name, forge, _) in FIXTURES {
        let repository = events::repository_of(*forge, &body(name)).unwrap();
        let event = parse(name);
        if let Some(project) = event.project() {
            assert_eq!(repository.as_ref(), Some(project), "{name}");
        }
        assert!(repository.is_some(), "{name}");
    }
    assert_eq!(
        events::repository_of(Forge::GitHub, br#"{"zen":"x"}"#),
        Ok(None)
    );
    assert_eq!(
        events::repository_of(
            Forge::GitLab,
            br#"{"project":{"path_with_namespace":"no-slash"}}"#
        )
        .unwrap_err()
        .to_string(),
        "the GitLab payload is missing or has a bad `project.path_with_namespace`: project path `no-slash` is not valid: write it as `group/project` (subgroups allowed), without a leading or trailing `/`"
    );
    assert!(matches!(
        events::repository_of(Forge::GitLab, b"{\"project\":"),
        Err(EventError::NotJson { .. })
    ));
}

#[test]
fn bad_payloads_say_which_field() {
    let cases: &[(Forge, &str, &[u8], &str)] = &[
        (
            Forge::GitLab,
            "Push Hook",
            br#"{"object_kind":"push""#,
            "the GitLab payload is not JSON: EOF while parsing an object; the delivery was not sent by the forge or was cut off",
        ),
        (
            Forge::GitLab,
            "Push Hook",
            br#"{"object_kind":"push","ref":"refs/heads/x","after":"abc","project":{"path_with_namespace":"a/b"}}"#,
            "the GitLab push payload is missing or has a bad `after`: commit SHA `abc` is not valid: write the full 40 (SHA-1) or 64 (SHA-256) hex digits",
        ),
        (
            Forge::GitLab,
            "Note Hook",
            br#"{"object_kind":"note","project":{"path_with_namespace":"a/b"},"object_attributes":{"id":1,"note":"x","noteable_type":"MergeRequest","created_at":"soon"},"merge_request":{"iid":2},"user":{"id":3,"username":"u"}}"#,
            "the GitLab note payload is missing or has a bad `object_attributes.created_at`: `soon` is not a date: expected `2025-01-01T10:00:00Z`, `2025-01-01 10:00:00 UTC` or `2025-01-01 10:00:00 +0200`",
        ),
        (
            Forge::GitLab,
            "Note Hook",
            br#"{"object_kind":"note","project":{"path_with_namespace":"a/b"},"object_attributes":{"id":1,"note":"x","noteable_type":"MergeRequest"},"user":{"id":3,"username":"u"}}"#,
            "the GitLab note payload is missing or has a bad `merge_request`: missing on a merge request note",
        ),
        (
            Forge::GitHub,
            "pull_request",
            br#"{"action":"opened","repository":{"full_name":"a/b"},"pull_request":{"number":"7"}}"#,
            "the GitHub pull_request payload is missing or has a bad `(payload)`: invalid type: string \"7\", expected u64",
        ),
        (
            Forge::GitHub,
            "check_suite",
            br#"{"action":"completed","repository":{"full_name":"a/b"},"check_suite":{"id":1,"head_sha":"3f1c9a7e52b04d6c8e19a0b7d4f26c85e1a9b3d0","conclusion":"great"}}"#,
            "the GitHub check_suite payload is missing or has a bad `check_suite.conclusion`: `great` is not a conclusion GitHub documents",
        ),
    ];
    for (forge, header, payload, message) in cases {
        assert_eq!(
            events::parse(*forge, header, payload)
                .unwrap_err()
                .to_string(),
            *message
        );
    }
}

mod never_panics {
    use proptest::prelude::*;

    use super::*;

    fn fixture() -> impl Strategy<Value = (Vec<u8>, Forge, &'static str)> {
        prop::sample::select(FIXTURES).prop_map(|(name, forge, header)| (body(name), forge, header))
    }

    /// Every value in a JSON tree, by pointer, so mutations can reach nested fields.
    fn pointers(value: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    pointers(
                        child,
                        format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            serde_json::Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    pointers(child, format!("{at}/{index}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400), header in prop::sample::select(vec![
            "Push Hook", "Tag Push Hook", "Merge Request Hook", "Note Hook", "Pipeline Hook", "System Hook",
            "push", "create", "pull_request", "issue_comment", "pull_request_review", "check_suite", "status",
        ])) {
            for forge in [Forge::GitLab, Forge::GitHub] {
                let _ = events::parse(forge, header, &bytes);
                let _ = events::repository_of(forge, &bytes);
            }
        }

        #[test]
        fn on_fixtures_with_bytes_cut_or_flipped((payload, forge, header) in fixture(), start in 0usize..6000, len in 0usize..60, flip in any::<u8>()) {
            let start = start.min(payload.len());
            let end = (start + len).min(payload.len());
            let mut cut = payload[..start].to_vec();
            cut.extend_from_slice(&payload[end..]);
            let _ = events::parse(forge, header, &cut);
            let _ = events::repository_of(forge, &cut);
            let mut flipped = payload.clone();
            if let Some(byte) = flipped.get_mut(start) {
                *byte ^= flip;
            }
            let _ = events::parse(forge, header, &flipped);
        }

        #[test]
        fn on_fixtures_with_a_value_replaced((payload, forge, header) in fixture(), pick in any::<prop::sample::Index>(), replacement in prop_oneof![
            Just(serde_json::Value::Null),
            Just(serde_json::json!(-1)),
            Just(serde_json::json!(18446744073709551615u64)),
            Just(serde_json::json!("")),
            Just(serde_json::json!("0000000000000000000000000000000000000000")),
            Just(serde_json::json!("2025-02-30 25:61:00 UTC")),
            Just(serde_json::json!([])),
            Just(serde_json::json!({})),
            Just(serde_json::json!(true)),
        ]) {
            let mut value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            let mut all = Vec::new();
            pointers(&value, String::new(), &mut all);
            let pointer = pick.get(&all).clone();
            if pointer.is_empty() {
                value = replacement;
            } else if let Some(slot) = value.pointer_mut(&pointer) {
                *slot = replacement;
            }
            let mutated = serde_json::to_vec(&value).unwrap();
            // Whatever the outcome, a parsed event keeps the delivery's project.
            if let (Ok(event), Ok(repository)) = (events::parse(forge, header, &mutated), events::repository_of(forge, &mutated))
                && let Some(project) = event.project()
            {
                prop_assert_eq!(repository.as_ref(), Some(project));
            }
        }
    }
}
