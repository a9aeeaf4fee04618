//! Rule `csr.signature`: the CSR proves possession of its key, with a modern hash.

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::sign::Verifier;
use x509_parser::oid_registry::{
    OID_PKCS1_MD5WITHRSAENC, OID_PKCS1_SHA1WITHRSA, OID_PKCS1_SHA256WITHRSA,
    OID_PKCS1_SHA384WITHRSA, OID_PKCS1_SHA512WITHRSA, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ECDSA_WITH_SHA512, OID_SIG_ED25519,
};
use x509_parser::prelude::X509CertificationRequest;

use super::verdict::{Rule, Violation};

/// Everything else (MD5, SHA-1, MD2, RSA-PSS with odd parameters, ...) is refused: a list
/// of what is known good is easier to review than a list of what is known bad.
fn is_allowed(csr: &X509CertificationRequest<'_>) -> bool {
    let oid = &csr.signature_algorithm.algorithm;
    [
        OID_PKCS1_SHA256WITHRSA,
        OID_PKCS1_SHA384WITHRSA,
        OID_PKCS1_SHA512WITHRSA,
        OID_SIG_ECDSA_WITH_SHA256,
        OID_SIG_ECDSA_WITH_SHA384,
        OID_SIG_ECDSA_WITH_SHA512,
        OID_SIG_ED25519,
    ]
    .iter()
    .any(|allowed| allowed == oid)
}

fn algorithm_name(csr: &X509CertificationRequest<'_>) -> String {
    let oid = &csr.signature_algorithm.algorithm;
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_owned)
        .unwrap_or_else(|_| oid.to_id_string())
}

/// Whether the signature verifies. Refused-but-known algorithms are verified too, so a
/// tampered SHA-1 CSR is reported as both weak and altered; unknown ones cannot be.
fn verifies(csr: &X509CertificationRequest<'_>, key: &PKey<Public>) -> bool {
    let oid = &csr.signature_algorithm.algorithm;
    let digest = if *oid == OID_SIG_ED25519 {
        None
    } else if *oid == OID_PKCS1_SHA256WITHRSA || *oid == OID_SIG_ECDSA_WITH_SHA256 {
        Some(MessageDigest::sha256())
    } else if *oid == OID_PKCS1_SHA384WITHRSA || *oid == OID_SIG_ECDSA_WITH_SHA384 {
        Some(MessageDigest::sha384())
    } else if *oid == OID_PKCS1_SHA512WITHRSA || *oid == OID_SIG_ECDSA_WITH_SHA512 {
        Some(MessageDigest::sha512())
    } else if *oid == OID_PKCS1_SHA1WITHRSA || oid.to_id_string() == "1.2.840.10045.4.1" {
        Some(MessageDigest::sha1())
    } else if *oid == OID_PKCS1_MD5WITHRSAENC {
        Some(MessageDigest::md5())
    } else {
        return true;
    };
    let signed = csr.certification_request_info.raw;
    let signature = &csr.signature_value.data;
    let verifier = match digest {
        Some(digest) => Verifier::new(digest, key),
        None => Verifier::new_without_digest(key),
    };
    verifier
        .and_then(|mut v| v.verify_oneshot(signature, signed))
        .unwrap_or(false)
}

pub fn check(parsed: &X509CertificationRequest<'_>, key: Option<&PKey<Public>>) -> Vec<Violation> {
    let mut violations = Vec::new();
    if !is_allowed(parsed) {
        violations.push(Violation::new(
            Rule::Signature,
            format!(
                "the CSR is signed with {}, which is refused; sign it with SHA-256 or stronger (`openssl req -new -sha256 ...`)",
                algorithm_name(parsed)
            ),
        ));
    }
    // Without a readable key there is nothing to verify against; `csr.key` reports that.
    if let Some(key) = key
        && !verifies(parsed, key)
    {
        violations.push(Violation::new(
            Rule::Signature,
            "the CSR's signature does not verify with its own public key; it was altered or corrupted, so generate it again with `openssl req -new`",
        ));
    }
    violations
}
