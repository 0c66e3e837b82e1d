//! The `[storage]` section: where the database, the audit key file and the audit checkpoints
//! are (and the refusal of an audit key written into the file), with their default paths.
//! The store's `audit_key` module uses these paths and [`KEY_ENV`].

use super::{ConfigError, Lines};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The environment variable holding the audit key.
pub const KEY_ENV: &str = "BOT_AUDIT_KEY";

/// `[storage]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    path: Option<String>,
    audit_key_file: Option<String>,
    audit_checkpoints: Option<String>,
    /// Read only to refuse it: the key belongs in a file or the environment.
    audit_key: Option<Spanned<toml::Value>>,
}

/// `[storage]`, checked, with its paths resolved.
pub(super) struct StorageSettings {
    pub(super) database: PathBuf,
    pub(super) audit_key_file: Option<PathBuf>,
    pub(super) audit_checkpoints: Option<PathBuf>,
}

/// Checks `[storage]`: an `audit_key` in the file is refused at its line.
pub(super) fn storage_settings(
    l: &Lines<'_>,
    raw: &RawStorage,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<StorageSettings, ConfigError> {
    let database = match &raw.path {
        Some(p) => resolve(p),
        None => default_database(),
    };
    if let Some(v) = &raw.audit_key {
        return Err(l.err(
            v.span().start,
            format!(
                "`audit_key` in [storage]: secrets must not be in the configuration file; remove it (and rotate it if this file was shared), then set the environment variable {KEY_ENV} or name a file holding it with `audit_key_file = \"/path/to/file\"`"
            ),
        ));
    }
    Ok(StorageSettings {
        database,
        audit_key_file: raw.audit_key_file.as_deref().map(resolve),
        audit_checkpoints: raw.audit_checkpoints.as_deref().map(resolve),
    })
}

/// `$XDG_DATA_HOME/opsnlu-bot/bot.sqlite`, else `~/.local/share/...`, else `.cache/bot/`.
pub fn default_database() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("opsnlu-bot").join("bot.sqlite");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h)
            .join(".local/share")
            .join("opsnlu-bot")
            .join("bot.sqlite");
    }
    PathBuf::from(".cache/bot/bot.sqlite")
}

/// `<database>.audit-key`.
pub fn default_key_file(database: &Path) -> PathBuf {
    sibling(database, "audit-key")
}

/// `<database>.audit-checkpoints`.
pub fn default_checkpoints(database: &Path) -> PathBuf {
    sibling(database, "audit-checkpoints")
}

fn sibling(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "bot.sqlite".into());
    name.push(format!(".{suffix}"));
    database.with_file_name(name)
}
