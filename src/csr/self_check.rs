//! Ferry checks every certificate it issues before anyone sees it: the chain verifies, the
//! key is the CSR's, and the fields are exactly the intended ones.

use openssl::pkey::Id;
use openssl::stack::Stack;
use openssl::x509::X509StoreContext;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::{OID_X509_COMMON_NAME, OID_X509_ORGANIZATION_NAME};
use x509_parser::prelude::{X509Certificate, X509Version};

use super::ca::Ca;
use super::check::Approved;
use super::sign::{Issued, SERIAL_BYTES};

pub fn verify(issued: &Issued, approved: &Approved, ca: &Ca) -> Result<(), String> {
    let ossl = |err: openssl::error::ErrorStack| format!("OpenSSL: {err}");
    let cert = &issued.cert;
    if !cert
        .public_key()
        .map_err(ossl)?
        .public_eq(approved.public_key())
    {
        return Err("public key differs from the CSR's".to_owned());
    }
    let chain = Stack::new().map_err(ossl)?;
    let mut context = X509StoreContext::new().map_err(ossl)?;
    let (verified, error) = context
        .init(ca.store(), cert, &chain, |c| {
            Ok((c.verify_cert()?, c.error()))
        })
        .map_err(ossl)?;
    if !verified {
        return Err(format!("chain does not verify: {}", error.error_string()));
    }
    let der = cert.to_der().map_err(ossl)?;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| format!("cannot parse: {e}"))?;
    check_fields(&parsed, issued, approved)
}

fn check_fields(
    cert: &X509Certificate<'_>,
    issued: &Issued,
    approved: &Approved,
) -> Result<(), String> {
    let require = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_owned()) };
    require(cert.version() == X509Version::V3, "not a v3 certificate")?;
    let serial = cert.raw_serial();
    require(
        serial.len() == SERIAL_BYTES && serial[0] & 0x80 == 0,
        "serial has the wrong size or sign",
    )?;

    let subject = cert.subject();
    let cns: Vec<&str> = subject
        .iter_common_name()
        .filter_map(|a| a.as_str().ok())
        .collect();
    let os: Vec<&str> = subject
        .iter_organization()
        .filter_map(|a| a.as_str().ok())
        .collect();
    let attribute_count = subject.iter_attributes().count();
    require(
        cns == [approved.common_name()],
        "CN differs from the approved one",
    )?;
    require(
        os == approved.groups(),
        "O attributes differ from the approved groups",
    )?;
    require(
        attribute_count == cns.len() + os.len(),
        "subject has unexpected attributes",
    )?;
    let only_cn_and_o = subject.iter_attributes().all(|a| {
        *a.attr_type() == OID_X509_COMMON_NAME || *a.attr_type() == OID_X509_ORGANIZATION_NAME
    });
    require(only_cn_and_o, "subject has attributes other than CN and O")?;

    let validity = cert.validity();
    require(
        validity.not_before.timestamp() == issued.not_before.unix_timestamp()
            && validity.not_after.timestamp() == issued.not_after.unix_timestamp(),
        "validity differs from the intended one",
    )?;

    let is_rsa = approved.public_key().id() == Id::RSA;
    let mut seen = 0;
    for extension in cert.extensions() {
        seen += 1;
        match extension.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => require(
                extension.critical && !bc.ca && bc.path_len_constraint.is_none(),
                "basicConstraints is not critical CA:FALSE",
            )?,
            ParsedExtension::KeyUsage(usage) => {
                let wanted = usage.digital_signature() && usage.key_encipherment() == is_rsa;
                let extra = usage.non_repudiation()
                    || usage.data_encipherment()
                    || usage.key_agreement()
                    || usage.key_cert_sign()
                    || usage.crl_sign()
                    || usage.encipher_only()
                    || usage.decipher_only();
                require(
                    extension.critical && wanted && !extra,
                    "keyUsage differs from the profile",
                )?
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let only_client = eku.client_auth
                    && !eku.server_auth
                    && !eku.any
                    && !eku.code_signing
                    && !eku.email_protection
                    && !eku.time_stamping
                    && !eku.ocsp_signing
                    && eku.other.is_empty();
                require(only_client, "extendedKeyUsage is not clientAuth alone")?
            }
            ParsedExtension::SubjectKeyIdentifier(_) => {}
            ParsedExtension::AuthorityKeyIdentifier(aki) => require(
                aki.key_identifier.is_some(),
                "authorityKeyIdentifier has no key id",
            )?,
            _ => return Err(format!("unexpected extension {}", extension.oid)),
        }
    }
    require(seen == 5, "an extension of the profile is missing")
}
