//! `[adapters.matrix]`: the homeserver, the bot's account, the rooms it serves and where it
//! keeps its sync position (the adapter: [`crate::adapters::matrix`]). Secrets never come from
//! this file: the access token comes from
//! `BOT_MATRIX_TOKEN` or `access_token_file`, a password (for password login) from
//! `BOT_MATRIX_PASSWORD` or `password_file`.
//!
//! ```toml
//! [adapters.matrix]
//! homeserver = "https://matrix.example.org"
//! user_id = "@opsbot:example.org"
//! device_name = "opsnlu bot"                 # shown in the account's session list
//! rooms = ["#ops:example.org"]               # joined at start (optional)
//! auto_join = true                           # accept invites (default)
//! invite_from = ["example.org", "@lead:other.org"]   # whose invites (default: anyone's)
//! access_token_file = "/run/secrets/matrix-token"    # else $BOT_MATRIX_TOKEN
//! state_path = "matrix-state.sqlite"         # default: the bot's database
//! concurrency = 8                            # messages handled at once
//! timeline_limit = 100                       # new messages per room per sync (more: paged)
//! ```

// Errors carry the file and line (like the rest of the configuration); they happen once.
#![allow(clippy::result_large_err)]

use super::ConfigError;
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// The environment variable holding the access token.
pub const TOKEN_ENV: &str = "BOT_MATRIX_TOKEN";
/// The environment variable holding the password (password login).
pub const PASSWORD_ENV: &str = "BOT_MATRIX_PASSWORD";

/// The Matrix adapter's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixConfig {
    /// The client-server API's base URL, without a trailing slash.
    pub homeserver: String,
    /// The bot's account, `@name:server`.
    pub user_id: String,
    /// The display name of the bot's device (session).
    pub device_name: String,
    /// Room ids or aliases joined at start.
    pub rooms: Vec<String>,
    /// Whether invites are accepted.
    pub auto_join: bool,
    /// Whose invites are accepted: user ids (`@lead:example.org`) or server names
    /// (`example.org`); empty: anyone's.
    pub invite_from: Vec<String>,
    pub access_token_file: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    /// The SQLite file for the sync position and device; None: the bot's database.
    pub state_path: Option<PathBuf>,
    /// Messages handled at once (one at a time per user and room).
    pub concurrency: usize,
    /// New messages per room in one sync; more are fetched page by page.
    pub timeline_limit: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatrix {
    homeserver: Option<Spanned<String>>,
    user_id: Option<Spanned<String>>,
    device_name: Option<String>,
    #[serde(default)]
    rooms: Vec<Spanned<String>>,
    #[serde(default = "yes")]
    auto_join: bool,
    #[serde(default)]
    invite_from: Vec<Spanned<String>>,
    access_token_file: Option<String>,
    password_file: Option<String>,
    state_path: Option<String>,
    concurrency: Option<Spanned<i64>>,
    timeline_limit: Option<Spanned<i64>>,
    // refused: secrets do not belong in the configuration file
    access_token: Option<Spanned<toml::Value>>,
    password: Option<Spanned<toml::Value>>,
}

fn yes() -> bool {
    true
}

/// Whether `s` looks like a Matrix id with sigil `sigil`: `@name:server`, `!id:server`,
/// `#alias:server`.
pub fn is_matrix_id(s: &str, sigil: char) -> bool {
    s.strip_prefix(sigil)
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(local, server)| {
            !local.is_empty() && !server.is_empty() && !s.contains(char::is_whitespace)
        })
}

impl MatrixConfig {
    /// Validates the raw section; `err(offset, message)` makes a `file:line` error, `resolve`
    /// resolves a path relative to the configuration file.
    pub(crate) fn from_raw(
        raw: Spanned<RawMatrix>,
        err: &dyn Fn(usize, String) -> ConfigError,
        resolve: &dyn Fn(&str) -> PathBuf,
    ) -> Result<MatrixConfig, ConfigError> {
        let table = raw.span().start;
        let raw = raw.into_inner();
        if let Some(t) = &raw.access_token {
            return Err(err(
                t.span().start,
                format!("`access_token` does not belong in the configuration file (it would leak with it); put the token in the environment variable {TOKEN_ENV} or in a file named by `access_token_file`"),
            ));
        }
        if let Some(p) = &raw.password {
            return Err(err(
                p.span().start,
                format!("`password` does not belong in the configuration file; put it in the environment variable {PASSWORD_ENV} or in a file named by `password_file` (better: use an access token)"),
            ));
        }
        let Some(hs) = raw.homeserver else {
            return Err(err(
                table,
                "[adapters.matrix] needs `homeserver`, the URL of the client-server API, e.g. \"https://matrix.example.org\"".into(),
            ));
        };
        let homeserver = hs.get_ref().trim().trim_end_matches('/').to_string();
        let scheme_ok = homeserver
            .strip_prefix("https://")
            .or_else(|| homeserver.strip_prefix("http://"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
        if !scheme_ok || reqwest::Url::parse(&homeserver).is_err() {
            return Err(err(
                hs.span().start,
                format!(
                    "`homeserver` must be an http(s) URL such as \"https://matrix.example.org\", not `{}`",
                    hs.get_ref()
                ),
            ));
        }
        let Some(user) = raw.user_id else {
            return Err(err(
                table,
                "[adapters.matrix] needs `user_id`, the bot's account, e.g. \"@opsbot:example.org\"".into(),
            ));
        };
        if !is_matrix_id(user.get_ref(), '@') {
            return Err(err(
                user.span().start,
                format!(
                    "`user_id` must be a full Matrix user id such as \"@opsbot:example.org\", not `{}`",
                    user.get_ref()
                ),
            ));
        }
        let mut rooms = Vec::new();
        for r in &raw.rooms {
            let v = r.get_ref().trim();
            // room ids of room version 12 have no server part (`!opaque`)
            let room_id = v.len() > 1 && v.starts_with('!') && !v.contains(char::is_whitespace);
            if !room_id && !is_matrix_id(v, '#') {
                return Err(err(
                    r.span().start,
                    format!("`rooms`: `{v}` is neither a room id (\"!abc:example.org\") nor an alias (\"#ops:example.org\")"),
                ));
            }
            rooms.push(v.to_string());
        }
        let mut invite_from = Vec::new();
        for i in &raw.invite_from {
            let v = i.get_ref().trim();
            let ok = if v.starts_with('@') {
                is_matrix_id(v, '@')
            } else {
                !v.is_empty() && !v.contains(['@', '/', ' ', '!', '#'])
            };
            if !ok {
                return Err(err(
                    i.span().start,
                    format!("`invite_from`: `{v}` is neither a user id (\"@lead:example.org\") nor a server name (\"example.org\")"),
                ));
            }
            invite_from.push(v.to_string());
        }
        let concurrency = match &raw.concurrency {
            None => 8,
            Some(n) if (1..=1024).contains(n.get_ref()) => *n.get_ref() as usize,
            Some(n) => {
                return Err(err(
                    n.span().start,
                    "`concurrency` must be between 1 and 1024".into(),
                ))
            }
        };
        let timeline_limit = match &raw.timeline_limit {
            None => 100,
            Some(n) if (1..=1000).contains(n.get_ref()) => *n.get_ref() as u32,
            Some(n) => {
                return Err(err(
                    n.span().start,
                    "`timeline_limit` must be between 1 and 1000".into(),
                ))
            }
        };
        Ok(MatrixConfig {
            timeline_limit,
            homeserver,
            user_id: user.into_inner(),
            device_name: raw
                .device_name
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| "opsnlu bot".into()),
            rooms,
            auto_join: raw.auto_join,
            invite_from,
            access_token_file: raw.access_token_file.as_deref().map(resolve),
            password_file: raw.password_file.as_deref().map(resolve),
            state_path: raw.state_path.as_deref().map(resolve),
            concurrency,
        })
    }

    /// Whether an invite from `inviter` may be accepted.
    pub fn accepts_invite_from(&self, inviter: &str) -> bool {
        if !self.auto_join {
            return false;
        }
        if self.invite_from.is_empty() {
            return true;
        }
        let server = inviter.split_once(':').map(|(_, s)| s).unwrap_or("");
        self.invite_from
            .iter()
            .any(|a| a == inviter || (!a.starts_with('@') && a == server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    const JOB: &str = "[[jobs]]\nid = \"a\"\n[jobs.run]\nargv = [\"x\"]\n";

    fn load(section: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str(
            &format!("{JOB}\n{section}"),
            "bot.toml",
            Path::new("/etc/bot"),
        )
    }

    fn matrix(section: &str) -> MatrixConfig {
        load(section).unwrap().matrix.unwrap()
    }

    #[test]
    fn a_full_section_loads() {
        let m = matrix(
            "[adapters.matrix]\nhomeserver = \"https://matrix.example.org/\"\nuser_id = \"@bot:example.org\"\nrooms = [\"#ops:example.org\", \"!abc:example.org\", \"!opaqueV12id\"]\ninvite_from = [\"example.org\", \"@lead:other.org\"]\naccess_token_file = \"secrets/token\"\nstate_path = \"state.sqlite\"\nconcurrency = 4\n",
        );
        assert_eq!(m.homeserver, "https://matrix.example.org");
        assert_eq!(m.user_id, "@bot:example.org");
        assert_eq!(m.device_name, "opsnlu bot");
        assert_eq!(m.rooms.len(), 3);
        assert!(m.auto_join);
        assert_eq!(
            m.access_token_file,
            Some(PathBuf::from("/etc/bot/secrets/token"))
        );
        assert_eq!(m.state_path, Some(PathBuf::from("/etc/bot/state.sqlite")));
        assert_eq!(m.concurrency, 4);
        assert_eq!(m.timeline_limit, 100);
        assert!(m.accepts_invite_from("@alice:example.org"));
        assert!(m.accepts_invite_from("@lead:other.org"));
        assert!(!m.accepts_invite_from("@mallory:other.org"));
        assert!(!m.accepts_invite_from("@mallory:evil.example.org"));
        // no section: no adapter
        assert!(load("").unwrap().matrix.is_none());
    }

    #[test]
    fn secrets_in_the_file_are_refused_with_the_line() {
        let e = load("[adapters.matrix]\nhomeserver = \"https://m.example.org\"\nuser_id = \"@bot:example.org\"\naccess_token = \"syt_secret\"\n").unwrap_err();
        assert_eq!(e.line(), Some(9), "{e}");
        assert!(e.to_string().contains("BOT_MATRIX_TOKEN"), "{e}");
        assert!(!e.to_string().contains("syt_secret"), "{e}");
        let e = load("[adapters.matrix]\nhomeserver = \"https://m.example.org\"\nuser_id = \"@bot:example.org\"\n\npassword = \"hunter2\"\n").unwrap_err();
        assert_eq!(e.line(), Some(10), "{e}");
        assert!(e.to_string().contains("BOT_MATRIX_PASSWORD"), "{e}");
    }

    #[test]
    fn bad_values_name_their_line() {
        let e = load("[adapters.matrix]\nhomeserver = \"matrix.example.org\"\nuser_id = \"@bot:example.org\"\n").unwrap_err();
        assert_eq!(e.line(), Some(7), "{e}");
        assert!(e.to_string().contains("http(s) URL"), "{e}");
        let e =
            load("[adapters.matrix]\nhomeserver = \"https://m.example.org\"\nuser_id = \"bot\"\n")
                .unwrap_err();
        assert_eq!(e.line(), Some(8), "{e}");
        let e = load("[adapters.matrix]\nhomeserver = \"https://m.example.org\"\n").unwrap_err();
        assert_eq!(e.line(), Some(6), "{e}");
        assert!(e.to_string().contains("needs `user_id`"), "{e}");
        let e = load("[adapters.matrix]\nhomeserver = \"https://m.example.org\"\nuser_id = \"@b:x\"\nrooms = [\"ops\"]\n").unwrap_err();
        assert_eq!(e.line(), Some(9), "{e}");
        let e = load("[adapters.matrix]\nhomeserver = \"https://m.example.org\"\nuser_id = \"@b:x\"\ntimeline_limit = 0\n").unwrap_err();
        assert_eq!(e.line(), Some(9), "{e}");
        let e = load("[adapters.matrix]\nhomeserver = \"https://m.example.org\"\nuser_id = \"@b:x\"\ncolour = 1\n").unwrap_err();
        assert_eq!(e.line(), Some(9), "{e}");
    }
}
