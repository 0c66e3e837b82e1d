//! Processes and their groups: reading output, waiting, signalling a group, its members and
//! their peak memory, and stopping a group orphaned by a crash.

use super::*;

/// The environment variables holding the bot's own secrets, removed from a job's environment.
pub(super) const BOT_SECRET_ENV: [&str; 4] = [
    crate::store::audit_key::KEY_ENV,
    "BOT_SLACK_TOKEN",
    "BOT_SLACK_SIGNING_SECRET",
    "BOT_MATRIX_TOKEN",
];

pub(super) async fn read_lines<R: AsyncRead + Unpin>(r: R, out: SharedOutput, tag: Option<String>) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                match &tag {
                    Some(t) => lock(&out).push(&format!("{t}{line}")),
                    None => lock(&out).push(&line),
                }
            }
        }
    }
}

pub(super) fn tv_ms(t: libc::timeval) -> i64 {
    t.tv_sec * 1000 + t.tv_usec / 1000
}

/// Waits for a child and returns its raw wait status and resource usage.
pub(super) fn wait_pid(pid: i32) -> std::io::Result<(i32, libc::rusage)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain old data; zeroed is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to locals; `pid` is our own child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return Ok((status, ru));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Sends a signal to a process group; a group that is gone is not an error.
pub fn kill_group(pgid: i32, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg has no memory-safety preconditions.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

/// The processes of a group (live ones), from `/proc`.
pub(super) fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|d| d.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                return false;
            };
            let mut f = after.split_whitespace();
            let state = f.next();
            let pgrp = f.nth(1).and_then(|v| v.parse::<i32>().ok());
            pgrp == Some(pgid) && state != Some("Z") && state != Some("X")
        })
        .collect()
}

/// The largest peak resident size (VmHWM, KiB) among the group's processes.
pub(super) fn group_peak_kb(pgid: i32) -> Option<i64> {
    group_members(pgid)
        .into_iter()
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<i64>().ok()
        })
        .max()
}

/// Whether any live (not zombie) process is in the process group, from `/proc`.
pub fn group_alive(pgid: i32) -> bool {
    if std::fs::metadata("/proc/self/stat").is_err() {
        return kill_group(pgid, 0);
    }
    !group_members(pgid).is_empty()
}

/// After a crash: kills what is left of an execution's process group.
pub(super) async fn stop_orphaned_group(pid: i32, pid_start: Option<i64>) -> String {
    let now_start = crate::util::process::proc_start_ticks(pid);
    // the leader is ours if it started when we recorded; if it is gone but the group lives,
    // the group is ours too (a pid is not reused while a group has its number)
    let leader_ours = pid_start.is_some() && now_start == pid_start;
    let alive = group_alive(pid);
    if leader_ours || (now_start.is_none() && alive) {
        kill_group(pid, libc::SIGKILL);
        for _ in 0..40 {
            if !group_alive(pid) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        format!("the bot stopped while it ran; its processes (group {pid}) were killed")
    } else {
        "the bot stopped while it ran; its processes had already ended".to_string()
    }
}
