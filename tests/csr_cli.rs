//! `ferry csr ...` on the real binary: output formats, exit codes, files written.

mod csr_support;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use csr_support::*;
use tempfile::TempDir;

struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("csr.yaml"), POLICY).unwrap();
        let ca = TestCa::new(p256(), 3650);
        std::fs::write(dir.path().join("ca.pem"), &ca.cert_pem).unwrap();
        std::fs::write(dir.path().join("ca.key"), ca.key_traditional_pem()).unwrap();
        std::fs::write(dir.path().join("alice.csr"), valid_csr()).unwrap();
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ferry(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("ferry")
            .unwrap()
            .current_dir(self.dir.path())
            .args(args)
            .assert()
    }
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

#[test]
fn check_json_reports_per_cluster_verdicts() {
    let fx = Fixture::new();
    let run = fx
        .ferry(&[
            "csr",
            "check",
            "alice.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--format",
            "json",
        ])
        .code(1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(json["accepted"], false);
    let clusters = json["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2);
    assert_eq!(clusters[0]["cluster"], "integration");
    assert_eq!(clusters[0]["accepted"], true);
    assert_eq!(clusters[0]["violations"], serde_json::json!([]));
    assert_eq!(clusters[1]["cluster"], "production");
    assert_eq!(clusters[1]["accepted"], false);
    assert_eq!(clusters[1]["violations"][0]["rule"], "csr.groups");
    assert!(
        clusters[1]["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("developers")
    );

    let run = fx
        .ferry(&[
            "csr",
            "check",
            "alice.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--cluster",
            "integration",
            "--format",
            "json",
        ])
        .code(0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"accepted": true, "clusters": [{"cluster": "integration", "accepted": true, "violations": []}]})
    );
}

#[test]
fn check_text_lists_every_violation() {
    let fx = Fixture::new();
    let bad = CsrSpec::new(rsa_key(1024), "bob", &["system:masters"]).pem();
    std::fs::write(fx.path("bad.csr"), bad).unwrap();
    let run = fx
        .ferry(&[
            "csr",
            "check",
            "bad.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--cluster",
            "integration",
        ])
        .code(1);
    let out = stdout(&run);
    assert!(out.starts_with("integration: rejected\n"), "{out}");
    for rule in ["csr.key", "csr.identity", "csr.reserved"] {
        assert!(
            out.contains(&format!("  {rule}: ")),
            "{rule} missing in {out}"
        );
    }
}

#[test]
fn usage_and_input_errors_exit_2() {
    let fx = Fixture::new();
    let run = fx
        .ferry(&[
            "csr",
            "check",
            "missing.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
        ])
        .code(2);
    assert!(stderr(&run).contains("missing.csr"));
    let run = fx
        .ferry(&[
            "csr",
            "check",
            "alice.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--cluster",
            "staging",
        ])
        .code(2);
    assert!(stderr(&run).contains("staging"));
    std::fs::write(
        fx.path("broken.yaml"),
        POLICY.replace("max_ttl: 30d", "max_ttl: 30d\n    colour: blue"),
    )
    .unwrap();
    let run = fx
        .ferry(&[
            "csr",
            "check",
            "alice.csr",
            "--policy",
            "broken.yaml",
            "--requester",
            "alice",
        ])
        .code(2);
    assert!(
        stderr(&run).contains("broken.yaml:12:5: unknown field `colour`"),
        "{}",
        stderr(&run)
    );
    fx.ferry(&["csr", "check", "alice.csr"]).code(2);
    fx.ferry(&["csr", "expiring", "--ledger", "nowhere", "--within", "14d"])
        .code(2);
    fx.ferry(&["csr", "expiring", "--ledger", ".", "--within", "soon"])
        .code(2);
}

#[test]
fn garbage_csr_is_rejected_not_crashed() {
    let fx = Fixture::new();
    for (name, bytes) in [
        ("zero.csr", vec![0u8; 5000]),
        ("huge.csr", vec![b'A'; 1 << 20]),
        ("text.csr", b"hi".to_vec()),
    ] {
        std::fs::write(fx.path(name), bytes).unwrap();
        let run = fx
            .ferry(&[
                "csr",
                "check",
                name,
                "--policy",
                "csr.yaml",
                "--requester",
                "alice",
                "--format",
                "json",
            ])
            .code(1);
        let json: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
        assert_eq!(
            json["clusters"][0]["violations"][0]["rule"], "csr.pem",
            "{name}"
        );
    }
}

fn openssl_verify(dir: &Path, cert: &str) -> bool {
    Process::new("openssl")
        .args([
            "verify",
            "-x509_strict",
            "-purpose",
            "sslclient",
            "-CAfile",
            "ca.pem",
            cert,
        ])
        .current_dir(dir)
        .status()
        .unwrap()
        .success()
}

#[test]
fn sign_writes_a_verified_certificate_and_a_kubeconfig() {
    let fx = Fixture::new();
    let run = fx
        .ferry(&[
            "csr",
            "sign",
            "alice.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--cluster",
            "integration",
            "--ca-cert",
            "ca.pem",
            "--ca-key",
            "ca.key",
            "--out",
            "alice.crt",
            "--ttl",
            "7d",
            "--kubeconfig",
            "alice.yaml",
        ])
        .code(0);
    assert!(stdout(&run).contains("signed alice for cluster integration"));
    assert!(openssl_verify(fx.dir.path(), "alice.crt"));
    let kubeconfig = std::fs::read_to_string(fx.path("alice.yaml")).unwrap();
    assert!(kubeconfig.contains("server: \"https://integration.k8s.example.com:6443\""));
    assert!(!kubeconfig.contains("PRIVATE"));
    let key = std::fs::read_to_string(fx.path("ca.key")).unwrap();
    assert!(!stdout(&run).contains(&key) && !stderr(&run).contains("PRIVATE"));
}

#[test]
fn sign_takes_the_ca_key_from_an_environment_variable() {
    let fx = Fixture::new();
    let key = std::fs::read_to_string(fx.path("ca.key")).unwrap();
    Command::cargo_bin("ferry")
        .unwrap()
        .current_dir(fx.dir.path())
        .env("FERRY_TEST_CA_KEY", key)
        .args([
            "csr",
            "sign",
            "alice.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--cluster",
            "integration",
            "--ca-cert",
            "ca.pem",
            "--ca-key-env",
            "FERRY_TEST_CA_KEY",
            "--out",
            "alice.crt",
        ])
        .assert()
        .code(0);
    assert!(openssl_verify(fx.dir.path(), "alice.crt"));
}

#[test]
fn sign_refuses_what_check_rejects() {
    let fx = Fixture::new();
    let run = fx
        .ferry(&[
            "csr",
            "sign",
            "alice.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--cluster",
            "production",
            "--ca-cert",
            "ca.pem",
            "--ca-key",
            "ca.key",
            "--out",
            "alice.crt",
        ])
        .code(1);
    assert!(stdout(&run).contains("csr.groups"));
    assert!(!fx.path("alice.crt").exists());
    let run = fx
        .ferry(&[
            "csr",
            "sign",
            "alice.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--cluster",
            "integration",
            "--ca-cert",
            "ca.pem",
            "--ca-key",
            "ca.key",
            "--out",
            "alice.crt",
            "--ttl",
            "91d",
        ])
        .code(2);
    assert!(stderr(&run).contains("max_ttl 90d"));
    assert!(!fx.path("alice.crt").exists());
    let run = fx
        .ferry(&[
            "csr",
            "sign",
            "alice.csr",
            "--policy",
            "csr.yaml",
            "--requester",
            "alice",
            "--cluster",
            "integration",
            "--ca-cert",
            "ca.pem",
            "--ca-key",
            "alice.csr",
            "--out",
            "alice.crt",
        ])
        .code(2);
    assert!(stderr(&run).contains("CA key"), "{}", stderr(&run));
}

#[test]
fn expiring_lists_certificates_due_for_renewal() {
    let fx = Fixture::new();
    let ledger_dir = fx.path("ledger");
    std::fs::create_dir(&ledger_dir).unwrap();
    let soon = (::time::OffsetDateTime::now_utc() + ::time::Duration::days(3))
        .format(&::time::format_description::well_known::Rfc3339)
        .unwrap();
    let later = (::time::OffsetDateTime::now_utc() + ::time::Duration::days(60))
        .format(&::time::format_description::well_known::Rfc3339)
        .unwrap();
    let text = format!(
        "{}\nAA01\talice\tdevelopers\t2026-01-01T00:00:00Z\t{soon}\t!1\tcarol\nAA02\tbob\tqa\t2026-01-01T00:00:00Z\t{later}\t!2\tcarol\n",
        ferry::csr::ledger::HEADER
    );
    std::fs::write(ledger_dir.join("integration.tsv"), text).unwrap();
    let run = fx
        .ferry(&["csr", "expiring", "--ledger", "ledger", "--within", "14d"])
        .code(0);
    let out = stdout(&run);
    assert!(
        out.starts_with("integration\talice\tAA01\texpires "),
        "{out}"
    );
    assert!(!out.contains("bob"));
    let run = fx
        .ferry(&[
            "csr", "expiring", "--ledger", "ledger", "--within", "90d", "--format", "json",
        ])
        .code(0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    std::fs::write(ledger_dir.join("production.tsv"), "garbage line\n").unwrap();
    let run = fx
        .ferry(&["csr", "expiring", "--ledger", "ledger", "--within", "14d"])
        .code(2);
    assert!(
        stderr(&run).contains("production.tsv:1:"),
        "{}",
        stderr(&run)
    );
}
