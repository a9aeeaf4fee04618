//! Rule `csr.extensions`: nothing requested that Ferry would not grant. Requested extensions
//! are never copied into certificates; refusing them tells the requester so, instead of
//! silently issuing something other than what they asked for.

use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::X509CertificationRequest;

use super::verdict::{Rule, Violation};

const FIX: &str =
    "create the CSR without extensions (no `-addext`, no `req_extensions` in the openssl config)";

pub fn check(csr: &X509CertificationRequest<'_>) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut refuse = |message: String| {
        violations.push(Violation::new(
            Rule::Extensions,
            format!("{message}; {FIX}"),
        ));
    };
    let mut extension_requests = 0;
    for attribute in csr.certification_request_info.iter_attributes() {
        match attribute.parsed_attribute() {
            ParsedCriAttribute::ExtensionRequest(request) => {
                extension_requests += 1;
                for extension in &request.extensions {
                    if let Some(problem) = judge(extension.parsed_extension()) {
                        refuse(problem);
                    }
                }
            }
            ParsedCriAttribute::ChallengePassword(_) => {
                refuse("the CSR carries a challengePassword attribute".to_owned());
            }
            ParsedCriAttribute::UnsupportedAttribute => {
                refuse(format!(
                    "the CSR carries an unknown attribute {}",
                    attribute.oid
                ));
            }
        }
    }
    if extension_requests > 1 {
        refuse("the CSR holds more than one extension request".to_owned());
    }
    violations
}

/// Extensions whose presence is harmless because the signer sets its own values are
/// tolerated; everything else is refused.
fn judge(extension: &ParsedExtension<'_>) -> Option<String> {
    match extension {
        ParsedExtension::BasicConstraints(constraints) if constraints.ca => {
            Some("the CSR asks for a CA certificate (basicConstraints CA:TRUE)".to_owned())
        }
        ParsedExtension::BasicConstraints(_)
        | ParsedExtension::KeyUsage(_)
        | ParsedExtension::ExtendedKeyUsage(_)
        | ParsedExtension::SubjectKeyIdentifier(_) => None,
        ParsedExtension::SubjectAlternativeName(_) => Some(
            "the CSR asks for subject alternative names, which client certificates do not carry"
                .to_owned(),
        ),
        ParsedExtension::ParseError { error } => {
            Some(format!("a requested extension is malformed ({error})"))
        }
        other => Some(format!(
            "the CSR asks for an extension Ferry does not grant ({})",
            describe(other)
        )),
    }
}

fn describe(extension: &ParsedExtension<'_>) -> String {
    match extension {
        ParsedExtension::UnsupportedExtension { oid } => format!("OID {oid}"),
        other => {
            let debug = format!("{other:?}");
            debug
                .split(['(', ' ', '{'])
                .next()
                .unwrap_or("unknown")
                .to_owned()
        }
    }
}
