//! `ledger/<cluster>.tsv`: one line per issued certificate, so anyone can see who holds what
//! until when, and Ferry can find certificates to renew.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::duration::Ttl;
use super::sign::Issued;

pub const HEADER: &str = "# serial\tcn\tgroups\tnot_before\tnot_after\tmr\tmerged_by";
const NO_GROUPS: &str = "-";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub serial_hex: String,
    pub common_name: String,
    pub groups: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The merge request that asked for the certificate, as the forge shows it (e.g. `!42`).
    pub merge_request: String,
    pub merged_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("{file}:{line}: {message}")]
    BadLine {
        file: String,
        line: usize,
        message: String,
    },
    #[error("ledger field `{0}` contains a tab or line break; it cannot be recorded")]
    UnsafeField(String),
}

impl LedgerEntry {
    pub fn from_issued(issued: &Issued, merge_request: &str, merged_by: &str) -> Self {
        LedgerEntry {
            serial_hex: issued.serial_hex.clone(),
            common_name: issued.common_name.clone(),
            groups: issued.groups.clone(),
            not_before: issued.not_before,
            not_after: issued.not_after,
            merge_request: merge_request.to_owned(),
            merged_by: merged_by.to_owned(),
        }
    }

    pub fn to_line(&self) -> Result<String, LedgerError> {
        let groups = if self.groups.is_empty() {
            NO_GROUPS.to_owned()
        } else {
            self.groups.join(",")
        };
        let fields = [
            self.serial_hex.clone(),
            self.common_name.clone(),
            groups,
            format_time(self.not_before)?,
            format_time(self.not_after)?,
            self.merge_request.clone(),
            self.merged_by.clone(),
        ];
        if let Some(bad) = fields
            .iter()
            .find(|f| f.is_empty() || f.contains(['\t', '\n', '\r']))
        {
            return Err(LedgerError::UnsafeField(bad.escape_debug().to_string()));
        }
        Ok(fields.join("\t"))
    }
}

fn format_time(time: OffsetDateTime) -> Result<String, LedgerError> {
    time.format(&Rfc3339)
        .map_err(|_| LedgerError::UnsafeField(format!("{time}")))
}

/// Parses a ledger file; every malformed line is reported, with its number.
pub fn parse(text: &str, file: &str) -> Result<Vec<LedgerEntry>, Vec<LedgerError>> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok(entry) => entries.push(entry),
            Err(message) => errors.push(LedgerError::BadLine {
                file: file.to_owned(),
                line: index + 1,
                message: format!("{message}; fix or remove the line (fields: serial, cn, groups, not_before, not_after, mr, merged_by, tab-separated)"),
            }),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

fn parse_line(line: &str) -> Result<LedgerEntry, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [serial, cn, groups, not_before, not_after, mr, merged_by] = fields[..] else {
        return Err(format!(
            "expected 7 tab-separated fields, found {}",
            fields.len()
        ));
    };
    if serial.is_empty() || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "serial `{}` is not hexadecimal",
            serial.escape_debug()
        ));
    }
    let time = |text: &str, what: &str| {
        OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| format!("{what} `{}` is not an RFC 3339 time", text.escape_debug()))
    };
    let groups = if groups == NO_GROUPS {
        Vec::new()
    } else {
        groups.split(',').map(str::to_owned).collect()
    };
    Ok(LedgerEntry {
        serial_hex: serial.to_owned(),
        common_name: cn.to_owned(),
        groups,
        not_before: time(not_before, "not_before")?,
        not_after: time(not_after, "not_after")?,
        merge_request: mr.to_owned(),
        merged_by: merged_by.to_owned(),
    })
}

/// The ledger text with `entry` appended, starting a new ledger with its header.
pub fn append(existing: &str, entry: &LedgerEntry) -> Result<String, LedgerError> {
    let mut text = if existing.trim().is_empty() {
        format!("{HEADER}\n")
    } else {
        existing.to_owned()
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&entry.to_line()?);
    text.push('\n');
    Ok(text)
}

/// A certificate due for renewal: the newest one for its CN on its cluster expires soon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    pub cluster: String,
    pub entry: LedgerEntry,
    pub expired: bool,
}

/// Certificates whose holder's newest certificate on that cluster ends within `within` of
/// `now` (or has already ended). Older certificates replaced by a renewal are ignored.
pub fn expiring(
    ledgers: &BTreeMap<String, Vec<LedgerEntry>>,
    now: OffsetDateTime,
    within: Ttl,
) -> Vec<Expiring> {
    let horizon = now + time::Duration::seconds(within.as_i64());
    let mut due = Vec::new();
    for (cluster, entries) in ledgers {
        let mut newest: BTreeMap<&str, &LedgerEntry> = BTreeMap::new();
        for entry in entries {
            let slot = newest.entry(&entry.common_name).or_insert(entry);
            // On a tie the later line wins: lines are appended, so it is the renewal.
            if entry.not_after >= slot.not_after {
                *slot = entry;
            }
        }
        for entry in newest.into_values() {
            if entry.not_after <= horizon {
                due.push(Expiring {
                    cluster: cluster.clone(),
                    entry: entry.clone(),
                    expired: entry.not_after <= now,
                });
            }
        }
    }
    due.sort_by_key(|e| (e.entry.not_after, e.cluster.clone()));
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(cn: &str, not_after: OffsetDateTime) -> LedgerEntry {
        LedgerEntry {
            serial_hex: "4A0F".to_owned(),
            common_name: cn.to_owned(),
            groups: vec!["developers".to_owned(), "qa".to_owned()],
            not_before: datetime!(2026-01-01 00:00 UTC),
            not_after,
            merge_request: "!42".to_owned(),
            merged_by: "carol".to_owned(),
        }
    }

    #[test]
    fn lines_round_trip() {
        let mut first = entry("alice", datetime!(2026-03-01 12:30 UTC));
        let text = append("", &first).unwrap();
        assert!(text.starts_with(HEADER));
        first.groups.clear();
        let text = append(&text, &first).unwrap();
        assert_eq!(
            text.lines().nth(1),
            Some(
                "4A0F\talice\tdevelopers,qa\t2026-01-01T00:00:00Z\t2026-03-01T12:30:00Z\t!42\tcarol"
            )
        );
        let parsed = parse(&text, "ledger/integration.tsv").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].groups, ["developers", "qa"]);
        assert_eq!(parsed[1], first);
    }

    #[test]
    fn bad_lines_are_all_reported_with_numbers() {
        let text = format!(
            "{HEADER}\nnot\ta\tline\n{}\nXYZ\talice\t-\t2026-01-01T00:00:00Z\t2026-01-02T00:00:00Z\t!1\tcarol\n4A\talice\t-\tyesterday\t2026-01-02T00:00:00Z\t!1\tcarol\n",
            entry("bob", datetime!(2026-03-01 0:00 UTC))
                .to_line()
                .unwrap()
        );
        let errors = parse(&text, "ledger/x.tsv").unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert!(
            shown[0].starts_with("ledger/x.tsv:2: expected 7"),
            "{shown:?}"
        );
        assert!(shown[1].starts_with("ledger/x.tsv:4: serial"), "{shown:?}");
        assert!(
            shown[2].starts_with("ledger/x.tsv:5: not_before"),
            "{shown:?}"
        );
    }

    #[test]
    fn unsafe_fields_are_refused() {
        let mut bad = entry("alice", datetime!(2026-03-01 0:00 UTC));
        bad.merged_by = "eve\tx".to_owned();
        assert!(bad.to_line().is_err());
    }

    #[test]
    fn expiring_takes_the_newest_certificate_per_holder() {
        let now = datetime!(2026-06-01 0:00 UTC);
        let ledgers: BTreeMap<String, Vec<LedgerEntry>> = [
            (
                "integration".to_owned(),
                vec![
                    entry("alice", datetime!(2026-06-05 0:00 UTC)),
                    entry("alice", datetime!(2026-08-01 0:00 UTC)), // renewed: not due
                    entry("bob", datetime!(2026-06-10 0:00 UTC)),
                    entry("dave", datetime!(2026-05-01 0:00 UTC)),
                    entry("erin", datetime!(2026-06-20 0:00 UTC)), // outside the window
                ],
            ),
            (
                "production".to_owned(),
                vec![entry("alice", datetime!(2026-06-02 0:00 UTC))],
            ),
        ]
        .into();
        let due = expiring(&ledgers, now, "14d".parse().unwrap());
        let names: Vec<(&str, &str, bool)> = due
            .iter()
            .map(|e| (e.cluster.as_str(), e.entry.common_name.as_str(), e.expired))
            .collect();
        assert_eq!(
            names,
            [
                ("integration", "dave", true),
                ("production", "alice", false),
                ("integration", "bob", false)
            ]
        );
    }
}
