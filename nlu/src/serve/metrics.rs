//! Counters for `GET /metrics`, in Prometheus' text format (hand-written: a few maps behind
//! a mutex, no metrics crate).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

#[derive(Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Counters {
    /// (route, method, status) -> requests
    requests: BTreeMap<(String, String, u16), u64>,
    /// route -> latency
    latency: BTreeMap<String, Histogram>,
    /// (intent, outcome) -> parse results
    outcomes: BTreeMap<(String, String), u64>,
    /// (result) -> training jobs finished, by "ok" or "error"
    trainings: BTreeMap<&'static str, u64>,
    /// (result) -> model loads by `PUT /model`
    loads: BTreeMap<&'static str, u64>,
    /// (stage) -> parses answered by that stage of the cascade
    stages: BTreeMap<&'static str, u64>,
}

/// The server's metrics.
///
/// ```
/// # #[cfg(feature = "serve")] {
/// let m = nlu::serve::Metrics::default();
/// m.record_request("/model/parse", "POST", 200, std::time::Duration::from_millis(3));
/// m.record_outcome("greet", "understood");
/// let text = m.render();
/// assert!(text.contains(r#"nlu_http_requests_total{route="/model/parse",method="POST",status="200"} 1"#));
/// assert!(text.contains(r#"nlu_parse_outcomes_total{intent="greet",outcome="understood"} 1"#));
/// # }
/// ```
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
    /// Training jobs running now.
    pub(crate) training_active: AtomicUsize,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        // a panic while holding the lock leaves consistent counters: keep counting
        self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one answered request and its latency.
    pub fn record_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut c = self.lock();
        *c.requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let h = c.latency.entry(route.to_string()).or_default();
        let slot = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        h.counts[slot] += 1;
        h.sum += secs;
        h.count += 1;
    }

    /// Counts one parse result by its intent and outcome.
    pub fn record_outcome(&self, intent: &str, outcome: &str) {
        *self
            .lock()
            .outcomes
            .entry((intent.to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    /// Counts one parse by the stage of the cascade that answered it.
    pub fn record_stage(&self, stage: crate::classifier::cascade::Stage) {
        *self.lock().stages.entry(stage.name()).or_default() += 1;
    }

    pub(crate) fn record_training(&self, ok: bool) {
        *self
            .lock()
            .trainings
            .entry(if ok { "ok" } else { "error" })
            .or_default() += 1;
    }

    pub(crate) fn record_load(&self, ok: bool) {
        *self
            .lock()
            .loads
            .entry(if ok { "ok" } else { "error" })
            .or_default() += 1;
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let c = self.lock();
        let mut out = String::new();
        out.push_str("# HELP nlu_http_requests_total HTTP requests answered, by route, method and status.\n# TYPE nlu_http_requests_total counter\n");
        for ((route, method, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "nlu_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }
        out.push_str("# HELP nlu_http_request_duration_seconds Time to answer a request, by route.\n# TYPE nlu_http_request_duration_seconds histogram\n");
        for (route, h) in &c.latency {
            let route = escape(route);
            let mut cumulative = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cumulative += h.counts[i];
                let _ = writeln!(
                    out,
                    "nlu_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {cumulative}"
                );
            }
            cumulative += h.counts[BUCKETS.len()];
            let _ = writeln!(
                out,
                "nlu_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "nlu_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "nlu_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP nlu_parse_outcomes_total Parse results, by reported intent and outcome.\n# TYPE nlu_parse_outcomes_total counter\n");
        for ((intent, outcome), n) in &c.outcomes {
            let _ = writeln!(
                out,
                "nlu_parse_outcomes_total{{intent=\"{}\",outcome=\"{}\"}} {n}",
                escape(intent),
                escape(outcome)
            );
        }
        out.push_str("# HELP nlu_parse_stages_total Parses, by the stage of the cascade that answered (sparse: no encoder run).\n# TYPE nlu_parse_stages_total counter\n");
        for (stage, n) in &c.stages {
            let _ = writeln!(out, "nlu_parse_stages_total{{stage=\"{stage}\"}} {n}");
        }
        out.push_str("# HELP nlu_training_jobs_total Training jobs finished, by result.\n# TYPE nlu_training_jobs_total counter\n");
        for (result, n) in &c.trainings {
            let _ = writeln!(out, "nlu_training_jobs_total{{result=\"{result}\"}} {n}");
        }
        out.push_str("# HELP nlu_training_jobs_active Training jobs running now.\n# TYPE nlu_training_jobs_active gauge\n");
        let _ = writeln!(
            out,
            "nlu_training_jobs_active {}",
            self.training_active.load(Ordering::Relaxed)
        );
        out.push_str("# HELP nlu_model_loads_total Models loaded by PUT /model, by result.\n# TYPE nlu_model_loads_total counter\n");
        for (result, n) in &c.loads {
            let _ = writeln!(out, "nlu_model_loads_total{{result=\"{result}\"}} {n}");
        }
        out
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_labels_are_escaped() {
        let m = Metrics::default();
        m.record_request("/x", "GET", 200, Duration::from_micros(500));
        m.record_request("/x", "GET", 200, Duration::from_millis(20));
        m.record_outcome("a\"b", "understood");
        let t = m.render();
        assert!(
            t.contains("nlu_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.001\"} 1\n")
        );
        assert!(
            t.contains("nlu_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.025\"} 2\n")
        );
        assert!(
            t.contains("nlu_http_request_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 2\n")
        );
        assert!(t.contains("nlu_http_request_duration_seconds_count{route=\"/x\"} 2\n"));
        assert!(t.contains("intent=\"a\\\"b\""));
    }
}
