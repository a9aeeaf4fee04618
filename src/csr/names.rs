//! What a name in a certificate subject, a path or a group list may look like.

use std::collections::BTreeSet;

/// Longest CN or O value accepted (the X.520 upper bound for common names).
pub const MAX_SUBJECT_VALUE_CHARS: usize = 64;

/// Kubernetes grants these to whoever holds them, whatever the policy says: `system:` names
/// are the API server's own identities (`system:masters` bypasses RBAC entirely), and
/// kubeadm binds `kubeadm:cluster-admins` to cluster-admin.
const RESERVED_PREFIX: &str = "system:";
const BUILT_IN_DENIED: [&str; 1] = ["kubeadm:cluster-admins"];

/// Why a subject value is refused, or `Ok` if it can stand in a certificate.
pub fn check_subject_value(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if value.chars().count() > MAX_SUBJECT_VALUE_CHARS {
        return Err("it is longer than 64 characters");
    }
    for c in value.chars() {
        if c == ' ' {
            return Err("it contains a space");
        }
        if c.is_control() {
            return Err("it contains a control character");
        }
        if !c.is_ascii_graphic() {
            return Err("it contains a character outside printable ASCII");
        }
    }
    Ok(())
}

/// True for names no policy can grant: the built-in denials and the policy's `deny_groups`.
/// Compared without regard to case so a look-alike cannot slip past a reviewer.
pub fn is_reserved(value: &str, deny_groups: &BTreeSet<String>) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.starts_with(RESERVED_PREFIX)
        || BUILT_IN_DENIED.contains(&lower.as_str())
        || deny_groups
            .iter()
            .any(|denied| denied.eq_ignore_ascii_case(value))
}

/// True for names that can be used as one component of a repository path.
pub fn is_path_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SUBJECT_VALUE_CHARS
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_values() {
        assert_eq!(check_subject_value("alice"), Ok(()));
        assert_eq!(check_subject_value("dev-ops_1.x@corp"), Ok(()));
        assert_eq!(check_subject_value(""), Err("it is empty"));
        assert_eq!(check_subject_value("alice "), Err("it contains a space"));
        assert_eq!(
            check_subject_value("al\u{7}ice"),
            Err("it contains a control character")
        );
        assert!(check_subject_value("alicé").is_err());
        assert!(check_subject_value(&"a".repeat(64)).is_ok());
        assert!(check_subject_value(&"a".repeat(65)).is_err());
    }

    #[test]
    fn reserved_names() {
        let deny: BTreeSet<String> = ["cluster-admins".to_owned()].into();
        for name in [
            "system:masters",
            "System:Masters",
            "system:node:x",
            "kubeadm:cluster-admins",
            "cluster-admins",
            "CLUSTER-ADMINS",
        ] {
            assert!(is_reserved(name, &deny), "{name}");
        }
        for name in ["developers", "systems", "masters", "cluster-admin"] {
            assert!(!is_reserved(name, &deny), "{name}");
        }
    }

    #[test]
    fn path_safe_names() {
        assert!(is_path_safe("alice.smith-2"));
        for bad in ["", "..", ".hidden", "a/b", "a b", "a\\b", "é"] {
            assert!(!is_path_safe(bad), "{bad}");
        }
    }
}
