//! The data of a chart of a job's runs; drawing it and its texts are in
//! [`crate::render::charts`].

use super::exec::ExecId;
use crate::i18n::Lang;

/// One run on a duration chart.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationPoint {
    pub id: ExecId,
    pub secs: f64,
    pub ok: bool,
}

/// One run on a resource chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePoint {
    pub id: ExecId,
    pub cpu_secs: f64,
    pub peak_mib: f64,
}

/// A chart's data.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// A job's duration over its recent runs (oldest first) with the usual (median) line.
    Duration {
        job: String,
        runs: Vec<DurationPoint>,
        median: Option<f64>,
        /// The language of its texts.
        lang: Lang,
    },
    /// CPU time and peak memory over recent runs (oldest first).
    Resources {
        job: String,
        runs: Vec<ResourcePoint>,
        lang: Lang,
    },
    /// How many failed runs each cause has, most frequent first.
    Failures {
        scope: String,
        causes: Vec<(String, usize)>,
        lang: Lang,
    },
}
