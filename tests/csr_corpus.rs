//! The adversarial corpus: every CSR is generated here and must get exactly the expected
//! rule ids for the requester and cluster.

mod csr_support;

use csr_support::*;
use ferry::csr::check::{ClusterRequest, check_csr};
use ferry::csr::policy::CsrPolicy;
use ferry::csr::verdict::Rule;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use std::path::Path;
use std::process::Command;

fn rules(csr: &[u8], policy: &CsrPolicy, requester: &str, cluster: &str) -> Vec<Rule> {
    let checked = check_csr(
        csr,
        policy,
        requester,
        &[ClusterRequest::all_groups(cluster)],
    )
    .expect("cluster exists");
    let verdict = checked
        .report
        .cluster(cluster)
        .expect("verdict for the cluster");
    for violation in &verdict.violations {
        assert!(
            violation.message.len() > 30 && violation.message.contains(';'),
            "message does not say how to fix: {violation}"
        );
    }
    assert_eq!(verdict.accepted(), checked.approved(cluster).is_some());
    verdict.rules()
}

struct Case {
    name: &'static str,
    csr: Vec<u8>,
    requester: &'static str,
    cluster: &'static str,
    expected: Vec<Rule>,
}

fn case(name: &'static str, csr: Vec<u8>, expected: &[Rule]) -> Case {
    Case {
        name,
        csr,
        requester: "alice",
        cluster: "integration",
        expected: expected.to_vec(),
    }
}

fn spec(cn: &str, groups: &[&str]) -> CsrSpec {
    CsrSpec::new(p256(), cn, groups)
}

fn openssl_cli_csr(subject: &str, config: Option<&str>, extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("user.key");
    std::fs::write(&key, p256().private_key_to_pem_pkcs8().unwrap()).unwrap();
    let mut command = Command::new("openssl");
    command
        .args(["req", "-new", "-sha256", "-batch", "-key"])
        .arg(&key);
    if let Some(config) = config {
        let path = dir.path().join("req.cnf");
        std::fs::write(&path, config).unwrap();
        command.arg("-config").arg(path);
    } else {
        command.args(["-subj", subject]);
    }
    let output = command.args(extra).output().expect("openssl CLI runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn flip_last_signature_byte(spec: CsrSpec) -> Vec<u8> {
    let mut der = spec.der();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    to_pem(&der, "CERTIFICATE REQUEST")
}

fn corpus() -> Vec<Case> {
    use Rule::*;
    let valid = valid_csr();
    let valid_der = spec("alice", &["developers"]).der();
    let mut swapped = spec("alice", &["developers"]);
    swapped.signing_key = Some(p256());
    let mut trailing = valid_der.clone();
    trailing.extend_from_slice(&[0, 0]);
    let mut garbage_around = b"Here is my CSR:\n".to_vec();
    garbage_around.extend_from_slice(&valid);
    let mut two_blocks = valid.clone();
    two_blocks.extend_from_slice(&valid_csr());
    let mut with_key = valid.clone();
    with_key.extend_from_slice(&p256().private_key_to_pem_pkcs8().unwrap());
    let mut huge = valid.clone();
    huge.extend(std::iter::repeat_n(b'\n', 17 * 1024));
    let certificate = TestCa::new(p256(), 30).cert_pem;
    let mut random = vec![0u8; 300];
    openssl::rand::rand_bytes(&mut random).unwrap();

    vec![
        // Accepted.
        case("valid P-256", valid.clone(), &[]),
        case(
            "valid P-384",
            CsrSpec::new(ec_key(Nid::SECP384R1), "alice", &["developers"])
                .digest(MessageDigest::sha384())
                .pem(),
            &[],
        ),
        case(
            "valid RSA-2048",
            CsrSpec::new(rsa_key(2048), "alice", &["developers"]).pem(),
            &[],
        ),
        case(
            "valid RSA-3072 SHA-512",
            CsrSpec::new(rsa_key(3072), "alice", &["developers"])
                .digest(MessageDigest::sha512())
                .pem(),
            &[],
        ),
        case("valid without groups", spec("alice", &[]).pem(), &[]),
        case(
            "valid with CRLF line ends",
            String::from_utf8(valid.clone())
                .unwrap()
                .replace('\n', "\r\n")
                .into_bytes(),
            &[],
        ),
        case(
            "harmless requested extensions",
            spec("alice", &["developers"])
                .extension(BasicConstraints::new().build().unwrap())
                .extension(KeyUsage::new().digital_signature().build().unwrap())
                .extension(ExtendedKeyUsage::new().client_auth().build().unwrap())
                .pem(),
            &[],
        ),
        // csr.pem
        case(
            "garbage text",
            b"hello, please give me access".to_vec(),
            &[Pem],
        ),
        case("empty file", Vec::new(), &[Pem]),
        case("garbage before the PEM", garbage_around, &[Pem]),
        case("two CSR blocks", two_blocks, &[Pem]),
        case("CSR with its private key", with_key, &[Pem]),
        case("file over 16 KiB", huge, &[Pem]),
        case("DER instead of PEM", valid_der.clone(), &[Pem]),
        case(
            "truncated DER",
            to_pem(&valid_der[..valid_der.len() / 2], "CERTIFICATE REQUEST"),
            &[Pem],
        ),
        case(
            "trailing bytes after the DER",
            to_pem(&trailing, "CERTIFICATE REQUEST"),
            &[Pem],
        ),
        case(
            "random bytes in PEM framing",
            to_pem(&random, "CERTIFICATE REQUEST"),
            &[Pem],
        ),
        case("a certificate, not a CSR", certificate, &[Pem]),
        case(
            "NEW CERTIFICATE REQUEST label",
            to_pem(&valid_der, "NEW CERTIFICATE REQUEST"),
            &[Pem],
        ),
        // csr.signature
        case(
            "SHA-1 signature",
            spec("alice", &["developers"])
                .digest(MessageDigest::sha1())
                .pem(),
            &[Signature],
        ),
        case(
            "MD5 RSA signature",
            CsrSpec::new(rsa_key(2048), "alice", &["developers"])
                .digest(MessageDigest::md5())
                .pem(),
            &[Signature],
        ),
        case(
            "SHA-1 RSA signature",
            CsrSpec::new(rsa_key(2048), "alice", &["developers"])
                .digest(MessageDigest::sha1())
                .pem(),
            &[Signature],
        ),
        case(
            "altered signature",
            flip_last_signature_byte(spec("alice", &["developers"])),
            &[Signature],
        ),
        case("signed by another key", swapped.pem(), &[Signature]),
        // csr.key
        case(
            "RSA-1024",
            CsrSpec::new(rsa_key(1024), "alice", &["developers"]).pem(),
            &[Key],
        ),
        case(
            "RSA exponent 3",
            CsrSpec::new(rsa_key_with_exponent(2048, 3), "alice", &["developers"]).pem(),
            &[Key],
        ),
        case(
            "P-521 not listed",
            CsrSpec::new(ec_key(Nid::SECP521R1), "alice", &["developers"])
                .digest(MessageDigest::sha512())
                .pem(),
            &[Key],
        ),
        case(
            "secp256k1",
            CsrSpec::new(ec_key(Nid::SECP256K1), "alice", &["developers"]).pem(),
            &[Key],
        ),
        case(
            "explicit curve parameters",
            CsrSpec::new(ec_explicit_params(), "alice", &["developers"]).pem(),
            &[Key],
        ),
        case(
            "DSA (its signature algorithm is not on the list either)",
            CsrSpec::new(dsa_key(), "alice", &["developers"]).pem(),
            &[Signature, Key],
        ),
        case(
            "Ed25519 not enabled",
            CsrSpec::new(ed25519_key(), "alice", &["developers"]).pem(),
            &[Key],
        ),
        case(
            "Ed448",
            CsrSpec::new(ed448_key(), "alice", &["developers"]).pem(),
            &[Signature, Key],
        ),
        // csr.subject
        case(
            "no CN",
            CsrSpec {
                subject: vec![(Nid::ORGANIZATIONNAME, "developers".into())],
                ..spec("x", &[])
            }
            .pem(),
            &[Subject],
        ),
        case(
            "two CNs",
            spec("alice", &["developers"])
                .attribute(Nid::COMMONNAME, "alice")
                .pem(),
            &[Subject],
        ),
        case(
            "CN with trailing space",
            spec("alice ", &["developers"]).pem(),
            &[Subject],
        ),
        case(
            "CN with a control character",
            spec("ali\u{1b}ce", &["developers"]).pem(),
            &[Subject],
        ),
        case(
            "CN over 64 characters",
            spec(&"a".repeat(65), &[]).pem(),
            &[Subject],
        ),
        case(
            "non-ASCII CN",
            spec("alicé", &["developers"]).pem(),
            &[Subject],
        ),
        case(
            "OU attribute",
            spec("alice", &["developers"])
                .attribute(Nid::ORGANIZATIONALUNITNAME, "web")
                .pem(),
            &[Subject],
        ),
        case(
            "email attribute",
            spec("alice", &[])
                .attribute(Nid::PKCS9_EMAILADDRESS, "alice@example.com")
                .pem(),
            &[Subject],
        ),
        case(
            "duplicate O",
            spec("alice", &["developers", "developers"]).pem(),
            &[Subject],
        ),
        case(
            "O with a space",
            spec("alice", &["dev elopers"]).pem(),
            &[Subject],
        ),
        case(
            "multi-valued RDN",
            openssl_cli_csr("/CN=alice+O=developers", None, &["-multivalue-rdn"]),
            &[Subject],
        ),
        // csr.identity
        case(
            "CN of someone else",
            spec("bob", &["developers"]).pem(),
            &[Identity],
        ),
        Case {
            requester: "carol",
            ..case(
                "requester not in the policy",
                spec("carol", &["developers"]).pem(),
                &[Identity],
            )
        },
        // csr.reserved
        case(
            "O system:masters",
            spec("alice", &["system:masters"]).pem(),
            &[Reserved],
        ),
        case(
            "O System:Masters",
            spec("alice", &["System:Masters"]).pem(),
            &[Reserved],
        ),
        case(
            "O from deny_groups",
            spec("alice", &["cluster-admins"]).pem(),
            &[Reserved],
        ),
        case(
            "O kubeadm:cluster-admins",
            spec("alice", &["kubeadm:cluster-admins"]).pem(),
            &[Reserved],
        ),
        case(
            "CN system:kube-controller-manager",
            spec("system:kube-controller-manager", &[]).pem(),
            &[Identity, Reserved],
        ),
        // csr.groups
        case(
            "group the user may not have",
            spec("alice", &["qa"]).pem(),
            &[Groups],
        ),
        case(
            "group not granted on the cluster",
            spec("alice", &["sre"]).pem(),
            &[Groups],
        ),
        Case {
            cluster: "production",
            ..case("developers on production", valid.clone(), &[Groups])
        },
        // csr.extensions
        case(
            "CA:TRUE",
            spec("alice", &["developers"])
                .extension(BasicConstraints::new().critical().ca().build().unwrap())
                .pem(),
            &[Extensions],
        ),
        case(
            "SAN DNS name",
            spec("alice", &["developers"])
                .extension(
                    SubjectAlternativeName::new()
                        .dns("kubernetes.default")
                        .build(
                            &openssl::x509::X509Req::builder()
                                .unwrap()
                                .x509v3_context(None),
                        )
                        .unwrap(),
                )
                .pem(),
            &[Extensions],
        ),
        case(
            "SAN email",
            spec("alice", &["developers"])
                .extension(
                    SubjectAlternativeName::new()
                        .email("a@example.com")
                        .build(
                            &openssl::x509::X509Req::builder()
                                .unwrap()
                                .x509v3_context(None),
                        )
                        .unwrap(),
                )
                .pem(),
            &[Extensions],
        ),
        case(
            "unknown extension",
            spec("alice", &["developers"])
                .extension(unknown_extension())
                .pem(),
            &[Extensions],
        ),
        case(
            "challengePassword attribute",
            openssl_cli_csr(
                "",
                Some(
                    "[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = alice\n[attrs]\nchallengePassword = hunter2hunter2\n",
                ),
                &[],
            ),
            &[Extensions],
        ),
        // Everything wrong at once: all of it is reported.
        case(
            "many problems at once",
            CsrSpec::new(rsa_key(1024), "bob", &["system:masters", "qa"])
                .digest(MessageDigest::sha1())
                .extension(BasicConstraints::new().ca().build().unwrap())
                .pem(),
            &[Signature, Key, Identity, Reserved, Groups, Extensions],
        ),
    ]
}

#[test]
fn every_corpus_csr_gets_exactly_its_rules() {
    let policy = policy();
    let corpus = corpus();
    assert!(corpus.len() >= 30);
    let rejected = corpus.iter().filter(|c| !c.expected.is_empty()).count();
    assert!(rejected >= 30, "only {rejected} rejected cases");
    let mut failures = Vec::new();
    for case in &corpus {
        let got = rules(&case.csr, &policy, case.requester, case.cluster);
        if got != case.expected {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.expected, got
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_rule_is_exercised_by_the_corpus() {
    let corpus = corpus();
    for rule in Rule::ALL {
        assert!(
            corpus.iter().any(|c| c.expected == [rule]),
            "no case for {rule} alone"
        );
    }
}

#[test]
fn ed25519_is_accepted_when_the_policy_enables_it() {
    let text = POLICY.replace("ed25519: false", "ed25519: true");
    let policy = CsrPolicy::parse(&text, Path::new("csr.yaml")).unwrap();
    let csr = CsrSpec::new(ed25519_key(), "alice", &["developers"]).pem();
    assert_eq!(rules(&csr, &policy, "alice", "integration"), vec![]);
}

#[test]
fn verdicts_differ_per_cluster() {
    let policy = policy();
    let csr = spec("alice", &["sre"]).pem();
    let checked = check_csr(
        &csr,
        &policy,
        "alice",
        &ferry::csr::check::every_cluster(&policy),
    )
    .unwrap();
    assert!(!checked.report.accepted());
    assert!(!checked.report.cluster("integration").unwrap().accepted());
    assert!(checked.report.cluster("production").unwrap().accepted());
    assert!(checked.approved("production").is_some());
    assert!(checked.approved("integration").is_none());
}

#[test]
fn a_request_can_narrow_the_groups_per_cluster() {
    let policy = policy();
    let csr = spec("alice", &["developers", "sre"]).pem();
    let narrowed = |cluster: &str, groups: &[&str]| ClusterRequest {
        cluster: cluster.to_owned(),
        groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
    };
    let requests = [
        narrowed("integration", &["developers"]),
        narrowed("production", &["sre"]),
    ];
    let checked = check_csr(&csr, &policy, "alice", &requests).unwrap();
    assert!(checked.report.accepted(), "{}", checked.report);
    assert_eq!(
        checked.approved("integration").unwrap().groups(),
        ["developers"]
    );
    assert_eq!(checked.approved("production").unwrap().groups(), ["sre"]);
    // A group that is not in the CSR cannot be conjured up by the request.
    let checked = check_csr(&csr, &policy, "alice", &[narrowed("integration", &["qa"])]).unwrap();
    assert_eq!(checked.report.clusters[0].rules(), vec![Rule::Groups]);
}

#[test]
fn unknown_cluster_is_an_error_not_a_verdict() {
    let err = check_csr(
        &valid_csr(),
        &policy(),
        "alice",
        &[ClusterRequest::all_groups("staging")],
    )
    .unwrap_err();
    assert!(err.to_string().contains("staging"));
}

#[test]
fn corrupting_any_byte_of_a_csr_never_panics_or_passes_silently() {
    let policy = policy();
    let ec = spec("alice", &["developers"]).der();
    let rsa = CsrSpec::new(rsa_key(2048), "alice", &["developers"]).der();
    for der in [ec, rsa] {
        for index in 0..der.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut mutated = der.clone();
                mutated[index] ^= flip;
                let pem = to_pem(&mutated, "CERTIFICATE REQUEST");
                let checked = check_csr(
                    &pem,
                    &policy,
                    "alice",
                    &[ClusterRequest::all_groups("integration")],
                )
                .unwrap();
                assert!(
                    !checked.report.accepted(),
                    "byte {index} ^ {flip:#x} was accepted"
                );
            }
            let truncated = to_pem(&der[..index], "CERTIFICATE REQUEST");
            let checked = check_csr(
                &truncated,
                &policy,
                "alice",
                &[ClusterRequest::all_groups("integration")],
            )
            .unwrap();
            assert!(!checked.report.accepted());
        }
    }
}
