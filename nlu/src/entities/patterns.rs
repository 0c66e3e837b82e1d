//! Regular-expression entities: execution ids, versions, IPv4 hosts, parameters, statuses
//! (English and Chinese), plus the counts of [`super::numbers`].
//!
//! Patterns run on the normalized text (lower case, full-width folded) and use ASCII word
//! boundaries (`(?-u:\b)`) so that an English word next to Chinese characters still has a
//! boundary ("在web-02上"). Values that keep the user's spelling (parameter keys and values)
//! are read back from the original text.

use super::{is_latin_word, numbers, tier, Builtin, Cand, ExtractContext, Text};
use crate::result::{EntityKind, Extractor};
use regex::Regex;
use std::sync::LazyLock;

fn re(s: &str) -> Regex {
    Regex::new(s).expect("built-in pattern")
}

static EXEC_HASH: LazyLock<Regex> = LazyLock::new(|| re(r"#\s?(?P<n>\d{1,12})(?-u:\b)"));
static EXEC_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)(?:run|execution|exec|job|build|task|id)\s*(?:#|no\.?|number|id)?\s*(?P<n>\d{2,12})(?-u:\b)",
    )
});
static EXEC_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:任务|作业|执行|构建|运行记录|执行记录)\s*(?:#|编号|号|id)?\s*(?P<n>\d{1,12})(?-u:\b)|(?P<m>\d{1,12})\s*号(?:任务|作业|执行)",
    )
});
static BARE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:^|[^a-z0-9_.#@:/=\-])(?P<n>\d{2,12})(?:$|[^a-z0-9_.:/\-]|\.(?:\s|$))")
});

static VERSION_3: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:^|[^a-z0-9_.\-])(?P<v>v?(?P<n>\d+\.\d+\.\d+(?:-[0-9a-z]+(?:\.[0-9a-z]+)*)?(?:\+[0-9a-z.]+)?))",
    )
});
static VERSION_V: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[^a-z0-9_.\-])(?P<v>v(?P<n>\d+(?:\.\d+)?(?:-[0-9a-z]+)?))(?-u:\b)"));
static VERSION_AT: LazyLock<Regex> =
    LazyLock::new(|| re(r"@(?P<v>v?(?P<n>\d+(?:\.\d+){0,3}(?:-[0-9a-z.]+)?|latest))"));
static VERSION_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:(?-u:\b)(?:version|ver|release|tag)|版本号?|版本为)\s*[:：]?\s*(?P<v>v?(?P<n>\d+(?:\.\d+){1,3}(?:-[0-9a-z.]+)?|latest)(?-u:\b))",
    )
});
static VERSION_LATEST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)(?P<v>(?P<n>latest))\s+(?:version|release|build|tag)(?-u:\b)|(?-u:\b)to\s+(?:the\s+)?(?P<v2>(?P<n2>latest))(?-u:\b)|(?P<v3>最新(?:的)?版本?)",
    )
});

static IPV4: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[^0-9.])(?P<ip>(?:\d{1,3}\.){3}\d{1,3})(?:$|[^0-9.]|\.(?:\s|$))"));

static PARAM_DASH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        // an unquoted value ends at a space, a semicolon, or a comma that no value character
        // follows ("--tags web,db" but "--domain example.org，今晚执行")
        r#"(?:^|\s)(?P<all>--(?P<k>[a-z][a-z0-9_\-]*)(?:(?:=|\s+)(?P<v>"[^"]*"|'[^']*'|[^\s"',;]+(?:,[a-z0-9_\-./:@]+)*))?)"#,
    )
});
static PARAM_EQ: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:^|[\s,;(])(?P<all>(?P<k>[a-z_][a-z0-9_.\-]*)\s?=\s?(?P<v>"[^"]*"|'[^']*'|[^\s,;"']+))"#,
    )
});

const STATUS_EN: &[(&str, &str)] = &[
    (
        r"failed|failing|failures?|fail|broken|broke|errored|erroring|crashed|unsuccessful",
        "failed",
    ),
    (
        r"succeeded|successful|successfully|success|passed|completed successfully",
        "succeeded",
    ),
    (r"running|in[ \-]progress|ongoing|still going", "running"),
    (r"cancelled|canceled|aborted|killed|stopped", "cancelled"),
    (r"scheduled|pending|queued|waiting to run", "scheduled"),
];
const STATUS_ZH: &[(&str, &str)] = &[
    (r"失败|出错|报错|挂了|挂掉|不成功", "failed"),
    (r"成功", "succeeded"),
    (
        r"正在跑|在跑|运行中|正在运行|正在执行|执行中|进行中|跑着",
        "running",
    ),
    (
        r"已取消|取消的|被取消|取消了的|已中止|中止的|被终止|已终止",
        "cancelled",
    ),
    (
        r"计划中|待执行|排队中|等待中|排队的|已计划|等待执行",
        "scheduled",
    ),
];
static STATUS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let mut v: Vec<(Regex, &'static str)> = STATUS_EN
        .iter()
        .map(|(p, s)| (re(&format!(r"(?-u:\b)(?:{p})(?-u:\b)")), *s))
        .collect();
    v.extend(STATUS_ZH.iter().map(|(p, s)| (re(p), *s)));
    v
});

/// Words after a number that make it a quantity, not an execution id.
const QUANTITY_WORDS: &[&str] = &[
    "replicas",
    "replica",
    "times",
    "runs",
    "minutes",
    "minute",
    "mins",
    "min",
    "hours",
    "hour",
    "hrs",
    "h",
    "days",
    "day",
    "d",
    "weeks",
    "week",
    "seconds",
    "secs",
    "s",
    "m",
    "instances",
    "pods",
    "nodes",
    "percent",
    "%",
    "gb",
    "mb",
    "kb",
    "items",
    "am",
    "pm",
];

fn push(
    out: &mut Vec<Cand>,
    kind: EntityKind,
    value: String,
    s: usize,
    e: usize,
    conf: f32,
    tier: u8,
) {
    out.push(Cand::new(kind, value, s, e, conf, Extractor::Regex, tier));
}

fn followed_by_quantity(t: &Text, end_char: usize) -> bool {
    t.next_word(end_char)
        .is_some_and(|w| QUANTITY_WORDS.contains(&w))
        || t.norm_slice(end_char, t.len()).trim_start().starts_with([
            '次', '个', '台', '条', '分', '小', '天', '秒', '点', '%', '号',
        ])
}

/// Finds the regex entities of the enabled builtins, and bare numbers when the context says
/// what they are.
pub(crate) fn find(t: &Text, ctx: &ExtractContext, builtins: &[Builtin], out: &mut Vec<Cand>) {
    let on = |b: Builtin| builtins.contains(&b);
    if on(Builtin::ExecutionId) {
        find_execution_ids(t, out);
    }
    if let Some(kind) = &ctx.bare_number {
        find_bare_numbers(t, kind, out);
    }
    if on(Builtin::Version) {
        find_versions(t, out);
    }
    if on(Builtin::Ipv4) {
        find_ipv4(t, out);
    }
    if on(Builtin::Param) {
        find_params(t, out);
    }
    if on(Builtin::Status) {
        find_statuses(t, out);
    }
    if on(Builtin::Count) {
        numbers::find_counts(t, out);
    }
}

fn find_execution_ids(t: &Text, out: &mut Vec<Cand>) {
    let text = t.norm.as_str();
    for c in EXEC_HASH.captures_iter(text) {
        let (Some(all), Some(n)) = (c.get(0), c.name("n")) else {
            continue;
        };
        let (s, e) = t.chars_of(all.start(), all.end());
        push(
            out,
            EntityKind::EXECUTION_ID,
            n.as_str().into(),
            s,
            e,
            1.0,
            tier::STRUCTURED,
        );
    }
    for re in [&*EXEC_WORD, &*EXEC_ZH] {
        for c in re.captures_iter(text) {
            let Some(n) = c.name("n").or_else(|| c.name("m")) else {
                continue;
            };
            let (s, e) = t.chars_of(n.start(), n.end());
            if followed_by_quantity(t, e)
                || text[n.end()..].starts_with(['.', ':'])
                    && text[n.end() + 1..].starts_with(|x: char| x.is_ascii_digit())
            {
                continue;
            }
            push(
                out,
                EntityKind::EXECUTION_ID,
                n.as_str().into(),
                s,
                e,
                1.0,
                tier::STRUCTURED,
            );
        }
    }
}

/// Numbers of two digits or more that stand alone ("cancel 4812"), as `kind`.
fn find_bare_numbers(t: &Text, kind: &EntityKind, out: &mut Vec<Cand>) {
    for c in BARE_NUMBER.captures_iter(t.norm.as_str()) {
        let Some(n) = c.name("n") else { continue };
        let (s, e) = t.chars_of(n.start(), n.end());
        if followed_by_quantity(t, e) {
            continue;
        }
        push(out, kind.clone(), n.as_str().into(), s, e, 0.8, tier::GUESS);
    }
}

fn find_versions(t: &Text, out: &mut Vec<Cand>) {
    let text = t.norm.as_str();
    for re in [&*VERSION_3, &*VERSION_V, &*VERSION_AT, &*VERSION_WORD] {
        for c in re.captures_iter(text) {
            let (Some(v), Some(n)) = (c.name("v"), c.name("n")) else {
                continue;
            };
            let rest = &text[v.end()..];
            // Four numbers are an address; a trailing ".5" continues the number.
            if rest.starts_with('.') && rest[1..].starts_with(|x: char| x.is_ascii_digit()) {
                continue;
            }
            let value = n.as_str().trim_end_matches(['.', '-']);
            let (s, _) = t.chars_of(v.start(), v.end());
            let e = s + v.as_str()[..v.as_str().len() - (n.as_str().len() - value.len())]
                .chars()
                .count();
            push(
                out,
                EntityKind::VERSION,
                value.into(),
                s,
                e,
                1.0,
                tier::STRUCTURED,
            );
        }
    }
    for c in VERSION_LATEST.captures_iter(text) {
        let Some(v) = c
            .name("v")
            .or_else(|| c.name("v2"))
            .or_else(|| c.name("v3"))
        else {
            continue;
        };
        let (s, e) = t.chars_of(v.start(), v.end());
        push(
            out,
            EntityKind::VERSION,
            "latest".into(),
            s,
            e,
            0.95,
            tier::STRUCTURED,
        );
    }
}

fn find_ipv4(t: &Text, out: &mut Vec<Cand>) {
    for c in IPV4.captures_iter(t.norm.as_str()) {
        let Some(ip) = c.name("ip") else { continue };
        if ip
            .as_str()
            .split('.')
            .all(|o| o.parse::<u32>().is_ok_and(|x| x <= 255))
        {
            let (s, e) = t.chars_of(ip.start(), ip.end());
            push(
                out,
                EntityKind::HOST,
                t.slice(s, e).into(),
                s,
                e,
                1.0,
                tier::STRUCTURED,
            );
        }
    }
}

fn find_statuses(t: &Text, out: &mut Vec<Cand>) {
    for (re, status) in STATUS.iter() {
        for m in re.find_iter(t.norm.as_str()) {
            let (s, e) = t.chars_of(m.start(), m.end());
            push(
                out,
                EntityKind::STATUS,
                (*status).into(),
                s,
                e,
                0.95,
                tier::NAME,
            );
        }
    }
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn find_params(t: &Text, out: &mut Vec<Cand>) {
    let text = t.norm.as_str();
    for c in PARAM_DASH.captures_iter(text) {
        let (Some(all), Some(k)) = (c.name("all"), c.name("k")) else {
            continue;
        };
        let (ks, ke) = t.chars_of(k.start(), k.end());
        let key = t.slice(ks, ke).trim_end_matches('-');
        let (s, mut e) = t.chars_of(all.start(), all.end());
        let value = match c.name("v") {
            Some(v)
                if !v.as_str().starts_with('-')
                    || v.as_str()[1..].starts_with(|x: char| x.is_ascii_digit()) =>
            {
                let (vs, ve) = t.chars_of(v.start(), v.end());
                unquote(t.slice(vs, ve)).to_string()
            }
            _ => {
                e = ke;
                "true".to_string()
            }
        };
        push(
            out,
            EntityKind::PARAM,
            format!("{key}={value}"),
            s,
            e,
            1.0,
            tier::STRUCTURED,
        );
    }
    for c in PARAM_EQ.captures_iter(text) {
        let (Some(all), Some(k), Some(v)) = (c.name("all"), c.name("k"), c.name("v")) else {
            continue;
        };
        let (s, e) = t.chars_of(all.start(), all.end());
        if s > 0 && t.chars[s - 1] == '-' {
            continue; // part of a --key=value
        }
        let (ks, ke) = t.chars_of(k.start(), k.end());
        let (vs, ve) = t.chars_of(v.start(), v.end());
        let value = unquote(t.slice(vs, ve));
        if value.is_empty() || !is_latin_word(t.chars[ks]) {
            continue;
        }
        push(
            out,
            EntityKind::PARAM,
            format!("{}={value}", t.slice(ks, ke)),
            s,
            e,
            1.0,
            tier::STRUCTURED,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bare numbers are execution ids.
    const BARE: Option<EntityKind> = Some(EntityKind::EXECUTION_ID);

    fn find_kind(s: &str, kind: EntityKind, bare: Option<EntityKind>) -> Vec<(String, String)> {
        let t = Text::new(s);
        let mut ctx = ExtractContext::now_in(chrono_tz::UTC);
        ctx.bare_number = bare;
        let mut out = Vec::new();
        find(&t, &ctx, &Builtin::ALL, &mut out);
        let mut v: Vec<_> = out
            .into_iter()
            .filter(|c| c.kind == kind)
            .map(|c| (c.value, t.slice(c.start, c.end).to_string()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn values(s: &str, kind: EntityKind) -> Vec<String> {
        find_kind(s, kind, None).into_iter().map(|x| x.0).collect()
    }

    #[test]
    fn execution_ids() {
        const X: EntityKind = EntityKind::EXECUTION_ID;
        assert_eq!(
            find_kind("status of #4812?", X, None),
            vec![("4812".into(), "#4812".into())]
        );
        assert_eq!(values("what about run 4812", X), vec!["4812"]);
        assert_eq!(values("execution 4812 failed", X), vec!["4812"]);
        assert_eq!(values("job 4400", X), vec!["4400"]);
        assert_eq!(values("任务4812怎么样", X), vec!["4812"]);
        assert_eq!(values("作业 5120 的状态", X), vec!["5120"]);
        assert!(values("run 12 times", X).is_empty());
        assert!(values("cancel 4812", X).is_empty());
        let j = BARE;
        assert_eq!(
            find_kind("cancel 4812", X, j.clone()),
            vec![("4812".into(), "4812".into())]
        );
        assert_eq!(find_kind("停掉4812", X, j.clone())[0].0, "4812");
        assert!(find_kind("cancel in 30 minutes", X, j).is_empty());
    }

    #[test]
    fn versions() {
        const V: EntityKind = EntityKind::VERSION;
        assert_eq!(
            find_kind("deploy v3.0.0", V, None),
            vec![("3.0.0".into(), "v3.0.0".into())]
        );
        assert_eq!(values("ship 1.12.0-rc1 now", V), vec!["1.12.0-rc1"]);
        assert_eq!(values("deploy api@2.5.0.", V), vec!["2.5.0"]);
        assert_eq!(values("deploy api@latest", V), vec!["latest"]);
        assert_eq!(values("roll out the latest version", V), vec!["latest"]);
        assert_eq!(values("部署最新版本", V), vec!["latest"]);
        assert_eq!(values("把 checkout 1.2.0 部署到测试环境", V), vec!["1.2.0"]);
        assert_eq!(values("version 2.4 please", V), vec!["2.4"]);
        assert!(values("show the latest runs", V).is_empty());
        assert!(values("ping 10.0.0.12", V).is_empty());
    }

    #[test]
    fn ipv4_hosts() {
        assert_eq!(
            values("rotate logs on 10.0.3.17.", EntityKind::HOST),
            vec!["10.0.3.17"]
        );
        assert!(values("on 300.1.1.1", EntityKind::HOST).is_empty());
        assert_eq!(values("在10.0.0.1上", EntityKind::HOST), vec!["10.0.0.1"]);
    }

    #[test]
    fn params() {
        const P: EntityKind = EntityKind::PARAM;
        assert_eq!(values("run x --keep-days 14", P), vec!["keep-days=14"]);
        assert_eq!(values("--replicas 4", P), vec!["replicas=4"]);
        assert_eq!(
            values("--replicas=4 --dry-run", P),
            vec!["dry-run=true", "replicas=4"]
        );
        assert_eq!(
            values(r#"notify message="a=b c" now"#, P),
            vec!["message=a=b c"]
        );
        assert_eq!(
            values("compression=gzip, Keep=3", P),
            vec!["Keep=3", "compression=gzip"]
        );
        assert_eq!(values("设置 replicas=5", P), vec!["replicas=5"]);
        assert_eq!(
            values("证书续期 --domain example.org，今晚执行", P),
            vec!["domain=example.org"]
        );
        assert_eq!(values("deploy --tags web,db now", P), vec!["tags=web,db"]);
        assert_eq!(values("--keep 3; --force", P), vec!["force=true", "keep=3"]);
    }

    #[test]
    fn statuses_both_languages() {
        const S: EntityKind = EntityKind::STATUS;
        assert_eq!(values("what failed today", S), vec!["failed"]);
        assert_eq!(values("show broken runs", S), vec!["failed"]);
        assert_eq!(values("errored jobs", S), vec!["failed"]);
        assert_eq!(values("passed", S), vec!["succeeded"]);
        assert_eq!(values("anything in progress?", S), vec!["running"]);
        assert_eq!(values("aborted runs", S), vec!["cancelled"]);
        assert_eq!(values("pending jobs", S), vec!["scheduled"]);
        assert_eq!(values("最近失败的作业有哪些", S), vec!["failed"]);
        assert_eq!(values("成功的", S), vec!["succeeded"]);
        assert_eq!(values("正在跑的任务", S), vec!["running"]);
        assert_eq!(values("运行中", S), vec!["running"]);
        assert_eq!(values("取消的任务", S), vec!["cancelled"]);
        assert_eq!(values("计划中的作业", S), vec!["scheduled"]);
        assert!(values("取消任务 987", S).is_empty());
        assert!(values("cancel 987", S).is_empty());
    }
}
