//! Webhook authentication, done on the raw bytes before anything is parsed or stored.
//!
//! Every comparison goes through `subtle` so that its time does not depend on how many
//! leading bytes matched, and every configured secret is tried (no early exit) so the time
//! does not say which secret matched either. GitLab tokens are compared as SHA-256 digests,
//! which also hides the secret's length.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// Why a delivery was refused (answered 401, nothing stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    Mismatch,
}

impl AuthFailure {
    pub fn message(self, header: &str) -> String {
        match self {
            AuthFailure::Missing => format!("the {header} header is missing"),
            AuthFailure::Malformed => format!("the {header} header is malformed"),
            AuthFailure::Mismatch => {
                format!("the {header} header does not match a configured secret")
            }
        }
    }
}

/// Constant-time equality of a presented token and one secret (via their digests).
pub fn token_matches(given: &[u8], secret: &SecretString) -> Choice {
    let given = Sha256::digest(given);
    let expected = Sha256::digest(secret.expose_secret().as_bytes());
    given.as_slice().ct_eq(expected.as_slice())
}

/// GitLab: `X-Gitlab-Token` equals one of the secrets.
pub fn check_gitlab_token(
    header: Option<&[u8]>,
    secrets: &[SecretString],
) -> Result<(), AuthFailure> {
    let given = header.ok_or(AuthFailure::Missing)?;
    let matched = secrets.iter().fold(Choice::from(0), |any, secret| {
        any | token_matches(given, secret)
    });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(AuthFailure::Mismatch)
    }
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of the raw body under
/// one of the secrets.
pub fn check_github_signature(
    header: Option<&[u8]>,
    body: &[u8],
    secrets: &[SecretString],
) -> Result<(), AuthFailure> {
    let header = header.ok_or(AuthFailure::Missing)?;
    let hex_signature = header
        .strip_prefix(b"sha256=")
        .ok_or(AuthFailure::Malformed)?;
    let signature = hex::decode(hex_signature).map_err(|_| AuthFailure::Malformed)?;
    if signature.len() != 32 {
        return Err(AuthFailure::Malformed);
    }
    let matched = secrets.iter().fold(Choice::from(0), |any, secret| {
        any | signature_matches(&signature, body, secret)
    });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(AuthFailure::Mismatch)
    }
}

/// Constant-time check of one HMAC-SHA256 signature under one secret.
pub fn signature_matches(signature: &[u8], body: &[u8], secret: &SecretString) -> Choice {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
        return Choice::from(0);
    };
    mac.update(body);
    mac.finalize().into_bytes().as_slice().ct_eq(signature)
}

/// The `X-Hub-Signature-256` value for `body` under `secret` (tests, benchmarks, tools).
pub fn github_signature(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> Vec<SecretString> {
        values
            .iter()
            .map(|v| SecretString::from((*v).to_owned()))
            .collect()
    }

    #[test]
    fn gitlab_token_valid_forged_missing_and_rotated() {
        let current = secrets(&["s3cret"]);
        assert_eq!(check_gitlab_token(Some(b"s3cret"), &current), Ok(()));
        assert_eq!(
            check_gitlab_token(Some(b"s3cre"), &current),
            Err(AuthFailure::Mismatch)
        );
        assert_eq!(
            check_gitlab_token(Some(b"s3cret "), &current),
            Err(AuthFailure::Mismatch)
        );
        assert_eq!(
            check_gitlab_token(Some(b""), &current),
            Err(AuthFailure::Mismatch)
        );
        assert_eq!(
            check_gitlab_token(None, &current),
            Err(AuthFailure::Missing)
        );
        let rotating = secrets(&["new-one", "s3cret"]);
        assert_eq!(check_gitlab_token(Some(b"s3cret"), &rotating), Ok(()));
        assert_eq!(check_gitlab_token(Some(b"new-one"), &rotating), Ok(()));
        assert_eq!(
            check_gitlab_token(Some(b"s3cret"), &secrets(&["new-one"])),
            Err(AuthFailure::Mismatch)
        );
        assert_eq!(
            check_gitlab_token(Some(b"s3cret"), &[]),
            Err(AuthFailure::Mismatch)
        );
    }

    #[test]
    fn github_signature_valid_forged_missing_and_rotated() {
        let body = br#"{"repository":{"full_name":"org/app"}}"#;
        let good = github_signature(body, "s3cret");
        let current = secrets(&["s3cret"]);
        assert_eq!(
            check_github_signature(Some(good.as_bytes()), body, &current),
            Ok(())
        );
        // The same signature over a body changed by one byte.
        let mut tampered = body.to_vec();
        tampered[5] ^= 1;
        assert_eq!(
            check_github_signature(Some(good.as_bytes()), &tampered, &current),
            Err(AuthFailure::Mismatch)
        );
        let other_key = github_signature(body, "guess");
        assert_eq!(
            check_github_signature(Some(other_key.as_bytes()), body, &current),
            Err(AuthFailure::Mismatch)
        );
        assert_eq!(
            check_github_signature(None, body, &current),
            Err(AuthFailure::Missing)
        );
        for malformed in ["sha1=00", "sha256=zz", "sha256=abcd", ""] {
            assert_eq!(
                check_github_signature(Some(malformed.as_bytes()), body, &current),
                Err(AuthFailure::Malformed),
                "{malformed}"
            );
        }
        let rotating = secrets(&["next", "s3cret"]);
        assert_eq!(
            check_github_signature(Some(good.as_bytes()), body, &rotating),
            Ok(())
        );
        let next = github_signature(body, "next");
        assert_eq!(
            check_github_signature(Some(next.as_bytes()), body, &rotating),
            Ok(())
        );
    }

    #[test]
    fn comparisons_are_the_constant_time_kind() {
        // The result types are `subtle::Choice`: these comparisons cannot be plain `==`
        // (whose early exit leaks the matching prefix length) without failing to compile.
        let secret = SecretString::from("abc".to_owned());
        let token: Choice = token_matches(b"abc", &secret);
        assert!(bool::from(token));
        assert!(!bool::from(token_matches(b"abd", &secret)));
        let signature = hex::decode(&github_signature(b"x", "abc")["sha256=".len()..]).unwrap();
        let checked: Choice = signature_matches(&signature, b"x", &secret);
        assert!(bool::from(checked));
        assert!(!bool::from(signature_matches(&signature, b"y", &secret)));
    }
}
