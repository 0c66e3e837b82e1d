//! Time expressions in English and Chinese, resolved against a reference time and zone.
//!
//! # Why a grammar of our own
//!
//! The existing crates were evaluated first:
//! - `chrono-english` (unmaintained) and its successor `interim` parse a *whole string* that is a
//!   date ("next friday 8pm", "2018-04-01") into one instant. They do not find an expression
//!   inside a sentence (we need spans), have no ranges ("last 24 hours", "this week") and no
//!   Chinese.
//! - `two_timer` returns ranges, but also only for a whole string, in naive local time (no time
//!   zone), English only, and pulls in a large dependency tree (`pidgin`, `serde`, `regex`
//!   grammars compiled at start-up).
//!
//! Finding expressions in free text, in two languages, with spans and a zone, is most of the
//! work either way, so this module has a small grammar of its own (anchored regular
//! expressions tried at each word start) and no new dependency.
//!
//! # What it resolves
//!
//! Values are RFC 3339 in the reference zone, e.g. `2026-11-27T23:00:00+08:00`; ranges are
//! `START/END` with END exclusive.
//!
//! - Instants: "in 30 minutes", "in half an hour", "2 hours from now", "at 23:00", "at 5pm",
//!   "11pm", "noon", "tonight at 11pm", "tomorrow morning" (09:00), "tomorrow at 9",
//!   "next monday" (the start of that day), "on friday at 6pm", "2026-12-01 08:00";
//!   "30分钟后", "半小时后", "明天早上8点", "今晚11点", "下午3点半", "下周一", "周五晚上8点".
//! - Ranges: "today", "yesterday", "yesterday morning", "last monday", "last 24 hours",
//!   "the past week" (rolling), "last week" / "this week" / "this month" (calendar),
//!   "since monday", "since yesterday", "since 10am"; "今天", "昨天", "最近24小时",
//!   "过去一周", "本周", "上周", "本月", "从周一开始", "周一以来".
//! - A clock time without a day is the next such time (today, or tomorrow once it has passed).
//!   A day in the future without a clock time is an instant at its start; a day today or in
//!   the past is the range of that day. Parts of the day: morning 09:00 (06–12), afternoon
//!   15:00 (12–18), evening 19:00 (18–22), night 21:00 (20–24); with a clock time an hour
//!   below 12 in the afternoon, evening or night moves to the afternoon ("今晚11点" = 23:00).
//! - Weeks start on Monday. "next monday"/"下周一" is the Monday of next week; a bare weekday
//!   ("friday", "周五") is the next such day (today included); "last monday"/"上周一" is a past
//!   day.

use super::numbers::{parse_en_number, parse_zh_number};
use super::{is_cjk, is_latin_word, tier, Cand, Text};
use crate::result::{EntityKind, Extractor};
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, TimeZone};
use chrono_tz::Tz;
use regex::{Captures, Regex};
use std::sync::LazyLock;

fn re(s: &str) -> Regex {
    Regex::new(s).expect("built-in time pattern")
}

const EN_N: &str = r"\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|forty-five|fifty|sixty|few|couple of|half an?";
const EN_UNIT: &str = r"seconds?|secs?|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|months?";
const EN_WD: &str = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday";

static EN_IN: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?:with)?in\s+(?:the\s+next\s+)?(?P<n>{EN_N})\s*(?P<u>{EN_UNIT})(?-u:\b)"
    ))
});
static EN_FROM_NOW: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?P<n>{EN_N})\s*(?P<u>{EN_UNIT})\s+(?P<dir>from now|later|ago|before now)(?-u:\b)"
    ))
});
static EN_LAST: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?:(?:in|during|over|for|within)\s+)?(?:the\s+)?(?P<w>last|past|previous|recent)\s+(?:(?P<n>{EN_N})\s*)?(?P<u>{EN_UNIT})(?-u:\b)"
    ))
});
static EN_CAL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?P<w>this|last|previous|current)\s+(?P<u>week|month|year)(?-u:\b)"));
static EN_SINCE: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:since|from)\s+"));
static EN_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?:(?P<rel>today|tonight|tomorrow|tmrw|tmr|yesterday|(?:the\s+)?day\s+after\s+tomorrow|(?:the\s+)?day\s+before\s+yesterday)|(?:(?P<md>next|this|on|last|coming|this\s+coming)\s+)?(?P<wd>{EN_WD}))(?-u:\b)"
    ))
});
static EN_THIS_PART: LazyLock<Regex> =
    LazyLock::new(|| re(r"^this\s+(?P<part>morning|afternoon|evening)(?-u:\b)"));
static EN_PART: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(?:in\s+the\s+)?(?P<part>morning|afternoon|evening|night)(?-u:\b)"));
static EN_CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?P<at>at|@|by|around|for)\s*)?(?:(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?\s*(?P<ap>a\.?m\.?|p\.?m\.?)|(?P<h2>\d{1,2}):(?P<mi2>\d{2})|(?P<nm>noon|midnight))",
    )
});
static EN_AT_HOUR: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:at|@)\s*(?P<h>\d{1,2})"));
static EN_JOIN: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(?:,\s*)?(?:on\s+)?"));
static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})(?:[ t](?P<h>\d{1,2}):(?P<mi>\d{2}))?")
});

const ZH_N: &str = r"\d+|[零〇一二两三四五六七八九十百]+|半";
static ZH_REL: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?P<n>{ZH_N})\s*个?\s*(?P<u>秒钟?|分钟|分|小时|钟头|天|日|周|星期|礼拜|个月|月)\s*(?P<dir>之后|以后|后|之前|以前|前)"
    ))
});
static ZH_LAST: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?:最近|过去|近|前|这)\s*(?P<n>{ZH_N})?\s*个?\s*(?P<u>分钟|小时|钟头|天|日|周|星期|礼拜|个月|月)(?:内|以来|里)?"
    ))
});
static ZH_CAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?P<this>本|这个?|今)|(?P<last>上个?))(?P<u>周|星期|礼拜|月|年)(?:[一二三四五六日天1-7])?",
    )
});
static ZH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?P<rel>今天|今日|今晚|今早|今夜|明天|明日|明晚|明早|后天|大后天|昨天|昨日|昨晚|前天)|(?P<wm>下下|下|上|这|本)?个?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7]))",
    )
});
static ZH_PART: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*的?\s*(?P<part>早上|早晨|上午|中午|下午|傍晚|晚上|夜里|半夜|凌晨)"));
static ZH_CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:(?P<h>\d{1,2}|[零一二两三四五六七八九十]{1,3})\s*(?:点钟?|时)(?:\s*(?P<half>半)|\s*(?P<q>一刻|三刻)|\s*(?P<mi>\d{1,2}|[零一二三四五六七八九十]{1,3})\s*分?)?|(?P<h2>\d{1,2})[:：](?P<mi2>\d{2}))",
    )
});
static ZH_SINCE_PRE: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:自从|自|从)\s*"));
static ZH_SINCE_POST: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(?:开始|以来|起|至今|到现在)"));

/// A resolved time.
#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    At(DateTime<Tz>),
    Span(DateTime<Tz>, DateTime<Tz>),
}

impl When {
    fn value(self) -> String {
        let f = |d: DateTime<Tz>| d.to_rfc3339_opts(SecondsFormat::Secs, false);
        match self {
            When::At(d) => f(d),
            When::Span(a, b) => format!("{}/{}", f(a), f(b)),
        }
    }
    fn start(self) -> DateTime<Tz> {
        match self {
            When::At(d) | When::Span(d, _) => d,
        }
    }
}

/// Local midnight-based time on a date, robust to DST gaps.
fn local(now: &DateTime<Tz>, date: NaiveDate, h: u32, m: u32) -> DateTime<Tz> {
    let tz = now.timezone();
    let (h, m) = (h.min(23), m.min(59));
    let naive = date.and_hms_opt(h, m, 0).unwrap_or_default();
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .unwrap_or(*now)
}

fn day_range(now: &DateTime<Tz>, date: NaiveDate) -> When {
    When::Span(
        local(now, date, 0, 0),
        local(now, date + Duration::days(1), 0, 0),
    )
}

fn unit_duration(u: &str, n: f64) -> Option<Duration> {
    let secs = match u {
        "s" | "sec" | "secs" | "second" | "seconds" | "秒" | "秒钟" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" | "分钟" | "分" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" | "小时" | "钟头" => 3600.0,
        "d" | "day" | "days" | "天" | "日" => 86400.0,
        "week" | "weeks" | "wk" | "wks" | "周" | "星期" | "礼拜" => 7.0 * 86400.0,
        "month" | "months" | "个月" | "月" => 30.0 * 86400.0,
        _ => return None,
    };
    Some(Duration::seconds((secs * n).round() as i64))
}

fn en_amount(s: &str) -> Option<f64> {
    let s = s.trim();
    match s {
        "a" | "an" => Some(1.0),
        "few" => Some(3.0),
        "couple of" => Some(2.0),
        _ if s.starts_with("half") => Some(0.5),
        _ => s
            .parse::<f64>()
            .ok()
            .or_else(|| parse_en_number(s).map(|v| v as f64)),
    }
}

fn zh_amount(s: &str) -> Option<f64> {
    if s == "半" {
        return Some(0.5);
    }
    s.parse::<f64>()
        .ok()
        .or_else(|| parse_zh_number(s).map(|v| v as f64))
}

fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(date.weekday().num_days_from_monday() as i64)
}

fn month_start(date: NaiveDate, back: u32) -> NaiveDate {
    let (mut y, mut m) = (date.year(), date.month() as i32 - back as i32);
    while m < 1 {
        m += 12;
        y -= 1;
    }
    NaiveDate::from_ymd_opt(y, m as u32, 1).unwrap_or(date)
}

fn calendar(now: &DateTime<Tz>, unit: &str, back: u32) -> When {
    let today = now.date_naive();
    let (a, b) = match unit {
        "week" => {
            let s = week_start(today) - Duration::days(7 * back as i64);
            (s, s + Duration::days(7))
        }
        "month" => {
            let a = month_start(today, back);
            (a, a)
        }
        _ => {
            let y = today.year() - back as i32;
            (
                NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(today),
                NaiveDate::from_ymd_opt(y + 1, 1, 1).unwrap_or(today),
            )
        }
    };
    let b = if unit == "month" {
        // the first day of the month after `a`
        let (y, m) = if a.month() == 12 {
            (a.year() + 1, 1)
        } else {
            (a.year(), a.month() + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(b)
    } else {
        b
    };
    When::Span(local(now, a, 0, 0), local(now, b, 0, 0))
}

/// Parts of the day: (range start hour, range end hour, default hour).
fn part_hours(part: &str) -> (u32, u32, u32) {
    match part {
        "morning" | "早上" | "早晨" | "上午" | "今早" | "明早" => (6, 12, 9),
        "afternoon" | "下午" => (12, 18, 15),
        "中午" => (11, 14, 12),
        "evening" | "傍晚" => (18, 22, 19),
        "凌晨" | "半夜" => (0, 6, 2),
        _ => (20, 24, 21), // night, 晚上, 今晚, 夜里
    }
}

fn is_pm_part(part: &str) -> bool {
    matches!(
        part,
        "afternoon"
            | "evening"
            | "night"
            | "下午"
            | "傍晚"
            | "晚上"
            | "夜里"
            | "今晚"
            | "明晚"
            | "昨晚"
            | "今夜"
    )
}

/// A day named in the text.
#[derive(Debug, Clone, Copy)]
struct Day {
    date: NaiveDate,
    part: Option<&'static str>,
}

fn intern_part(p: &str) -> &'static str {
    const PARTS: &[&str] = &[
        "morning",
        "afternoon",
        "evening",
        "night",
        "早上",
        "早晨",
        "上午",
        "中午",
        "下午",
        "傍晚",
        "晚上",
        "夜里",
        "半夜",
        "凌晨",
        "今早",
        "明早",
        "今晚",
        "明晚",
        "昨晚",
        "今夜",
    ];
    PARTS.iter().find(|x| **x == p).copied().unwrap_or("night")
}

fn weekday_date(today: NaiveDate, wd: u32, modifier: &str) -> NaiveDate {
    let cur = today.weekday().num_days_from_monday();
    let ws = week_start(today);
    match modifier {
        "next" | "下" => ws + Duration::days(7 + wd as i64),
        "下下" => ws + Duration::days(14 + wd as i64),
        "this" | "这" | "本" => ws + Duration::days(wd as i64),
        "上" => ws - Duration::days(7) + Duration::days(wd as i64),
        "last" => {
            let back = (cur + 7 - wd) % 7;
            today - Duration::days(if back == 0 { 7 } else { back as i64 })
        }
        "coming" | "this coming" => {
            let fwd = (wd + 7 - cur) % 7;
            today + Duration::days(if fwd == 0 { 7 } else { fwd as i64 })
        }
        _ => today + Duration::days(((wd + 7 - cur) % 7) as i64),
    }
}

fn en_weekday(s: &str) -> u32 {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .position(|w| *w == s)
    .unwrap_or(0) as u32
}

fn zh_weekday(s: &str) -> u32 {
    match s {
        "一" | "1" => 0,
        "二" | "2" => 1,
        "三" | "3" => 2,
        "四" | "4" => 3,
        "五" | "5" => 4,
        "六" | "6" => 5,
        _ => 6,
    }
}

/// The same weekday a week earlier when it lies in the future ("since monday").
fn past_day(day: Day, now: &DateTime<Tz>) -> Day {
    if day.date > now.date_naive() {
        Day {
            date: day.date - Duration::days(7),
            ..day
        }
    } else {
        day
    }
}

/// Combines a day, a part of the day and a clock time into a time.
fn combine(now: &DateTime<Tz>, day: Option<Day>, clock: Option<(u32, u32, bool)>) -> Option<When> {
    let today = now.date_naive();
    match (day, clock) {
        (None, None) => None,
        (Some(d), None) => match d.part {
            Some(p) => {
                let (a, b, def) = part_hours(p);
                let at = local(now, d.date, def, 0);
                if at > *now {
                    Some(When::At(at))
                } else {
                    let end = if b == 24 {
                        local(now, d.date + Duration::days(1), 0, 0)
                    } else {
                        local(now, d.date, b, 0)
                    };
                    Some(When::Span(local(now, d.date, a, 0), end))
                }
            }
            None if d.date > today => Some(When::At(local(now, d.date, 0, 0))),
            None => Some(day_range(now, d.date)),
        },
        (day, Some((mut h, m, explicit_ampm))) => {
            if let Some(p) = day.and_then(|d| d.part) {
                if !explicit_ampm && is_pm_part(p) && h < 12 {
                    h += 12;
                }
                if !explicit_ampm && p == "中午" && h < 6 {
                    h += 12;
                }
            }
            if h > 24 || m > 59 {
                return None;
            }
            let (date, h) = if h == 24 {
                (day.map_or(today, |d| d.date) + Duration::days(1), 0)
            } else {
                (day.map_or(today, |d| d.date), h)
            };
            let at = local(now, date, h, m);
            if day.is_none() && at <= *now {
                Some(When::At(local(now, date + Duration::days(1), h, m)))
            } else {
                Some(When::At(at))
            }
        }
    }
}

fn en_clock(c: &Captures) -> Option<(u32, u32, bool)> {
    if let Some(nm) = c.name("nm") {
        return Some(if nm.as_str() == "noon" {
            (12, 0, true)
        } else {
            (0, 0, true)
        });
    }
    if let Some(h) = c.name("h") {
        let mut h: u32 = h.as_str().parse().ok()?;
        let m: u32 = c.name("mi").map_or(Some(0), |m| m.as_str().parse().ok())?;
        let pm = c.name("ap").is_some_and(|a| a.as_str().starts_with('p'));
        if h == 0 || h > 12 {
            return None;
        }
        if h == 12 {
            h = 0;
        }
        if pm {
            h += 12;
        }
        return Some((h, m, true));
    }
    let h: u32 = c.name("h2")?.as_str().parse().ok()?;
    let m: u32 = c.name("mi2")?.as_str().parse().ok()?;
    (h <= 24 && m < 60).then_some((h, m, h >= 13 || h == 0))
}

/// Parses an English clock time at the start of `s`; returns (hour, minute, explicit, bytes).
fn parse_en_clock(s: &str) -> Option<((u32, u32, bool), usize)> {
    if let Some(c) = EN_CLOCK.captures(s) {
        let end = c.get(0)?.end();
        if end_ok(s, end) {
            if let Some(v) = en_clock(&c) {
                return Some((v, end));
            }
        }
    }
    let c = EN_AT_HOUR.captures(s)?;
    let end = c.get(0)?.end();
    let rest = &s[end..];
    if rest.starts_with(['.', ':', ',']) && rest[1..].starts_with(|x: char| x.is_ascii_digit()) {
        return None;
    }
    if !end_ok(s, end) {
        return None;
    }
    // "at 5 replicas" is not a time
    let next = rest.trim_start();
    if next.starts_with(|c: char| c.is_ascii_alphabetic())
        && ![
            "on", "in", "tomorrow", "tonight", "today", "and", "to", "for", "the", "next", "this",
            "please", "then",
        ]
        .iter()
        .any(|w| next.starts_with(w))
    {
        return None;
    }
    let h: u32 = c.name("h")?.as_str().parse().ok()?;
    (h <= 24).then_some(((h, 0, false), end))
}

/// Whether a Latin match ending at byte `end` of `s` ends on a word boundary.
fn end_ok(s: &str, end: usize) -> bool {
    s[end..].chars().next().is_none_or(|c| !is_latin_word(c))
}

fn parse_en_day(s: &str, now: &DateTime<Tz>) -> Option<(Day, usize)> {
    let today = now.date_naive();
    if let Some(c) = EN_THIS_PART.captures(s) {
        return Some((
            Day {
                date: today,
                part: Some(intern_part(&c["part"])),
            },
            c.get(0)?.end(),
        ));
    }
    let c = EN_DAY.captures(s)?;
    let mut end = c.get(0)?.end();
    let (date, mut part) = if let Some(rel) = c.name("rel") {
        let rel = rel.as_str();
        match rel {
            "today" => (today, None),
            "tonight" => (today, Some("night")),
            "tomorrow" | "tmrw" | "tmr" => (today + Duration::days(1), None),
            "yesterday" => (today - Duration::days(1), None),
            r if r.contains("after") => (today + Duration::days(2), None),
            _ => (today - Duration::days(2), None),
        }
    } else {
        let wd = en_weekday(c.name("wd")?.as_str());
        let md = c.name("md").map_or("", |m| m.as_str());
        let md = if md.starts_with("this") && md.contains("coming") {
            "coming"
        } else {
            md
        };
        (weekday_date(today, wd, md), None)
    };
    if part.is_none() {
        if let Some(p) = EN_PART.captures(&s[end..]) {
            part = Some(intern_part(&p["part"]));
            end += p.get(0)?.end();
        }
    }
    Some((Day { date, part }, end))
}

/// Tries every English form at the start of `s`.
fn parse_en(s: &str, now: &DateTime<Tz>) -> Option<(When, usize)> {
    if let Some(c) = EN_IN.captures(s) {
        let d = unit_duration(&c["u"], en_amount(&c["n"])?)?;
        return Some((When::At(*now + d), c.get(0)?.end()));
    }
    if let Some(c) = EN_FROM_NOW.captures(s) {
        let d = unit_duration(&c["u"], en_amount(&c["n"])?)?;
        let past = matches!(&c["dir"], "ago" | "before now");
        return Some((
            When::At(if past { *now - d } else { *now + d }),
            c.get(0)?.end(),
        ));
    }
    if let Some(c) = EN_CAL.captures(s) {
        let back = u32::from(&c["w"] != "this" && &c["w"] != "current");
        return Some((calendar(now, &c["u"], back), c.get(0)?.end()));
    }
    if let Some(c) = EN_LAST.captures(s) {
        let n = match c.name("n") {
            Some(n) => en_amount(n.as_str())?,
            None => 1.0,
        };
        let d = unit_duration(&c["u"], n)?;
        return Some((When::Span(*now - d, *now), c.get(0)?.end()));
    }
    if let Some(c) = EN_SINCE.captures(s) {
        let off = c.get(0)?.end();
        let rest = &s[off..];
        let start = if let Some((day, e)) = parse_en_day(rest, now) {
            let w = combine(
                now,
                Some(Day {
                    part: None,
                    ..past_day(day, now)
                }),
                None,
            )?;
            Some((w.start().min(*now), e))
        } else if let Some((clock, e)) = parse_en_clock(rest) {
            let at = local(now, now.date_naive(), clock.0, clock.1);
            Some((
                if at > *now {
                    at - Duration::days(1)
                } else {
                    at
                },
                e,
            ))
        } else if let Some((w, e)) = parse_en(rest, now) {
            Some((w.start(), e))
        } else {
            None
        };
        if let Some((st, e)) = start {
            return Some((When::Span(st, *now), off + e));
        }
    }
    if let Some(c) = ISO_DATE.captures(s) {
        let date = NaiveDate::from_ymd_opt(
            c["y"].parse().ok()?,
            c["mo"].parse().ok()?,
            c["d"].parse().ok()?,
        )?;
        let end = c.get(0)?.end();
        let clock = match (c.name("h"), c.name("mi")) {
            (Some(h), Some(m)) => Some((h.as_str().parse().ok()?, m.as_str().parse().ok()?, true)),
            _ => None,
        };
        return Some((combine(now, Some(Day { date, part: None }), clock)?, end));
    }
    // day [at] clock | clock [on] day | day | clock
    if let Some((day, e1)) = parse_en_day(s, now) {
        let j = EN_JOIN.find(&s[e1..]).map_or(0, |m| m.end());
        if let Some((clock, e2)) = parse_en_clock(&s[e1 + j..]) {
            return Some((combine(now, Some(day), Some(clock))?, e1 + j + e2));
        }
        return Some((combine(now, Some(day), None)?, e1));
    }
    if let Some((clock, e1)) = parse_en_clock(s) {
        let j = EN_JOIN.find(&s[e1..]).map_or(0, |m| m.end());
        if let Some((day, e2)) = parse_en_day(&s[e1 + j..], now) {
            return Some((combine(now, Some(day), Some(clock))?, e1 + j + e2));
        }
        return Some((combine(now, None, Some(clock))?, e1));
    }
    None
}

fn zh_clock(c: &Captures) -> Option<(u32, u32, bool)> {
    if let (Some(h), Some(m)) = (c.name("h2"), c.name("mi2")) {
        let h: u32 = h.as_str().parse().ok()?;
        return Some((h, m.as_str().parse().ok()?, h >= 13));
    }
    let hs = c.name("h")?.as_str();
    let h = hs
        .parse::<u32>()
        .ok()
        .or_else(|| parse_zh_number(hs).map(|v| v as u32))?;
    let m = if c.name("half").is_some() {
        30
    } else if let Some(q) = c.name("q") {
        if q.as_str() == "一刻" {
            15
        } else {
            45
        }
    } else if let Some(mi) = c.name("mi") {
        let ms = mi.as_str();
        ms.parse::<u32>()
            .ok()
            .or_else(|| parse_zh_number(ms).map(|v| v as u32))?
    } else {
        0
    };
    Some((h, m, h >= 13))
}

fn parse_zh_day(s: &str, now: &DateTime<Tz>) -> Option<(Day, usize)> {
    let today = now.date_naive();
    let c = ZH_DAY.captures(s)?;
    let mut end = c.get(0)?.end();
    let (date, mut part) = if let Some(rel) = c.name("rel") {
        match rel.as_str() {
            "今天" | "今日" => (today, None),
            "今晚" | "今夜" => (today, Some(intern_part("今晚"))),
            "今早" => (today, Some(intern_part("今早"))),
            "明天" | "明日" => (today + Duration::days(1), None),
            "明晚" => (today + Duration::days(1), Some(intern_part("明晚"))),
            "明早" => (today + Duration::days(1), Some(intern_part("明早"))),
            "后天" => (today + Duration::days(2), None),
            "大后天" => (today + Duration::days(3), None),
            "昨天" | "昨日" => (today - Duration::days(1), None),
            "昨晚" => (today - Duration::days(1), Some(intern_part("昨晚"))),
            _ => (today - Duration::days(2), None),
        }
    } else {
        let wd = zh_weekday(c.name("wd")?.as_str());
        let wm = c.name("wm").map_or("", |m| m.as_str());
        (weekday_date(today, wd, wm), None)
    };
    if let Some(p) = ZH_PART.captures(&s[end..]) {
        part = Some(intern_part(&p["part"]));
        end += p.get(0)?.end();
    }
    Some((Day { date, part }, end))
}

fn parse_zh_point(s: &str, now: &DateTime<Tz>) -> Option<(When, usize)> {
    let (day, mut end) = match parse_zh_day(s, now) {
        Some((d, e)) => (Some(d), e),
        None => match ZH_PART.captures(s) {
            // a part of the day alone ("下午3点") is today
            Some(p) => (
                Some(Day {
                    date: now.date_naive(),
                    part: Some(intern_part(&p["part"])),
                }),
                p.get(0)?.end(),
            ),
            None => (None, 0),
        },
    };
    let clock = ZH_CLOCK.captures(&s[end..]).and_then(|c| {
        let v = zh_clock(&c)?;
        end += c.get(0)?.end();
        Some(v)
    });
    if day.is_none() && clock.is_none() {
        return None;
    }
    // A bare part of the day without a clock ("上午") is too vague to be a time.
    if clock.is_none() && day.is_some_and(|d| d.part.is_some()) && parse_zh_day(s, now).is_none() {
        return None;
    }
    Some((combine(now, day, clock)?, end))
}

/// Tries every Chinese form at the start of `s`.
fn parse_zh(s: &str, now: &DateTime<Tz>) -> Option<(When, usize)> {
    if let Some(c) = ZH_REL.captures(s) {
        let d = unit_duration(&c["u"], zh_amount(&c["n"])?)?;
        let past = c["dir"].ends_with('前');
        return Some((
            When::At(if past { *now - d } else { *now + d }),
            c.get(0)?.end(),
        ));
    }
    if let Some(c) = ZH_CAL.captures(s) {
        if c.get(0)?
            .as_str()
            .chars()
            .last()
            .is_some_and(|x| "一二三四五六日天1234567".contains(x))
        {
            // "上周一": a day, handled below
        } else {
            let unit = match &c["u"] {
                "月" => "month",
                "年" => "year",
                _ => "week",
            };
            return Some((
                calendar(now, unit, u32::from(c.name("last").is_some())),
                c.get(0)?.end(),
            ));
        }
    }
    if let Some(c) = ZH_LAST.captures(s) {
        let n = match c.name("n") {
            Some(n) => zh_amount(n.as_str())?,
            None => 1.0,
        };
        // "最近" alone needs a number or a unit: "最近一周", "最近24小时"
        let d = unit_duration(&c["u"], n)?;
        return Some((When::Span(*now - d, *now), c.get(0)?.end()));
    }
    let pre = ZH_SINCE_PRE.find(s).map_or(0, |m| m.end());
    if let Some((w, e)) = parse_zh_point(&s[pre..], now) {
        let end = pre + e;
        if let Some(post) = ZH_SINCE_POST.find(&s[end..]) {
            // "since" looks back: a weekday is the last one, not the next
            let st = match parse_zh_day(&s[pre..], now) {
                Some((day, de)) if de == e => combine(
                    now,
                    Some(Day {
                        part: None,
                        ..past_day(day, now)
                    }),
                    None,
                )?
                .start(),
                _ => w.start(),
            };
            return Some((When::Span(st.min(*now), *now), end + post.end()));
        }
        if pre == 0 {
            return Some((w, e));
        }
        // "从明天" without an end word: just the point after "从"
        return Some((w, end));
    }
    None
}

/// Words that can start an English time expression; others are skipped without trying the
/// patterns (the patterns are the costly part of extraction).
const EN_STARTS: &[&str] = &[
    "in",
    "within",
    "from",
    "since",
    "this",
    "last",
    "past",
    "previous",
    "recent",
    "current",
    "during",
    "over",
    "for",
    "the",
    "today",
    "tonight",
    "tomorrow",
    "tmrw",
    "tmr",
    "yesterday",
    "day",
    "next",
    "on",
    "coming",
    "at",
    "by",
    "around",
    "noon",
    "midnight",
    "an",
    "a",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
    "forty",
    "forty-five",
    "fifty",
    "sixty",
    "few",
    "couple",
    "half",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn en_may_start(s: &str) -> bool {
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '@') {
        return true;
    }
    let w = s
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    EN_STARTS.contains(&w)
}

fn zh_may_start(c: char) -> bool {
    c.is_ascii_digit()
        || "零〇一二两三四五六七八九十百半今明后昨前大下上这本周星礼最过近自从早中午傍晚夜凌"
            .contains(c)
}

/// Finds time expressions.
pub(crate) fn find(t: &Text, now: DateTime<Tz>, out: &mut Vec<Cand>) {
    let n = t.len();
    let mut i = 0;
    while i < n {
        let c = t.chars[i];
        let prev = t.before(i);
        let latin_start =
            (c.is_ascii_alphanumeric() || c == '@') && !prev.is_some_and(is_latin_word);
        let zh_start = is_cjk(c)
            || (c.is_ascii_digit() && !prev.is_some_and(|p| p.is_ascii_digit() || p == '.'));
        let rest = &t.norm[t.norm_byte(i)..];
        let latin_start = latin_start && en_may_start(rest);
        let zh_start = zh_start && zh_may_start(c);
        let found = if latin_start {
            parse_en(rest, &now).or_else(|| if zh_start { parse_zh(rest, &now) } else { None })
        } else if zh_start {
            parse_zh(rest, &now)
        } else {
            None
        };
        if let Some((when, bytes)) = found {
            let (s, mut e) = t.chars_of(t.norm_byte(i), t.norm_byte(i) + bytes);
            while e > s && t.chars[e - 1] == ' ' {
                e -= 1;
            }
            // A number glued to more digits or a dot-number is not a time ("1.2.0", "10.0.0.1").
            let next = t.at(e);
            if !(next == Some('.') && t.at(e + 1).is_some_and(|x| x.is_ascii_digit())) {
                out.push(Cand::new(
                    EntityKind::TIME,
                    when.value(),
                    s,
                    e,
                    0.95,
                    Extractor::Time,
                    tier::STRUCTURED,
                ));
                i = e.max(i + 1);
                continue;
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Friday 2026-11-27 15:30 in Shanghai.
    fn now() -> DateTime<Tz> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 11, 27, 15, 30, 0)
            .unwrap()
    }

    fn times(s: &str) -> Vec<(String, String)> {
        let t = Text::new(s);
        let mut out = Vec::new();
        find(&t, now(), &mut out);
        out.into_iter()
            .map(|c| (t.slice(c.start, c.end).to_string(), c.value))
            .collect()
    }

    fn one(s: &str) -> (String, String) {
        let v = times(s);
        assert_eq!(v.len(), 1, "{s}: {v:?}");
        v[0].clone()
    }

    #[test]
    fn english_instants() {
        assert_eq!(
            one("run it in 30 minutes"),
            ("in 30 minutes".into(), "2026-11-27T16:00:00+08:00".into())
        );
        assert_eq!(one("in half an hour").1, "2026-11-27T16:00:00+08:00");
        assert_eq!(
            one("rotate logs on web-01 at 23:00"),
            ("at 23:00".into(), "2026-11-27T23:00:00+08:00".into())
        );
        assert_eq!(one("at 9:15").1, "2026-11-28T09:15:00+08:00");
        assert_eq!(
            one("tonight at 11pm"),
            ("tonight at 11pm".into(), "2026-11-27T23:00:00+08:00".into())
        );
        assert_eq!(one("tonight at 11").1, "2026-11-27T23:00:00+08:00");
        assert_eq!(
            one("tomorrow morning"),
            (
                "tomorrow morning".into(),
                "2026-11-28T09:00:00+08:00".into()
            )
        );
        assert_eq!(one("tomorrow at 8am").1, "2026-11-28T08:00:00+08:00");
        assert_eq!(one("next monday").1, "2026-11-30T00:00:00+08:00");
        assert_eq!(one("on friday at 6pm").1, "2026-11-27T18:00:00+08:00");
        assert_eq!(one("at 5pm tomorrow").1, "2026-11-28T17:00:00+08:00");
        assert_eq!(one("2 hours from now").1, "2026-11-27T17:30:00+08:00");
        assert_eq!(one("at noon").1, "2026-11-28T12:00:00+08:00");
    }

    #[test]
    fn english_ranges() {
        assert_eq!(
            one("what failed yesterday"),
            (
                "yesterday".into(),
                "2026-11-26T00:00:00+08:00/2026-11-27T00:00:00+08:00".into()
            )
        );
        assert_eq!(
            one("what failed today").1,
            "2026-11-27T00:00:00+08:00/2026-11-28T00:00:00+08:00"
        );
        assert_eq!(
            one("in the last 24 hours").1,
            "2026-11-26T15:30:00+08:00/2026-11-27T15:30:00+08:00"
        );
        assert_eq!(
            one("runs this week").1,
            "2026-11-23T00:00:00+08:00/2026-11-30T00:00:00+08:00"
        );
        assert_eq!(
            one("last week").1,
            "2026-11-16T00:00:00+08:00/2026-11-23T00:00:00+08:00"
        );
        assert_eq!(
            one("this month").1,
            "2026-11-01T00:00:00+08:00/2026-12-01T00:00:00+08:00"
        );
        assert_eq!(
            one("since monday"),
            (
                "since monday".into(),
                "2026-11-23T00:00:00+08:00/2026-11-27T15:30:00+08:00".into()
            )
        );
        assert_eq!(
            one("the past week").1,
            "2026-11-20T15:30:00+08:00/2026-11-27T15:30:00+08:00"
        );
        assert_eq!(
            one("last monday").1,
            "2026-11-23T00:00:00+08:00/2026-11-24T00:00:00+08:00"
        );
    }

    #[test]
    fn chinese_instants() {
        assert_eq!(
            one("明天早上8点跑备份"),
            ("明天早上8点".into(), "2026-11-28T08:00:00+08:00".into())
        );
        assert_eq!(
            one("今晚11点"),
            ("今晚11点".into(), "2026-11-27T23:00:00+08:00".into())
        );
        assert_eq!(one("下周一").1, "2026-11-30T00:00:00+08:00");
        assert_eq!(one("30分钟后重启").1, "2026-11-27T16:00:00+08:00");
        assert_eq!(one("半小时后").1, "2026-11-27T16:00:00+08:00");
        assert_eq!(one("下午3点半").1, "2026-11-27T15:30:00+08:00");
        assert_eq!(one("晚上八点").1, "2026-11-27T20:00:00+08:00");
        assert_eq!(one("周五晚上8点").1, "2026-11-27T20:00:00+08:00");
        assert_eq!(one("23:00").1, "2026-11-27T23:00:00+08:00");
    }

    #[test]
    fn chinese_ranges() {
        assert_eq!(
            one("昨天失败的任务"),
            (
                "昨天".into(),
                "2026-11-26T00:00:00+08:00/2026-11-27T00:00:00+08:00".into()
            )
        );
        assert_eq!(
            one("最近24小时").1,
            "2026-11-26T15:30:00+08:00/2026-11-27T15:30:00+08:00"
        );
        assert_eq!(
            one("本周的运行").1,
            "2026-11-23T00:00:00+08:00/2026-11-30T00:00:00+08:00"
        );
        assert_eq!(
            one("上周").1,
            "2026-11-16T00:00:00+08:00/2026-11-23T00:00:00+08:00"
        );
        assert_eq!(
            one("过去一周").1,
            "2026-11-20T15:30:00+08:00/2026-11-27T15:30:00+08:00"
        );
        assert_eq!(
            one("从周一开始").1,
            "2026-11-23T00:00:00+08:00/2026-11-27T15:30:00+08:00"
        );
        assert_eq!(
            one("上周一").1,
            "2026-11-16T00:00:00+08:00/2026-11-17T00:00:00+08:00"
        );
    }

    #[test]
    fn not_times() {
        assert!(times("deploy 1.2.0 to staging").is_empty());
        assert!(times("scale to 5 replicas").is_empty());
        assert!(times("最近5次").is_empty());
        assert!(times("最近失败的作业有哪些").is_empty());
        assert!(times("ping 10.0.0.12").is_empty());
        assert!(times("run 4812").is_empty());
        assert!(times("last 5 runs").is_empty());
    }

    #[test]
    fn other_zones() {
        let t = Text::new("at 23:00");
        let mut out = Vec::new();
        let ny = chrono_tz::America::New_York
            .with_ymd_and_hms(2026, 3, 7, 12, 0, 0)
            .unwrap();
        find(&t, ny, &mut out);
        assert_eq!(out[0].value, "2026-03-07T23:00:00-05:00");
        let t = Text::new("tomorrow at 23:00");
        let mut out = Vec::new();
        find(&t, ny, &mut out);
        assert_eq!(
            out[0].value, "2026-03-08T23:00:00-04:00",
            "across the DST change"
        );
    }
}
