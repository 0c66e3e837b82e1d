//! Reply formatting: plain text that reads well in a terminal and in chat (no markup that
//! would show as noise). Adapters with richer formats can post-process these strings.

pub mod analysis;
pub mod charts;

use crate::jobs::{Execution, Status};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// How many output lines a summary shows.
pub const TAIL_LINES: usize = 5;

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

/// `2026-03-03 23:00:00 CET`.
pub fn time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// `target=db-01, compression=zstd`, or `no parameters`.
pub fn params(p: &BTreeMap<String, String>) -> String {
    if p.is_empty() {
        return "no parameters".into();
    }
    p.iter()
        .map(|(k, v)| {
            if v.is_empty() || v.contains(char::is_whitespace) || v.contains(',') {
                format!("{k}={v:?}")
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
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
pub fn job_stats(e: &Execution, recent: &[Execution]) -> JobStats {
    let earlier_ok: Vec<chrono::Duration> = recent
        .iter()
        .filter(|r| r.id < e.id && r.status == Status::Succeeded)
        .filter_map(|r| r.duration(crate::clock::now()))
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

fn output_block(out: &mut String, e: &Execution, n: usize) {
    let lines = e.last_lines(n);
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        if e.output_truncated || e.output.lines().count() > n {
            format!("Last {} lines of output:", lines.len())
        } else {
            "Output:".to_string()
        }
    );
    for l in lines {
        let _ = writeln!(out, "  | {l}");
    }
}

/// The headline of an ended execution.
pub fn headline(e: &Execution) -> String {
    let took = e
        .duration(crate::clock::now())
        .map(duration)
        .unwrap_or_else(|| "0ms".into());
    let code = match (e.exit_code, e.signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by {}", crate::jobs::local::signal_name(s)),
        _ => "no exit code".into(),
    };
    match e.status {
        Status::Succeeded => format!("#{} {} succeeded in {took} ({code}).", e.id, e.job),
        Status::Failed if e.started_at.is_none() => format!(
            "#{} {} failed to start: {}.",
            e.id,
            e.job,
            e.detail.as_deref().unwrap_or("unknown error")
        ),
        Status::Failed => format!("#{} {} failed after {took} ({code}).", e.id, e.job),
        Status::TimedOut => format!(
            "#{} {} timed out after {took} ({}; {code}).",
            e.id,
            e.job,
            e.detail.as_deref().unwrap_or("stopped")
        ),
        // skipped by the scheduler (due too late, see jobs::overdue): nobody cancelled it
        Status::Cancelled
            if e.started_at.is_none() && e.cancelled_by.is_none() && e.detail.is_some() =>
        {
            format!(
                "#{} {} was skipped: {}.",
                e.id,
                e.job,
                e.detail.as_deref().unwrap_or_default()
            )
        }
        Status::Cancelled if e.started_at.is_none() => format!(
            "#{} {} was cancelled before it started{}.",
            e.id,
            e.job,
            e.cancelled_by
                .as_deref()
                .map(|b| format!(" (by {b})"))
                .unwrap_or_default()
        ),
        Status::Cancelled => format!(
            "#{} {} was cancelled{} after {took} ({code}).",
            e.id,
            e.job,
            e.cancelled_by
                .as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default()
        ),
        Status::Interrupted => format!(
            "#{} {} was interrupted: {}.",
            e.id,
            e.job,
            e.detail
                .as_deref()
                .unwrap_or("the bot stopped while it ran")
        ),
        Status::Running => format!("#{} {} is running (for {took}).", e.id, e.job),
        Status::Scheduled => format!("#{} {} is scheduled.", e.id, e.job),
    }
}

/// The full report of an execution in any state.
pub fn report(e: &Execution, stats: Option<&JobStats>, tz: Tz) -> String {
    let mut out = String::new();
    let now = crate::clock::now();
    match e.status {
        Status::Scheduled => {
            let when = if e.run_at > now {
                format!(
                    "scheduled for {} (in {})",
                    time(e.run_at, tz),
                    duration(e.run_at - now)
                )
            } else {
                "queued: waiting for a free slot".to_string()
            };
            let _ = writeln!(out, "#{} {} is {when}.", e.id, e.job);
            let _ = writeln!(
                out,
                "Requested by {} with {}.",
                e.requested_by,
                params(&e.params)
            );
        }
        Status::Running => {
            let _ = writeln!(out, "{}", headline(e));
            let _ = writeln!(
                out,
                "Started {} by {} with {}.",
                e.started_at.map(|t| time(t, tz)).unwrap_or_default(),
                e.requested_by,
                params(&e.params)
            );
            output_block(&mut out, e, TAIL_LINES);
        }
        _ => {
            let _ = writeln!(out, "{}", headline(e));
            output_block(&mut out, e, TAIL_LINES);
            let mut facts = Vec::new();
            if let Some(t) = e.started_at {
                facts.push(format!("started {} by {}", time(t, tz), e.requested_by));
            }
            if let Some(c) = e.cpu_ms {
                facts.push(format!(
                    "CPU {}",
                    duration_std(Duration::from_millis(c.max(0) as u64))
                ));
            }
            if let Some(m) = e.max_rss_kb {
                facts.push(format!("peak memory {}", memory_kb(m)));
            }
            if !e.params.is_empty() {
                facts.push(params(&e.params));
            }
            if !facts.is_empty() {
                let mut f = facts.join("; ");
                if let Some(c) = f.get(..1) {
                    f = c.to_uppercase() + &f[1..];
                }
                let _ = writeln!(out, "{f}.");
            }
            if let Some(s) = stats {
                if let (Status::Succeeded, Some(m), Some(d)) =
                    (e.status, s.median_success, e.duration(now))
                {
                    if d.num_milliseconds() as f64 > 1.2 * m.num_milliseconds() as f64 {
                        let _ = writeln!(
                            out,
                            "This took longer than usual ({} vs. a median of {}).",
                            duration(d),
                            duration(m)
                        );
                    } else {
                        let _ = writeln!(
                            out,
                            "Usual duration: {} (median of {} earlier successful runs); this run: {}.",
                            duration(m),
                            s.median_of,
                            duration(d)
                        );
                    }
                }
                if let Some(a) = &s.error {
                    if let Some(l) = &a.failing_line {
                        let _ = writeln!(out, "Failing step: {l}");
                    }
                    match &a.before {
                        Some(b) => {
                            let _ = writeln!(
                                out,
                                "Same error before: {} time{}, last in #{} at {}.",
                                b.count,
                                if b.count == 1 { "" } else { "s" },
                                b.last_id,
                                time(b.last_at, tz)
                            );
                        }
                        None => {
                            let _ = writeln!(
                                out,
                                "This error is new (not seen in the {} earlier runs I looked at).",
                                s.looked_at
                            );
                        }
                    }
                }
                if s.recent.1 >= 2 {
                    let _ = writeln!(
                        out,
                        "Success rate of the last {} runs of {}: {}/{} ({}%).",
                        s.recent.1,
                        e.job,
                        s.recent.0,
                        s.recent.1,
                        s.recent.0 * 100 / s.recent.1
                    );
                }
            }
        }
    }
    out.trim_end().to_string()
}

/// The charts of an ended execution's job: duration and resource use over recent runs, and
/// the failures by cause when this run failed.
pub fn summary_charts(e: &Execution, recent: &[Execution]) -> Vec<charts::Chart> {
    let mut out = Vec::new();
    if !e.status.is_terminal() {
        return out;
    }
    out.extend(charts::Chart::duration(&e.job, recent));
    out.extend(charts::Chart::resources(&e.job, recent));
    if analysis::is_failure(e) {
        out.extend(charts::Chart::failures(&e.job, recent));
    }
    out
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
pub fn history_line(e: &Execution, tz: Tz) -> String {
    let when = e.started_at.unwrap_or(e.run_at);
    let took = e
        .duration(crate::clock::now())
        .map(duration)
        .unwrap_or_else(|| "-".into());
    let code = e
        .exit_code
        .map(|c| format!("exit {c}"))
        .unwrap_or_else(|| "-".into());
    format!(
        "#{}  {:<18} {:<11} {}  {:>8}  {:<7} {}",
        e.id,
        e.job,
        e.status.to_string(),
        time(when, tz),
        took,
        code,
        params(&e.params)
    )
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
        assert_eq!(memory_kb(3174), "3.1 MiB");
    }

    fn exec(id: i64, status: Status, secs: i64) -> Execution {
        let t = Utc::now() - chrono::Duration::seconds(100);
        Execution {
            id,
            job: "j".into(),
            params: BTreeMap::new(),
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
        let s = job_stats(&recent[0], &recent);
        assert_eq!(s.median_success, Some(chrono::Duration::seconds(2)));
        assert_eq!(s.recent, (4, 5));
        let r = report(&recent[0], Some(&s), chrono_tz::UTC);
        assert!(
            r.contains("took longer than usual (10.0s vs. a median of 2.0s)"),
            "{r}"
        );
        assert!(r.contains("4/5 (80%)"), "{r}");
        let s = job_stats(&recent[1], &recent);
        assert_eq!(s.median_success, None, "needs three earlier successes");
    }
}
