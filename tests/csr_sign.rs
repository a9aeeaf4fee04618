//! Certificates issued by Ferry, checked by the real `openssl verify` and read back with
//! x509-parser.

mod csr_support;

use std::path::Path;
use std::process::Command;

use ::time::OffsetDateTime;
use csr_support::*;
use ferry::csr::ca::{Ca, CaError};
use ferry::csr::check::{Approved, ClusterRequest, check_csr};
use ferry::csr::sign::{Issued, sign};
use openssl::nid::Nid;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use secrecy::SecretSlice;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::*;

fn approve(csr: &[u8], cluster: &str) -> Approved {
    let checked = check_csr(
        csr,
        &policy(),
        "alice",
        &[ClusterRequest::all_groups(cluster)],
    )
    .unwrap();
    checked
        .approved(cluster)
        .cloned()
        .unwrap_or_else(|| panic!("rejected: {}", checked.report))
}

/// Runs the real OpenSSL command; returns (success, combined output).
fn openssl_verify(ca_pem: &[u8], cert_pem: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert) = (dir.path().join("ca.pem"), dir.path().join("cert.pem"));
    std::fs::write(&ca, ca_pem).unwrap();
    std::fs::write(&cert, cert_pem).unwrap();
    let output = Command::new("openssl")
        .args(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile"])
        .arg(&ca)
        .arg(&cert)
        .output()
        .expect("openssl CLI runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn issue(ca: &TestCa, csr: &[u8], ttl: &str) -> (Issued, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    let issued = sign(
        &approve(csr, "integration"),
        &ca.load(),
        ttl.parse().unwrap(),
        now,
    )
    .unwrap();
    (issued, now)
}

fn extension_map<'a>(
    cert: &'a X509Certificate<'a>,
) -> Vec<(String, bool, &'a ParsedExtension<'a>)> {
    cert.extensions()
        .iter()
        .map(|e| (e.oid.to_id_string(), e.critical, e.parsed_extension()))
        .collect()
}

fn assert_profile(
    issued: &Issued,
    ca_pem: &[u8],
    now: OffsetDateTime,
    ttl_seconds: i64,
    rsa_subject: bool,
) {
    let (ok, output) = openssl_verify(ca_pem, issued.pem.as_bytes());
    assert!(
        ok && output.contains("OK"),
        "openssl verify failed:\n{output}"
    );

    let der = issued.cert.to_der().unwrap();
    let (_, cert) = parse_x509_certificate(&der).unwrap();
    assert_eq!(cert.version(), X509Version::V3);
    let serial = cert.raw_serial();
    assert!(
        (16..=20).contains(&serial.len()) && serial[0] & 0x80 == 0,
        "serial {serial:02x?}"
    );
    assert_eq!(
        issued.serial_hex,
        cert.raw_serial_as_string().replace(':', "").to_uppercase()
    );

    let cns: Vec<_> = cert
        .subject()
        .iter_common_name()
        .map(|a| a.as_str().unwrap())
        .collect();
    let os: Vec<_> = cert
        .subject()
        .iter_organization()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(cns, ["alice"]);
    assert_eq!(os, ["developers"]);
    assert_eq!(cert.issuer().to_string(), "CN=test cluster CA");

    let validity = cert.validity();
    assert_eq!(validity.not_before.timestamp(), now.unix_timestamp() - 300);
    assert_eq!(
        validity.not_after.timestamp(),
        now.unix_timestamp() + ttl_seconds
    );

    let extensions = extension_map(&cert);
    assert_eq!(extensions.len(), 5, "{extensions:?}");
    let ca_der = openssl::x509::X509::from_pem(ca_pem)
        .unwrap()
        .to_der()
        .unwrap();
    let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();
    let ca_ski = ca_cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
    for (oid, critical, parsed) in extensions {
        match parsed {
            ParsedExtension::BasicConstraints(bc) => assert!(critical && !bc.ca, "{oid}"),
            ParsedExtension::KeyUsage(ku) => {
                assert!(critical && ku.digital_signature());
                assert_eq!(ku.key_encipherment(), rsa_subject);
                assert!(!ku.key_cert_sign() && !ku.crl_sign());
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                assert!(!critical && eku.client_auth && !eku.server_auth && eku.other.is_empty())
            }
            ParsedExtension::SubjectKeyIdentifier(_) => assert!(!critical),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                assert_eq!(aki.key_identifier.as_ref().map(|k| k.0.to_vec()), ca_ski)
            }
            other => panic!("unexpected extension {oid}: {other:?}"),
        }
    }
}

#[test]
fn p256_ca_issues_a_client_certificate_that_openssl_verifies() {
    let ca = TestCa::new(p256(), 3650);
    let (issued, now) = issue(&ca, &valid_csr(), "30d");
    assert_profile(&issued, &ca.cert_pem, now, 30 * 86_400, false);
}

#[test]
fn rsa_ca_and_rsa_subject_key_get_key_encipherment() {
    let ca = TestCa::new(rsa_key(2048), 3650);
    let csr = CsrSpec::new(rsa_key(2048), "alice", &["developers"]).pem();
    let (issued, now) = issue(&ca, &csr, "12h");
    assert_profile(&issued, &ca.cert_pem, now, 12 * 3600, true);
}

#[test]
fn p384_ca_signs_ed25519_and_p384_keys() {
    let ca = TestCa::new(ec_key(Nid::SECP384R1), 3650);
    let csr = CsrSpec::new(ec_key(Nid::SECP384R1), "alice", &["developers"]).pem();
    let (issued, now) = issue(&ca, &csr, "1d");
    assert_profile(&issued, &ca.cert_pem, now, 86_400, false);

    let text = POLICY.replace("ed25519: false", "ed25519: true");
    let policy = ferry::csr::policy::CsrPolicy::parse(&text, Path::new("csr.yaml")).unwrap();
    let csr = CsrSpec::new(ed25519_key(), "alice", &["developers"]).pem();
    let checked = check_csr(
        &csr,
        &policy,
        "alice",
        &[ClusterRequest::all_groups("integration")],
    )
    .unwrap();
    let now = OffsetDateTime::now_utc();
    let issued = sign(
        checked.approved("integration").unwrap(),
        &ca.load(),
        "1d".parse().unwrap(),
        now,
    )
    .unwrap();
    assert_profile(&issued, &ca.cert_pem, now, 86_400, false);
}

#[test]
fn requested_extensions_are_never_copied() {
    let ca = TestCa::new(p256(), 3650);
    let csr = CsrSpec::new(p256(), "alice", &["developers"])
        .extension(BasicConstraints::new().build().unwrap())
        .extension(
            KeyUsage::new()
                .digital_signature()
                .non_repudiation()
                .key_agreement()
                .build()
                .unwrap(),
        )
        .extension(
            ExtendedKeyUsage::new()
                .client_auth()
                .server_auth()
                .code_signing()
                .build()
                .unwrap(),
        )
        .pem();
    let (issued, now) = issue(&ca, &csr, "30d");
    // assert_profile fails on any extension value other than Ferry's own profile.
    assert_profile(&issued, &ca.cert_pem, now, 30 * 86_400, false);
}

#[test]
fn validity_stops_at_the_ca_expiry() {
    let ca = TestCa::new(p256(), 10);
    let now = OffsetDateTime::now_utc();
    let issued = sign(
        &approve(&valid_csr(), "integration"),
        &ca.load(),
        "90d".parse().unwrap(),
        now,
    )
    .unwrap();
    let ca_cert = openssl::x509::X509::from_pem(&ca.cert_pem).unwrap();
    let ca_der = ca_cert.to_der().unwrap();
    let (_, parsed_ca) = parse_x509_certificate(&ca_der).unwrap();
    assert_eq!(
        issued.not_after.unix_timestamp(),
        parsed_ca.validity().not_after.timestamp()
    );
    assert!(openssl_verify(&ca.cert_pem, issued.pem.as_bytes()).0);
}

#[test]
fn serials_are_random() {
    let ca = TestCa::new(p256(), 3650);
    let approved = approve(&valid_csr(), "integration");
    let loaded = ca.load();
    let serials: std::collections::BTreeSet<String> = (0..50)
        .map(|_| {
            sign(
                &approved,
                &loaded,
                "1d".parse().unwrap(),
                OffsetDateTime::now_utc(),
            )
            .unwrap()
            .serial_hex
        })
        .collect();
    assert_eq!(serials.len(), 50);
    assert!(serials.iter().all(|s| s.len() == 32));
}

#[test]
fn openssl_verify_rejects_a_certificate_from_another_ca() {
    // Guards the verification helper itself: it must be able to fail.
    let (ca, other) = (TestCa::new(p256(), 3650), TestCa::new(p256(), 3650));
    let (issued, _) = issue(&ca, &valid_csr(), "1d");
    let (ok, output) = openssl_verify(&other.cert_pem, issued.pem.as_bytes());
    assert!(!ok, "{output}");
}

#[test]
fn ca_keys_load_in_every_supported_format() {
    for key in [p256(), ec_key(Nid::SECP384R1), rsa_key(2048)] {
        let ca = TestCa::new(key, 3650);
        for pem in [
            ca.key_pkcs8_pem(),
            ca.key_traditional_pem(),
            ca.key.private_key_to_der().unwrap(),
        ] {
            let loaded = Ca::load(&ca.cert_pem, &SecretSlice::from(pem)).unwrap();
            let now = OffsetDateTime::now_utc();
            let issued = sign(
                &approve(&valid_csr(), "integration"),
                &loaded,
                "1d".parse().unwrap(),
                now,
            )
            .unwrap();
            assert!(openssl_verify(&ca.cert_pem, issued.pem.as_bytes()).0);
        }
    }
}

#[test]
fn ca_problems_are_refused_clearly() {
    let ca = TestCa::new(p256(), 3650);
    let other = TestCa::new(p256(), 3650);
    let mismatch = Ca::load(&ca.cert_pem, &SecretSlice::from(other.key_pkcs8_pem()));
    assert!(
        matches!(mismatch, Err(CaError::KeyMismatch)),
        "{mismatch:?}"
    );

    let encrypted = ca
        .key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"secret")
        .unwrap();
    let result = Ca::load(&ca.cert_pem, &SecretSlice::from(encrypted));
    assert!(matches!(result, Err(CaError::KeyEncrypted)), "{result:?}");

    let garbage = Ca::load(&ca.cert_pem, &SecretSlice::from(b"not a key".to_vec()));
    assert!(
        matches!(garbage, Err(CaError::KeyUnreadable)),
        "{garbage:?}"
    );

    let no_cert = Ca::load(b"junk", &SecretSlice::from(ca.key_pkcs8_pem()));
    assert!(
        matches!(no_cert, Err(CaError::CertUnreadable(_))),
        "{no_cert:?}"
    );

    // A leaf certificate is not a CA, even with the right key.
    let (leaf, _) = issue(&ca, &valid_csr(), "1d");
    let leaf_key = TestCa::new(p256(), 1);
    let not_ca = Ca::load(
        leaf.pem.as_bytes(),
        &SecretSlice::from(leaf_key.key_pkcs8_pem()),
    );
    assert!(
        matches!(not_ca, Err(CaError::KeyMismatch | CaError::NotACa)),
        "{not_ca:?}"
    );

    let weak = TestCa::new(rsa_key(1024), 3650);
    let result = Ca::load(&weak.cert_pem, &SecretSlice::from(weak.key_pkcs8_pem()));
    assert!(matches!(result, Err(CaError::KeyType(_))), "{result:?}");
}

#[test]
fn ca_key_never_shows_in_debug_output() {
    let ca = TestCa::new(p256(), 3650);
    let loaded = ca.load();
    let shown = format!("{loaded:?}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let private = ca
        .key
        .ec_key()
        .unwrap()
        .private_key()
        .to_hex_str()
        .unwrap()
        .to_string();
    assert!(!shown.to_uppercase().contains(&private.to_uppercase()));
    assert!(!shown.contains("PRIVATE"));
}
