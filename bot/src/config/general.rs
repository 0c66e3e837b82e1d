//! The `[bot]` section (time zone, how long a question waits, the grace before SIGKILL, the
//! output kept per run) and the `[nlu]` section (the parser's model directory).

use super::{ConfigError, Lines};
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// Output kept per execution: the tail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputLimits {
    pub max_lines: usize,
    pub max_bytes: usize,
}

/// `[bot]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBot {
    time_zone: Option<Spanned<String>>,
    dialog_timeout: Option<Spanned<toml::Value>>,
    cancel_grace: Option<Spanned<toml::Value>>,
    output_lines: Option<Spanned<i64>>,
    output_bytes: Option<Spanned<i64>>,
}

/// `[nlu]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNlu {
    model_dir: Option<String>,
}

/// `[bot]`, checked.
pub(super) struct BotSettings {
    pub(super) time_zone: Tz,
    pub(super) dialog_timeout: Duration,
    pub(super) cancel_grace: Duration,
    pub(super) output: OutputLimits,
}

/// Checks `[bot]`; every error names the line of the bad value.
pub(super) fn bot_settings(l: &Lines<'_>, raw: &RawBot) -> Result<BotSettings, ConfigError> {
    let time_zone = match &raw.time_zone {
        None => chrono_tz::UTC,
        Some(tz) => tz.get_ref().parse::<Tz>().map_err(|_| {
            l.err(
                tz.span().start,
                format!(
                    "unknown time zone `{}`; use an IANA name such as \"Europe/Berlin\" or \"UTC\"",
                    tz.get_ref()
                ),
            )
        })?,
    };
    let dialog_timeout = match &raw.dialog_timeout {
        Some(v) => l.duration(v, "dialog_timeout")?,
        None => Duration::from_secs(600),
    };
    let cancel_grace = match &raw.cancel_grace {
        Some(v) => l.duration(v, "cancel_grace")?,
        None => Duration::from_secs(5),
    };
    let positive = |v: &Option<Spanned<i64>>, what: &str, default: usize| match v {
        None => Ok(default),
        Some(n) if *n.get_ref() > 0 => Ok(*n.get_ref() as usize),
        Some(n) => Err(l.err(n.span().start, format!("`{what}` must be at least 1"))),
    };
    let output = OutputLimits {
        max_lines: positive(&raw.output_lines, "output_lines", 200)?,
        max_bytes: positive(&raw.output_bytes, "output_bytes", 64 * 1024)?,
    };
    Ok(BotSettings {
        time_zone,
        dialog_timeout,
        cancel_grace,
        output,
    })
}

/// `[nlu] model_dir`, resolved from the configuration's folder.
pub(super) fn model_dir(raw: &RawNlu, resolve: &dyn Fn(&str) -> PathBuf) -> Option<PathBuf> {
    raw.model_dir.as_deref().map(resolve)
}
