//! Times and durations as the languages write them: `2026-03-03 23:00:00 CET` and
//! `今晚 23:00 CET`, `850ms`, `1m 05s`.

use super::Lang;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::time::Duration;

/// `850ms`, `3.2s`, `1m 05s`, `2h 03m`.
pub fn duration_std(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h {:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

pub fn duration(d: chrono::Duration) -> String {
    duration_std(d.to_std().unwrap_or_default())
}

/// `2026-03-03 23:00:00 CET`; in Chinese relative to today when near (`今晚 23:00 CET`,
/// `明天 08:00 CET`, `昨天 14:05 CET`), else `2026年3月3日 23:00 CET`.
pub fn time(t: DateTime<Utc>, tz: Tz, lang: Lang) -> String {
    time_at(t, tz, lang, crate::clock::now())
}

/// [`time`] with the present given.
pub fn time_at(t: DateTime<Utc>, tz: Tz, lang: Lang, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&tz);
    match lang {
        Lang::En => local.format("%Y-%m-%d %H:%M:%S %Z").to_string(),
        Lang::Zh => {
            use chrono::Timelike;
            let days = (local.date_naive() - now.with_timezone(&tz).date_naive()).num_days();
            let evening = local.hour() >= 18;
            let day = match (days, evening) {
                (0, false) => crate::tr!(lang, "day-today"),
                (0, true) => crate::tr!(lang, "day-tonight"),
                (1, false) => crate::tr!(lang, "day-tomorrow"),
                (1, true) => crate::tr!(lang, "day-tomorrow-evening"),
                (-1, false) => crate::tr!(lang, "day-yesterday"),
                (-1, true) => crate::tr!(lang, "day-last-night"),
                _ => local.format("%Y年%-m月%-d日").to_string(),
            };
            format!("{day} {}", local.format("%H:%M %Z"))
        }
    }
}

/// `target=db-01, compression=zstd`, or `no parameters`.
pub fn params(p: &BTreeMap<String, String>, lang: Lang) -> String {
    if p.is_empty() {
        return crate::tr!(lang, "no-parameters");
    }
    p.iter()
        .map(|(k, v)| param(k, v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `name=value`, the value quoted when it is empty or holds a space or a comma.
pub fn param(k: &str, v: &str) -> String {
    if v.is_empty() || v.contains(char::is_whitespace) || v.contains(',') {
        format!("{k}={v:?}")
    } else {
        format!("{k}={v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_std(Duration::from_millis(850)), "850ms");
        assert_eq!(duration_std(Duration::from_millis(3200)), "3.2s");
        assert_eq!(duration_std(Duration::from_secs(65)), "1m 05s");
        assert_eq!(duration_std(Duration::from_secs(7380)), "2h 03m");
    }

    #[test]
    fn times_in_chinese_are_relative_to_today_when_near() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let now = at("2026-12-03T10:00:00Z");
        let tz = chrono_tz::Asia::Shanghai;
        let zh = |s: &str| time_at(at(s), tz, Lang::Zh, now);
        assert_eq!(zh("2026-12-03T15:00:00Z"), "今晚 23:00 CST");
        assert_eq!(zh("2026-12-03T03:30:00Z"), "今天 11:30 CST");
        assert_eq!(zh("2026-12-04T00:00:00Z"), "明天 08:00 CST");
        assert_eq!(zh("2026-12-02T06:05:00Z"), "昨天 14:05 CST");
        assert_eq!(zh("2026-12-25T02:00:00Z"), "2026年12月25日 10:00 CST");
        assert_eq!(
            time_at(at("2026-12-03T15:00:00Z"), tz, Lang::En, now),
            "2026-12-03 23:00:00 CST"
        );
    }
}
