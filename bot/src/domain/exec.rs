//! The execution types every layer shares: ids, statuses, executions, requests, queries and
//! the events a platform announces. They depend on nothing else in the crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What is shown and stored instead of a secret parameter's value.
pub const MASK: &str = "***";

/// Execution ids are plain numbers (`#1001`).
pub type ExecId = i64;

/// Where an execution is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Scheduled,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    /// Cut off by something other than the job: the bot stopped while it ran, or the
    /// connection to its host dropped.
    Interrupted,
    /// Never started on its host: the host could not be reached, refused the login, or its
    /// key was refused.
    Unreachable,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Scheduled,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
        Status::TimedOut,
        Status::Interrupted,
        Status::Unreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::TimedOut => "timed_out",
            Status::Interrupted => "interrupted",
            Status::Unreachable => "unreachable",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim().to_lowercase();
        let s = match s.as_str() {
            "timed out" | "timeout" | "timed-out" => "timed_out",
            "canceled" => "cancelled",
            "success" | "successful" | "ok" | "done" => "succeeded",
            "failure" | "error" => "failed",
            other => other,
        }
        .to_string();
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the execution has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Status::Scheduled | Status::Running)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::TimedOut => "timed out",
            s => s.as_str(),
        })
    }
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub id: ExecId,
    pub job: String,
    pub params: BTreeMap<String, String>,
    pub requested_by: String,
    /// The chat channel it was requested from (gets the final summary).
    pub channel: String,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    /// When it is (or was) due to start.
    pub run_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
    pub pid: Option<i32>,
    pub cpu_ms: Option<i64>,
    /// Peak resident memory in KiB.
    pub max_rss_kb: Option<i64>,
    /// The tail of stdout and stderr, merged.
    pub output: String,
    /// Whether earlier output was dropped.
    pub output_truncated: bool,
    /// Why it ended the way it did, in words (timeouts, interruptions, start errors).
    pub detail: Option<String>,
    pub cancelled_by: Option<String>,
}

impl Execution {
    /// Run time so far (running) or in total (ended).
    pub fn duration(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        let start = self.started_at?;
        Some(self.finished_at.unwrap_or(now) - start)
    }

    /// The last `n` lines of output.
    pub fn last_lines(&self, n: usize) -> Vec<&str> {
        let lines: Vec<&str> = self.output.lines().collect();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecRequest {
    pub job: String,
    /// Values as validated by the bot (defaults are added by the platform).
    pub params: BTreeMap<String, String>,
    /// Start at this time (None: now).
    pub run_at: Option<DateTime<Utc>>,
    pub requested_by: String,
    pub channel: String,
}

/// A filter on past executions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    pub job: Option<String>,
    pub status: Option<Status>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    pub limit: usize,
}

/// A status change, as the platform announces it.
#[derive(Debug, Clone)]
pub struct ExecEvent {
    pub previous: Option<Status>,
    pub execution: Execution,
    /// The channel that asked for a cancellation, if this event is one.
    pub cancel_channel: Option<String>,
}

/// A signal's name.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGKILL => "SIGKILL",
        libc::SIGINT => "SIGINT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}
