//! What can be wrong with a webhook body. Every message names the payload kind and field.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    #[error(
        "the {kind} payload is not JSON: {detail}; the delivery was not sent by the forge or was cut off"
    )]
    NotJson { kind: &'static str, detail: String },
    #[error("the {kind} payload is missing or has a bad `{field}`: {detail}")]
    BadField {
        kind: &'static str,
        field: &'static str,
        detail: String,
    },
    #[error(
        "the X-Gitlab-Event header says `{header}` but the body is a `{object_kind}` event; check the webhook's sender"
    )]
    KindMismatch { header: String, object_kind: String },
}

impl EventError {
    pub(crate) fn bad(kind: &'static str, field: &'static str, detail: impl ToString) -> Self {
        Self::BadField {
            kind,
            field,
            detail: detail.to_string(),
        }
    }

    pub(crate) fn from_serde(kind: &'static str, error: &serde_json::Error) -> Self {
        let full = error.to_string();
        let location = format!(" at line {} column {}", error.line(), error.column());
        let detail = full.strip_suffix(&location).unwrap_or(&full).to_owned();
        if error.is_syntax() || error.is_eof() {
            Self::NotJson { kind, detail }
        } else {
            Self::bad(kind, "(payload)", detail)
        }
    }
}
