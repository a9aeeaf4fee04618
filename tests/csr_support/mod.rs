//! Test fixtures for the CSR tests and benchmark, all generated on the fly: CAs, keys and
//! CSRs of every shape the rules must handle.
#![allow(dead_code)]

use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time, Asn1Type};
use openssl::bn::{BigNum, MsbOption};
use openssl::dsa::Dsa;
use openssl::ec::{Asn1Flag, EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::stack::Stack;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Extension, X509NameBuilder, X509Req, X509ReqBuilder};

/// The example CSR policy shipped with the GitOps template.
pub const POLICY: &str = include_str!("../../templates/gitops-example/policies/csr.yaml");

pub fn policy() -> ferry::csr::policy::CsrPolicy {
    ferry::csr::policy::CsrPolicy::parse(POLICY, std::path::Path::new("policies/csr.yaml"))
        .expect("test policy parses")
}

pub fn ec_key(curve: Nid) -> PKey<Private> {
    let group = EcGroup::from_curve_name(curve).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

pub fn p256() -> PKey<Private> {
    ec_key(Nid::X9_62_PRIME256V1)
}

pub fn ec_explicit_params() -> PKey<Private> {
    let mut group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    group.set_asn1_flag(Asn1Flag::EXPLICIT_CURVE);
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

pub fn rsa_key(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}

pub fn rsa_key_with_exponent(bits: u32, exponent: u32) -> PKey<Private> {
    let e = BigNum::from_u32(exponent).unwrap();
    PKey::from_rsa(Rsa::generate_with_e(bits, &e).unwrap()).unwrap()
}

pub fn dsa_key() -> PKey<Private> {
    PKey::from_dsa(Dsa::generate(2048).unwrap()).unwrap()
}

pub fn ed25519_key() -> PKey<Private> {
    PKey::generate_ed25519().unwrap()
}

pub fn ed448_key() -> PKey<Private> {
    PKey::generate_ed448().unwrap()
}

/// A CSR to build: subject attributes in order, digest (None for Ed25519/Ed448), extensions.
pub struct CsrSpec {
    pub key: PKey<Private>,
    pub subject: Vec<(Nid, String)>,
    pub digest: Option<MessageDigest>,
    pub extensions: Vec<X509Extension>,
    /// Sign with this key instead of `key` (a CSR that does not prove possession).
    pub signing_key: Option<PKey<Private>>,
}

impl CsrSpec {
    pub fn new(key: PKey<Private>, cn: &str, groups: &[&str]) -> Self {
        let digest = match key.id() {
            openssl::pkey::Id::ED25519 | openssl::pkey::Id::ED448 => None,
            _ => Some(MessageDigest::sha256()),
        };
        let mut subject: Vec<(Nid, String)> = groups
            .iter()
            .map(|g| (Nid::ORGANIZATIONNAME, (*g).to_owned()))
            .collect();
        subject.push((Nid::COMMONNAME, cn.to_owned()));
        CsrSpec {
            key,
            subject,
            digest,
            extensions: Vec::new(),
            signing_key: None,
        }
    }

    pub fn digest(mut self, digest: MessageDigest) -> Self {
        self.digest = Some(digest);
        self
    }

    pub fn attribute(mut self, nid: Nid, value: &str) -> Self {
        self.subject.push((nid, value.to_owned()));
        self
    }

    pub fn extension(mut self, extension: X509Extension) -> Self {
        self.extensions.push(extension);
        self
    }

    pub fn req(self) -> X509Req {
        let mut name = X509NameBuilder::new().unwrap();
        // Typed entries skip OpenSSL's own length limits, so over-long names can be tested.
        for (nid, value) in &self.subject {
            name.append_entry_by_nid_with_type(*nid, value, Asn1Type::UTF8STRING)
                .unwrap();
        }
        let name = name.build();
        let mut builder = X509ReqBuilder::new().unwrap();
        builder.set_version(0).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_pubkey(&self.key).unwrap();
        if !self.extensions.is_empty() {
            let mut stack = Stack::new().unwrap();
            for extension in self.extensions {
                stack.push(extension).unwrap();
            }
            builder.add_extensions(&stack).unwrap();
        }
        let signer = self.signing_key.as_ref().unwrap_or(&self.key);
        let digest = self.digest.unwrap_or_else(MessageDigest::null);
        builder.sign(signer, digest).unwrap();
        builder.build()
    }

    pub fn pem(self) -> Vec<u8> {
        self.req().to_pem().unwrap()
    }

    pub fn der(self) -> Vec<u8> {
        self.req().to_der().unwrap()
    }
}

/// The plain valid request: alice, group developers, P-256.
pub fn valid_csr() -> Vec<u8> {
    CsrSpec::new(p256(), "alice", &["developers"]).pem()
}

pub fn to_pem(der: &[u8], label: &str) -> Vec<u8> {
    let body = openssl::base64::encode_block(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

pub fn unknown_extension() -> X509Extension {
    let oid = Asn1Object::from_str("1.3.6.1.4.1.55555.1").unwrap();
    let value = Asn1OctetString::new_from_bytes(&[0x05, 0x00]).unwrap();
    X509Extension::new_from_der(&oid, false, &value).unwrap()
}

/// A CA certificate and its private key, as PEM.
pub struct TestCa {
    pub cert_pem: Vec<u8>,
    pub key: PKey<Private>,
}

impl TestCa {
    pub fn new(key: PKey<Private>, days: u32) -> Self {
        let digest = MessageDigest::sha256();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, "test cluster CA")
            .unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        let mut serial = BigNum::new().unwrap();
        serial.rand(120, MsbOption::MAYBE_ZERO, false).unwrap();
        builder
            .set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder
            .set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::days_from_now(days).unwrap())
            .unwrap();
        builder
            .append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        builder
            .append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .digital_signature()
                    .build()
                    .unwrap(),
            )
            .unwrap();
        let ski = SubjectKeyIdentifier::new()
            .build(&builder.x509v3_context(None, None))
            .unwrap();
        builder.append_extension(ski).unwrap();
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&builder.x509v3_context(None, None))
            .unwrap();
        builder.append_extension(aki).unwrap();
        builder.sign(&key, digest).unwrap();
        TestCa {
            cert_pem: builder.build().to_pem().unwrap(),
            key,
        }
    }

    pub fn key_pkcs8_pem(&self) -> Vec<u8> {
        self.key.private_key_to_pem_pkcs8().unwrap()
    }

    /// PKCS#1 for RSA, SEC1 for EC: the "traditional" formats.
    pub fn key_traditional_pem(&self) -> Vec<u8> {
        match self.key.id() {
            openssl::pkey::Id::RSA => self.key.rsa().unwrap().private_key_to_pem().unwrap(),
            _ => self.key.ec_key().unwrap().private_key_to_pem().unwrap(),
        }
    }

    pub fn load(&self) -> ferry::csr::ca::Ca {
        let secret = secrecy::SecretSlice::from(self.key_pkcs8_pem());
        ferry::csr::ca::Ca::load(&self.cert_pem, &secret).expect("test CA loads")
    }
}
