//! Rule `csr.subject`: the subject holds one CN (the username) and O attributes (the groups),
//! each a short printable name, and nothing else.

use x509_parser::oid_registry::{OID_X509_COMMON_NAME, OID_X509_ORGANIZATION_NAME};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use super::names;
use super::verdict::{Rule, Violation};

/// What the subject asks for, raw and validated.
#[derive(Debug, Default)]
pub struct Subject {
    /// Every CN and O value as written (undecodable ones as a lossy rendering), for the
    /// reserved-name rule, which must see even malformed values.
    pub raw_common_names: Vec<String>,
    pub raw_organizations: Vec<String>,
    /// The CN, if there is exactly one and it is well formed.
    pub common_name: Option<String>,
    /// The well-formed, distinct O values, in request order.
    pub organizations: Vec<String>,
    pub violations: Vec<Violation>,
}

const FIX: &str = "create the CSR with `-subj \"/CN=<your username>/O=<group>\"`";

pub fn read(name: &X509Name<'_>) -> Subject {
    let mut subject = Subject::default();
    let mut refuse = |message: String| Violation::new(Rule::Subject, format!("{message}; {FIX}"));
    let mut violations = Vec::new();
    for rdn in name.iter() {
        if rdn.iter().count() > 1 {
            violations.push(refuse(
                "the subject combines several attributes in one RDN (`+`)".to_owned(),
            ));
        }
        for attribute in rdn.iter() {
            let kind = attribute.attr_type();
            let label = if *kind == OID_X509_COMMON_NAME {
                "CN"
            } else if *kind == OID_X509_ORGANIZATION_NAME {
                "O"
            } else {
                violations.push(refuse(format!(
                    "the subject attribute {} is not allowed, only CN and O",
                    attribute_name(attribute)
                )));
                continue;
            };
            let (raw, valid) = value_of(attribute, label, &mut violations, &mut refuse);
            if label == "CN" {
                subject.raw_common_names.push(raw.clone());
            } else {
                subject.raw_organizations.push(raw.clone());
            }
            match (label, valid) {
                ("O", true) if subject.organizations.contains(&raw) => violations.push(refuse(
                    format!("O `{raw}` appears twice; list each group once"),
                )),
                ("O", true) => subject.organizations.push(raw),
                _ => {}
            }
        }
    }
    match subject.raw_common_names.len() {
        0 => violations.push(refuse("the subject has no CN".to_owned())),
        1 => {
            let cn = &subject.raw_common_names[0];
            if names::check_subject_value(cn).is_ok() && is_plain_string(name) {
                subject.common_name = Some(cn.clone());
            }
        }
        count => violations.push(refuse(format!(
            "the subject has {count} CNs; keep exactly one"
        ))),
    }
    subject.violations = violations;
    subject
}

/// The single CN must also have been readable as a string; `value_of` reports otherwise.
fn is_plain_string(name: &X509Name<'_>) -> bool {
    name.iter_common_name().all(|cn| cn.as_str().is_ok())
}

/// Returns the value as text and whether it is acceptable, reporting why not.
fn value_of(
    attribute: &AttributeTypeAndValue<'_>,
    label: &str,
    violations: &mut Vec<Violation>,
    refuse: &mut dyn FnMut(String) -> Violation,
) -> (String, bool) {
    let Ok(text) = attribute.as_str() else {
        let lossy = String::from_utf8_lossy(attribute.as_slice()).into_owned();
        violations.push(refuse(format!(
            "{label} `{}` is not a UTF8String or PrintableString",
            lossy.escape_debug()
        )));
        return (lossy, false);
    };
    match names::check_subject_value(text) {
        Ok(()) => (text.to_owned(), true),
        Err(reason) => {
            violations.push(refuse(format!(
                "{label} `{}` is not acceptable: {reason} (only printable ASCII without spaces, at most {} characters)",
                text.escape_debug(),
                names::MAX_SUBJECT_VALUE_CHARS
            )));
            (text.to_owned(), false)
        }
    }
}

fn attribute_name(attribute: &AttributeTypeAndValue<'_>) -> String {
    let oid = attribute.attr_type();
    match x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry()) {
        Ok(short) => format!("{short} ({oid})"),
        Err(_) => oid.to_id_string(),
    }
}
