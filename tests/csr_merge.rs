//! The merged-CSR decision: which files to commit, or why nothing is signed.

mod csr_support;

use std::collections::BTreeMap;

use ::time::OffsetDateTime;
use csr_support::*;
use ferry::csr::ca::Ca;
use ferry::csr::ledger;
use ferry::csr::merge::{MergedCsr, Refusal, RepoFile, files_for_merged};

fn cas() -> (BTreeMap<String, Ca>, BTreeMap<String, TestCa>) {
    let mut loaded = BTreeMap::new();
    let mut raw = BTreeMap::new();
    for cluster in ["integration", "production"] {
        let ca = TestCa::new(p256(), 3650);
        loaded.insert(cluster.to_owned(), ca.load());
        raw.insert(cluster.to_owned(), ca);
    }
    (loaded, raw)
}

fn merged<'a>(csr: &'a [u8], request: Option<&'a str>) -> MergedCsr<'a> {
    MergedCsr {
        username: "alice",
        csr,
        request,
        merge_request: "!17",
        author: "alice",
        merged_by: "carol",
    }
}

fn file<'a>(files: &'a [RepoFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .contents
}

#[test]
fn merged_request_yields_cert_kubeconfig_and_ledger_per_cluster() {
    let (cas, raw) = cas();
    let csr = CsrSpec::new(p256(), "alice", &["developers", "sre"]).pem();
    let request =
        "clusters:\n  integration: { groups: [developers] }\n  production: { groups: [sre] }\n";
    let existing = format!("{}\n", ledger::HEADER);
    let ledgers: BTreeMap<String, String> = [("integration".to_owned(), existing)].into();
    let files = files_for_merged(
        &merged(&csr, Some(request)),
        &policy(),
        &cas,
        &ledgers,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "certs/integration/alice.crt",
            "kubeconfigs/integration/alice.yaml",
            "ledger/integration.tsv",
            "certs/production/alice.crt",
            "kubeconfigs/production/alice.yaml",
            "ledger/production.tsv",
        ]
    );
    for cluster in ["integration", "production"] {
        let cert = file(&files, &format!("certs/{cluster}/alice.crt"));
        let ca_pem = &raw[cluster].cert_pem;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
        let status = std::process::Command::new("openssl")
            .args([
                "verify",
                "-x509_strict",
                "-purpose",
                "sslclient",
                "-CAfile",
                "ca.pem",
                "cert.pem",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{cluster}: {}",
            String::from_utf8_lossy(&status.stderr)
        );

        let kubeconfig = file(&files, &format!("kubeconfigs/{cluster}/alice.yaml"));
        assert!(kubeconfig.contains(&openssl::base64::encode_block(cert.as_bytes())));
        assert!(kubeconfig.contains("client-key: \"alice.key\""));
        assert!(!kubeconfig.contains("PRIVATE") && !kubeconfig.contains("client-key-data"));

        let entries =
            ledger::parse(file(&files, &format!("ledger/{cluster}.tsv")), cluster).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].common_name, "alice");
        assert_eq!(entries[0].merge_request, "!17");
        assert_eq!(entries[0].merged_by, "carol");
        let x509 = openssl::x509::X509::from_pem(cert.as_bytes()).unwrap();
        let serial = x509
            .serial_number()
            .to_bn()
            .unwrap()
            .to_hex_str()
            .unwrap()
            .to_string();
        assert_eq!(entries[0].serial_hex, serial);
    }
    let groups = |cluster: &str| {
        ledger::parse(file(&files, &format!("ledger/{cluster}.tsv")), cluster).unwrap()[0]
            .groups
            .clone()
    };
    assert_eq!(groups("integration"), ["developers"]);
    assert_eq!(groups("production"), ["sre"]);
}

#[test]
fn the_author_cannot_merge_their_own_request() {
    let (cas, _) = cas();
    let csr = valid_csr();
    let mut mr = merged(&csr, Some("clusters: { integration: {} }"));
    mr.merged_by = "alice";
    let result = files_for_merged(
        &mr,
        &policy(),
        &cas,
        &BTreeMap::new(),
        OffsetDateTime::now_utc(),
    );
    assert!(
        matches!(result, Err(Refusal::SelfMerge(ref who)) if who == "alice"),
        "{result:?}"
    );
}

#[test]
fn nobody_can_request_for_someone_else() {
    let (cas, _) = cas();
    let csr = valid_csr();
    let mut mr = merged(&csr, Some("clusters: { integration: {} }"));
    mr.author = "bob";
    let result = files_for_merged(
        &mr,
        &policy(),
        &cas,
        &BTreeMap::new(),
        OffsetDateTime::now_utc(),
    );
    assert!(
        matches!(result, Err(Refusal::NotTheirOwn { .. })),
        "{result:?}"
    );
}

#[test]
fn a_rejected_csr_signs_nothing() {
    let (cas, _) = cas();
    // Without a request file every cluster is asked for, and developers is refused on production.
    let csr = valid_csr();
    let result = files_for_merged(
        &merged(&csr, None),
        &policy(),
        &cas,
        &BTreeMap::new(),
        OffsetDateTime::now_utc(),
    );
    let Err(Refusal::Rejected(report)) = result else {
        panic!("{result:?}")
    };
    assert!(report.cluster("integration").unwrap().accepted());
    assert!(!report.cluster("production").unwrap().accepted());
}

#[test]
fn request_problems_and_missing_cas_are_refusals() {
    let (mut cas, _) = cas();
    let csr = valid_csr();
    let now = OffsetDateTime::now_utc();
    let unknown = files_for_merged(
        &merged(&csr, Some("clusters: { staging: {} }")),
        &policy(),
        &cas,
        &BTreeMap::new(),
        now,
    );
    assert!(
        matches!(unknown, Err(Refusal::BadRequest(ref m)) if m.contains("staging")),
        "{unknown:?}"
    );
    let malformed = files_for_merged(
        &merged(&csr, Some("clusters: [")),
        &policy(),
        &cas,
        &BTreeMap::new(),
        now,
    );
    assert!(
        matches!(malformed, Err(Refusal::BadRequest(ref m)) if m.starts_with("csr/alice.yaml:")),
        "{malformed:?}"
    );
    cas.remove("integration");
    let missing = files_for_merged(
        &merged(&csr, Some("clusters: { integration: {} }")),
        &policy(),
        &cas,
        &BTreeMap::new(),
        now,
    );
    assert!(matches!(missing, Err(Refusal::MissingCa(_))), "{missing:?}");
}
