use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::EXIT_REJECTED;
use crate::csr::ca::{Ca, CaKeySource, read_key_bytes};
use crate::csr::check::{ClusterRequest, check_csr, every_cluster};
use crate::csr::duration::Ttl;
use crate::csr::kubeconfig::{self, KubeconfigInput};
use crate::csr::ledger;
use crate::csr::pem::MAX_CSR_BYTES;
use crate::csr::policy::CsrPolicy;
use crate::csr::sign::sign;
use crate::csr::verdict::Report;

#[derive(Debug, Args)]
pub struct CsrArgs {
    #[command(subcommand)]
    pub command: CsrCommand,
}

#[derive(Debug, Subcommand)]
pub enum CsrCommand {
    /// Check a CSR against policies/csr.yaml; exit 0 if accepted, 1 if rejected.
    Check(CheckArgs),
    /// Check a CSR and sign a client certificate for one cluster.
    Sign(SignArgs),
    /// List certificates in the ledger that expire soon.
    Expiring(ExpiringArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The CSR file (PEM).
    pub file: PathBuf,
    /// The CSR policy (policies/csr.yaml).
    #[arg(long)]
    pub policy: PathBuf,
    /// Forge username of the person asking; the CSR's CN must equal it.
    #[arg(long)]
    pub requester: String,
    /// Cluster to check for (repeatable); every cluster of the policy if omitted.
    #[arg(long = "cluster")]
    pub clusters: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The CSR file (PEM).
    pub file: PathBuf,
    #[arg(long)]
    pub policy: PathBuf,
    #[arg(long)]
    pub requester: String,
    #[arg(long)]
    pub cluster: String,
    /// The cluster CA certificate (PEM).
    #[arg(long)]
    pub ca_cert: PathBuf,
    /// The CA private key file (PEM or DER; PKCS#1, SEC1 or PKCS#8).
    #[arg(
        long,
        required_unless_present = "ca_key_env",
        conflicts_with = "ca_key_env"
    )]
    pub ca_key: Option<PathBuf>,
    /// Name of an environment variable holding the CA private key (PEM).
    #[arg(long)]
    pub ca_key_env: Option<String>,
    /// Where to write the certificate (PEM).
    #[arg(long)]
    pub out: PathBuf,
    /// Certificate lifetime, e.g. 30d or 12h; the cluster's default_ttl if omitted.
    #[arg(long)]
    pub ttl: Option<Ttl>,
    /// Also write a kubeconfig here (it points at the user's own key; it holds no key).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExpiringArgs {
    /// The ledger directory holding <cluster>.tsv files.
    #[arg(long)]
    pub ledger: PathBuf,
    /// How far ahead to look, e.g. 14d.
    #[arg(long)]
    pub within: Ttl,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: CsrArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        CsrCommand::Check(args) => check(args),
        CsrCommand::Sign(args) => sign_command(args),
        CsrCommand::Expiring(args) => expiring(args),
    }
}

fn load_policy(path: &Path) -> anyhow::Result<CsrPolicy> {
    Ok(CsrPolicy::load(path)?)
}

/// Reads at most one byte more than the limit, so a huge file is refused by `csr.pem`
/// without being read whole.
fn read_csr(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open CSR file {}; check the path", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_CSR_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read CSR file {}", path.display()))?;
    Ok(bytes)
}

fn print_report(report: &Report, format: Format) {
    match format {
        Format::Text => out!("{report}"),
        Format::Json => outln!("{}", report.to_json()),
    }
}

fn verdict_exit(report: &Report) -> ExitCode {
    if report.accepted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REJECTED)
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let policy = load_policy(&args.policy)?;
    let csr = read_csr(&args.file)?;
    let clusters: Vec<ClusterRequest> = if args.clusters.is_empty() {
        every_cluster(&policy)
    } else {
        args.clusters
            .iter()
            .map(|c| ClusterRequest::all_groups(c))
            .collect()
    };
    let checked = check_csr(&csr, &policy, &args.requester, &clusters)?;
    print_report(&checked.report, args.format);
    Ok(verdict_exit(&checked.report))
}

fn sign_command(args: SignArgs) -> anyhow::Result<ExitCode> {
    let policy = load_policy(&args.policy)?;
    let csr = read_csr(&args.file)?;
    let ttl = policy
        .ttl_for(&args.cluster, args.ttl)
        .map_err(anyhow::Error::msg)?;
    let checked = check_csr(
        &csr,
        &policy,
        &args.requester,
        &[ClusterRequest::all_groups(&args.cluster)],
    )?;
    let Some(approved) = checked.approved(&args.cluster) else {
        print_report(&checked.report, Format::Text);
        return Ok(ExitCode::from(EXIT_REJECTED));
    };
    let source = match (&args.ca_key, &args.ca_key_env) {
        (Some(path), _) => CaKeySource::File(path.clone()),
        (None, Some(name)) => CaKeySource::Env(name.clone()),
        (None, None) => bail!("give the CA key with --ca-key FILE or --ca-key-env VARIABLE"),
    };
    let ca_cert = std::fs::read(&args.ca_cert).with_context(|| {
        format!(
            "cannot read CA certificate {}; check the path",
            args.ca_cert.display()
        )
    })?;
    let ca = Ca::load(&ca_cert, &read_key_bytes(&source)?)
        .with_context(|| format!("CA for cluster `{}`", args.cluster))?;
    let issued = sign(approved, &ca, ttl, OffsetDateTime::now_utc())?;
    write_atomically(&args.out, issued.pem.as_bytes())?;
    if let Some(path) = &args.kubeconfig {
        let server = policy
            .clusters
            .get(&args.cluster)
            .map(|c| c.server.as_str())
            .unwrap_or_default();
        let text = kubeconfig::render(&KubeconfigInput {
            cluster: &args.cluster,
            server,
            ca_cert_pem: &ca.cert_pem()?,
            client_cert_pem: issued.pem.as_bytes(),
            username: approved.common_name(),
        });
        write_atomically(path, text.as_bytes())?;
    }
    let not_after = issued.not_after.format(&Rfc3339)?;
    outln!(
        "signed {} for cluster {}: serial {}, valid until {not_after}, written to {}",
        issued.common_name,
        args.cluster,
        issued.serial_hex,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes through a temporary file in the same directory, so a crash never leaves a
/// half-written certificate behind.
fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    temp.write_all(contents)?;
    temp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn expiring(args: ExpiringArgs) -> anyhow::Result<ExitCode> {
    let mut ledgers = BTreeMap::new();
    let entries = std::fs::read_dir(&args.ledger).with_context(|| {
        format!(
            "cannot read ledger directory {}; check the path",
            args.ledger.display()
        )
    })?;
    let mut problems = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let (Some(cluster), Some("tsv")) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|e| e.to_str()),
        ) else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        match ledger::parse(&text, &path.display().to_string()) {
            Ok(parsed) => {
                ledgers.insert(cluster.to_owned(), parsed);
            }
            Err(errors) => problems.extend(errors.iter().map(ToString::to_string)),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let due = ledger::expiring(&ledgers, OffsetDateTime::now_utc(), args.within);
    match args.format {
        Format::Text => {
            for item in &due {
                let state = if item.expired { "expired" } else { "expires" };
                outln!(
                    "{}\t{}\t{}\t{state} {}",
                    item.cluster,
                    item.entry.common_name,
                    item.entry.serial_hex,
                    item.entry.not_after.format(&Rfc3339)?
                );
            }
        }
        Format::Json => {
            let mut items = Vec::new();
            for item in &due {
                items.push(serde_json::json!({
                    "cluster": item.cluster,
                    "cn": item.entry.common_name,
                    "groups": item.entry.groups,
                    "serial": item.entry.serial_hex,
                    "not_after": item.entry.not_after.format(&Rfc3339)?,
                    "expired": item.expired,
                }));
            }
            outln!("{}", serde_json::Value::Array(items));
        }
    }
    Ok(ExitCode::SUCCESS)
}
