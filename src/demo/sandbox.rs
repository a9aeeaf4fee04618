//! The demo's sandbox on disk: a GitOps repository seeded from the built-in example, a
//! source project with a few commits, and two throw-away cluster CAs.

use std::fs;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509, X509NameBuilder, X509ReqBuilder};

use super::template::GITOPS_EXAMPLE;

/// The sub-directories the demo owns inside DIR; a second run removes and remakes them.
const OWNED: [&str; 4] = ["git", "forge", "data", "secrets"];

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("openssl: {0}")]
    Ssl(#[from] openssl::error::ErrorStack),
}

pub struct Sandbox {
    pub dir: PathBuf,
    /// The GitOps repository (bare), as a forge would host it.
    pub gitops: PathBuf,
    /// The source project `eap/website` (bare).
    pub source: PathBuf,
    /// The local forge's state.
    pub forge: PathBuf,
    /// Ferry's data directory (queue, mirrors, workflow state).
    pub data: PathBuf,
    /// CA private keys, which never go into the repository.
    pub secrets: PathBuf,
}

fn io(what: &Path) -> impl FnOnce(std::io::Error) -> SandboxError + '_ {
    move |error| SandboxError::Io(what.display().to_string(), error)
}

impl Sandbox {
    /// Makes a fresh sandbox in `dir`, replacing what an earlier run left there.
    pub fn create(dir: &Path) -> Result<Self, SandboxError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        // Absolute, because the configuration written here is read from other directories.
        let dir = &std::path::absolute(dir).map_err(io(dir))?;
        for owned in OWNED {
            let path = dir.join(owned);
            if path.exists() {
                fs::remove_dir_all(&path).map_err(io(&path))?;
            }
            fs::create_dir_all(&path).map_err(io(&path))?;
        }
        let sandbox = Self {
            dir: dir.to_path_buf(),
            gitops: dir.join("git/eap/gitops.git"),
            source: dir.join("git/eap/website.git"),
            forge: dir.join("forge"),
            data: dir.join("data"),
            secrets: dir.join("secrets"),
        };
        let today = jiff::Timestamp::now()
            .in_tz(FREEZE_ZONE)
            .unwrap_or_else(|_| jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC));
        let mut files: Vec<(String, Vec<u8>)> = GITOPS_EXAMPLE
            .iter()
            .map(|(path, text)| {
                let text = if *path == "policies/promotion.yaml" {
                    freeze_elsewhere(text, today.weekday())
                } else {
                    (*text).to_owned()
                };
                ((*path).to_owned(), text.into_bytes())
            })
            .collect();
        for cluster in ["integration", "production"] {
            let (cert, key) = make_ca(&format!("{cluster} cluster CA (ferry demo)"))?;
            files.push((format!("ca/{cluster}.crt"), cert));
            let key_path = sandbox.ca_key(cluster);
            fs::write(&key_path, key).map_err(io(&key_path))?;
        }
        seed_bare(&sandbox.gitops, "main", &files, "Initial GitOps repository")?;
        seed_bare(
            &sandbox.source,
            "main",
            &[("index.html".to_owned(), b"<h1>eap website</h1>\n".to_vec())],
            "Initial website",
        )?;
        Ok(sandbox)
    }

    /// Where the CA key of `cluster` is: `<cluster>.key` in the directory that
    /// `gitops.ca_key_dir` names.
    pub fn ca_key(&self, cluster: &str) -> PathBuf {
        self.secrets.join(format!("{cluster}.key"))
    }

    /// Adds a commit to `branch` of the source project (creating the branch from `main`).
    pub fn commit_to_source(
        &self,
        branch: &str,
        file: &str,
        content: &str,
        message: &str,
    ) -> Result<Oid, SandboxError> {
        let repo = Repository::open_bare(&self.source)?;
        let parent_id = repo
            .refname_to_id(&format!("refs/heads/{branch}"))
            .or_else(|_| repo.refname_to_id("refs/heads/main"))?;
        let parent = repo.find_commit(parent_id)?;
        let blob = repo.blob(content.as_bytes())?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        update.upsert(file, blob, git2::FileMode::Blob);
        let tree = repo.find_tree(update.create_updated(&repo, &parent.tree()?)?)?;
        let who = Signature::now("Alice Developer", "alice@example.com")?;
        let commit = repo.commit(None, &who, &who, message, &tree, &[&parent])?;
        repo.reference(&format!("refs/heads/{branch}"), commit, true, "demo")?;
        Ok(commit)
    }

    /// Adds a commit to `branch` of the GitOps repository, created from `main`, as `author`
    /// would push it.
    pub fn commit_to_gitops(
        &self,
        branch: &str,
        files: &[(&str, &[u8])],
        message: &str,
        author: &str,
    ) -> Result<Oid, SandboxError> {
        let repo = Repository::open_bare(&self.gitops)?;
        let parent = repo.find_commit(repo.refname_to_id("refs/heads/main")?)?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        for (file, content) in files {
            update.upsert(*file, repo.blob(content)?, git2::FileMode::Blob);
        }
        let tree = repo.find_tree(update.create_updated(&repo, &parent.tree()?)?)?;
        let who = Signature::now(author, &format!("{author}@example.com"))?;
        let commit = repo.commit(None, &who, &who, message, &tree, &[&parent])?;
        repo.reference(&format!("refs/heads/{branch}"), commit, true, "demo")?;
        Ok(commit)
    }

    /// Tags `commit` in the source project.
    pub fn tag_source(&self, tag: &str, commit: Oid) -> Result<(), SandboxError> {
        let repo = Repository::open_bare(&self.source)?;
        repo.reference(&format!("refs/tags/{tag}"), commit, true, "demo")?;
        Ok(())
    }
}

/// The example policy's freeze window is in this zone.
const FREEZE_ZONE: &str = "Asia/Shanghai";

/// The example freezes production on Friday to Sunday evenings; the demo moves the window to
/// the day after tomorrow so that the story is the same whenever it runs, and the freeze is
/// still there to read.
fn freeze_elsewhere(policy: &str, today: jiff::civil::Weekday) -> String {
    let day = match today.wrapping_add(2) {
        jiff::civil::Weekday::Monday => "mon",
        jiff::civil::Weekday::Tuesday => "tue",
        jiff::civil::Weekday::Wednesday => "wed",
        jiff::civil::Weekday::Thursday => "thu",
        jiff::civil::Weekday::Friday => "fri",
        jiff::civil::Weekday::Saturday => "sat",
        jiff::civil::Weekday::Sunday => "sun",
    };
    policy.replace("days: [fri, sat, sun]", &format!("days: [{day}]"))
}

/// A bare repository whose `branch` holds `files` in one commit.
fn seed_bare(
    path: &Path,
    branch: &str,
    files: &[(String, Vec<u8>)],
    message: &str,
) -> Result<(), SandboxError> {
    let repo = Repository::init_bare(path)?;
    let empty = repo.find_tree(repo.treebuilder(None)?.write()?)?;
    let mut update = git2::build::TreeUpdateBuilder::new();
    for (file, content) in files {
        update.upsert(file.as_str(), repo.blob(content)?, git2::FileMode::Blob);
    }
    let tree = repo.find_tree(update.create_updated(&repo, &empty)?)?;
    let who = Signature::new(
        "Platform Team",
        "platform@example.com",
        &Time::new(1_764_576_000, 0),
    )?;
    let commit = repo.commit(None, &who, &who, message, &tree, &[])?;
    repo.reference(&format!("refs/heads/{branch}"), commit, true, "demo")?;
    repo.set_head(&format!("refs/heads/{branch}"))?;
    Ok(())
}

/// A self-signed EC P-256 CA valid for a year: `(certificate PEM, PKCS#8 key PEM)`.
fn make_ca(common_name: &str) -> Result<(Vec<u8>, Vec<u8>), SandboxError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    let name = name.build();
    let mut serial = BigNum::new()?;
    serial.rand(128, MsbOption::MAYBE_ZERO, false)?;
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    builder.set_serial_number(serial.to_asn1_integer()?.as_ref())?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(&key)?;
    builder.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    builder.set_not_after(Asn1Time::days_from_now(365)?.as_ref())?;
    builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    builder.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(ski)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok((builder.build().to_pem()?, key.private_key_to_pem_pkcs8()?))
}

/// A person's EC P-256 key and CSR for `CN=<user>`, one `O` per group: `(key PEM, CSR PEM)`.
pub fn client_csr(user: &str, groups: &[&str]) -> Result<(Vec<u8>, Vec<u8>), SandboxError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut name = X509NameBuilder::new()?;
    for group in groups {
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, group)?;
    }
    name.append_entry_by_nid(Nid::COMMONNAME, user)?;
    let mut request = X509ReqBuilder::new()?;
    request.set_subject_name(&name.build())?;
    request.set_pubkey(&key)?;
    request.sign(&key, MessageDigest::sha256())?;
    Ok((key.private_key_to_pem_pkcs8()?, request.build().to_pem()?))
}
