//! `ferry serve` configuration: one YAML file, every key overridable by an environment
//! variable, secrets only from environment variables or files.
//!
//! Precedence, lowest first: embedded defaults, the YAML file, `FERRY_<SECTION>__<KEY>`
//! environment variables. Secrets never come from the YAML file (it is often committed or
//! mounted from a ConfigMap); they come from `FERRY_FORGES__<FORGE>__SECRET` or from the file
//! named by `forges.<forge>.secret_file`. Both may hold several secrets, one per line, so a
//! secret can be rotated without dropping deliveries signed with the old one.
//!
//! `docs/configuration.md` lists every key; a test checks that it names every key of [`KEYS`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

/// The configuration `ferry serve` runs with, after defaults, file and environment.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub workers: WorkerConfig,
    pub forges: ForgesConfig,
    pub gitops: GitopsConfig,
    /// The GitLab token the workflow uses for the API and for git over HTTPS, from
    /// `FERRY_GITOPS__TOKEN` or `gitops.token_file`.
    pub gitops_token: Option<SecretString>,
}

/// The GitOps repository the promotion workflow serves, on GitLab or on the local forge.
/// Without `project`, `ferry serve` only receives and records deliveries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GitopsConfig {
    /// Its path on GitLab, such as `platform/gitops`.
    pub project: Option<String>,
    /// Its git URL; default `<gitlab_url>/<project>.git`.
    pub remote: Option<String>,
    /// GitLab's base URL, for the API and the default remote.
    pub gitlab_url: String,
    pub author_name: String,
    pub author_email: String,
    /// An SSH private key to sign Ferry's commits with.
    pub signing_key: Option<PathBuf>,
    /// A file holding the token (instead of `FERRY_GITOPS__TOKEN`).
    pub token_file: Option<PathBuf>,
    /// A directory of cluster CA private keys, `<cluster>.key` each (PKCS#1 or PKCS#8, RSA
    /// or EC), for signing the client certificates of merged CSRs.
    pub ca_key_dir: Option<PathBuf>,
    /// Where the merge requests live: `gitlab`, or `local` for the local forge (plain git
    /// hosting, `ferry demo`).
    pub forge: WorkflowForge,
    /// The local forge's directory; default `<store.data_dir>/local-forge`.
    pub local_forge_dir: Option<PathBuf>,
    /// The promotion merge request's title, replacing `templates/merge-request/title.txt`.
    pub mr_title_template: Option<String>,
    /// A file replacing `templates/merge-request/body.md` as the body template.
    pub mr_body_template_file: Option<PathBuf>,
    /// Certificates in the ledgers ending within this window (`14d`) get a renewal merge
    /// request; unset: no renewals.
    pub renew_within: Option<String>,
}

/// The forge of the GitOps repository's merge requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowForge {
    #[default]
    GitLab,
    Local,
}

impl std::str::FromStr for WorkflowForge {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "gitlab" => Ok(Self::GitLab),
            "local" => Ok(Self::Local),
            other => Err(format!("unknown forge `{other}`: write gitlab or local")),
        }
    }
}

impl Default for GitopsConfig {
    fn default() -> Self {
        Self {
            project: None,
            remote: None,
            gitlab_url: "https://gitlab.com".into(),
            author_name: "Ferry".into(),
            author_email: "ferry@localhost".into(),
            signing_key: None,
            token_file: None,
            ca_key_dir: None,
            forge: WorkflowForge::GitLab,
            local_forge_dir: None,
            mr_title_template: None,
            mr_body_template_file: None,
            renew_within: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on. Port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// Largest webhook body accepted; larger ones answer 413.
    pub body_limit_bytes: usize,
    /// How long shutdown waits for in-flight work before releasing its leases.
    pub shutdown_grace_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Directory holding the SQLite queue (`queue.sqlite3`) and the handler's record.
    pub data_dir: PathBuf,
    /// SQLite `synchronous` mode: `full` survives power loss, `normal` survives a process
    /// crash (kill -9) but may lose the last commits on power loss.
    pub synchronous: Synchronous,
    pub busy_timeout_ms: u64,
    /// Most store operations committed together in one transaction (group commit).
    pub batch_max: usize,
    /// Days finished deliveries and their comment command records are kept; 0 keeps them
    /// forever. Pending, running, dead and failed deliveries are always kept.
    pub retention_days: u64,
}

impl StoreConfig {
    /// How long finished records are kept; `None`: forever.
    pub fn retention(&self) -> Option<std::time::Duration> {
        (self.retention_days > 0)
            .then(|| std::time::Duration::from_secs(self.retention_days.saturating_mul(86_400)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

impl std::str::FromStr for Synchronous {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!("`{other}` is not a mode; use `full` or `normal`")),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Deliveries processed at once (each from a different repository).
    pub concurrency: usize,
    /// Attempts before a delivery moves to the dead letters.
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// How long a claimed delivery stays leased without a heartbeat.
    pub lease_seconds: u64,
    /// How often idle workers look for due retries (new deliveries wake them at once).
    pub poll_interval_ms: u64,
    /// A handler running longer counts as a failed attempt.
    pub handler_timeout_seconds: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ForgesConfig {
    pub gitlab: ForgeConfig,
    pub github: ForgeConfig,
}

/// One forge's webhook endpoint. `secrets` holds every accepted secret (rotation).
#[derive(Debug, Clone)]
pub struct ForgeConfig {
    pub enabled: bool,
    pub secret_file: Option<PathBuf>,
    pub secrets: Vec<SecretString>,
    /// Ferry's user name on the forge: its comments are not read as commands, and
    /// `@<name>` addresses it (a GitHub App's `name[bot]` is mentioned as `@name`).
    pub bot_username: String,
    /// Ferry's user id on the forge; when set, its own comments are recognised by id
    /// (user names can be renamed and reused).
    pub bot_user_id: Option<u64>,
}

/// The bot's user name when none is configured.
pub const DEFAULT_BOT_USERNAME: &str = "ferry";

impl Default for ForgeConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            secret_file: None,
            secrets: Vec::new(),
            bot_username: DEFAULT_BOT_USERNAME.to_owned(),
            bot_user_id: None,
        }
    }
}

impl ForgeConfig {
    /// Who Ferry is on this forge.
    pub fn bot(&self) -> crate::domain::BotIdentity {
        crate::domain::BotIdentity {
            user_id: self.bot_user_id.map(crate::domain::UserId),
            username: self.bot_username.clone(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8470)),
            body_limit_bytes: 25 * 1024 * 1024,
            shutdown_grace_seconds: 20,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".ferry"),
            synchronous: Synchronous::Full,
            busy_timeout_ms: 5_000,
            batch_max: 512,
            retention_days: 30,
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            max_attempts: 8,
            backoff_base_ms: 1_000,
            backoff_max_ms: 300_000,
            lease_seconds: 60,
            poll_interval_ms: 500,
            handler_timeout_seconds: 300,
        }
    }
}

/// Why the configuration cannot be used. Each message says where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error(
        "forge {forge} is enabled but has no webhook secret; set FERRY_FORGES__{upper}__SECRET or forges.{forge}.secret_file, or disable it"
    )]
    MissingSecret { forge: &'static str, upper: String },
    #[error("cannot read the {forge} secret file {path}: {source}")]
    SecretFile {
        forge: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

// File shape: like `Config` but the forges carry no secrets, and a `secret` key is caught
// to answer with where secrets belong instead of a bare "unknown field".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    server: ServerConfig,
    store: StoreConfig,
    workers: WorkerConfig,
    forges: FileForges,
    gitops: GitopsConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileForges {
    gitlab: FileForge,
    github: FileForge,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileForge {
    enabled: bool,
    secret_file: Option<PathBuf>,
    bot_username: Option<String>,
    bot_user_id: Option<u64>,
    secret: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    secrets: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
}

/// One configuration key: its dotted path and how an environment string sets it.
pub struct Key {
    pub path: &'static str,
    apply: fn(&mut FileConfig, &str) -> Result<(), String>,
}

impl Key {
    /// `server.body_limit_bytes` -> `FERRY_SERVER__BODY_LIMIT_BYTES`.
    pub fn env_var(&self) -> String {
        format!("FERRY_{}", self.path.replace('.', "__").to_uppercase())
    }
}

fn parsed<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.trim().parse::<T>().map_err(|error| error.to_string())
}

macro_rules! key {
    ($path:literal, $($field:ident).+) => {
        Key {
            path: $path,
            apply: |config, text| {
                config.$($field).+ = parsed(text)?;
                Ok(())
            },
        }
    };
}

/// Every key that the file and the environment can set.
pub const KEYS: &[Key] = &[
    key!("server.listen", server.listen),
    key!("server.body_limit_bytes", server.body_limit_bytes),
    key!(
        "server.shutdown_grace_seconds",
        server.shutdown_grace_seconds
    ),
    key!("store.data_dir", store.data_dir),
    key!("store.synchronous", store.synchronous),
    key!("store.busy_timeout_ms", store.busy_timeout_ms),
    key!("store.batch_max", store.batch_max),
    key!("store.retention_days", store.retention_days),
    key!("workers.concurrency", workers.concurrency),
    key!("workers.max_attempts", workers.max_attempts),
    key!("workers.backoff_base_ms", workers.backoff_base_ms),
    key!("workers.backoff_max_ms", workers.backoff_max_ms),
    key!("workers.lease_seconds", workers.lease_seconds),
    key!("workers.poll_interval_ms", workers.poll_interval_ms),
    key!(
        "workers.handler_timeout_seconds",
        workers.handler_timeout_seconds
    ),
    key!("forges.gitlab.enabled", forges.gitlab.enabled),
    Key {
        path: "forges.gitlab.secret_file",
        apply: |config, text| {
            config.forges.gitlab.secret_file = Some(PathBuf::from(text));
            Ok(())
        },
    },
    Key {
        path: "forges.gitlab.bot_username",
        apply: |config, text| {
            config.forges.gitlab.bot_username = Some(text.trim().to_owned());
            Ok(())
        },
    },
    Key {
        path: "forges.gitlab.bot_user_id",
        apply: |config, text| {
            config.forges.gitlab.bot_user_id = Some(parsed(text)?);
            Ok(())
        },
    },
    Key {
        path: "gitops.project",
        apply: |config, text| {
            config.gitops.project = Some(text.trim().to_owned());
            Ok(())
        },
    },
    Key {
        path: "gitops.remote",
        apply: |config, text| {
            config.gitops.remote = Some(text.trim().to_owned());
            Ok(())
        },
    },
    Key {
        path: "gitops.gitlab_url",
        apply: |config, text| {
            text.trim().clone_into(&mut config.gitops.gitlab_url);
            Ok(())
        },
    },
    Key {
        path: "gitops.author_name",
        apply: |config, text| {
            text.trim().clone_into(&mut config.gitops.author_name);
            Ok(())
        },
    },
    Key {
        path: "gitops.author_email",
        apply: |config, text| {
            text.trim().clone_into(&mut config.gitops.author_email);
            Ok(())
        },
    },
    Key {
        path: "gitops.signing_key",
        apply: |config, text| {
            config.gitops.signing_key = Some(PathBuf::from(text));
            Ok(())
        },
    },
    Key {
        path: "gitops.ca_key_dir",
        apply: |config, text| {
            config.gitops.ca_key_dir = Some(PathBuf::from(text));
            Ok(())
        },
    },
    key!("gitops.forge", gitops.forge),
    Key {
        path: "gitops.local_forge_dir",
        apply: |config, text| {
            config.gitops.local_forge_dir = Some(PathBuf::from(text));
            Ok(())
        },
    },
    Key {
        path: "gitops.mr_title_template",
        apply: |config, text| {
            config.gitops.mr_title_template = Some(text.to_owned());
            Ok(())
        },
    },
    Key {
        path: "gitops.mr_body_template_file",
        apply: |config, text| {
            config.gitops.mr_body_template_file = Some(PathBuf::from(text));
            Ok(())
        },
    },
    Key {
        path: "gitops.renew_within",
        apply: |config, text| {
            config.gitops.renew_within = Some(text.trim().to_owned());
            Ok(())
        },
    },
    Key {
        path: "gitops.token_file",
        apply: |config, text| {
            config.gitops.token_file = Some(PathBuf::from(text));
            Ok(())
        },
    },
    key!("forges.github.enabled", forges.github.enabled),
    Key {
        path: "forges.github.secret_file",
        apply: |config, text| {
            config.forges.github.secret_file = Some(PathBuf::from(text));
            Ok(())
        },
    },
    Key {
        path: "forges.github.bot_username",
        apply: |config, text| {
            config.forges.github.bot_username = Some(text.trim().to_owned());
            Ok(())
        },
    },
    Key {
        path: "forges.github.bot_user_id",
        apply: |config, text| {
            config.forges.github.bot_user_id = Some(parsed(text)?);
            Ok(())
        },
    },
];

/// Environment variables holding secret values (never a file key, never logged).
pub const SECRET_VARS: &[&str] = &[
    "FERRY_FORGES__GITLAB__SECRET",
    "FERRY_FORGES__GITHUB__SECRET",
    "FERRY_GITOPS__TOKEN",
];

/// Names the configuration file when `--config` is not given.
pub const CONFIG_VAR: &str = "FERRY_CONFIG";

impl Config {
    /// Loads from `file` (or embedded defaults when `None`) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| name.starts_with("FERRY_"))
            .collect();
        Self::load_with_env(file, &env)
    }

    /// Like [`Config::load`] with an explicit environment (tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut raw = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                parse_file(&text, &path.display().to_string())?
            }
            None => FileConfig::default(),
        };
        apply_env(&mut raw, env)?;
        let gitlab = resolve_forge("gitlab", raw.forges.gitlab, env)?;
        let github = resolve_forge("github", raw.forges.github, env)?;
        let gitops_token = match (env.get("FERRY_GITOPS__TOKEN"), &raw.gitops.token_file) {
            (Some(token), _) => Some(SecretString::from(token.trim().to_owned())),
            (None, Some(path)) => Some(SecretString::from(
                std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::SecretFile {
                        forge: "gitops",
                        path: path.clone(),
                        source,
                    })?
                    .trim()
                    .to_owned(),
            )),
            (None, None) => None,
        };
        let config = Config {
            server: raw.server,
            store: raw.store,
            workers: raw.workers,
            forges: ForgesConfig { gitlab, github },
            gitops: raw.gitops,
            gitops_token,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        if self.workers.concurrency == 0 {
            return invalid("workers.concurrency must be at least 1");
        }
        if self.workers.max_attempts == 0 {
            return invalid("workers.max_attempts must be at least 1");
        }
        if self.workers.lease_seconds == 0 {
            return invalid("workers.lease_seconds must be at least 1");
        }
        if self.store.batch_max == 0 {
            return invalid("store.batch_max must be at least 1");
        }
        if self.server.body_limit_bytes == 0 {
            return invalid("server.body_limit_bytes must be at least 1");
        }
        if self.gitops.project.is_some()
            && self.gitops.forge == WorkflowForge::GitLab
            && self.gitops_token.is_none()
        {
            return invalid(
                "gitops.project is set but there is no token: set FERRY_GITOPS__TOKEN or gitops.token_file (a GitLab token with api and write_repository scopes)",
            );
        }
        Ok(())
    }

    /// The local forge's directory.
    pub fn local_forge_dir(&self) -> PathBuf {
        self.gitops
            .local_forge_dir
            .clone()
            .unwrap_or_else(|| self.store.data_dir.join("local-forge"))
    }

    /// Path of the SQLite queue inside the data directory.
    pub fn queue_path(&self) -> PathBuf {
        self.store.data_dir.join("queue.sqlite3")
    }
}

fn parse_file(text: &str, file: &str) -> Result<FileConfig, ConfigError> {
    // An empty file is a valid "all defaults" configuration.
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    let raw: FileConfig = serde_saphyr::from_str(text).map_err(|error| {
        let location = error.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
        let detail = error.without_snippet().to_string();
        let detail = detail
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned();
        ConfigError::Invalid(format!(
            "{file}:{}:{}: {detail}; see docs/configuration.md for the keys",
            location.line(),
            location.column()
        ))
    })?;
    for (forge, entry) in [
        ("gitlab", &raw.forges.gitlab),
        ("github", &raw.forges.github),
    ] {
        if let Some(spanned) = entry.secret.as_ref().or(entry.secrets.as_ref()) {
            return Err(ConfigError::Invalid(format!(
                "{file}:{}:{}: secrets are not read from the configuration file; set FERRY_FORGES__{}__SECRET or forges.{forge}.secret_file and remove this key",
                spanned.referenced.line(),
                spanned.referenced.column(),
                forge.to_uppercase()
            )));
        }
    }
    Ok(raw)
}

fn apply_env(raw: &mut FileConfig, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (var, value) in env {
        // Only `SECTION__KEY` names are configuration; FERRY_LOG, FERRY_CONFIG are not.
        if !var.starts_with("FERRY_") || !var.contains("__") || SECRET_VARS.contains(&var.as_str())
        {
            continue;
        }
        let Some(key) = KEYS.iter().find(|key| key.env_var() == *var) else {
            let nearest = KEYS
                .iter()
                .map(Key::env_var)
                .chain(SECRET_VARS.iter().map(|name| (*name).to_owned()))
                .min_by(|a, b| strsim::levenshtein(a, var).cmp(&strsim::levenshtein(b, var)))
                .unwrap_or_default();
            return Err(ConfigError::Env {
                var: var.clone(),
                message: format!(
                    "not a configuration key; did you mean {nearest}? (docs/configuration.md lists them)"
                ),
            });
        };
        (key.apply)(raw, value).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message: format!("{message} (sets {})", key.path),
        })?;
    }
    Ok(())
}

fn resolve_forge(
    forge: &'static str,
    raw: FileForge,
    env: &BTreeMap<String, String>,
) -> Result<ForgeConfig, ConfigError> {
    let upper = forge.to_uppercase();
    let mut secrets: Vec<SecretString> = Vec::new();
    if let Some(value) = env.get(&format!("FERRY_FORGES__{upper}__SECRET")) {
        secrets.extend(split_secrets(value));
    }
    if let Some(path) = &raw.secret_file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
            forge,
            path: path.clone(),
            source,
        })?;
        secrets.extend(split_secrets(&text));
    }
    if raw.enabled && secrets.is_empty() {
        return Err(ConfigError::MissingSecret { forge, upper });
    }
    let bot_username = raw
        .bot_username
        .unwrap_or_else(|| DEFAULT_BOT_USERNAME.to_owned());
    let bot_username = bot_username.strip_prefix('@').unwrap_or(&bot_username);
    if bot_username.is_empty() || bot_username.contains(char::is_whitespace) {
        return Err(ConfigError::Invalid(format!(
            "forges.{forge}.bot_username `{bot_username}` is not a user name: write the bot's login, e.g. `ferry-bot` or `ferry-app[bot]`"
        )));
    }
    Ok(ForgeConfig {
        enabled: raw.enabled,
        secret_file: raw.secret_file,
        secrets,
        bot_username: bot_username.to_owned(),
        bot_user_id: raw.bot_user_id,
    })
}

/// One secret per non-empty line; surrounding whitespace (a trailing newline from `echo`)
/// is not part of a secret.
fn split_secrets(text: &str) -> impl Iterator<Item = SecretString> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| SecretString::from(line.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn no_file_gives_local_defaults() {
        let config = Config::load_with_env(None, &env(&[])).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8470");
        assert_eq!(config.server.body_limit_bytes, 25 * 1024 * 1024);
        assert_eq!(config.store.data_dir, PathBuf::from(".ferry"));
        assert_eq!(config.store.synchronous, Synchronous::Full);
        assert!(!config.forges.gitlab.enabled && !config.forges.github.enabled);
        assert_eq!(config.forges.gitlab.bot().username, "ferry");
        assert_eq!(config.forges.github.bot().user_id, None);
    }

    #[test]
    fn the_bot_identity_comes_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            &dir,
            "ferry.yaml",
            "forges:\n  gitlab:\n    bot_username: \"@ferry-bot\"\n    bot_user_id: 900\n",
        );
        let config = Config::load_with_env(
            Some(&file),
            &env(&[("FERRY_FORGES__GITHUB__BOT_USERNAME", "ferry-app[bot]")]),
        )
        .unwrap();
        let gitlab = config.forges.gitlab.bot();
        assert_eq!(gitlab.username, "ferry-bot");
        assert_eq!(gitlab.user_id, Some(crate::domain::UserId(900)));
        assert_eq!(config.forges.github.bot().username, "ferry-app[bot]");
        let error = Config::load_with_env(
            None,
            &env(&[("FERRY_FORGES__GITLAB__BOT_USERNAME", "ferry bot")]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("forges.gitlab.bot_username"), "{error}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            &dir,
            "ferry.yaml",
            "server:\n  listen: 0.0.0.0:9000\nworkers:\n  concurrency: 3\n",
        );
        let config = Config::load_with_env(
            Some(&file),
            &env(&[
                ("FERRY_SERVER__LISTEN", "127.0.0.1:0"),
                ("FERRY_STORE__SYNCHRONOUS", "normal"),
                ("FERRY_LOG", "debug"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:0");
        assert_eq!(config.workers.concurrency, 3);
        assert_eq!(config.store.synchronous, Synchronous::Normal);
    }

    #[test]
    fn every_key_has_an_environment_variable_that_sets_it() {
        for key in KEYS {
            let mut raw = FileConfig::default();
            let value = match key.path {
                "server.listen" => "10.0.0.1:1",
                "store.data_dir" | "forges.gitlab.secret_file" | "forges.github.secret_file" => {
                    "/x"
                }
                "store.synchronous" => "normal",
                "gitops.forge" => "local",
                path if path.ends_with("bot_username") => "ferry-bot",
                path if path.ends_with("enabled") => "true",
                _ => "7",
            };
            let before = format!("{raw:?}");
            (key.apply)(&mut raw, value).unwrap();
            assert_ne!(before, format!("{raw:?}"), "{} changed nothing", key.path);
        }
    }

    #[test]
    fn unknown_variable_is_refused_with_the_nearest_key() {
        let error = Config::load_with_env(None, &env(&[("FERRY_SERVR__LISTEN", "127.0.0.1:1")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("FERRY_SERVR__LISTEN"), "{error}");
        assert!(
            error.contains("did you mean FERRY_SERVER__LISTEN"),
            "{error}"
        );
    }

    #[test]
    fn bad_value_in_a_variable_names_the_variable() {
        let error = Config::load_with_env(None, &env(&[("FERRY_WORKERS__CONCURRENCY", "many")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("environment variable FERRY_WORKERS__CONCURRENCY"),
            "{error}"
        );
        assert!(error.contains("workers.concurrency"), "{error}");
    }

    #[test]
    fn file_errors_point_at_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            &dir,
            "ferry.yaml",
            "server:\n  listen: 1.2.3.4:5\n  lisen: x\n",
        );
        let error = Config::load_with_env(Some(&file), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("ferry.yaml:3:"), "{error}");
        assert!(error.contains("lisen"), "{error}");
    }

    #[test]
    fn a_secret_in_the_file_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            &dir,
            "ferry.yaml",
            "forges:\n  gitlab:\n    enabled: true\n    secret: hunter2\n",
        );
        let error = Config::load_with_env(Some(&file), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("ferry.yaml:4:"), "{error}");
        assert!(error.contains("FERRY_FORGES__GITLAB__SECRET"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn enabled_forge_without_secret_refuses_to_start() {
        let error = Config::load_with_env(None, &env(&[("FERRY_FORGES__GITHUB__ENABLED", "true")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("forge github is enabled but has no webhook secret"),
            "{error}"
        );
    }

    #[test]
    fn secrets_come_from_env_and_file_one_per_line_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = write(&dir, "gitlab.secret", "old-secret\n\nnew-secret\n");
        let config = Config::load_with_env(
            None,
            &env(&[
                ("FERRY_FORGES__GITLAB__ENABLED", "true"),
                ("FERRY_FORGES__GITLAB__SECRET", "from-env\n"),
                (
                    "FERRY_FORGES__GITLAB__SECRET_FILE",
                    secret_file.to_str().unwrap(),
                ),
            ]),
        )
        .unwrap();
        let secrets: Vec<&str> = config
            .forges
            .gitlab
            .secrets
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        assert_eq!(secrets, ["from-env", "old-secret", "new-secret"]);
        let shown = format!("{config:?}");
        for secret in secrets {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn docs_list_every_key_and_secret_variable() {
        let docs = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
        )
        .unwrap();
        for key in KEYS {
            assert!(
                docs.contains(&format!("`{}`", key.path)),
                "{} undocumented",
                key.path
            );
            assert!(
                docs.contains(&key.env_var()),
                "{} undocumented",
                key.env_var()
            );
        }
        for var in SECRET_VARS {
            assert!(docs.contains(var), "{var} undocumented");
        }
    }
}
