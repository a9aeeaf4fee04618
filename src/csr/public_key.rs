//! Turns a CSR's SubjectPublicKeyInfo into an OpenSSL key.
//!
//! RSA and EC keys are built from their components rather than through OpenSSL 3's generic
//! decoder: the result is the same key, but the decoder path (and the matching encoder path
//! when the key is later put into a certificate) costs about 200 µs per key, which would
//! halve signing throughput.

use openssl::asn1::Asn1Object;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::rsa::Rsa;
use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION};
use x509_parser::x509::SubjectPublicKeyInfo;

/// The key, or `None` if OpenSSL cannot use it (then `csr.key` refuses the CSR).
pub fn load(spki: &SubjectPublicKeyInfo<'_>) -> Option<PKey<Public>> {
    let algorithm = &spki.algorithm.algorithm;
    let bits = &spki.subject_public_key.data;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let rsa = Rsa::public_key_from_der_pkcs1(bits).ok()?;
        return PKey::from_rsa(rsa).ok();
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY
        && let Some(curve) = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
    {
        let nid = Asn1Object::from_str(&curve.to_id_string()).ok()?.nid();
        if nid == Nid::UNDEF {
            return None;
        }
        let group = EcGroup::from_curve_name(nid).ok()?;
        let mut context = BigNumContext::new().ok()?;
        // oct2point rejects points that are not on the curve; on the prime-order curves the
        // policy allows that is the whole validation (a full EC_KEY_check_key would add a
        // scalar multiplication per CSR for nothing).
        let point = EcPoint::from_bytes(&group, bits, &mut context).ok()?;
        let key = EcKey::from_public_key(&group, &point).ok()?;
        return PKey::from_ec_key(key).ok();
    }
    PKey::public_key_from_der(spki.raw).ok()
}
