//! `[adapters.terminal]`: the terminal adapter's settings and their defaults.

use serde::Deserialize;
use std::path::PathBuf;

/// The terminal adapter's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalConfig {
    pub enabled: bool,
    /// The chat user when `--user` is not given (default: `$USER`).
    pub user: Option<String>,
    /// Where the charts of replies are written as PNG files (`--charts` overrides it).
    pub charts_dir: Option<PathBuf>,
}

/// `[adapters.terminal]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTerminal {
    #[serde(default = "yes")]
    enabled: bool,
    user: Option<String>,
    charts_dir: Option<String>,
}

fn yes() -> bool {
    true
}

/// The terminal settings: enabled, with no user or charts folder, when the section is absent.
pub(super) fn terminal_config(
    raw: Option<RawTerminal>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> TerminalConfig {
    match raw {
        Some(t) => TerminalConfig {
            enabled: t.enabled,
            user: t.user,
            charts_dir: t.charts_dir.as_deref().map(resolve),
        },
        None => TerminalConfig {
            enabled: true,
            user: None,
            charts_dir: None,
        },
    }
}
