//! The GitOps engine against real repositories: bare remotes on disk, second clones pushing
//! with the git CLI in between, a smart-HTTP remote, SSH-signed commits.

#[allow(dead_code)]
mod git_support;

use std::cell::Cell;
use std::path::Path;

use ferry::domain::{
    CommitSha, EnvironmentName, GitRef, ImageRef, ProjectPath, ServiceName, Source,
};
use ferry::gitops::{
    self, Action, AuditLog, Auth, Change, CommitSettings, GitOpsError, Mirror, Outcome,
    OverlayChange, OverlayMap, Prepared, Promotion, Remote, Retry, Trailers,
};
use ferry::policy::history::History;
use git_support::{Fixture, git};
use git2::{Repository, Tree};
use secrecy::SecretString;

const WEB_STAGING: &str = "apps/web/overlays/staging/kustomization.yaml";
const WEB_PRODUCTION: &str = "apps/web/overlays/production/kustomization.yaml";

fn policy() -> ferry::policy::Policy {
    ferry::policy::load_dir(&Path::new(git_support::TEMPLATE).join("policies"))
        .expect("example policy")
}

fn image(reference: &str) -> ImageRef {
    ImageRef::parse(reference).expect("image")
}

fn promotion(service: &str, environment: &str, reference: &str) -> Promotion {
    let change = OverlayChange::from_policy(&policy(), service, environment, image(reference))
        .expect("change");
    Promotion::new(vec![change])
}

fn source(git_ref: GitRef, sha: &str) -> Source {
    Source {
        project: ProjectPath::parse("eap/website").expect("project"),
        git_ref,
        sha: Some(CommitSha::parse(sha).expect("sha")),
        merge_request: None,
    }
}

fn mirror(fixture: &Fixture) -> Mirror {
    Mirror::open(&fixture.data_dir(), Remote::local(&fixture.remote)).expect("mirror")
}

fn land_on(mirror: &Mirror, branch: &str, change: &dyn Change) -> Outcome {
    gitops::land(
        mirror,
        &CommitSettings::default(),
        &Retry::default(),
        "main",
        branch,
        change,
    )
    .expect("land")
}

#[test]
fn a_promotion_is_one_commit_changing_one_line_with_its_trailers() {
    let fixture = Fixture::example();
    let before = fixture.show("main", WEB_STAGING);
    let old_head = fixture.rev("main");
    let mut promotion = promotion(
        "web",
        "staging",
        "registry.example.com/eap/website:release-1.0.0.ab12cd3",
    );
    promotion.source = Some(source(
        GitRef::Branch("release-1.0.0".into()),
        &"ab12cd3".repeat(6)[..40],
    ));
    promotion.requested_by = Some("alice".into());
    promotion.approved_by = vec!["bob".into(), "carol".into()];

    let mirror = mirror(&fixture);
    let Outcome::Landed { commit, base, .. } = land_on(&mirror, "main", &promotion) else {
        panic!("expected a commit");
    };
    assert_eq!(base.to_string(), old_head);
    assert_eq!(fixture.rev("main"), commit.to_string());
    assert_eq!(
        fixture.rev("main^"),
        old_head,
        "built on the head, one parent"
    );

    let after = fixture.show("main", WEB_STAGING);
    assert_eq!(
        after,
        before.replace(
            "newTag: release-0.9.0.5d6e7f8 # promoted by Ferry",
            "newTag: release-1.0.0.ab12cd3 # promoted by Ferry"
        )
    );
    assert_ne!(after, before);
    let changed = git(&fixture.remote, &["diff", "--name-only", "main^", "main"]);
    assert_eq!(changed.trim(), WEB_STAGING);

    let message = git(&fixture.remote, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.starts_with("Promote web to staging: release-1.0.0.ab12cd3\n"),
        "{message}"
    );
    let trailers = Trailers::parse(&message).expect("trailers");
    assert_eq!(trailers.changes.len(), 1);
    assert_eq!(
        trailers.changes[0].previous.as_deref(),
        Some("registry.example.com/eap/website:release-0.9.0.5d6e7f8")
    );
    assert_eq!(trailers.approved_by, vec!["bob", "carol"]);
    assert_eq!(trailers.requested_by.as_deref(), Some("alice"));
    // git itself reads them as trailers.
    let by_git = git(
        &fixture.remote,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Ferry-Approved-By,valueonly)",
            "main",
        ],
    );
    assert_eq!(
        by_git.split_whitespace().collect::<Vec<_>>(),
        ["bob", "carol"]
    );
    let author = git(
        &fixture.remote,
        &["log", "-1", "--format=%an <%ae>", "main"],
    );
    assert_eq!(author.trim(), "Ferry <ferry@localhost>");

    // The same promotion again changes nothing and pushes nothing.
    assert_eq!(
        land_on(&mirror, "main", &promotion),
        Outcome::Unchanged { head: commit }
    );
    assert_eq!(fixture.rev("main"), commit.to_string());
}

#[test]
fn a_group_of_promotions_is_one_commit() {
    let fixture = Fixture::example();
    let policy = policy();
    let changes = vec![
        OverlayChange::from_policy(
            &policy,
            "web",
            "integration",
            image("registry.example.com/eap/website:develop.aaaaaaa"),
        )
        .expect("web"),
        OverlayChange::from_policy(
            &policy,
            "api",
            "integration",
            image("registry.example.com/eap/api:develop.bbbbbbb"),
        )
        .expect("api"),
    ];
    let mirror = mirror(&fixture);
    land_on(&mirror, "main", &Promotion::new(changes));
    let changed = git(&fixture.remote, &["diff", "--name-only", "main^", "main"]);
    assert_eq!(
        changed.lines().collect::<Vec<_>>(),
        [
            "apps/api/overlays/integration/kustomization.yaml",
            "apps/web/overlays/integration/kustomization.yaml"
        ]
    );
    let trailers =
        Trailers::parse(&git(&fixture.remote, &["log", "-1", "--format=%B"])).expect("trailers");
    let services: Vec<_> = trailers
        .changes
        .iter()
        .map(|c| c.service.as_str())
        .collect();
    assert_eq!(services, ["web", "api"]);
}

/// Pushes a commit from another clone the first time the engine prepares its change, so
/// the engine's push loses the race exactly once.
struct RaceOnce<'a> {
    inner: Promotion,
    fixture: &'a Fixture,
    raced: Cell<bool>,
    prepared: Cell<u32>,
}

impl Change for RaceOnce<'_> {
    fn prepare(
        &self,
        repo: &Repository,
        target: &Tree<'_>,
        onto: &Tree<'_>,
    ) -> Result<Option<Prepared>, GitOpsError> {
        self.prepared.set(self.prepared.get() + 1);
        if !self.raced.replace(true) {
            let production = self.fixture.show("main", WEB_PRODUCTION);
            self.fixture.push_by_hand(
                WEB_PRODUCTION,
                &production.replace("v0.9.0", "v0.9.1"),
                "Hotfix production by hand",
            );
        }
        self.inner.prepare(repo, target, onto)
    }
}

#[test]
fn a_push_that_loses_a_race_is_rebuilt_on_the_new_head_and_both_land() {
    let fixture = Fixture::example();
    let race = RaceOnce {
        inner: promotion(
            "web",
            "staging",
            "registry.example.com/eap/website:release-1.0.0.ab12cd3",
        ),
        fixture: &fixture,
        raced: Cell::new(false),
        prepared: Cell::new(0),
    };
    let mirror = mirror(&fixture);
    let Outcome::Landed { attempts, .. } = land_on(&mirror, "main", &race) else {
        panic!("expected a commit");
    };
    assert_eq!(attempts, 2);
    assert_eq!(
        race.prepared.get(),
        2,
        "the edit was re-applied on the new head"
    );
    let log = fixture.log("main");
    let subjects: Vec<_> = log.iter().map(|(_, _, s)| s.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "Promote web to staging: release-1.0.0.ab12cd3",
            "Hotfix production by hand",
            "Initial GitOps repository"
        ]
    );
    assert!(
        log.iter().all(|(_, parents, _)| *parents <= 1),
        "linear history"
    );
    assert!(
        fixture.show("main", WEB_PRODUCTION).contains("v0.9.1"),
        "the other push is kept"
    );
    assert!(
        fixture
            .show("main", WEB_STAGING)
            .contains("release-1.0.0.ab12cd3")
    );
}

#[test]
fn a_race_that_never_ends_gives_up_with_a_clear_error() {
    struct AlwaysRace<'a>(&'a Fixture, Cell<u32>);
    impl Change for AlwaysRace<'_> {
        fn prepare(
            &self,
            repo: &Repository,
            target: &Tree<'_>,
            onto: &Tree<'_>,
        ) -> Result<Option<Prepared>, GitOpsError> {
            let n = self.1.get() + 1;
            self.1.set(n);
            let text = self.0.show("main", WEB_PRODUCTION);
            self.0.push_by_hand(
                WEB_PRODUCTION,
                &format!("{text}# {n}\n"),
                &format!("busy {n}"),
            );
            promotion(
                "web",
                "staging",
                "registry.example.com/eap/website:release-1.0.0.ab12cd3",
            )
            .prepare(repo, target, onto)
        }
    }
    let fixture = Fixture::example();
    let retry = Retry {
        attempts: 3,
        ..Retry::default()
    };
    let error = gitops::land(
        &mirror(&fixture),
        &CommitSettings::default(),
        &retry,
        "main",
        "main",
        &AlwaysRace(&fixture, Cell::new(0)),
    )
    .expect_err("never lands");
    assert!(
        matches!(error, GitOpsError::Contended { attempts: 3, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("try again"), "{error}");
    assert!(!fixture.show("main", WEB_STAGING).contains("release-1.0.0"));
}

#[test]
fn promotion_branches_stack_while_current_and_rebuild_after_the_target_moves() {
    let fixture = Fixture::example();
    let mirror = mirror(&fixture);
    let first = promotion(
        "web",
        "production",
        "registry.example.com/eap/website:v1.0.0",
    );
    let branch = first.branch();
    assert_eq!(branch, "ferry/production/web");
    let Outcome::Landed { commit: one, .. } = land_on(&mirror, &branch, &first) else {
        panic!("landed")
    };
    assert_eq!(fixture.rev(&format!("{branch}^")), fixture.rev("main"));
    assert!(
        !fixture.show("main", WEB_PRODUCTION).contains("v1.0.0"),
        "the target is untouched"
    );

    // A newer promotion for the same pair adds a commit on top: no force push.
    let second = promotion(
        "web",
        "production",
        "registry.example.com/eap/website:v1.0.1",
    );
    let Outcome::Landed { commit: two, .. } = land_on(&mirror, &branch, &second) else {
        panic!("landed")
    };
    assert_eq!(fixture.rev(&format!("{branch}^")), one.to_string());
    // The previous image is what runs in production now, not the superseded promotion.
    let trailers = Trailers::parse(&git(
        &fixture.remote,
        &["log", "-1", "--format=%B", &branch],
    ))
    .expect("trailers");
    assert_eq!(
        trailers.changes[0].previous.as_deref(),
        Some("registry.example.com/eap/website:v0.9.0")
    );

    // The identical promotion pushes nothing.
    assert_eq!(
        land_on(&mirror, &branch, &second),
        Outcome::Unchanged { head: two }
    );

    // Once main moves on, the branch is rebuilt on it (one commit, parent = main).
    fixture.push_by_hand("README.md", "hello\n", "Add a readme");
    let third = promotion(
        "web",
        "production",
        "registry.example.com/eap/website:v1.0.2",
    );
    land_on(&mirror, &branch, &third);
    assert_eq!(fixture.rev(&format!("{branch}^")), fixture.rev("main"));
    assert!(fixture.show(&branch, WEB_PRODUCTION).contains("v1.0.2"));
    assert_eq!(fixture.show(&branch, "README.md"), "hello\n");
}

#[test]
fn the_engine_refuses_broken_overlays_with_the_position_and_pushes_nothing() {
    let fixture = Fixture::example();
    fixture.push_by_hand(
        WEB_STAGING,
        "images:\n  - name: a\n    name: b\n",
        "Break staging",
    );
    let head = fixture.rev("main");
    let error = gitops::land(
        &mirror(&fixture),
        &CommitSettings::default(),
        &Retry::default(),
        "main",
        "main",
        &promotion("web", "staging", "registry.example.com/eap/website:v1"),
    )
    .expect_err("refused");
    let text = error.to_string();
    assert!(text.starts_with(&format!("{WEB_STAGING}:3:")), "{text}");
    assert_eq!(fixture.rev("main"), head);
}

#[test]
fn audit_reads_promotions_merges_and_hand_edits_back_from_history() {
    let fixture = Fixture::example();
    let mirror = mirror(&fixture);
    let sha = "1234567".repeat(6)[..40].to_owned();
    let mut staging = promotion(
        "web",
        "staging",
        "registry.example.com/eap/website:release-1.0.0.1234567",
    );
    staging.source = Some(source(GitRef::Branch("release-1.0.0".into()), &sha));
    land_on(&mirror, "main", &staging);

    // A promotion merged through a merge request with a merge commit.
    let mut production = promotion(
        "web",
        "production",
        "registry.example.com/eap/website:v1.0.0",
    );
    production.source = Some(source(GitRef::Tag("v1.0.0".into()), &sha));
    production.approved_by = vec!["bob".into()];
    land_on(&mirror, "ferry/production/web", &production);
    let clone = fixture.clone("merger");
    git(&clone, &["fetch", "-q", "origin"]);
    git(
        &clone,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'ferry/production/web'",
            "origin/ferry/production/web",
        ],
    );
    git(&clone, &["push", "-q", "origin", "HEAD:main"]);

    // A hand edit, without trailers.
    let text = fixture.show("main", WEB_STAGING);
    fixture.push_by_hand(
        WEB_STAGING,
        &text.replace("release-1.0.0.1234567", "release-1.0.1.7654321"),
        "Bump staging by hand",
    );

    mirror.fetch().expect("fetch");
    let overlays = OverlayMap::from_policy(&policy());
    let log = AuditLog::load(&mirror, "main", &overlays).expect("log");
    let web: Vec<_> = log
        .filter(None, Some("web"), None, None)
        .filter(|r| r.commit != fixture.rev("main~3"))
        .map(|r| {
            (
                r.environment.as_str(),
                r.action,
                r.image.as_str(),
                r.previous.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        web,
        [
            (
                "staging",
                Action::Promote,
                "registry.example.com/eap/website:release-1.0.0.1234567",
                Some("registry.example.com/eap/website:release-0.9.0.5d6e7f8")
            ),
            (
                "production",
                Action::Promote,
                "registry.example.com/eap/website:v1.0.0",
                Some("registry.example.com/eap/website:v0.9.0")
            ),
            (
                "staging",
                Action::Manual,
                "registry.example.com/eap/website:release-1.0.1.7654321",
                Some("registry.example.com/eap/website:release-1.0.0.1234567")
            ),
        ]
    );
    let merged = log
        .filter(Some("production"), Some("web"), None, None)
        .last()
        .expect("production record");
    assert_eq!(
        merged.commit,
        fixture.rev("main^"),
        "attributed to the merge commit on main"
    );
    assert_eq!(merged.approved_by, ["bob"]);
    let manual = log.records.last().expect("manual");
    assert_eq!(manual.requested_by.as_deref(), Some("Dana Dev"));

    // The initial commit's images are there too (as manual), so `at` answers for any time.
    let initial = log
        .filter(Some("production"), Some("api"), None, None)
        .next()
        .expect("initial");
    assert_eq!(initial.action, Action::Manual);
    assert_eq!(initial.image, "registry.example.com/eap/api:v0.9.0");

    // History for the policy's provenance checks.
    let web_name = ServiceName::parse("web").expect("name");
    let commit = CommitSha::parse(&sha).expect("sha");
    let env = |name: &str| EnvironmentName::parse(name).expect("env");
    assert!(
        log.ran_in(&web_name, &commit, &env("staging"))
            .expect("query")
    );
    assert!(
        log.ran_in(&web_name, &commit, &env("production"))
            .expect("query")
    );
    assert!(
        !log.ran_in(&web_name, &commit, &env("integration"))
            .expect("query")
    );
    assert_eq!(
        log.commit_of(&web_name, &image("registry.example.com/eap/website:v1.0.0"))
            .expect("query"),
        Some(commit)
    );
}

#[test]
fn the_audit_index_is_reused_and_extended_and_rebuilt_after_a_rewrite() {
    let fixture = Fixture::example();
    let mirror = mirror(&fixture);
    let overlays = OverlayMap::from_policy(&policy());
    land_on(
        &mirror,
        "main",
        &promotion("web", "staging", "registry.example.com/eap/website:r1"),
    );
    let first = AuditLog::load(&mirror, "main", &overlays).expect("log");
    let index = mirror.dir().join("ferry-audit/main.json");
    assert!(index.is_file());

    land_on(
        &mirror,
        "main",
        &promotion("web", "staging", "registry.example.com/eap/website:r2"),
    );
    let second = AuditLog::load(&mirror, "main", &overlays).expect("log");
    assert_eq!(second.records.len(), first.records.len() + 1);
    assert_eq!(second.records[..first.records.len()], first.records[..]);
    let saved = std::fs::read_to_string(&index).expect("index");
    assert!(
        saved.contains(&fixture.rev("main")),
        "the index moved to the new tip"
    );

    // A rewritten branch (force-pushed back) is read from scratch, not from the stale index.
    git(
        &fixture.remote,
        &["update-ref", "refs/heads/main", &fixture.rev("main~2")],
    );
    mirror.fetch().expect("fetch");
    let rewound = AuditLog::load(&mirror, "main", &overlays).expect("log");
    assert!(
        rewound
            .records
            .iter()
            .all(|r| !r.image.ends_with(":r1") && !r.image.ends_with(":r2"))
    );
}

#[test]
fn rollback_goes_back_to_the_previous_or_a_named_image_with_its_provenance() {
    let fixture = Fixture::example();
    let mirror = mirror(&fixture);
    let policy = policy();
    let overlays = OverlayMap::from_policy(&policy);
    let sha_one = "1111111".repeat(6)[..40].to_owned();
    for (tag, sha) in [
        ("v1.0.0", sha_one.as_str()),
        ("v1.1.0", &"2222222".repeat(6)[..40]),
    ] {
        let mut p = promotion(
            "web",
            "production",
            &format!("registry.example.com/eap/website:{tag}"),
        );
        p.source = Some(source(GitRef::Tag(tag.into()), sha));
        land_on(&mirror, "main", &p);
    }
    let log = AuditLog::load(&mirror, "main", &overlays).expect("log");
    let back = gitops::rollback(&mirror, &policy, &log, "main", "web", "production", None)
        .expect("rollback");
    assert_eq!(back.action, Action::Rollback);
    assert_eq!(
        back.changes[0].image.to_string(),
        "registry.example.com/eap/website:v1.0.0"
    );
    assert_eq!(
        back.source
            .as_ref()
            .and_then(|s| s.sha.as_ref())
            .map(|s| s.to_string()),
        Some(sha_one)
    );
    land_on(&mirror, "main", &back);
    assert!(
        fixture
            .show("main", WEB_PRODUCTION)
            .contains("newTag: v1.0.0")
    );
    let subject = git(&fixture.remote, &["log", "-1", "--format=%s"]);
    assert_eq!(subject.trim(), "Roll back web in production to v1.0.0");

    // Named versions, including the very first image from before Ferry.
    let log = AuditLog::load(&mirror, "main", &overlays).expect("log");
    let named = gitops::rollback(
        &mirror,
        &policy,
        &log,
        "main",
        "web",
        "production",
        Some("v0.9.0"),
    )
    .expect("named");
    assert_eq!(
        named.changes[0].image.to_string(),
        "registry.example.com/eap/website:v0.9.0"
    );
    let unknown = gitops::rollback(
        &mirror,
        &policy,
        &log,
        "main",
        "web",
        "production",
        Some("v9.9.9"),
    )
    .expect_err("unknown");
    let text = unknown.to_string();
    assert!(
        text.contains("`v9.9.9` never ran for web in production"),
        "{text}"
    );
    assert!(
        text.contains("registry.example.com/eap/website:v1.1.0"),
        "{text}"
    );
}

#[test]
fn commits_can_be_signed_with_an_ssh_key_that_git_verifies() {
    let fixture = Fixture::example();
    let key = fixture.dir.path().join("ferry_signing");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ferry", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let allowed = fixture.dir.path().join("allowed_signers");
    std::fs::write(&allowed, format!("ferry@localhost {public}")).expect("allowed signers");

    let settings = CommitSettings {
        signing_key: Some(key.clone()),
        ..CommitSettings::default()
    };
    let mirror = mirror(&fixture);
    gitops::land(
        &mirror,
        &settings,
        &Retry::default(),
        "main",
        "main",
        &promotion("web", "staging", "registry.example.com/eap/website:signed"),
    )
    .expect("land");
    let verify = std::process::Command::new("git")
        .args(["-c", "gpg.format=ssh", "-c"])
        .arg(format!("gpg.ssh.allowedSignersFile={}", allowed.display()))
        .args(["verify-commit", "main"])
        .current_dir(&fixture.remote)
        .output()
        .expect("git verify-commit runs");
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{said}");
    assert!(
        said.contains("Good \"git\" signature for ferry@localhost"),
        "{said}"
    );

    // An unsigned commit does not verify: the check above can fail.
    land_on(
        &mirror,
        "main",
        &promotion(
            "web",
            "staging",
            "registry.example.com/eap/website:unsigned",
        ),
    );
    let unsigned = std::process::Command::new("git")
        .args(["verify-commit", "main"])
        .current_dir(&fixture.remote)
        .output()
        .expect("git runs");
    assert!(!unsigned.status.success());
}

#[test]
fn pushes_over_smart_http_with_a_token_and_refuses_a_wrong_one_clearly() {
    let fixture = Fixture::example();
    let root = fixture.dir.path().to_path_buf();
    let address = git_support::http::serve(root, "oauth2", "s3cret-token");
    let url = format!("http://{address}/remote.git");
    let token = |t: &str| Auth::Token {
        user: "oauth2".into(),
        token: SecretString::from(t.to_owned()),
    };

    let mirror = Mirror::open(
        &fixture.data_dir(),
        Remote::new(url.clone(), token("s3cret-token")),
    )
    .expect("mirror");
    let Outcome::Landed { commit, .. } = land_on(
        &mirror,
        "main",
        &promotion(
            "web",
            "staging",
            "registry.example.com/eap/website:over-http",
        ),
    ) else {
        panic!("landed");
    };
    assert_eq!(fixture.rev("main"), commit.to_string());
    // And a race over HTTP is caught by the server's old-value check.
    let race = RaceOnce {
        inner: promotion("api", "staging", "registry.example.com/eap/api:over-http"),
        fixture: &fixture,
        raced: Cell::new(false),
        prepared: Cell::new(0),
    };
    let Outcome::Landed { attempts, .. } = land_on(&mirror, "main", &race) else {
        panic!("landed")
    };
    assert_eq!(attempts, 2);
    assert!(fixture.show("main", WEB_PRODUCTION).contains("v0.9.1"));
    drop(mirror);

    let wrong = Mirror::open(
        &fixture.data_dir().join("other"),
        Remote::new(url, token("wrong")),
    )
    .expect("mirror");
    let error = wrong.fetch().expect_err("refused");
    let text = error.to_string();
    assert!(text.contains("refused Ferry's credentials"), "{text}");
    assert!(!text.contains("wrong"), "the token is not echoed: {text}");
}

/// Writes `count` files under `wide/`, one commit.
struct ManyFiles {
    count: usize,
    round: usize,
}

impl Change for ManyFiles {
    fn prepare(
        &self,
        _repo: &Repository,
        _target: &Tree<'_>,
        _onto: &Tree<'_>,
    ) -> Result<Option<Prepared>, GitOpsError> {
        Ok(Some(Prepared {
            writes: (0..self.count)
                .map(|i| ferry::gitops::tree::FileWrite {
                    path: format!("wide/s{i:03}/overlay/kustomization.yaml"),
                    content: format!("round {} file {i}\n", self.round).into_bytes(),
                })
                .collect(),
            message: format!("Wide change {}", self.round),
        }))
    }
}

fn packs(objects: &Path) -> usize {
    std::fs::read_dir(objects.join("pack"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
                .count()
        })
        .unwrap_or(0)
}

fn pack_indexes(objects: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(objects.join("pack"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|path| path.extension().is_some_and(|x| x == "idx"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn wide_commits_travel_as_one_pack_and_small_ones_as_loose_objects_both_complete() {
    let fixture = Fixture::example();
    let mirror = mirror(&fixture);
    let remote_objects = fixture.remote.join("objects");
    let remote_packs = packs(&remote_objects);
    mirror.fetch().expect("fetch");
    let mirror_packs = pack_indexes(&mirror.dir().join("objects"));

    // 300 files: about 900 new objects, one pack in the remote.
    let wide = land_on(
        &mirror,
        "main",
        &ManyFiles {
            count: 300,
            round: 1,
        },
    );
    assert!(matches!(wide, Outcome::Landed { .. }), "{wide:?}");
    assert_eq!(packs(&remote_objects), remote_packs + 1);
    // In the mirror too, one pack of exactly the new objects: 300 files, the 300 + 300 trees
    // above them, `wide/`, the root and the commit; nothing the repository already had.
    let new_packs: Vec<_> = pack_indexes(&mirror.dir().join("objects"))
        .into_iter()
        .filter(|index| !mirror_packs.contains(index))
        .collect();
    assert_eq!(new_packs.len(), 1, "{new_packs:?}");
    let listed = std::process::Command::new("git")
        .arg("show-index")
        .stdin(std::fs::File::open(&new_packs[0]).expect("index"))
        .output()
        .expect("git show-index");
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 903);
    // A small promotion after it: loose objects, no new pack.
    let small = land_on(
        &mirror,
        "main",
        &promotion(
            "web",
            "staging",
            "registry.example.com/eap/website:release-2.0.0.abcdef0",
        ),
    );
    assert!(matches!(small, Outcome::Landed { .. }), "{small:?}");
    assert_eq!(packs(&remote_objects), remote_packs + 1);

    // Everything is there and sound, in the remote and in a fresh clone.
    let fsck = std::process::Command::new("git")
        .args(["fsck", "--full", "--strict"])
        .current_dir(&fixture.remote)
        .output()
        .expect("git fsck");
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    assert_eq!(
        fixture.show("main", "wide/s299/overlay/kustomization.yaml"),
        "round 1 file 299\n"
    );
    // The mirror, reopened from disk, reads the wide commit (its pack was written to disk).
    drop(mirror);
    let reopened = self::mirror(&fixture);
    let again = land_on(
        &reopened,
        "main",
        &ManyFiles {
            count: 300,
            round: 1,
        },
    );
    assert!(matches!(again, Outcome::Unchanged { .. }), "{again:?}");
    let next = land_on(
        &reopened,
        "main",
        &ManyFiles {
            count: 300,
            round: 2,
        },
    );
    assert!(matches!(next, Outcome::Landed { .. }), "{next:?}");
    assert_eq!(
        fixture.show("main", "wide/s000/overlay/kustomization.yaml"),
        "round 2 file 0\n"
    );
}
