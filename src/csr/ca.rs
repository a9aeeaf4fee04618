//! The signing CA: its public certificate and its private key. The key never lives in the
//! repository; it comes from a file or an environment variable and is never printed.

use std::fmt;
use std::path::PathBuf;

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;
use openssl::x509::X509PurposeId;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use secrecy::{ExposeSecret, SecretSlice};

/// The CA private key. Debug shows nothing of it and there is no Display, so it cannot end
/// up in logs or error messages by accident.
pub struct CaKey(PKey<Private>);

impl fmt::Debug for CaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaKey(<redacted>)")
    }
}

/// Where the CA private key is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaKeySource {
    File(PathBuf),
    /// Name of an environment variable holding the PEM text.
    Env(String),
}

impl fmt::Display for CaKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaKeySource::File(path) => write!(f, "file {}", path.display()),
            CaKeySource::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot read the CA key from {0}: {1}; check the path or variable and its permissions")]
    KeyUnavailable(CaKeySource, String),
    #[error(
        "the CA key is encrypted; provide it unencrypted (`openssl pkey -in enc.key -out ca.key`) through a protected file or variable"
    )]
    KeyEncrypted,
    #[error(
        "the CA key is not a PEM or DER private key (PKCS#1, SEC1 or PKCS#8); check that the right file is configured"
    )]
    KeyUnreadable,
    #[error(
        "the CA key is {0}; Ferry signs with RSA (2048 bits or more) or EC (P-256, P-384, P-521) keys"
    )]
    KeyType(String),
    #[error("the CA certificate cannot be read ({0}); give the PEM certificate of the cluster CA")]
    CertUnreadable(String),
    #[error("the CA key does not belong to the CA certificate; configure the matching pair")]
    KeyMismatch,
    #[error(
        "the CA certificate is not a CA (basicConstraints CA:TRUE missing); use the cluster's CA certificate"
    )]
    NotACa,
    #[error("the CA certificate has expired; renew the cluster CA before signing")]
    Expired,
    #[error("OpenSSL failed while preparing the CA: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

/// Reads the PEM (or DER) bytes of the CA key from its source.
pub fn read_key_bytes(source: &CaKeySource) -> Result<SecretSlice<u8>, CaError> {
    let bytes = match source {
        CaKeySource::File(path) => std::fs::read(path)
            .map_err(|err| CaError::KeyUnavailable(source.clone(), err.kind().to_string()))?,
        CaKeySource::Env(name) => std::env::var(name)
            .map_err(|_| {
                CaError::KeyUnavailable(source.clone(), "it is not set or not UTF-8".to_owned())
            })?
            .into_bytes(),
    };
    Ok(SecretSlice::from(bytes))
}

/// A CA ready to sign: certificate, key, and a trust store for checking Ferry's own output.
pub struct Ca {
    cert: X509,
    key: CaKey,
    digest: MessageDigest,
    store: X509Store,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.cert.subject_name())
            .field("key", &self.key)
            .finish()
    }
}

impl Ca {
    pub fn load(cert_pem: &[u8], key: &SecretSlice<u8>) -> Result<Ca, CaError> {
        let cert = X509::from_pem(cert_pem)
            .or_else(|_| X509::from_der(cert_pem))
            .map_err(|err| CaError::CertUnreadable(first_reason(&err)))?;
        let key = parse_key(key.expose_secret())?;
        let digest = digest_for(&key)?;
        if !cert.public_key()?.public_eq(&key) {
            return Err(CaError::KeyMismatch);
        }
        if !is_ca(&cert) {
            return Err(CaError::NotACa);
        }
        if cert.not_after() < Asn1Time::days_from_now(0)? {
            return Err(CaError::Expired);
        }
        let mut store = X509StoreBuilder::new()?;
        store.add_cert(cert.clone())?;
        store.set_flags(X509VerifyFlags::X509_STRICT)?;
        store.set_purpose(X509PurposeId::SSL_CLIENT)?;
        Ok(Ca {
            cert,
            key: CaKey(key),
            digest,
            store: store.build(),
        })
    }

    pub fn cert(&self) -> &X509 {
        &self.cert
    }

    pub(super) fn key(&self) -> &PKey<Private> {
        &self.key.0
    }

    pub(super) fn digest(&self) -> MessageDigest {
        self.digest
    }

    /// Trusts only this CA, strict X.509 checks, client-authentication purpose: the same as
    /// `openssl verify -x509_strict -purpose sslclient -CAfile ca.pem`.
    pub(super) fn store(&self) -> &X509Store {
        &self.store
    }

    pub fn cert_pem(&self) -> Result<Vec<u8>, CaError> {
        Ok(self.cert.to_pem()?)
    }
}

fn parse_key(bytes: &[u8]) -> Result<PKey<Private>, CaError> {
    if bytes.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(CaError::KeyEncrypted);
    }
    // The callback refuses to supply a passphrase, so OpenSSL never prompts on a terminal.
    PKey::private_key_from_pem_callback(bytes, |_| Ok(0))
        .or_else(|_| PKey::private_key_from_der(bytes))
        .map_err(|_| CaError::KeyUnreadable)
}

fn digest_for(key: &PKey<Private>) -> Result<MessageDigest, CaError> {
    match key.id() {
        Id::RSA if key.bits() >= 2048 => Ok(MessageDigest::sha256()),
        Id::RSA => Err(CaError::KeyType(format!(
            "an RSA key of {} bits",
            key.bits()
        ))),
        Id::EC => {
            let curve = key.ec_key()?.group().curve_name();
            match curve {
                Some(Nid::X9_62_PRIME256V1) => Ok(MessageDigest::sha256()),
                Some(Nid::SECP384R1) => Ok(MessageDigest::sha384()),
                Some(Nid::SECP521R1) => Ok(MessageDigest::sha512()),
                _ => Err(CaError::KeyType(
                    "an EC key on an unsupported curve".to_owned(),
                )),
            }
        }
        _ => Err(CaError::KeyType("neither RSA nor EC".to_owned())),
    }
}

fn is_ca(cert: &X509) -> bool {
    let Ok(der) = cert.to_der() else {
        return false;
    };
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(&der) else {
        return false;
    };
    matches!(parsed.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
}

fn first_reason(err: &openssl::error::ErrorStack) -> String {
    err.errors()
        .first()
        .and_then(|e| e.reason())
        .unwrap_or("not a certificate")
        .to_owned()
}
