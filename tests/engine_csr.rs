//! Certificates by merge request, end to end on GitLab: a person opens a merge request with
//! `csr/<username>.csr`; Ferry checks it (`ferry/csr` and the status comment); once someone
//! else merges it, Ferry commits one certificate, kubeconfig and ledger line per cluster.
//! Signed webhooks go to the real server, the real adapter talks to the fake GitLab, merges
//! are real git merges, and certificates are checked with the real `openssl verify`.

mod csr_support;
mod engine_support;
#[allow(dead_code)]
mod git_support;
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use csr_support::{CsrSpec, TestCa, p256, rsa_key};
use engine_support::{GITOPS, World, gitops_repo, world};
use ferry::csr::ca::CaKeySource;
use ferry::engine::CsrSettings;
use git_support::git;
use support::gitlab_hooks::{MrAction, merge_request_from};

/// A world whose GitOps repository has both clusters' CA certificates and whose Ferry has
/// their keys: integration an RSA CA (PKCS#1 key file), production a P-256 CA (PKCS#8).
struct CsrWorld {
    w: World,
    ca_files: Vec<(String, PathBuf)>,
}

async fn csr_world() -> CsrWorld {
    csr_world_renewing(None).await
}

async fn csr_world_renewing(renew_within: Option<&str>) -> CsrWorld {
    let integration = TestCa::new(rsa_key(2048), 365);
    let production = TestCa::new(p256(), 365);
    let fixture = gitops_repo(|seed| {
        std::fs::create_dir_all(seed.join("ca")).expect("ca dir");
        std::fs::write(seed.join("ca/integration.crt"), &integration.cert_pem).expect("ca");
        std::fs::write(seed.join("ca/production.crt"), &production.cert_pem).expect("ca");
    });
    let keys = fixture.dir.path().join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let mut settings = CsrSettings {
        renew_within: renew_within.map(|text| text.parse().expect("window")),
        ..CsrSettings::default()
    };
    let mut ca_files = Vec::new();
    for (cluster, ca, key) in [
        (
            "integration",
            &integration,
            integration.key_traditional_pem(),
        ),
        ("production", &production, production.key_pkcs8_pem()),
    ] {
        let key_path = keys.join(format!("{cluster}.key"));
        std::fs::write(&key_path, key).expect("key");
        let cert_path = keys.join(format!("{cluster}.crt"));
        std::fs::write(&cert_path, &ca.cert_pem).expect("cert");
        settings
            .ca_keys
            .insert(cluster.to_owned(), CaKeySource::File(key_path));
        ca_files.push((cluster.to_owned(), cert_path));
    }
    CsrWorld {
        w: world(fixture, settings).await,
        ca_files,
    }
}

/// alice's request: developers on integration, sre on production.
fn alice_request() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "csr/alice.csr",
            CsrSpec::new(p256(), "alice", &["developers", "sre"]).pem(),
        ),
        (
            "csr/alice.yaml",
            b"clusters:\n  integration: { groups: [developers] }\n  production: { groups: [sre] }\n"
                .to_vec(),
        ),
    ]
}

impl CsrWorld {
    /// Pushes `files` on a new branch as `author` and opens a merge request from it.
    async fn open_request(&self, author: u64, branch: &str, files: &[(&str, Vec<u8>)]) -> u64 {
        let w = &self.w;
        let files: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(path, content)| (*path, content.as_slice()))
            .collect();
        w.fixture
            .push_branch(branch, &files, "Request a certificate");
        let iid = w
            .fake
            .open_mr_from_branch(GITOPS, author, branch, "main", "Certificate request");
        w.post(&merge_request_from(
            &w.fake,
            GITOPS,
            iid,
            &MrAction::Open,
            &w.who(author),
        ))
        .await;
        iid
    }

    /// `merger` presses "Merge"; GitLab sends the merge webhook.
    async fn merge(&self, iid: u64, merger: u64, token: &str) -> serde_json::Value {
        let w = &self.w;
        w.merge_as(token, iid).await;
        let hook = merge_request_from(&w.fake, GITOPS, iid, &MrAction::Merge, &w.who(merger));
        w.post(&hook).await;
        hook
    }

    fn certificate_commits(&self) -> usize {
        git(
            &self.w.fixture.remote,
            &[
                "log",
                "main",
                "--format=%(trailers:key=Ferry-Action,valueonly)",
            ],
        )
        .lines()
        .filter(|line| line.trim() == "certificate")
        .count()
    }

    fn on_main(&self, path: &str) -> Option<String> {
        let spec = format!("main:{path}");
        let output = Command::new("git")
            .args(["cat-file", "-p", &spec])
            .current_dir(&self.w.fixture.remote)
            .output()
            .expect("git runs");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

fn openssl(args: &[&str]) -> (bool, String) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_csr_is_checked_then_signed_once_after_someone_else_merges() {
    let cw = csr_world().await;
    let w = &cw.w;
    let iid = cw
        .open_request(w.alice, "alice-cert", &alice_request())
        .await;
    let head = w.fake.mr(GITOPS, iid).sha;
    assert_eq!(w.status(&head, "ferry/csr").as_deref(), Some("success"));
    // The CSR files are the certificate flow's to check, not stray files for the policy.
    assert_eq!(w.status(&head, "ferry/policy").as_deref(), Some("success"));
    let comment = w.status_comment(iid);
    assert!(comment.contains("**Policy:** passes."), "{comment}");
    assert!(
        comment.contains("- `integration`: accepted, groups: `developers`"),
        "{comment}"
    );
    assert!(
        comment.contains("- `production`: accepted, groups: `sre`"),
        "{comment}"
    );
    assert!(
        comment.contains("Once someone other than @alice merges"),
        "{comment}"
    );
    assert_eq!(
        cw.on_main("ledger/integration.tsv"),
        None,
        "nothing signed yet"
    );

    let hook = cw.merge(iid, w.carol, "glpat-carol").await;
    assert_eq!(cw.certificate_commits(), 1);
    let tip = git(&w.fixture.remote, &["log", "-1", "--format=%B", "main"]);
    assert!(
        tip.starts_with("Issue client certificates for alice: integration, production"),
        "{tip}"
    );
    let work = w.fixture.dir.path().join("verify");
    std::fs::create_dir_all(&work).expect("dir");
    for (cluster, ca) in &cw.ca_files {
        let cert = cw
            .on_main(&format!("certs/{cluster}/alice.crt"))
            .expect("certificate committed");
        let cert_path = work.join(format!("{cluster}.crt"));
        std::fs::write(&cert_path, &cert).expect("write");
        let (ok, said) = openssl(&[
            "verify",
            "-x509_strict",
            "-purpose",
            "sslclient",
            "-CAfile",
            path_str(ca),
            path_str(&cert_path),
        ]);
        assert!(ok && said.contains(": OK"), "{cluster}: {said}");
        let (_, subject) = openssl(&[
            "x509",
            "-in",
            path_str(&cert_path),
            "-noout",
            "-subject",
            "-serial",
        ]);
        let group = if cluster == "integration" {
            "developers"
        } else {
            "sre"
        };
        assert!(subject.contains(&format!("O = {group}")), "{subject}");
        assert!(subject.contains("CN = alice"), "{subject}");
        let serial = subject
            .lines()
            .find_map(|l| l.strip_prefix("serial="))
            .expect("serial")
            .trim()
            .to_owned();
        assert!(
            tip.contains(&format!("Ferry-Certificate: {cluster} {serial}")),
            "{tip}"
        );

        let kubeconfig = cw
            .on_main(&format!("kubeconfigs/{cluster}/alice.yaml"))
            .expect("kubeconfig committed");
        assert!(
            kubeconfig.contains("client-key: \"alice.key\""),
            "{kubeconfig}"
        );
        assert!(!kubeconfig.contains("PRIVATE KEY") && !kubeconfig.contains("client-key-data"));
        let ledger = cw
            .on_main(&format!("ledger/{cluster}.tsv"))
            .expect("ledger committed");
        let line = ledger.lines().nth(1).expect("one entry");
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[0], serial);
        assert_eq!(&fields[1..3], ["alice", group]);
        assert_eq!(&fields[5..], [format!("{GITOPS}!{iid}").as_str(), "carol"]);
    }
    for trailer in [
        format!("Ferry-Merge-Request: {GITOPS}!{iid}"),
        "Ferry-Requested-By: alice".to_owned(),
        "Ferry-Approved-By: carol".to_owned(),
    ] {
        assert!(tip.contains(&trailer), "{trailer} in {tip}");
    }
    let comment = w.status_comment(iid);
    assert!(
        comment.contains("**Certificates:** issued in commit"),
        "{comment}"
    );
    assert!(
        comment.contains("`certs/production/alice.crt`"),
        "{comment}"
    );

    // The merge webhook again (a new delivery, not a duplicate the intake drops): the change
    // finds this merge request in the ledgers and commits nothing.
    let main_before = w.fixture.rev("main");
    w.post(&hook).await;
    assert_eq!(w.fixture.rev("main"), main_before);
    assert_eq!(cw.certificate_commits(), 1);
    assert!(
        w.status_comment(iid).contains("already issued"),
        "{}",
        w.status_comment(iid)
    );

    // The promotion audit reads past the certificate commit.
    let output = Command::new(assert_cmd::cargo::cargo_bin!("ferry"))
        .args(["audit", "--repo", path_str(&w.fixture.remote)])
        .args(["--data-dir", path_str(&w.fixture.dir.path().join("audit"))])
        .args(["--format", "json"])
        .output()
        .expect("ferry runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The seed commit's overlays are its records; the certificate commit adds none.
    assert!(stdout.contains("\"action\": \"manual\""), "{stdout}");
    assert!(!stdout.contains(&main_before), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_csr_fails_with_rule_ids_and_fixes() {
    let cw = csr_world().await;
    let w = &cw.w;
    // bob may ask for qa only; system:masters is never granted.
    let csr = CsrSpec::new(p256(), "bob", &["qa", "sre", "system:masters"]).pem();
    let iid = cw
        .open_request(w.bob, "bob-cert", &[("csr/bob.csr", csr)])
        .await;
    let head = w.fake.mr(GITOPS, iid).sha;
    assert_eq!(w.status(&head, "ferry/csr").as_deref(), Some("failed"));
    let status = w
        .fake
        .statuses(GITOPS, &head)
        .into_iter()
        .rfind(|s| s.name == "ferry/csr")
        .expect("status");
    assert!(
        status
            .description
            .as_deref()
            .is_some_and(|d| d.contains("csr.groups") && d.contains("csr.reserved")),
        "{status:?}"
    );
    let comment = w.status_comment(iid);
    assert!(comment.contains("- `integration`: rejected"), "{comment}");
    assert!(comment.contains("- `production`: rejected"), "{comment}");
    assert!(
        comment.contains("[csr.reserved] O `system:masters` is a reserved group"),
        "{comment}"
    );
    assert!(
        comment.contains(
            "[csr.groups] user `bob` may not ask for group `sre`; remove `/O=sre` or ask an admin"
        ),
        "{comment}"
    );

    // Someone asking in another person's name is refused, whatever the CSR says.
    let iid = cw
        .open_request(w.bob, "bob-for-alice", &alice_request())
        .await;
    let head = w.fake.mr(GITOPS, iid).sha;
    assert_eq!(w.status(&head, "ferry/csr").as_deref(), Some("failed"));
    let comment = w.status_comment(iid);
    assert!(
        comment.contains("csr/alice.csr was submitted by `bob`; only `alice` may request"),
        "{comment}"
    );
    assert!(comment.contains("[csr.identity]"), "{comment}");

    // Merged anyway, by someone else: still nothing is signed, and the comment says why.
    cw.merge(iid, w.carol, "glpat-carol").await;
    assert_eq!(cw.certificate_commits(), 0);
    let comment = w.status_comment(iid);
    assert!(
        comment.contains("**Certificates:** nothing was signed."),
        "{comment}"
    );
    assert!(comment.contains("submitted by `bob`"), "{comment}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_merging_their_own_csr_gets_nothing_signed() {
    let cw = csr_world().await;
    let w = &cw.w;
    let iid = cw
        .open_request(w.alice, "alice-cert", &alice_request())
        .await;
    let head = w.fake.mr(GITOPS, iid).sha;
    assert_eq!(w.status(&head, "ferry/csr").as_deref(), Some("success"));
    cw.merge(iid, w.alice, "glpat-alice").await;
    assert_eq!(cw.certificate_commits(), 0);
    for path in [
        "certs/integration/alice.crt",
        "kubeconfigs/production/alice.yaml",
        "ledger/integration.tsv",
    ] {
        assert_eq!(cw.on_main(path), None, "{path}");
    }
    let comment = w.status_comment(iid);
    assert!(
        comment.contains(
            "nothing was signed. `alice` both wrote and merged this request; someone else must review and merge it"
        ),
        "{comment}"
    );
    // A later command on the merged merge request keeps the reason in the comment.
    let note = w.fake.add_note(GITOPS, iid, w.bob, "/ferry help", false);
    w.post(&support::gitlab_hooks::note_from(
        &w.fake, GITOPS, iid, note, false,
    ))
    .await;
    let comment = w.status_comment(iid);
    assert!(comment.contains("both wrote and merged"), "{comment}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_ending_soon_get_one_renewal_that_someone_else_must_merge() {
    let cw = csr_world_renewing(Some("14d")).await;
    let w = &cw.w;
    let iid = cw
        .open_request(w.alice, "alice-cert", &alice_request())
        .await;
    cw.merge(iid, w.carol, "glpat-carol").await;
    assert_eq!(cw.certificate_commits(), 1);
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(
        w.engine.renew_certificates(now).await.expect("renew"),
        [],
        "nothing ends within 14 days of the signing"
    );

    // 80 days on: integration (90 days) ends within the window, production (30) has ended.
    let later = now + time::Duration::days(80);
    let opened = w.engine.renew_certificates(later).await.expect("renew");
    assert_eq!(
        opened.len(),
        1,
        "one renewal for alice, naming both clusters"
    );
    let renewal = w.fake.mr(GITOPS, opened[0].0);
    assert_eq!(renewal.source_branch, "ferry/renew/alice");
    assert_eq!(
        renewal.title,
        "Renew the client certificates of alice for integration, production"
    );
    assert_eq!(renewal.author_id, w.bot);
    let request = git(
        &w.fixture.remote,
        &["show", "ferry/renew/alice:csr/alice.yaml"],
    );
    assert!(
        request.contains("'integration': { groups: ['developers'] }")
            && request.contains("'production': { groups: ['sre'] }"),
        "{request}"
    );
    // The same rules as alice's own request: checked on the head, for alice.
    assert_eq!(
        w.status(&renewal.sha, "ferry/csr").as_deref(),
        Some("success"),
        "{}",
        w.status_comment(renewal.iid)
    );
    assert!(
        w.status_comment(renewal.iid)
            .contains("Once someone other than @alice merges"),
        "{}",
        w.status_comment(renewal.iid)
    );
    assert!(
        w.engine
            .renew_certificates(later)
            .await
            .expect("renew")
            .is_empty(),
        "an open renewal is not opened twice"
    );

    cw.merge(renewal.iid, w.bob, "glpat-bob").await;
    assert_eq!(
        cw.certificate_commits(),
        2,
        "{}",
        w.status_comment(renewal.iid)
    );
    let ledger = cw.on_main("ledger/integration.tsv").expect("ledger");
    assert_eq!(
        ledger.lines().filter(|l| l.contains("\talice\t")).count(),
        2,
        "{ledger}"
    );
    let tip = git(&w.fixture.remote, &["log", "-1", "--format=%B", "main"]);
    assert!(tip.contains("Ferry-Requested-By: alice"), "{tip}");
    assert!(tip.contains("Ferry-Approved-By: bob"), "{tip}");
    let work = w.fixture.dir.path().join("renewed");
    std::fs::create_dir_all(&work).expect("dir");
    let cert_path = work.join("integration.crt");
    std::fs::write(
        &cert_path,
        cw.on_main("certs/integration/alice.crt").expect("cert"),
    )
    .expect("write");
    let (_, integration_ca) = &cw.ca_files[0];
    let (ok, said) = openssl(&[
        "verify",
        "-x509_strict",
        "-purpose",
        "sslclient",
        "-CAfile",
        path_str(integration_ca),
        path_str(&cert_path),
    ]);
    assert!(ok, "{said}");

    // Later again: alice merging her own renewal gets nothing signed.
    let much_later = now + time::Duration::days(85);
    let opened = w
        .engine
        .renew_certificates(much_later)
        .await
        .expect("renew");
    assert_eq!(opened.len(), 1);
    cw.merge(opened[0].0, w.alice, "glpat-alice").await;
    assert_eq!(
        cw.certificate_commits(),
        2,
        "self-merged renewals sign nothing"
    );
    assert!(
        w.status_comment(opened[0].0)
            .contains("both wrote and merged"),
        "{}",
        w.status_comment(opened[0].0)
    );
}
