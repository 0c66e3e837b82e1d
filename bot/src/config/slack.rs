//! `[adapters.slack]`: where the Slack endpoints listen, the Web API, and the files that hold
//! its secrets (never the secrets themselves).

use super::{ConfigError, Lines};
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// The default address of the Slack endpoints.
pub const SLACK_DEFAULT_LISTEN: &str = "127.0.0.1:3000";
/// The default Web API base URL.
pub const SLACK_DEFAULT_API: &str = "https://slack.com/api";

/// The Slack adapter's settings (`[adapters.slack]`). The bot token and the signing secret
/// are not here: they come from the environment or from the files named here
/// ([`crate::adapters::slack::config::Credentials`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    pub enabled: bool,
    /// Where the HTTP endpoints listen (`--listen` overrides it).
    pub listen: std::net::SocketAddr,
    /// The Web API's base URL, without the trailing slash.
    pub api_base: String,
    /// A file holding the bot token (`xoxb-…`), when `BOT_SLACK_TOKEN` is not set.
    pub token_file: Option<PathBuf>,
    /// A file holding the signing secret, when `BOT_SLACK_SIGNING_SECRET` is not set.
    pub signing_secret_file: Option<PathBuf>,
    /// The bot's own user id; found with `auth.test` at start when not given.
    pub bot_user_id: Option<String>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            enabled: true,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 3000)),
            api_base: SLACK_DEFAULT_API.into(),
            token_file: None,
            signing_secret_file: None,
            bot_user_id: None,
        }
    }
}

/// `[adapters.slack]`. The secret-looking keys are read only to refuse them with a clear
/// error (secrets belong in the environment or in a file, not in the configuration).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlack {
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    pub(super) listen: Option<Spanned<String>>,
    pub(super) api_base: Option<Spanned<String>>,
    pub(super) token_file: Option<String>,
    pub(super) signing_secret_file: Option<String>,
    pub(super) bot_user_id: Option<Spanned<String>>,
    pub(super) token: Option<Spanned<toml::Value>>,
    pub(super) bot_token: Option<Spanned<toml::Value>>,
    pub(super) signing_secret: Option<Spanned<toml::Value>>,
    pub(super) client_secret: Option<Spanned<toml::Value>>,
    pub(super) app_token: Option<Spanned<toml::Value>>,
}

fn yes() -> bool {
    true
}

/// Checks `[adapters.slack]`.
pub(super) fn slack_config(
    l: &Lines<'_>,
    raw: &RawSlack,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<SlackConfig, ConfigError> {
    let secrets = [
        ("token", &raw.token, "BOT_SLACK_TOKEN", "token_file"),
        ("bot_token", &raw.bot_token, "BOT_SLACK_TOKEN", "token_file"),
        (
            "signing_secret",
            &raw.signing_secret,
            "BOT_SLACK_SIGNING_SECRET",
            "signing_secret_file",
        ),
        (
            "client_secret",
            &raw.client_secret,
            "BOT_SLACK_SIGNING_SECRET",
            "signing_secret_file",
        ),
        ("app_token", &raw.app_token, "BOT_SLACK_TOKEN", "token_file"),
    ];
    for (key, value, env, file_key) in secrets {
        if let Some(v) = value {
            return Err(l.err(
                v.span().start,
                format!(
                    "`{key}` in [adapters.slack]: secrets must not be in the configuration file; remove it (and rotate it if this file was shared), then set the environment variable {env} or name a file holding it with `{file_key} = \"/path/to/file\"`"
                ),
            ));
        }
    }
    let listen = match &raw.listen {
        None => SlackConfig::default().listen,
        Some(s) => s.get_ref().parse().map_err(|_| {
            l.err(
                s.span().start,
                format!(
                    "`listen` must be an address with a port such as \"{SLACK_DEFAULT_LISTEN}\" or \"0.0.0.0:8080\", not `{}`",
                    s.get_ref()
                ),
            )
        })?,
    };
    let api_base = match &raw.api_base {
        None => SLACK_DEFAULT_API.to_string(),
        Some(s) => {
            let v = s.get_ref().trim().trim_end_matches('/');
            let host = v
                .strip_prefix("https://")
                .or_else(|| v.strip_prefix("http://"))
                .unwrap_or("");
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(l.err(
                    s.span().start,
                    format!(
                        "`api_base` must be an http(s) URL such as \"{SLACK_DEFAULT_API}\", not `{}`",
                        s.get_ref()
                    ),
                ));
            }
            v.to_string()
        }
    };
    let bot_user_id = match &raw.bot_user_id {
        None => None,
        Some(s) => {
            let v = s.get_ref().trim();
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(l.err(
                    s.span().start,
                    format!(
                        "`bot_user_id` must be a Slack user id such as \"U0123ABCD\", not `{}`",
                        s.get_ref()
                    ),
                ));
            }
            Some(v.to_string())
        }
    };
    Ok(SlackConfig {
        enabled: raw.enabled,
        listen,
        api_base,
        token_file: raw.token_file.as_deref().map(resolve),
        signing_secret_file: raw.signing_secret_file.as_deref().map(resolve),
        bot_user_id,
    })
}
