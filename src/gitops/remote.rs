//! Where a GitOps repository lives and how Ferry authenticates to it.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// How to reach the remote: a local path or `file://` URL, HTTPS with a token, or SSH with a key.
#[derive(Clone)]
pub struct Remote {
    url: String,
    auth: Auth,
}

/// Credentials, never printed: `Debug` shows only which kind is configured.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    /// HTTPS basic auth with a token as the password. GitLab takes any user name with a
    /// project or personal access token (`oauth2` by convention); GitHub wants
    /// `x-access-token` for App installation tokens.
    Token { user: String, token: SecretString },
    /// SSH with a private key file (and its passphrase, if any).
    SshKey {
        user: String,
        key: PathBuf,
        passphrase: Option<SecretString>,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Token { user, .. } => {
                write!(f, "Auth::Token {{ user: {user:?}, token: <redacted> }}")
            }
            Auth::SshKey { user, key, .. } => {
                write!(f, "Auth::SshKey {{ user: {user:?}, key: {key:?} }}")
            }
        }
    }
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.display_url())
            .field("auth", &self.auth)
            .finish()
    }
}

impl Remote {
    pub fn new(url: impl Into<String>, auth: Auth) -> Self {
        Self {
            url: url.into(),
            auth,
        }
    }

    /// A remote on this machine, by path (relative paths are made absolute now, so the
    /// mirror keeps working whatever directory later commands run in).
    pub fn local(path: &Path) -> Self {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Self::new(path.display().to_string(), Auth::None)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The repository directory when the remote is on this machine (a path or `file://`).
    /// Pushes there take Ferry's compare-and-swap path (see [`super::push`]).
    pub fn local_path(&self) -> Option<PathBuf> {
        if let Some(rest) = self.url.strip_prefix("file://") {
            return Some(PathBuf::from(rest));
        }
        let is_url = self.url.contains("://") || scp_like(&self.url);
        (!is_url).then(|| PathBuf::from(&self.url))
    }

    /// The URL with any user info replaced, for messages and logs.
    pub fn display_url(&self) -> String {
        match self.url.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('@') {
                Some((_, host)) if !host.contains('/') || rest.find('@') < rest.find('/') => {
                    format!("{scheme}://***@{host}")
                }
                _ => self.url.clone(),
            },
            None => self.url.clone(),
        }
    }

    /// The credentials libgit2 asks for; `attempt` counts calls, because libgit2 calls again
    /// after a refusal and would loop forever with the same wrong secret.
    pub(crate) fn credentials(
        &self,
        attempt: u32,
        username_from_url: Option<&str>,
        allowed: git2::CredentialType,
    ) -> Result<git2::Cred, git2::Error> {
        if attempt > 1 {
            return Err(git2::Error::from_str(
                "the remote refused Ferry's credentials; check the token or key and its scopes (write access to the repository)",
            ));
        }
        match &self.auth {
            Auth::None => Err(git2::Error::from_str(
                "the remote asks for credentials and none are configured; set FERRY_GIT_TOKEN or FERRY_GIT_SSH_KEY",
            )),
            Auth::Token { user, token }
                if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) =>
            {
                git2::Cred::userpass_plaintext(user, token.expose_secret())
            }
            Auth::SshKey {
                user,
                key,
                passphrase,
            } if allowed.contains(git2::CredentialType::SSH_KEY) => git2::Cred::ssh_key(
                username_from_url.unwrap_or(user),
                None,
                key,
                passphrase.as_ref().map(|p| p.expose_secret()),
            ),
            Auth::SshKey { user, .. } if allowed.contains(git2::CredentialType::USERNAME) => {
                git2::Cred::username(username_from_url.unwrap_or(user))
            }
            _ => Err(git2::Error::from_str(
                "the remote asks for a kind of credentials that is not configured (a token is for HTTPS, a key for SSH)",
            )),
        }
    }
}

/// `git@host:group/repo.git`: SSH in scp form (a colon before any slash).
fn scp_like(url: &str) -> bool {
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) => colon < slash && colon > 1,
        (Some(colon), None) => colon > 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_file_urls_are_local() {
        assert_eq!(
            Remote::new("file:///srv/git/gitops.git", Auth::None).local_path(),
            Some(PathBuf::from("/srv/git/gitops.git"))
        );
        assert_eq!(
            Remote::new("/srv/git/gitops.git", Auth::None).local_path(),
            Some(PathBuf::from("/srv/git/gitops.git"))
        );
        assert_eq!(
            Remote::new("https://gitlab.example.com/eap/gitops.git", Auth::None).local_path(),
            None
        );
        assert_eq!(
            Remote::new("git@gitlab.example.com:eap/gitops.git", Auth::None).local_path(),
            None
        );
    }

    #[test]
    fn secrets_never_show_in_debug_or_display() {
        let remote = Remote::new(
            "https://oauth2:glpat-secret@gitlab.example.com/eap/gitops.git",
            Auth::Token {
                user: "oauth2".into(),
                token: SecretString::from("glpat-secret"),
            },
        );
        let shown = format!("{remote:?} {}", remote.display_url());
        assert!(!shown.contains("glpat-secret"), "{shown}");
        assert!(
            shown.contains("gitlab.example.com/eap/gitops.git"),
            "{shown}"
        );
    }

    #[test]
    fn credentials_stop_after_one_refusal() {
        let remote = Remote::new(
            "https://gitlab.example.com/eap/gitops.git",
            Auth::Token {
                user: "oauth2".into(),
                token: SecretString::from("t"),
            },
        );
        let plain = git2::CredentialType::USER_PASS_PLAINTEXT;
        assert!(remote.credentials(1, None, plain).is_ok());
        assert!(remote.credentials(2, None, plain).is_err());
    }
}
