//! The bot's clock: every "now" of the bot (decisions, change windows, schedules, dialogs,
//! replies, the audit trail) comes from [`now`].
//!
//! **For tests only**: the environment variable `BOT_NOW` (RFC 3339, e.g.
//! `BOT_NOW=2026-03-03T10:00:00Z`) starts the clock at that instant; it then runs at the
//! normal speed. This module is the only place that reads it, so a test can put the binary
//! on a fixed date (inside or outside a change window). Never set it in production.

use chrono::{DateTime, Duration, Utc};
use std::sync::OnceLock;

/// The test-only variable that sets the clock's start.
pub const TEST_NOW_VAR: &str = "BOT_NOW";

/// How far the bot's clock is from the system clock (zero unless `BOT_NOW` is set).
static OFFSET: OnceLock<Duration> = OnceLock::new();

/// The instant `BOT_NOW` names: `None` when unset, an error when it is not RFC 3339.
fn test_now() -> Result<Option<DateTime<Utc>>, String> {
    match std::env::var(TEST_NOW_VAR) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("{TEST_NOW_VAR} must be RFC 3339 text"))
        }
        Ok(s) if s.trim().is_empty() => Ok(None),
        Ok(s) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!(
                    "{TEST_NOW_VAR}=`{s}` (tests only) must be RFC 3339, e.g. 2026-03-03T10:00:00Z"
                )
            }),
    }
}

fn offset_from_env() -> Result<Duration, String> {
    Ok(test_now()?.map_or_else(Duration::zero, |t| t - Utc::now()))
}

/// Sets the clock from `BOT_NOW` at start, so that a malformed value is an error rather
/// than ignored. Without this call the first [`now`] reads it (ignoring a malformed value).
pub fn init() -> Result<(), String> {
    let off = offset_from_env()?;
    let _ = OFFSET.set(off);
    Ok(())
}

/// The current time: the system clock, shifted when `BOT_NOW` is set (tests only).
pub fn now() -> DateTime<Utc> {
    let off = OFFSET.get_or_init(|| offset_from_env().unwrap_or_else(|_| Duration::zero()));
    Utc::now() + *off
}

/// The system clock, never shifted by `BOT_NOW`: for times compared between processes (the
/// database lease, [`crate::store::lease`]).
pub fn system_now() -> DateTime<Utc> {
    Utc::now()
}
