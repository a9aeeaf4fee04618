//! Builds a client certificate from approved fields only. Nothing from the CSR is copied
//! except the public key, CN and the approved groups; requested extensions never are.

use openssl::asn1::{Asn1Integer, Asn1Time, Asn1TimeRef};
use openssl::bn::BigNum;
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use time::OffsetDateTime;

use super::ca::Ca;
use super::check::Approved;
use super::duration::Ttl;
use super::self_check;

/// Clocks of kubectl users and API servers drift; a certificate that is not yet valid
/// for a few minutes is a confusing failure.
pub const BACKDATE_SECONDS: i64 = 5 * 60;

/// Serial numbers are this many random bytes (RFC 5280 allows up to 20 octets).
pub const SERIAL_BYTES: usize = 16;

/// A certificate Ferry issued and checked.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: X509,
    pub pem: String,
    /// Upper-case hex, as `openssl x509 -serial` prints it.
    pub serial_hex: String,
    pub common_name: String,
    pub groups: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the CA certificate expires before the certificate could be valid; renew the CA")]
    CaExpiring,
    #[error("OpenSSL failed while signing: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    #[error(
        "the issued certificate failed Ferry's own check ({0}); nothing was written. This is a bug: report it with the CSR (not the key)"
    )]
    SelfCheck(String),
}

/// Signs `approved` with `ca`, valid from `now` minus [`BACKDATE_SECONDS`] to the earlier of
/// `now + ttl` and the CA's own expiry, then checks the result before returning it.
pub fn sign(
    approved: &Approved,
    ca: &Ca,
    ttl: Ttl,
    now: OffsetDateTime,
) -> Result<Issued, SignError> {
    let now_unix = now.unix_timestamp();
    let ca_not_after = unix_time(ca.cert().not_after())?;
    let not_before = now_unix - BACKDATE_SECONDS;
    let not_after = (now_unix + ttl.as_i64()).min(ca_not_after);
    if not_after <= now_unix {
        return Err(SignError::CaExpiring);
    }

    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let serial = random_serial()?;
    builder.set_serial_number(&serial)?;
    let subject_name = subject(approved)?;
    builder.set_subject_name(&subject_name)?;
    builder.set_issuer_name(ca.cert().subject_name())?;
    builder.set_pubkey(approved.public_key())?;
    let (start, end) = (
        Asn1Time::from_unix(not_before)?,
        Asn1Time::from_unix(not_after)?,
    );
    builder.set_not_before(&start)?;
    builder.set_not_after(&end)?;

    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    let mut usage = KeyUsage::new();
    usage.critical().digital_signature();
    if approved.public_key().id() == Id::RSA {
        usage.key_encipherment();
    }
    builder.append_extension(usage.build()?)?;
    builder.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
    let subject_key_id = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(subject_key_id)?;
    let authority_key_id = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&builder.x509v3_context(Some(ca.cert()), None))?;
    builder.append_extension(authority_key_id)?;

    builder.sign(ca.key(), ca.digest())?;
    let cert = builder.build();
    let pem = String::from_utf8(cert.to_pem()?)
        .map_err(|_| SignError::SelfCheck("PEM is not UTF-8".to_owned()))?;
    let issued = Issued {
        serial_hex: serial.to_bn()?.to_hex_str()?.to_string(),
        common_name: approved.common_name().to_owned(),
        groups: approved.groups().to_vec(),
        not_before: from_unix(not_before)?,
        not_after: from_unix(not_after)?,
        cert,
        pem,
    };
    self_check::verify(&issued, approved, ca).map_err(SignError::SelfCheck)?;
    Ok(issued)
}

fn subject(approved: &Approved) -> Result<openssl::x509::X509Name, SignError> {
    let mut name = X509NameBuilder::new()?;
    for group in approved.groups() {
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, group)?;
    }
    name.append_entry_by_nid(Nid::COMMONNAME, approved.common_name())?;
    Ok(name.build())
}

/// Positive and exactly [`SERIAL_BYTES`] long: the top bit is cleared so the DER integer
/// needs no sign byte, the next one set so no leading zero byte shortens it.
fn random_serial() -> Result<Asn1Integer, SignError> {
    let mut bytes = [0u8; SERIAL_BYTES];
    openssl::rand::rand_bytes(&mut bytes)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(BigNum::from_slice(&bytes)?.to_asn1_integer()?)
}

pub(super) fn unix_time(time: &Asn1TimeRef) -> Result<i64, SignError> {
    let diff = Asn1Time::from_unix(0)?.diff(time)?;
    Ok(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

fn from_unix(seconds: i64) -> Result<OffsetDateTime, SignError> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| SignError::SelfCheck(format!("time {seconds} is out of range")))
}
