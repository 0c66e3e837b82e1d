//! Error analysis of failed runs: the failing step (the last line that names a step, stage
//! or error, else the last line), a cause for grouping (timeout, cancelled, the normalized
//! error line, else the exit code), and whether the same error happened before.

use crate::domain::exec::{ExecId, Execution, Status};
use chrono::{DateTime, Utc};

const KEYWORDS: &[&str] = &["step", "stage", "error", "failed", "fatal"];

/// Whether a run counts as a failure (for causes and error analysis).
pub fn is_failure(e: &Execution) -> bool {
    matches!(
        e.status,
        Status::Failed | Status::TimedOut | Status::Interrupted | Status::Unreachable
    )
}

/// The failing step: the last output line that mentions a step, stage, error, failure or
/// fatal problem; else the last non-empty line.
pub fn failing_line(e: &Execution) -> Option<String> {
    let lines: Vec<&str> = e
        .output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| {
            let l = l.to_lowercase();
            KEYWORDS.iter().any(|k| l.contains(k))
        })
        .or_else(|| lines.last())
        .map(|l| l.to_string())
}

/// A line with its variable parts (numbers, ids, hashes, timestamps) replaced, so that the
/// same error on different runs has the same signature.
pub fn normalize(line: &str) -> String {
    let mut out = String::new();
    for word in line.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        let hexish = word.len() >= 8
            && word.chars().filter(|c| c.is_ascii_hexdigit()).count() * 10 >= word.len() * 8
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().any(|c| matches!(c, 'a'..='f' | 'A'..='F'));
        if hexish {
            out.push_str("<id>");
            continue;
        }
        let mut in_num = false;
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !in_num {
                    out.push('N');
                    in_num = true;
                }
            } else {
                in_num = false;
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

/// The cause of a failed run, for grouping: `timeout`, `interrupted`, `failed to start`,
/// the normalized failing line, else `exit code N`.
pub fn cause(e: &Execution) -> String {
    match e.status {
        Status::TimedOut => return "timeout".into(),
        Status::Cancelled => return "cancelled".into(),
        Status::Interrupted => return "interrupted".into(),
        Status::Unreachable => return "unreachable".into(),
        Status::Failed if e.started_at.is_none() => return "failed to start".into(),
        _ => {}
    }
    if let Some(l) = failing_line(e) {
        let n = normalize(&l);
        if !n.is_empty() {
            return n;
        }
    }
    match (e.exit_code, e.signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by {}", crate::domain::exec::signal_name(s)),
        _ => "unknown".into(),
    }
}

/// Earlier failures of the same job with the same cause.
#[derive(Debug, Clone, PartialEq)]
pub struct SameError {
    pub count: usize,
    pub last_id: ExecId,
    pub last_at: DateTime<Utc>,
}

/// The error analysis of a failed run.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorAnalysis {
    pub failing_line: Option<String>,
    pub cause: String,
    /// None: the first time this error was seen (among the recent runs).
    pub before: Option<SameError>,
}

/// Analyses a failed run against earlier runs of its job (`recent`, any order).
pub fn analyse(e: &Execution, recent: &[Execution]) -> Option<ErrorAnalysis> {
    if !is_failure(e) {
        return None;
    }
    let c = cause(e);
    let same: Vec<&Execution> = recent
        .iter()
        .filter(|r| r.id < e.id && r.job == e.job && is_failure(r) && cause(r) == c)
        .collect();
    let before = same.iter().max_by_key(|r| r.id).map(|last| SameError {
        count: same.len(),
        last_id: last.id,
        last_at: last.finished_at.or(last.started_at).unwrap_or(last.run_at),
    });
    Some(ErrorAnalysis {
        failing_line: failing_line(e),
        cause: c,
        before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_variable_parts() {
        assert_eq!(
            normalize("2026-03-03 10:00:01 ERROR: connection to 10.0.0.7:5432 refused (attempt 3)"),
            "N-N-N N:N:N error: connection to N.N.N.N:N refused (attempt N)"
        );
        assert_eq!(
            normalize("step 3/5 failed: commit 9f8e7d6c5b4a"),
            "step N/N failed: commit <id>"
        );
    }
}
