//! Rule `csr.key`: only key types and sizes the policy trusts.

use openssl::pkey::{Id, PKey, Public};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::x509::SubjectPublicKeyInfo;

use super::policy::{EcCurve, KeyPolicy};
use super::verdict::{Rule, Violation};

const RSA_EXPONENT: u32 = 65_537;
const HOW_TO: &str = "generate a new key, e.g. `openssl ecparam -genkey -name prime256v1 -noout -out user.key` or `openssl genrsa -out user.key 3072`, and a new CSR";

/// Checks the requested public key against the policy; `openssl_key` is the same key as
/// loaded by OpenSSL (absent if OpenSSL could not read it).
pub fn check(
    spki: &SubjectPublicKeyInfo<'_>,
    openssl_key: Option<&PKey<Public>>,
    policy: &KeyPolicy,
) -> Vec<Violation> {
    let refuse = |message: String| vec![Violation::new(Rule::Key, format!("{message}; {HOW_TO}"))];
    let algorithm = &spki.algorithm.algorithm;
    let Some(key) = openssl_key else {
        return refuse(format!(
            "the public key (algorithm {algorithm}) cannot be read"
        ));
    };
    if *algorithm == OID_PKCS1_RSAENCRYPTION && key.id() == Id::RSA {
        return check_rsa(key, policy).map(refuse).unwrap_or_default();
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY && key.id() == Id::EC {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|params| params.as_oid().ok());
        let named = match &curve {
            Some(oid) if *oid == OID_EC_P256 => Some(EcCurve::P256),
            Some(oid) if *oid == OID_NIST_EC_P384 => Some(EcCurve::P384),
            Some(oid) if *oid == OID_NIST_EC_P521 => Some(EcCurve::P521),
            _ => None,
        };
        let allowed = allowed_curves(policy);
        return match (named, curve) {
            (Some(named), _) if policy.ec_curves.contains(&named) => Vec::new(),
            (Some(named), _) => refuse(format!(
                "EC curve {named} is not allowed (allowed: {allowed})"
            )),
            (None, Some(oid)) => refuse(format!(
                "EC curve {oid} is not allowed (allowed: {allowed})"
            )),
            (None, None) => refuse(format!(
                "the EC key uses explicit curve parameters instead of a named curve (allowed: {allowed})"
            )),
        };
    }
    if *algorithm == OID_SIG_ED25519 && key.id() == Id::ED25519 {
        return if policy.ed25519 {
            Vec::new()
        } else {
            refuse("Ed25519 keys are not enabled in this policy".to_owned())
        };
    }
    refuse(format!(
        "{} keys are not accepted; use RSA, EC ({}){}",
        describe(key.id()),
        allowed_curves(policy),
        if policy.ed25519 { " or Ed25519" } else { "" }
    ))
}

fn check_rsa(key: &PKey<Public>, policy: &KeyPolicy) -> Option<String> {
    let Ok(rsa) = key.rsa() else {
        return Some("the RSA key cannot be read".to_owned());
    };
    let bits = rsa.n().num_bits();
    let exponent_ok =
        rsa.e().num_bits() <= 32 && rsa.e().to_vec() == RSA_EXPONENT.to_be_bytes()[1..];
    let bits_ok = u32::try_from(bits).is_ok_and(|bits| bits >= policy.rsa_min_bits);
    match (bits_ok, exponent_ok) {
        (true, true) => None,
        (false, _) => Some(format!(
            "the RSA key has {bits} bits, fewer than the required {}",
            policy.rsa_min_bits
        )),
        (true, false) => Some(format!(
            "the RSA key's public exponent is {}, not 65537",
            rsa.e()
        )),
    }
}

fn allowed_curves(policy: &KeyPolicy) -> String {
    let names: Vec<&str> = policy.ec_curves.iter().map(|c| c.name()).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn describe(id: Id) -> String {
    match id {
        Id::DSA => "DSA".to_owned(),
        Id::DH => "Diffie-Hellman".to_owned(),
        Id::ED448 => "Ed448".to_owned(),
        Id::X25519 => "X25519".to_owned(),
        Id::X448 => "X448".to_owned(),
        Id::RSA => "RSA (with non-standard parameters)".to_owned(),
        Id::EC => "EC (with non-standard parameters)".to_owned(),
        other => format!("algorithm {}", other.as_raw()),
    }
}
