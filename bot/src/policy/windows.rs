//! Change windows: the weekdays and hours (in the bot's time zone) in which an environment
//! may be changed, and freeze periods in which it may not.

use crate::i18n::Lang;
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

pub use crate::config::security::{Freeze, Outside, Window};

/// Why the window is closed now.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    /// In the language asked for ("production is outside its change window").
    pub reason: String,
    /// When it opens next (None: not within 60 days).
    pub opens: Option<DateTime<Utc>>,
}

impl Window {
    fn freeze_at(&self, t: DateTime<Utc>) -> Option<&Freeze> {
        self.freezes.iter().find(|f| f.from <= t && t < f.to)
    }

    fn hours_ok(&self, t: DateTime<Utc>, tz: Tz) -> bool {
        let local = tz.from_utc_datetime(&t.naive_utc());
        if !self.days.is_empty() && !self.days.contains(&local.weekday()) {
            return false;
        }
        match self.hours {
            None => true,
            Some((a, b)) => {
                let m = local.hour() * 60 + local.minute();
                a <= m && m < b
            }
        }
    }

    pub fn is_open(&self, t: DateTime<Utc>, tz: Tz) -> bool {
        self.freeze_at(t).is_none() && self.hours_ok(t, tz)
    }

    /// The first minute at or after `t` when the window is open.
    pub fn next_open(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let mut c = t;
        let mut limit = t + Duration::days(60);
        while c < limit {
            if let Some(f) = self.freeze_at(c) {
                c = f.to;
                limit = limit.max(c + Duration::days(60));
                continue;
            }
            if self.hours_ok(c, tz) {
                return Some(c);
            }
            // to the next whole minute
            c = c + Duration::seconds(60 - c.second() as i64)
                - Duration::nanoseconds(c.nanosecond() as i64);
        }
        None
    }

    /// Ok when open at `t`, else why (in `lang`) and when it opens.
    pub fn check(&self, t: DateTime<Utc>, tz: Tz, lang: Lang) -> Result<(), Closed> {
        let env = &self.environment;
        if let Some(f) = self.freeze_at(t) {
            let reason = if f.reason.is_empty() {
                tr!(lang, "window-freeze", env = env)
            } else {
                tr!(lang, "window-freeze-reason", env = env, reason = &f.reason)
            };
            return Err(Closed {
                reason,
                opens: self.next_open(t, tz),
            });
        }
        if !self.hours_ok(t, tz) {
            return Err(Closed {
                reason: tr!(lang, "window-closed", env = env),
                opens: self.next_open(t, tz),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn hours_days_and_freezes() {
        let w = Window {
            environment: "production".into(),
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            hours: Some((9 * 60, 17 * 60)),
            freezes: vec![Freeze {
                from: t("2026-03-04T00:00:00Z"),
                to: t("2026-03-05T00:00:00Z"),
                reason: "release".into(),
            }],
            outside: Outside::Refuse,
        };
        let tz = chrono_tz::UTC;
        // Tuesday 10:00: open
        assert!(w.check(t("2026-03-03T10:00:00Z"), tz, Lang::En).is_ok());
        // Tuesday 18:00: opens... Wednesday is frozen, so Thursday 09:00
        let c = w
            .check(t("2026-03-03T18:00:30Z"), tz, Lang::En)
            .unwrap_err();
        assert_eq!(c.opens, Some(t("2026-03-05T09:00:00Z")));
        let c = w
            .check(t("2026-03-04T10:00:00Z"), tz, Lang::En)
            .unwrap_err();
        assert!(c.reason.contains("freeze (release)"), "{c:?}");
        // Saturday: Monday 09:00
        let c = w
            .check(t("2026-03-07T12:00:00Z"), tz, Lang::En)
            .unwrap_err();
        assert_eq!(c.opens, Some(t("2026-03-09T09:00:00Z")));
    }
}
