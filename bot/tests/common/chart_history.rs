//! The run history the chart tests and the README's example charts are drawn from (shared by
//! `bot/tests/charts.rs` and `bot/examples/chart_examples.rs`).

use bot::jobs::{Execution, Status};
use chrono::{Duration, TimeZone, Utc};
use std::collections::BTreeMap;

fn exec(id: i64, status: Status, ms: i64, cpu_ms: i64, rss_kb: i64, output: &str) -> Execution {
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap() + Duration::hours(id - 1000);
    Execution {
        id,
        job: "backup-database".into(),
        params: BTreeMap::from([("target".to_string(), "db-01".to_string())]),
        requested_by: "alice".into(),
        channel: "terminal".into(),
        status,
        created_at: t,
        run_at: t,
        started_at: Some(t),
        finished_at: Some(t + Duration::milliseconds(ms)),
        exit_code: Some(if status == Status::Succeeded { 0 } else { 1 }),
        signal: None,
        pid: None,
        cpu_ms: Some(cpu_ms),
        max_rss_kb: Some(rss_kb),
        output: output.into(),
        output_truncated: false,
        detail: None,
        cancelled_by: None,
    }
}

/// Twelve nightly backups: mostly about 42s, one slow night, three failures.
pub fn history() -> Vec<Execution> {
    let ok = "dumping db-01\ncompressing (zstd)\nbackup written";
    let secs = [
        41.2, 43.0, 40.8, 44.1, 42.5, 61.9, 42.0, 39.7, 43.3, 45.0, 41.9, 42.8,
    ];
    let mut out = Vec::new();
    for (i, s) in secs.iter().enumerate() {
        let id = 1001 + i as i64;
        let (status, output) = match i {
            3 => (
                Status::Failed,
                "dumping db-01\nERROR: connection to 10.0.0.7:5432 refused (attempt 3)",
            ),
            8 => (
                Status::Failed,
                "dumping db-01\nERROR: connection to 10.0.0.7:5432 refused (attempt 5)",
            ),
            10 => (Status::TimedOut, "dumping db-01"),
            _ => (Status::Succeeded, ok),
        };
        out.push(exec(
            id,
            status,
            (s * 1000.0) as i64,
            (s * 310.0) as i64,
            180_000 + (i as i64 * 3_700) % 40_000,
            output,
        ));
    }
    out.push(exec(
        1013,
        Status::Failed,
        3_100,
        900,
        60_000,
        "step 2/4 verify checksum\nfatal: checksum mismatch in chunk 0x9f8e7d6c",
    ));
    out
}
