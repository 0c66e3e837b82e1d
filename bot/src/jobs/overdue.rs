//! What happens to a scheduled run that is due late (the bot was not running, or busy), and
//! how far ahead a run may be scheduled: the `[scheduler]` section of the configuration.
//!
//! ```toml
//! [scheduler]
//! overdue = "skip"    # a run more than max_late late: "skip" it (the default) or "run" it
//! max_late = "1h"     # the default
//! max_ahead = "30d"   # at= (or "in 3 days") may not be further ahead than this (default)
//! ```
//!
//! Whatever the policy, a run that starts a minute or more late says so ("started 12m 00s
//! late"), and a skipped one ends as `cancelled` with the reason as its detail, and the
//! channel that scheduled it is told.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// Lateness below this is not worth a notice (the scheduler's own delay).
pub const NOTICE_AFTER: Duration = Duration::from_secs(60);

pub use crate::config::scheduler::{Overdue, SchedulerConfig};

/// What the scheduler does with a due run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Start it (late or not: the notice comes from [`late_by`] when it starts).
    Start,
    /// Do not start it; the text is the reason, for the run's detail and the channel.
    Skip(String),
}

impl SchedulerConfig {
    /// Judges a run due at `run_at` that could start at `now`.
    pub fn judge(&self, run_at: DateTime<Utc>, now: DateTime<Utc>) -> Verdict {
        let late = (now - run_at).to_std().unwrap_or_default();
        if late <= self.max_late || self.overdue == Overdue::Run {
            return Verdict::Start;
        }
        Verdict::Skip(format!(
            "it was due {} ago, more than the {} a scheduled run may start late ([scheduler] max_late; overdue = \"skip\"); run it again if it is still needed",
            crate::i18n::format::duration_std(late),
            crate::i18n::format::duration_std(self.max_late),
        ))
    }
}

/// Why a run may not be scheduled for `at` (`now` being now): further ahead than
/// `max_ahead` ("more than 30 days ahead (\[scheduler\] max_ahead)"); `None` when it may.
pub fn too_far_ahead(
    c: &SchedulerConfig,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    lang: crate::i18n::Lang,
) -> Option<String> {
    let ahead = (at - now).to_std().unwrap_or_default();
    (ahead > c.max_ahead).then(|| tr!(lang, "too-far-ahead", span = span_words(c.max_ahead, lang)))
}

/// `30 days`, `1 day`, else `2h 00m` ([`crate::render::duration_std`]).
fn span_words(d: Duration, lang: crate::i18n::Lang) -> String {
    match d.as_secs() {
        s if s > 0 && s % 86400 == 0 && d.subsec_nanos() == 0 => {
            tr!(lang, "span-days", days = s / 86400)
        }
        _ => crate::i18n::format::duration_std(d),
    }
}

/// How late a run started, when that is worth a notice ([`NOTICE_AFTER`]).
pub fn late_by(run_at: DateTime<Utc>, started_at: DateTime<Utc>) -> Option<Duration> {
    let late = (started_at - run_at).to_std().ok()?;
    (late >= NOTICE_AFTER).then_some(late)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_by_lateness_and_policy() {
        let t0 = DateTime::parse_from_rfc3339("2026-03-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = SchedulerConfig::default();
        assert_eq!(
            c.judge(t0, t0 + chrono::Duration::minutes(59)),
            Verdict::Start
        );
        let Verdict::Skip(why) = c.judge(t0, t0 + chrono::Duration::hours(10)) else {
            panic!("a run 10 h late is skipped");
        };
        assert!(
            why.starts_with("it was due 10h 00m ago, more than the 1h 00m"),
            "{why}"
        );
        let run = SchedulerConfig {
            overdue: Overdue::Run,
            ..c
        };
        assert_eq!(
            run.judge(t0, t0 + chrono::Duration::hours(10)),
            Verdict::Start
        );
        assert_eq!(late_by(t0, t0 + chrono::Duration::seconds(5)), None);
        assert_eq!(
            too_far_ahead(
                &c,
                t0 + chrono::Duration::days(30),
                t0,
                crate::i18n::Lang::En
            ),
            None
        );
        let far = t0 + chrono::Duration::days(31);
        let why = too_far_ahead(&c, far, t0, crate::i18n::Lang::En).unwrap_or_default();
        assert!(why.starts_with("more than 30 days ahead"), "{why}");
        assert_eq!(
            too_far_ahead(&c, far, t0, crate::i18n::Lang::Zh).unwrap_or_default(),
            "超过了 30 天，这是排期的最远期限（[scheduler] max_ahead）"
        );
        assert_eq!(
            late_by(t0, t0 + chrono::Duration::minutes(12)),
            Some(Duration::from_secs(720))
        );
    }
}
