//! Reply formatting: plain text that reads well in a terminal and in chat (no markup that
//! would show as noise). Adapters with richer formats can post-process these strings.

pub mod analysis;
pub mod charts;

use crate::domain::exec::{Execution, Status};
use crate::i18n::format::{duration, duration_std, params};
use crate::i18n::Lang;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt::Write;
use std::time::Duration;

/// How many output lines a summary shows.
pub const TAIL_LINES: usize = 5;

/// A status as a word of the language: `failed`, `失败`.
pub fn status(s: Status, lang: Lang) -> String {
    // the messages are `status-<name>` (`status-timed_out`); a test checks that each has one
    crate::i18n::text(lang, &format!("status-{}", s.as_str()), None)
}

/// `3.1 MiB`.
pub fn memory_kb(kb: i64) -> String {
    if kb < 1024 {
        format!("{kb} KiB")
    } else {
        format!("{:.1} MiB", kb as f64 / 1024.0)
    }
}

/// Figures about earlier runs of the same job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStats {
    /// Median duration of earlier successful runs (when there are enough).
    pub median_success: Option<chrono::Duration>,
    /// How many earlier successful runs the median is taken from.
    pub median_of: usize,
    /// (succeeded, ended) among recent runs, this one included.
    pub recent: (usize, usize),
    /// For a failed run: its failing step and whether the same error happened before.
    pub error: Option<analysis::ErrorAnalysis>,
    /// How many earlier runs the error analysis looked at.
    pub looked_at: usize,
}

/// Computes [`JobStats`] for `e` from recent executions of its job (newest first).
pub fn job_stats(e: &Execution, recent: &[Execution], now: DateTime<Utc>) -> JobStats {
    let earlier_ok: Vec<chrono::Duration> = recent
        .iter()
        .filter(|r| r.id < e.id && r.status == Status::Succeeded)
        .filter_map(|r| r.duration(now))
        .take(20)
        .collect();
    let median_success = (earlier_ok.len() >= 3).then(|| {
        let mut v = earlier_ok.clone();
        v.sort();
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2
        }
    });
    let ended: Vec<&Execution> = recent
        .iter()
        .filter(|r| r.id <= e.id && r.status.is_terminal() && r.status != Status::Cancelled)
        .take(10)
        .collect();
    let ok = ended
        .iter()
        .filter(|r| r.status == Status::Succeeded)
        .count();
    JobStats {
        median_success,
        median_of: earlier_ok.len(),
        recent: (ok, ended.len()),
        error: analysis::analyse(e, recent),
        looked_at: recent.iter().filter(|r| r.id < e.id).count(),
    }
}

fn output_block(out: &mut String, e: &Execution, n: usize, lang: Lang) {
    let lines = e.last_lines(n);
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        if e.output_truncated || e.output.lines().count() > n {
            tr!(lang, "output-last-lines", count = lines.len())
        } else {
            tr!(lang, "output")
        }
    );
    for l in lines {
        let _ = writeln!(out, "  | {l}");
    }
}

/// An execution's stored detail (written in English by the platform and the scheduler, as
/// records are) in `lang`: the bot's own phrasings are translated, anything else (an
/// operating-system error, a remote platform's message) stays as it is.
pub fn detail_text(detail: &str, lang: Lang) -> String {
    use regex::Regex;
    use std::sync::OnceLock;
    static KNOWN: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    if lang == Lang::En || detail.is_empty() {
        return detail.to_string();
    }
    let known = KNOWN.get_or_init(|| {
        [
            (r"^stopped after the timeout of (?P<took>.+)$", "detail-timeout"),
            (r"^the bot shut down while it ran$", "detail-shutdown"),
            (r"^the bot stopped while it ran$", "detail-interrupted"),
            (
                r"^killed by signal (?P<number>\d+) \((?P<signal>[^)]+)\)$",
                "detail-killed",
            ),
            (r"^cancelled by (?P<by>.+) before it started$", "detail-cancelled-before-start"),
            (r"^cannot wait for the process: (?P<error>.+)$", "detail-cannot-wait"),
            (
                r"^it was due (?P<late>.+?) ago, more than the (?P<max>.+?) a scheduled run may start late",
                "detail-skipped-late",
            ),
            // runs on hosts (crate::jobs::ssh::SshFailure::detail)
            (
                r"^the host key of (?P<host>\S+) \((?P<at>[^)]+)\) is not the one in (?P<file>\S+), so the connection was refused \((?P<why>.*)\); check the key with the host's administrator, then add it \((?P<add>ssh-keyscan [^)]*)\) or replace the old line \((?P<replace>ssh-keygen [^)]*)\)$",
                "detail-ssh-host-key",
            ),
            (
                r"^(?P<host>\S+) \((?P<at>[^)]+)\) refused the login of (?P<user>.+?) \((?P<why>.*)\); add the bot's public key",
                "detail-ssh-auth",
            ),
            (
                r"^cannot reach (?P<host>\S+) at (?P<at>\S+) \((?P<why>.*)\); check that the host is up",
                "detail-ssh-unreachable",
            ),
            (
                r"^the connection to (?P<host>\S+) \((?P<at>[^)]+)\) dropped while the job ran \((?P<why>.*)\); its processes there",
                "detail-ssh-dropped",
            ),
        ]
        .into_iter()
        .filter_map(|(re, key)| Regex::new(re).ok().map(|r| (r, key)))
        .collect()
    });
    for (re, key) in known {
        let Some(c) = re.captures(detail) else {
            continue;
        };
        let mut args = crate::i18n::Args::new();
        for name in re.capture_names().flatten() {
            if let Some(m) = c.name(name) {
                args.set(name, crate::i18n::arg(m.as_str()));
            }
        }
        return crate::i18n::text(lang, key, Some(&args));
    }
    detail.to_string()
}

/// The headline of an ended execution.
pub fn headline(e: &Execution, lang: Lang, now: DateTime<Utc>) -> String {
    let took = e
        .duration(now)
        .map(duration)
        .unwrap_or_else(|| "0ms".into());
    let code = match (e.exit_code, e.signal) {
        (Some(c), _) => tr!(lang, "exit-code", code = c),
        (None, Some(s)) => tr!(
            lang,
            "killed-by",
            signal = crate::domain::exec::signal_name(s)
        ),
        _ => tr!(lang, "no-exit-code"),
    };
    let (id, job) = (e.id, e.job.as_str());
    let detail = detail_text(e.detail.as_deref().unwrap_or_default(), lang);
    let or = |key_text: String| {
        if detail.is_empty() {
            key_text
        } else {
            detail.clone()
        }
    };
    match e.status {
        Status::Succeeded => tr!(
            lang,
            "headline-succeeded",
            id = id,
            job = job,
            took = took,
            code = code
        ),
        Status::Failed if e.started_at.is_none() => {
            tr!(
                lang,
                "headline-failed-to-start",
                id = id,
                job = job,
                detail = or(tr!(lang, "detail-unknown-error"))
            )
        }
        Status::Failed => tr!(
            lang,
            "headline-failed",
            id = id,
            job = job,
            took = took,
            code = code
        ),
        Status::TimedOut => tr!(
            lang,
            "headline-timed-out",
            id = id,
            job = job,
            took = took,
            code = code,
            detail = or(tr!(lang, "detail-stopped"))
        ),
        // skipped by the scheduler (due too late, see jobs::overdue): nobody cancelled it
        Status::Cancelled
            if e.started_at.is_none() && e.cancelled_by.is_none() && e.detail.is_some() =>
        {
            tr!(
                lang,
                "headline-skipped",
                id = id,
                job = job,
                detail = detail
            )
        }
        Status::Cancelled if e.started_at.is_none() => match e.cancelled_by.as_deref() {
            Some(by) => tr!(
                lang,
                "headline-cancelled-before-start-by",
                id = id,
                job = job,
                by = by
            ),
            None => tr!(lang, "headline-cancelled-before-start", id = id, job = job),
        },
        Status::Cancelled => match e.cancelled_by.as_deref() {
            Some(by) => tr!(
                lang,
                "headline-cancelled-by",
                id = id,
                job = job,
                by = by,
                took = took,
                code = code
            ),
            None => tr!(
                lang,
                "headline-cancelled",
                id = id,
                job = job,
                took = took,
                code = code
            ),
        },
        Status::Interrupted => tr!(
            lang,
            "headline-interrupted",
            id = id,
            job = job,
            detail = or(tr!(lang, "detail-interrupted"))
        ),
        Status::Unreachable => tr!(
            lang,
            "headline-unreachable",
            id = id,
            job = job,
            detail = detail
        ),
        Status::Running => tr!(lang, "headline-running", id = id, job = job, took = took),
        Status::Scheduled => tr!(lang, "headline-scheduled", id = id, job = job),
    }
}

/// The full report of an execution in any state.
pub fn report(
    e: &Execution,
    stats: Option<&JobStats>,
    tz: Tz,
    lang: Lang,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let time = |t, tz, lang| crate::i18n::format::time_at(t, tz, lang, now);
    let (id, job) = (e.id, e.job.as_str());
    match e.status {
        Status::Scheduled => {
            let _ = writeln!(
                out,
                "{}",
                if e.run_at > now {
                    tr!(
                        lang,
                        "report-scheduled",
                        id = id,
                        job = job,
                        at = time(e.run_at, tz, lang),
                        wait = duration(e.run_at - now)
                    )
                } else {
                    tr!(lang, "report-queued", id = id, job = job)
                }
            );
            let _ = writeln!(
                out,
                "{}",
                tr!(
                    lang,
                    "report-requested-by",
                    user = &e.requested_by,
                    params = params(&e.params, lang)
                )
            );
        }
        Status::Running => {
            let _ = writeln!(out, "{}", headline(e, lang, now));
            let _ = writeln!(
                out,
                "{}",
                tr!(
                    lang,
                    "report-started-by",
                    at = e.started_at.map(|t| time(t, tz, lang)).unwrap_or_default(),
                    user = &e.requested_by,
                    params = params(&e.params, lang)
                )
            );
            output_block(&mut out, e, TAIL_LINES, lang);
        }
        _ => {
            let _ = writeln!(out, "{}", headline(e, lang, now));
            output_block(&mut out, e, TAIL_LINES, lang);
            let mut facts = Vec::new();
            if let Some(t) = e.started_at {
                facts.push(tr!(
                    lang,
                    "fact-started",
                    at = time(t, tz, lang),
                    user = &e.requested_by
                ));
            }
            if let Some(c) = e.cpu_ms {
                facts.push(tr!(
                    lang,
                    "fact-cpu",
                    cpu = duration_std(Duration::from_millis(c.max(0) as u64))
                ));
            }
            if let Some(m) = e.max_rss_kb {
                facts.push(tr!(lang, "fact-memory", memory = memory_kb(m)));
            }
            if !e.params.is_empty() {
                facts.push(params(&e.params, lang));
            }
            if !facts.is_empty() {
                let mut f = facts.join(&tr!(lang, "fact-separator"));
                if let Some(c) = f.get(..1) {
                    f = c.to_uppercase() + &f[1..];
                }
                let _ = writeln!(out, "{f}{}", tr!(lang, "full-stop"));
            }
            if let Some(s) = stats {
                if let (Status::Succeeded, Some(m), Some(d)) =
                    (e.status, s.median_success, e.duration(now))
                {
                    let line = if d.num_milliseconds() as f64 > 1.2 * m.num_milliseconds() as f64 {
                        tr!(
                            lang,
                            "stats-slower",
                            took = duration(d),
                            median = duration(m)
                        )
                    } else {
                        tr!(
                            lang,
                            "stats-usual",
                            median = duration(m),
                            runs = s.median_of,
                            took = duration(d)
                        )
                    };
                    let _ = writeln!(out, "{line}");
                }
                if let Some(a) = &s.error {
                    if let Some(l) = &a.failing_line {
                        let _ = writeln!(out, "{}", tr!(lang, "stats-failing-step", line = l));
                    }
                    let line = match &a.before {
                        Some(b) => tr!(
                            lang,
                            "stats-same-error",
                            count = b.count,
                            last = b.last_id,
                            at = time(b.last_at, tz, lang)
                        ),
                        None => tr!(lang, "stats-new-error", runs = s.looked_at),
                    };
                    let _ = writeln!(out, "{line}");
                }
                if s.recent.1 >= 2 {
                    let _ = writeln!(
                        out,
                        "{}",
                        tr!(
                            lang,
                            "stats-success-rate",
                            runs = s.recent.1,
                            job = job,
                            ok = s.recent.0,
                            percent = s.recent.0 * 100 / s.recent.1
                        )
                    );
                }
            }
        }
    }
    out.trim_end().to_string()
}

/// The charts of an ended execution's job: duration and resource use over recent runs, and
/// the failures by cause when this run failed.
pub fn summary_charts(e: &Execution, recent: &[Execution], lang: Lang) -> Vec<charts::Chart> {
    let mut out = Vec::new();
    if !e.status.is_terminal() {
        return out;
    }
    out.extend(charts::Chart::duration(&e.job, recent));
    out.extend(charts::Chart::resources(&e.job, recent));
    if analysis::is_failure(e) {
        out.extend(charts::Chart::failures(&e.job, recent));
    }
    out.into_iter().map(|c| c.in_lang(lang)).collect()
}

/// The report with the text forms of its charts.
pub fn with_chart_texts(mut text: String, charts: &[charts::Chart]) -> String {
    for c in charts {
        text.push('\n');
        text.push_str(&c.text());
    }
    text
}

/// One line per execution, for history.
pub fn history_line(e: &Execution, tz: Tz, lang: Lang, now: DateTime<Utc>) -> String {
    let when = e.started_at.unwrap_or(e.run_at);
    let took = e.duration(now).map(duration).unwrap_or_else(|| "-".into());
    let code = e
        .exit_code
        .map(|c| tr!(lang, "history-exit", code = c))
        .unwrap_or_else(|| "-".into());
    format!(
        "#{}  {:<18} {} {}  {:>8}  {} {}",
        e.id,
        e.job,
        pad(&status(e.status, lang), 11),
        crate::i18n::format::time_at(when, tz, lang, now),
        took,
        pad(&code, 7),
        params(&e.params, lang)
    )
}

/// `s` padded with spaces to `width` columns ([`pad_width`]).
pub fn pad(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(pad_width(s))))
}

/// The columns `s` takes in a terminal: two for a wide (Chinese) character, one otherwise.
pub fn pad_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if c as u32 >= 0x1100 && !c.is_ascii() {
                2
            } else {
                1
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_details_of_runs_on_hosts_are_written_in_chinese() {
        use crate::config::ssh::SshHost;
        use crate::jobs::ssh::SshFailure;
        let host = SshHost {
            id: "db-01".into(),
            address: "10.0.0.21".into(),
            port: 22,
            user: Some("backup".into()),
            identity_file: None,
            known_hosts: Some("/etc/opsbot/known_hosts".into()),
            environments: Vec::new(),
        };
        let cases = [
            (
                SshFailure::HostKey("Host key verification failed".into()),
                "的主机密钥与 /etc/opsbot/known_hosts 中记录的不符",
            ),
            (
                SshFailure::Auth("Permission denied (publickey)".into()),
                "db-01（10.0.0.21:22）拒绝了 backup 的登录（Permission denied (publickey)）",
            ),
            (
                SshFailure::Unreachable("Connection refused".into()),
                "无法连接 db-01（10.0.0.21:22）：Connection refused；",
            ),
            (
                SshFailure::Dropped("Broken pipe".into()),
                "作业运行时与 db-01（10.0.0.21:22）的连接断开（Broken pipe）",
            ),
        ];
        for (failure, zh) in cases {
            let en = failure.detail(&host);
            assert_eq!(detail_text(&en, Lang::En), en);
            let got = detail_text(&en, Lang::Zh);
            assert!(got.contains(zh), "{got}");
        }
    }

    #[test]
    fn every_status_has_a_word_in_every_language() {
        for lang in Lang::ALL {
            for s in Status::ALL {
                let w = status(s, lang);
                assert!(
                    !w.starts_with("status-") && !w.is_empty(),
                    "{s} in {lang}: {w}"
                );
            }
        }
        assert_eq!(status(Status::TimedOut, Lang::En), "timed out");
        assert_eq!(status(Status::TimedOut, Lang::Zh), "超时");
    }

    #[test]
    fn memory() {
        assert_eq!(memory_kb(3174), "3.1 MiB");
    }

    #[test]
    fn the_bots_own_details_are_translated() {
        for (en, zh) in [
            ("stopped after the timeout of 5m 00s", "超时（5m 00s）后被停止"),
            ("killed by signal 9 (SIGKILL)", "被信号 9（SIGKILL）终止"),
            ("cancelled by bob before it started", "启动前已被 bob 取消"),
            (
                "it was due 2h 02m ago, more than the 1h 00m a scheduled run may start late ([scheduler] max_late; overdue = \"skip\"); run it again if it is still needed",
                "它本应在 2h 02m 前开始，超过了排期运行允许的最大延迟 1h 00m（[scheduler] max_late；overdue = \"skip\"）；如仍需要请重新运行",
            ),
            ("No such file or directory (os error 2)", "No such file or directory (os error 2)"),
        ] {
            assert_eq!(detail_text(en, Lang::Zh), zh);
            assert_eq!(detail_text(en, Lang::En), en);
        }
    }

    fn exec(id: i64, status: Status, secs: i64) -> Execution {
        let t = chrono::Utc::now() - chrono::Duration::seconds(100);
        Execution {
            id,
            job: "j".into(),
            params: std::collections::BTreeMap::new(),
            requested_by: "u".into(),
            channel: "c".into(),
            status,
            created_at: t,
            run_at: t,
            started_at: Some(t),
            finished_at: Some(t + chrono::Duration::seconds(secs)),
            exit_code: Some(0),
            signal: None,
            pid: None,
            cpu_ms: None,
            max_rss_kb: None,
            output: String::new(),
            output_truncated: false,
            detail: None,
            cancelled_by: None,
        }
    }

    #[test]
    fn stats_and_slow_runs() {
        let recent = vec![
            exec(5, Status::Succeeded, 10),
            exec(4, Status::Succeeded, 2),
            exec(3, Status::Failed, 1),
            exec(2, Status::Succeeded, 3),
            exec(1, Status::Succeeded, 2),
        ];
        let s = job_stats(&recent[0], &recent, chrono::Utc::now());
        assert_eq!(s.median_success, Some(chrono::Duration::seconds(2)));
        assert_eq!(s.recent, (4, 5));
        let r = report(
            &recent[0],
            Some(&s),
            chrono_tz::UTC,
            Lang::En,
            chrono::Utc::now(),
        );
        assert!(
            r.contains("took longer than usual (10.0s vs. a median of 2.0s)"),
            "{r}"
        );
        assert!(r.contains("4/5 (80%)"), "{r}");
        let s = job_stats(&recent[1], &recent, chrono::Utc::now());
        assert_eq!(s.median_success, None, "needs three earlier successes");
    }
}
