//! The Slack adapter's secrets: the bot token and the signing secret. They come from the
//! environment (`BOT_SLACK_TOKEN`, `BOT_SLACK_SIGNING_SECRET`) or from the files named in
//! `[adapters.slack]` (`token_file`, `signing_secret_file`), never from the configuration
//! file itself ([`crate::config`] refuses such keys).

use crate::config::SlackConfig;
use std::path::{Path, PathBuf};

/// The environment variable holding the bot token (`xoxb-…`).
pub const TOKEN_ENV: &str = "BOT_SLACK_TOKEN";
/// The environment variable holding the signing secret.
pub const SIGNING_SECRET_ENV: &str = "BOT_SLACK_SIGNING_SECRET";

/// A secret string: its `Debug` and `Display` show `***`, so it cannot end up in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself: only for the Authorization header and the HMAC key.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Why the secrets could not be loaded (each message says what to do).
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("no Slack {what}: set the environment variable {env} or name a file holding it with `{file_key} = \"/path/to/file\"` under [adapters.slack]")]
    Missing {
        what: &'static str,
        env: &'static str,
        file_key: &'static str,
    },
    #[error("cannot read the Slack {what} from {}: {source}; check the path and its permissions (or set {env})", path.display())]
    Unreadable {
        what: &'static str,
        env: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the Slack {what} from {origin} is empty")]
    Empty { what: &'static str, origin: String },
    #[error("the Slack bot token from {origin} does not look like one (it should start with `xoxb-`; find it under OAuth & Permissions of your Slack app)")]
    NotABotToken { origin: String },
}

/// The secrets of the Slack app.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub token: Secret,
    pub signing_secret: Secret,
}

impl Credentials {
    /// Loads both secrets; `env` reads an environment variable (`std::env::var` outside tests).
    pub fn load(
        config: &SlackConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialsError> {
        let token = one(
            "bot token",
            TOKEN_ENV,
            "token_file",
            config.token_file.as_deref(),
            env,
        )?;
        if !token.1.starts_with("xox") {
            return Err(CredentialsError::NotABotToken { origin: token.0 });
        }
        let secret = one(
            "signing secret",
            SIGNING_SECRET_ENV,
            "signing_secret_file",
            config.signing_secret_file.as_deref(),
            env,
        )?;
        Ok(Credentials {
            token: Secret(token.1),
            signing_secret: Secret(secret.1),
        })
    }
}

/// One secret: (where it came from, the value).
fn one(
    what: &'static str,
    env_name: &'static str,
    file_key: &'static str,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, String), CredentialsError> {
    let (origin, value) = match env(env_name).filter(|v| !v.trim().is_empty()) {
        Some(v) => (format!("${env_name}"), v),
        None => {
            let Some(path) = file else {
                return Err(CredentialsError::Missing {
                    what,
                    env: env_name,
                    file_key,
                });
            };
            warn_if_readable_by_others(path, what);
            let v =
                std::fs::read_to_string(path).map_err(|source| CredentialsError::Unreadable {
                    what,
                    env: env_name,
                    path: path.to_path_buf(),
                    source,
                })?;
            (path.display().to_string(), v)
        }
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(CredentialsError::Empty { what, origin });
    }
    Ok((origin, value))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "{} (the Slack {what}) can be read by other users; chmod 600 it",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path, _what: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn from_the_environment_or_files() {
        let c = SlackConfig::default();
        let got = Credentials::load(
            &c,
            &env(&[(TOKEN_ENV, "xoxb-1-2"), (SIGNING_SECRET_ENV, " s3cret\n")]),
        )
        .unwrap();
        assert_eq!(got.token.expose(), "xoxb-1-2");
        assert_eq!(got.signing_secret.expose(), "s3cret");
        // never printed
        assert_eq!(format!("{got:?}").matches("***").count(), 2);
        assert!(!format!("{got:?}").contains("xoxb"));

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "xoxb-from-file\n").unwrap();
        std::fs::write(dir.path().join("secret"), "file-secret").unwrap();
        let c = SlackConfig {
            token_file: Some(dir.path().join("token")),
            signing_secret_file: Some(dir.path().join("secret")),
            ..Default::default()
        };
        let got = Credentials::load(&c, &env(&[])).unwrap();
        assert_eq!(got.token.expose(), "xoxb-from-file");
        assert_eq!(got.signing_secret.expose(), "file-secret");
        // the environment wins over a file
        let got = Credentials::load(&c, &env(&[(TOKEN_ENV, "xoxb-env")])).unwrap();
        assert_eq!(got.token.expose(), "xoxb-env");
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = Credentials::load(&SlackConfig::default(), &env(&[])).unwrap_err();
        assert!(e.to_string().contains("BOT_SLACK_TOKEN"), "{e}");
        let e =
            Credentials::load(&SlackConfig::default(), &env(&[(TOKEN_ENV, "xoxb-1")])).unwrap_err();
        assert!(
            e.to_string().contains("BOT_SLACK_SIGNING_SECRET")
                && e.to_string().contains("signing_secret_file"),
            "{e}"
        );
        let e = Credentials::load(
            &SlackConfig::default(),
            &env(&[(TOKEN_ENV, "hunter2"), (SIGNING_SECRET_ENV, "x")]),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("xoxb-") && !e.to_string().contains("hunter2"),
            "{e}"
        );
        let c = SlackConfig {
            token_file: Some("/nonexistent/token".into()),
            ..Default::default()
        };
        let e = Credentials::load(&c, &env(&[])).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/token"), "{e}");
    }
}
