//! The general builtin entities: numbers, durations, ordinals, e-mail and web addresses, in
//! English and Chinese.
//!
//! - `number`: digits (with a decimal part or thousands separators), English number words
//!   ("twenty-three") and Chinese numerals ("三十五"); the value in decimal digits. Numbers have
//!   the lowest tier: one inside a time, a version, a duration or an ordinal belongs to it.
//! - `duration`: a number (or "a", "an", "half an") and a unit from seconds to weeks, with an
//!   optional "and a half" ("an hour and a half", "一个半小时", "半小时", "10分钟"); the value in
//!   whole seconds.
//! - `ordinal`: "first" to "tenth", "1st", "22nd", "第三", "第3个"; the value as a number.
//! - `email`, `url`: as written.

use super::{numbers, tier, Builtin, Cand, Text};
use crate::result::{EntityKind, Extractor};
use regex::Regex;
use std::sync::LazyLock;

fn re(s: &str) -> Regex {
    Regex::new(s).expect("built-in pattern")
}

const EN_NUM_WORD: &str = r"zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred";

static DIGITS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:^|[^a-z0-9_.,:/#@\-])(?P<n>-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?)(?:$|[^a-z0-9_:/.,\-]|[.,](?:\D|$))",
    )
});
static EN_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?-u:\b)(?P<n>(?:{EN_NUM_WORD})(?:[\s\-](?:{EN_NUM_WORD}))*)(?-u:\b)"
    ))
});
static ZH_NUMERAL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?P<n>[零〇一二两三四五六七八九十百千万]+)"));

static EN_DURATION: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?-u:\b)(?P<half>half\s+an?\s+)?(?P<n>\d+(?:\.\d+)?|an?|{EN_NUM_WORD})?\s*(?:-\s*)?(?P<u>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|s|m|h|d|w)(?P<andhalf>\s+and\s+a\s+half)?(?-u:\b)"
    ))
});
static ZH_DURATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?P<n>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+)?(?P<half>半)?\s*(?:个)?(?P<half2>半)?\s*(?P<u>秒钟|秒|分钟|小时|钟头|天|星期|周)",
    )
});

const EN_ORDINALS: &[(&str, u64)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
];
static EN_ORDINAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)(?P<w>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)(?-u:\b)|(?-u:\b)(?P<n>\d+)(?:st|nd|rd|th)(?-u:\b)",
    )
});
static ZH_ORDINAL: LazyLock<Regex> =
    LazyLock::new(|| re(r"第\s*(?P<n>\d+|[零〇一二两三四五六七八九十百千万]+)"));

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)[a-z0-9][a-z0-9._%+\-]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}(?-u:\b)",
    )
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?:https?://|(?-u:\b)www\.)[^\s<>"'\p{Han}，。、；！？（）]+"#));

/// Finds the general builtins that are enabled.
pub(crate) fn find(t: &Text, builtins: &[Builtin], out: &mut Vec<Cand>) {
    let on = |b: Builtin| builtins.contains(&b);
    if on(Builtin::Number) {
        find_numbers(t, out);
    }
    if on(Builtin::Duration) {
        find_durations(t, out);
    }
    if on(Builtin::Ordinal) {
        find_ordinals(t, out);
    }
    if on(Builtin::Email) {
        for m in EMAIL.find_iter(&t.norm) {
            let (s, e) = t.chars_of(m.start(), m.end());
            out.push(cand(
                EntityKind::EMAIL,
                t.slice(s, e).into(),
                s,
                e,
                1.0,
                tier::STRUCTURED,
            ));
        }
    }
    if on(Builtin::Url) {
        for m in URL.find_iter(&t.norm) {
            let trimmed = m
                .as_str()
                .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
            let (s, e) = t.chars_of(m.start(), m.start() + trimmed.len());
            out.push(cand(
                EntityKind::URL,
                t.slice(s, e).into(),
                s,
                e,
                1.0,
                tier::STRUCTURED,
            ));
        }
    }
}

fn cand(kind: EntityKind, value: String, s: usize, e: usize, conf: f32, tier: u8) -> Cand {
    Cand::new(kind, value, s, e, conf, Extractor::Regex, tier)
}

/// A decimal value without trailing zeros ("3.50" -> "3.5", "1,200" -> "1200").
fn decimal(raw: &str) -> Option<String> {
    let plain: String = raw.chars().filter(|&c| c != ',').collect();
    let v: f64 = plain.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    Some(if plain.contains('.') {
        let s = plain.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        plain.trim_start_matches('+').to_string()
    })
}

/// One candidate of `kind` per match of `re`: the span of the group `n`, or of the whole
/// match with `whole`, and the value `value` reads from the group (none: no candidate).
#[allow(clippy::too_many_arguments)]
fn push_matches(
    t: &Text,
    re: &Regex,
    whole: bool,
    value: impl Fn(&str) -> Option<String>,
    kind: EntityKind,
    conf: f32,
    tier: u8,
    out: &mut Vec<Cand>,
) {
    for c in re.captures_iter(&t.norm) {
        let (Some(all), Some(n)) = (c.get(0), c.name("n")) else {
            continue;
        };
        let Some(v) = value(n.as_str()) else { continue };
        let span = if whole { all } else { n };
        let (s, e) = t.chars_of(span.start(), span.end());
        out.push(cand(kind.clone(), v, s, e, conf, tier));
    }
}

fn find_numbers(t: &Text, out: &mut Vec<Cand>) {
    const N: EntityKind = EntityKind::NUMBER;
    push_matches(t, &DIGITS, false, decimal, N, 1.0, tier::COUNT, out);
    let words = |w: &str| en_number_phrase(w).map(|v| v.to_string());
    push_matches(t, &EN_WORDS, false, words, N, 0.95, tier::COUNT, out);
    // a lone 一 is mostly "a"/"one of" (一下, 一个), not a number
    let numeral = |w: &str| {
        (w != "一")
            .then(|| numbers::parse_zh_number(w))
            .flatten()
            .map(|v| v.to_string())
    };
    push_matches(t, &ZH_NUMERAL, false, numeral, N, 0.95, tier::COUNT, out);
}

/// "twenty three", "one hundred", "twenty-five" as a value.
fn en_number_phrase(s: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut seen = false;
    for w in s.split([' ', '-']).filter(|w| !w.is_empty()) {
        let v = numbers::parse_en_number(w)?;
        if w == "hundred" {
            total = total.max(1) * 100;
        } else {
            total += v;
        }
        seen = true;
    }
    seen.then_some(total)
}

fn unit_seconds(u: &str) -> Option<f64> {
    Some(match u {
        "s" | "sec" | "secs" | "second" | "seconds" | "秒" | "秒钟" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" | "分钟" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" | "小时" | "钟头" => 3600.0,
        "d" | "day" | "days" | "天" => 86_400.0,
        "w" | "week" | "weeks" | "星期" | "周" => 604_800.0,
        _ => return None,
    })
}

fn quantity(raw: Option<&str>) -> Option<f64> {
    match raw {
        None => None,
        Some("a" | "an") => Some(1.0),
        Some(n) if n.chars().all(|c| c.is_ascii_digit() || c == '.') => n.parse().ok(),
        Some(n) => numbers::parse_number(n).map(|v| v as f64),
    }
}

fn find_durations(t: &Text, out: &mut Vec<Cand>) {
    for c in EN_DURATION.captures_iter(&t.norm) {
        let (Some(all), Some(u)) = (c.get(0), c.name("u")) else {
            continue;
        };
        let Some(per) = unit_seconds(u.as_str()) else {
            continue;
        };
        let n = quantity(c.name("n").map(|m| m.as_str()));
        let half = c.name("half").is_some();
        // a unit alone ("minutes") or a one-letter unit without a number is not a duration
        let amount = match (n, half) {
            (Some(n), false) => n,
            (None, true) => 0.5,
            (Some(1.0), true) => 0.5,
            _ => continue,
        };
        if u.as_str().len() == 1
            && c.name("n")
                .is_none_or(|m| !m.as_str().starts_with(|x: char| x.is_ascii_digit()))
        {
            continue;
        }
        let amount = amount
            + if c.name("andhalf").is_some() {
                0.5
            } else {
                0.0
            };
        let (s, e) = t.chars_of(all.start(), all.end());
        let secs = (amount * per).round() as u64;
        out.push(cand(
            EntityKind::DURATION,
            secs.to_string(),
            s,
            e,
            0.95,
            tier::NAME,
        ));
    }
    for c in ZH_DURATION.captures_iter(&t.norm) {
        let (Some(all), Some(u)) = (c.get(0), c.name("u")) else {
            continue;
        };
        let Some(per) = unit_seconds(u.as_str()) else {
            continue;
        };
        let n = quantity(c.name("n").map(|m| m.as_str()));
        let half = c.name("half").is_some() || c.name("half2").is_some();
        let amount = match (n, half) {
            (Some(n), false) => n,
            (Some(n), true) => n + 0.5,
            (None, true) => 0.5,
            // 天, 周 alone are words, not durations
            (None, false) => continue,
        };
        let (s, e) = t.chars_of(all.start(), all.end());
        let secs = (amount * per).round() as u64;
        out.push(cand(
            EntityKind::DURATION,
            secs.to_string(),
            s,
            e,
            0.95,
            tier::NAME,
        ));
    }
}

fn find_ordinals(t: &Text, out: &mut Vec<Cand>) {
    for c in EN_ORDINAL.captures_iter(&t.norm) {
        let Some(all) = c.get(0) else { continue };
        let v = if let Some(w) = c.name("w") {
            EN_ORDINALS
                .iter()
                .find(|(x, _)| *x == w.as_str())
                .map(|(_, v)| *v)
        } else {
            c.name("n").and_then(|n| n.as_str().parse().ok())
        };
        let Some(v) = v else { continue };
        let (s, e) = t.chars_of(all.start(), all.end());
        out.push(cand(
            EntityKind::ORDINAL,
            v.to_string(),
            s,
            e,
            0.9,
            tier::NAME,
        ));
    }
    let numeral = |w: &str| numbers::parse_number(w).map(|v| v.to_string());
    push_matches(
        t,
        &ZH_ORDINAL,
        true,
        numeral,
        EntityKind::ORDINAL,
        0.95,
        tier::NAME,
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str, b: Builtin) -> Vec<(String, String)> {
        let t = Text::new(s);
        let mut out = Vec::new();
        find(&t, &[b], &mut out);
        let ex = super::super::overlap::resolve(&t, out);
        ex.entities.into_iter().map(|e| (e.value, e.text)).collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn numbers_in_digits_words_and_numerals() {
        assert_eq!(
            found("set it to 21.50, then 1,200 and -3", Builtin::Number),
            pairs(&[("21.5", "21.50"), ("1200", "1,200"), ("-3", "-3")])
        );
        assert_eq!(
            found("twenty-three or one hundred", Builtin::Number),
            pairs(&[("23", "twenty-three"), ("100", "one hundred")])
        );
        assert_eq!(
            found("调到二十五度", Builtin::Number),
            pairs(&[("25", "二十五")])
        );
        assert!(found("version 1.2.3, host web-01, 10:30", Builtin::Number).is_empty());
        assert!(found("开一下灯", Builtin::Number).is_empty());
    }

    #[test]
    fn durations_in_seconds() {
        for (text, value, span) in [
            ("for 10 minutes", "600", "10 minutes"),
            ("an hour and a half", "5400", "an hour and a half"),
            ("half an hour", "1800", "half an hour"),
            ("90s", "90", "90s"),
            ("定时十分钟", "600", "十分钟"),
            ("半小时后", "1800", "半小时"),
            ("一个半小时", "5400", "一个半小时"),
        ] {
            assert_eq!(
                found(text, Builtin::Duration),
                pairs(&[(value, span)]),
                "{text}"
            );
        }
        assert!(found("minutes of the meeting", Builtin::Duration).is_empty());
        assert!(found("今天", Builtin::Duration).is_empty());
    }

    #[test]
    fn ordinals() {
        assert_eq!(
            found("the second one, then the 3rd", Builtin::Ordinal),
            pairs(&[("2", "second"), ("3", "3rd")])
        );
        assert_eq!(found("第三个", Builtin::Ordinal), pairs(&[("3", "第三")]));
    }

    #[test]
    fn addresses() {
        for (text, b, value) in [
            (
                "mail Ops.Team@example.com now",
                Builtin::Email,
                "Ops.Team@example.com",
            ),
            (
                "see https://example.com/a?b=1.",
                Builtin::Url,
                "https://example.com/a?b=1",
            ),
            ("打开www.example.cn，谢谢", Builtin::Url, "www.example.cn"),
        ] {
            assert_eq!(found(text, b), pairs(&[(value, value)]), "{text}");
        }
    }
}
