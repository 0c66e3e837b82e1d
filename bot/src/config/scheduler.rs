//! The `[scheduler]` section: what happens to a run that is due late, and how far ahead a
//! run may be scheduled (see [`crate::jobs::overdue`] for what the scheduler does with it).

use super::{ConfigError, Lines};
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

/// What to do with a run more than `max_late` late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overdue {
    /// Skip it, with a notice (the default: a backup at 02:00 should not start at noon).
    #[default]
    Skip,
    /// Run it anyway, with a notice of how late it is.
    Run,
}

impl Overdue {
    /// Reads `"run"` or `"skip"`.
    pub fn parse(s: &str) -> Option<Overdue> {
        match s.trim().to_lowercase().as_str() {
            "skip" => Some(Overdue::Skip),
            "run" => Some(Overdue::Run),
            _ => None,
        }
    }
}

/// The `[scheduler]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerConfig {
    pub overdue: Overdue,
    /// A run later than this follows `overdue`.
    pub max_late: Duration,
    /// How far ahead a run may be scheduled.
    pub max_ahead: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            overdue: Overdue::Skip,
            max_late: Duration::from_secs(3600),
            max_ahead: Duration::from_secs(30 * 86400),
        }
    }
}

/// `[scheduler]`: see [`crate::jobs::overdue`].
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScheduler {
    pub(super) overdue: Option<Spanned<String>>,
    pub(super) max_late: Option<Spanned<toml::Value>>,
    pub(super) max_ahead: Option<Spanned<toml::Value>>,
}

/// Checks `[scheduler]`.
pub(super) fn scheduler_config(
    l: &Lines<'_>,
    raw: &RawScheduler,
) -> Result<SchedulerConfig, ConfigError> {
    let mut c = SchedulerConfig::default();
    if let Some(o) = &raw.overdue {
        c.overdue = Overdue::parse(o.get_ref()).ok_or_else(|| {
            l.err(
                o.span().start,
                format!(
                    "`overdue` must be \"skip\" or \"run\" (what to do with a scheduled run more than max_late late), not `{}`",
                    o.get_ref()
                ),
            )
        })?;
    }
    if let Some(v) = &raw.max_late {
        c.max_late = l.duration(v, "max_late")?;
    }
    if let Some(v) = &raw.max_ahead {
        c.max_ahead = l.duration(v, "max_ahead")?;
        if c.max_ahead.is_zero() {
            return Err(l.err(
                v.span().start,
                "`max_ahead` must be longer than 0 (how far ahead a run may be scheduled)",
            ));
        }
    }
    Ok(c)
}
