//! Rule `csr.signature`: the CSR proves possession of its key, with a modern hash.

use openssl::pkey::{PKey, Public};
use openssl::x509::X509Req;
use x509_parser::oid_registry::{
    OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA, OID_PKCS1_SHA512WITHRSA,
    OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ECDSA_WITH_SHA512,
    OID_SIG_ED25519,
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

pub fn check(
    parsed: &X509CertificationRequest<'_>,
    request: &X509Req,
    key: Option<&PKey<Public>>,
) -> Vec<Violation> {
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
        && !matches!(request.verify(key), Ok(true))
    {
        violations.push(Violation::new(
            Rule::Signature,
            "the CSR's signature does not verify with its own public key; it was altered or corrupted, so generate it again with `openssl req -new`",
        ));
    }
    violations
}
