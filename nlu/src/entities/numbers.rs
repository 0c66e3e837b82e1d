//! Numbers in digits, English words and Chinese numerals, and the `count` entity.
//!
//! A number is a count when a counted noun follows it ("5 runs", "6 replicas", "五次", "十个",
//! "3 个副本") or a word such as "last"/"top"/"最近"/"前" comes before it ("last 5", "最近5次").
//! Counts have the lowest tier: a number inside a time, version, parameter or id is taken by
//! that entity instead (see `overlap`).

use super::{tier, Cand, Text};
use crate::result::{EntityKind, Extractor};
use regex::Regex;
use std::sync::LazyLock;

const EN_WORDS: &[(&str, u64)] = &[
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("hundred", 100),
];

/// An English number word ("five", "twenty") as a value.
pub fn parse_en_number(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    if let Some((a, b)) = s.split_once(['-', ' ']) {
        let (a, b) = (parse_en_number(a)?, parse_en_number(b)?);
        return (a >= 20 && a % 10 == 0 && b < 10).then_some(a + b);
    }
    EN_WORDS.iter().find(|(w, _)| *w == s).map(|(_, v)| *v)
}

/// A Chinese numeral ("五", "十", "二十三", "一百零五", "两万") as a value.
pub fn parse_zh_number(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut section: u64 = 0;
    let mut digit: Option<u64> = None;
    for c in s.chars() {
        let d = match c {
            '零' | '〇' => Some(0),
            '一' | '壹' => Some(1),
            '二' | '两' | '贰' => Some(2),
            '三' | '叁' => Some(3),
            '四' | '肆' => Some(4),
            '五' | '伍' => Some(5),
            '六' | '陆' => Some(6),
            '七' | '柒' => Some(7),
            '八' | '捌' => Some(8),
            '九' | '玖' => Some(9),
            _ => None,
        };
        if let Some(d) = d {
            digit = Some(d);
            continue;
        }
        let unit = match c {
            '十' | '拾' => 10,
            '百' | '佰' => 100,
            '千' | '仟' => 1000,
            '万' => 10_000,
            _ => return None,
        };
        if unit == 10_000 {
            if section + digit.unwrap_or(0) == 0 {
                return None;
            }
            total += (section + digit.unwrap_or(0)) * unit;
            section = 0;
        } else {
            let d = match digit {
                Some(d) => d,
                None if unit == 10 => 1,
                None => return None,
            };
            section += d * unit;
        }
        digit = None;
    }
    Some(total + section + digit.unwrap_or(0))
}

/// Digits (ASCII), an English number word or a Chinese numeral.
pub fn parse_number(s: &str) -> Option<u64> {
    let s = s.trim();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    parse_en_number(s).or_else(|| parse_zh_number(s))
}

const EN_NUM: &str = r"\d+|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty";
const EN_UNITS: &str = r"runs?|times|replicas?|instances?|executions?|jobs?|items?|entries|entry|results?|builds?|deployments?|deploys?|pods?|nodes?|copies|workers?|containers?|failures?|attempts?|retries|records?|lines?|events?|errors?|backups?|restarts?|tasks?";

static EN_COUNT_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:last|latest|past|previous|first|top|recent|next|most recent)\s+(?P<n>{EN_NUM})\b"
    ))
    .unwrap()
});
static EN_COUNT_UNIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:^|[^\w.:#@=/-])(?P<n>{EN_NUM})\s+(?:more\s+|failed\s+|successful\s+|recent\s+|most\s+recent\s+|latest\s+|last\s+)?(?:{EN_UNITS})\b"
    ))
    .unwrap()
});
static EN_SCALE_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:scale|resize|autoscale|replicas?|instances?)\b[^.;!?]*?\bto\s+(?P<n>\d{1,4})\b(?:\s*$|\s*[,!?]|\s+(?:in|on|for|at)\b)")
        .unwrap()
});
const ZH_NUM: &str = r"\d+|[零〇一二两三四五六七八九十百千万]+";
static ZH_COUNT_UNIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?P<n>{ZH_NUM})\s*(?:次|个|條|条|台|份|回|遍|副本|实例|趟)"
    ))
    .unwrap()
});
static ZH_COUNT_AFTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?:最近|最后|前|近)\s*(?P<n>{ZH_NUM})")).unwrap());

/// Finds counts.
pub(crate) fn find_counts(t: &Text, out: &mut Vec<Cand>) {
    let text = t.norm.as_str();
    for re in [
        &*EN_COUNT_AFTER,
        &*EN_COUNT_UNIT,
        &*EN_SCALE_TO,
        &*ZH_COUNT_UNIT,
        &*ZH_COUNT_AFTER,
    ] {
        for caps in re.captures_iter(text) {
            let Some(m) = caps.name("n") else { continue };
            let raw = m.as_str();
            // "一个" / "一次" usually mean "a" / "once", not a count.
            if raw == "一" {
                continue;
            }
            // Digits must not continue a larger number, a version or a time.
            let after = &text[m.end()..];
            if after.starts_with(['.', ':', '-'])
                && after[1..].starts_with(|c: char| c.is_ascii_digit())
            {
                continue;
            }
            let Some(v) = parse_number(raw) else { continue };
            let (s, e) = t.chars_of(m.start(), m.end());
            out.push(Cand::new(
                EntityKind::COUNT,
                v.to_string(),
                s,
                e,
                0.95,
                Extractor::Regex,
                tier::COUNT,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_numerals() {
        assert_eq!(parse_zh_number("五"), Some(5));
        assert_eq!(parse_zh_number("十"), Some(10));
        assert_eq!(parse_zh_number("十二"), Some(12));
        assert_eq!(parse_zh_number("二十三"), Some(23));
        assert_eq!(parse_zh_number("一百零五"), Some(105));
        assert_eq!(parse_zh_number("两千"), Some(2000));
        assert_eq!(parse_zh_number("三万五千"), Some(35000));
        assert_eq!(parse_zh_number("百"), None);
        assert_eq!(parse_zh_number("abc"), None);
    }

    #[test]
    fn english_numbers() {
        assert_eq!(parse_en_number("five"), Some(5));
        assert_eq!(parse_en_number("Twenty-three"), Some(23));
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number("七"), Some(7));
        assert_eq!(parse_en_number("apple"), None);
    }

    fn counts(s: &str) -> Vec<(String, usize, usize)> {
        let t = Text::new(s);
        let mut out = Vec::new();
        find_counts(&t, &mut out);
        let mut v: Vec<_> = out.into_iter().map(|c| (c.value, c.start, c.end)).collect();
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn finds_counts_in_both_languages() {
        assert_eq!(counts("show the last 5 runs"), vec![("5".into(), 14, 15)]);
        assert_eq!(
            counts("scale search to 6 replicas"),
            vec![("6".into(), 16, 17)]
        );
        assert_eq!(counts("最近5次"), vec![("5".into(), 2, 3)]);
        assert_eq!(counts("失败了五次"), vec![("5".into(), 3, 4)]);
        assert_eq!(counts("开十个副本"), vec![("10".into(), 1, 2)]);
        assert_eq!(counts("last three deployments")[0].0, "3");
        assert!(counts("跑一个备份").is_empty());
        assert_eq!(
            counts("set replicas to 4 for search"),
            vec![("4".into(), 16, 17)]
        );
        assert_eq!(
            counts("show 10 most recent runs"),
            vec![("10".into(), 5, 7)]
        );
        assert!(counts("version 1.2 runs").is_empty());
    }
}
