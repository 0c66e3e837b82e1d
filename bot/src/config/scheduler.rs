//! The `[scheduler]` section: what happens to a run that is due late, and how far ahead a
//! run may be scheduled (see [`crate::jobs::overdue`] for what the scheduler does with it).

use std::time::Duration;

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
