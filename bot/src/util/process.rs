//! Facts about processes, from `/proc`.

/// The start time (clock ticks since boot) of a process, from `/proc/<pid>/stat`; tells a
/// process apart from a later one that reuses its pid.
pub fn proc_start_ticks(pid: i32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // fields after the name start with field 3 (state); starttime is field 22
    after.split_whitespace().nth(19)?.parse().ok()
}
