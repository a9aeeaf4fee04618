//! Options shared by several commands, declared once so they read the same everywhere.

use crate::commands::spec::{OptionSpec, ValueKind};

pub(crate) const SERVICE: OptionSpec = OptionSpec {
    key: "service",
    placeholder: "SERVICE",
    kind: ValueKind::Service,
    repeatable: true,
    help: "only this service (default: every service the promotion covers)",
};

pub(crate) const OVERRIDE: OptionSpec = OptionSpec {
    key: "override",
    placeholder: "\"REASON\"",
    kind: ValueKind::Reason,
    repeatable: false,
    help: "go ahead during a freeze window; the policy says who may, and the reason is recorded in the audit trail",
};

/// Writes ` service=a service=b override="..."`.
pub(crate) fn write_targets(
    f: &mut std::fmt::Formatter<'_>,
    services: &[crate::domain::ServiceName],
    freeze_override: Option<&str>,
) -> std::fmt::Result {
    for service in services {
        write!(f, " service={service}")?;
    }
    if let Some(reason) = freeze_override {
        write!(
            f,
            " override={}",
            crate::commands::lexer::quote_if_needed(reason)
        )?;
    }
    Ok(())
}
