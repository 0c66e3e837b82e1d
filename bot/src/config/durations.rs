//! Durations as the configuration writes them: `30s`, `5m`, `2h`, `1d`, `250ms`, or a
//! number of seconds.

use std::time::Duration;

/// Parses `30s`, `5m`, `2h`, `1d`, `250ms` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (num, unit) = if split == 0 {
        return None;
    } else {
        s.split_at(split)
    };
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "sec" | "secs" => n,
        "m" | "min" | "mins" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return None,
    };
    // try_: a huge number (`+99999999999999999999d`) is no duration, not a panic
    Duration::try_from_secs_f64(secs).ok()
}

/// A duration in the configuration: a string for [`parse_duration`] or a number of seconds.
pub fn duration_value(v: &toml::Value) -> Option<Duration> {
    match v {
        toml::Value::Integer(i) if *i >= 0 => Some(Duration::from_secs(*i as u64)),
        toml::Value::Float(f) if *f >= 0.0 && f.is_finite() => Some(Duration::from_secs_f64(*f)),
        toml::Value::String(s) => parse_duration(s),
        _ => None,
    }
}
