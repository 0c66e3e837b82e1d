//! Speed and size of the parser, as `nlu bench` reports them: model load time, single-thread
//! latency percentiles over a fixed corpus, the same texts through a bare ONNX Runtime
//! session of the encoder (the pipeline's overhead as a ratio), throughput on N threads, and
//! peak resident memory.
//!
//! Measurement order matters for memory: the resident set is read after loading, after the
//! single-thread runs (the peak of a loaded parser in use), and after the multi-thread runs
//! (each extra thread gets its own encoder session); the bare session comes last, so it is
//! in none of those figures.

use crate::classifier::cascade::Stage;
use crate::classifier::encoder::ENCODER_FILE;
use crate::classifier::RuntimeOptions;
use crate::error::{NluError, Result};
use crate::parser::{Parser, ParserOptions};
use ndarray::Array2;
use ort::value::TensorRef;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The committed benchmark corpus, `benches/corpus.txt` (or `$NLU_BENCH_CORPUS`).
pub fn default_corpus() -> Result<PathBuf> {
    crate::parser::find_project_file("NLU_BENCH_CORPUS", Path::new("benches/corpus.txt"))
}

/// Reads a benchmark corpus: one text a line; blank lines and lines starting with `#` are
/// skipped. A `\n` written as the two characters `\` `n` stays as is.
pub fn read_corpus(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| NluError::io(path, e))?;
    let out: Vec<String> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if out.is_empty() {
        return Err(NluError::Dataset {
            path: path.to_path_buf(),
            line: None,
            reason: "no texts in the corpus".into(),
        });
    }
    Ok(out)
}

/// The value at quantile `q` (0..=1) of sorted samples, interpolating linearly between the
/// closest ranks (the "R-7" definition that numpy's `percentile` uses by default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}

/// Summary of latency samples, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Summarizes samples (any order).
    pub fn from_samples(samples: &[Duration]) -> Latency {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        Latency {
            samples: ms.len(),
            mean_ms: ms.iter().sum::<f64>() / ms.len().max(1) as f64,
            min_ms: ms.first().copied().unwrap_or(f64::NAN),
            p50_ms: quantile(&ms, 0.5),
            p90_ms: quantile(&ms, 0.9),
            p99_ms: quantile(&ms, 0.99),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Resident memory of this process from `/proc/self/status`, in MiB: (current, peak).
/// `None` where that file does not exist (not Linux).
pub fn resident_memory_mib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub model_dir: PathBuf,
    pub corpus: Vec<String>,
    /// Threads for the throughput run.
    pub threads: usize,
    /// Passes over the corpus for the latency runs (each text once per pass).
    pub rounds: usize,
    /// Passes over the corpus before measuring.
    pub warmup: usize,
    /// Passes over the corpus for the throughput run.
    pub throughput_rounds: usize,
    /// Also time a bare ONNX Runtime session of the encoder on the same tokens.
    pub bare: bool,
    /// Parse through the cascade (off: the full model on every text, `--full`).
    pub cascade: bool,
}

/// `path` relative to the current directory when it lies under it, so that a committed report
/// names no folder of the machine it ran on.
fn portable_path(path: &std::path::Path) -> PathBuf {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| absolute.strip_prefix(cwd).ok().map(PathBuf::from))
        .unwrap_or_else(|| path.to_path_buf())
}

/// Everything `nlu bench` measures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The model directory, relative to the current directory when it lies under it.
    pub model_dir: PathBuf,
    pub corpus_texts: usize,
    /// First load in the process, including loading ONNX Runtime itself.
    pub load_ms: f64,
    /// A second load of the same model (ONNX Runtime and the file cache warm).
    pub reload_ms: f64,
    /// Whether the parses went through the cascade (`false`: `--full`, or a model without a
    /// sparse head).
    pub cascade: bool,
    /// `parse` on one thread, each corpus text `rounds` times.
    pub parse: Latency,
    /// The same samples by the stage that answered, cheapest first, with their share.
    pub stages: Vec<StageLatency>,
    /// Tokenization alone, same texts.
    pub tokenize: Latency,
    /// Interleaved with `bare`: `parse` of each text, then the bare session on its tokens.
    pub parse_interleaved: Option<Latency>,
    /// A bare ONNX Runtime session of `encoder.onnx` on the pre-tokenized ids.
    pub bare: Option<Latency>,
    /// `parse_interleaved.p50 / bare.p50`: the pipeline's overhead over the model run (with
    /// the cascade, its speed-up when under 1).
    pub overhead_ratio_p50: Option<f64>,
    /// Median over texts of (parse time / bare time) for that text.
    pub overhead_ratio_median_per_text: Option<f64>,
    pub threads: usize,
    pub throughput_per_s: f64,
    /// Single-thread throughput, for the speed-up.
    pub throughput_1_thread_per_s: f64,
    pub rss_after_load_mib: Option<f64>,
    /// Peak resident memory after the single-thread runs: a loaded parser in use.
    pub peak_rss_single_thread_mib: Option<f64>,
    /// Peak after the multi-thread runs (one encoder session per thread).
    pub peak_rss_threads_mib: Option<f64>,
    /// Every single-thread `parse` sample, in ms, in the order taken (for plots).
    pub parse_samples_ms: Vec<f64>,
    /// Every bare-session sample, in ms.
    pub bare_samples_ms: Vec<f64>,
}

/// The parses one stage of the cascade answered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageLatency {
    pub stage: Stage,
    /// Share of the single-thread parses this stage answered.
    pub share: f64,
    pub latency: Latency,
}

/// Groups latency samples by the stage that answered each, cheapest stage first (stages
/// with no sample are left out).
pub fn stage_latencies(samples: &[(Duration, Stage)]) -> Vec<StageLatency> {
    Stage::ALL
        .iter()
        .filter_map(|&stage| {
            let own: Vec<Duration> = samples
                .iter()
                .filter(|(_, s)| *s == stage)
                .map(|(d, _)| *d)
                .collect();
            (!own.is_empty()).then(|| StageLatency {
                stage,
                share: own.len() as f64 / samples.len() as f64,
                latency: Latency::from_samples(&own),
            })
        })
        .collect()
}

/// Runs the measurements.
pub fn run(options: &BenchOptions) -> Result<BenchReport> {
    let runtime = RuntimeOptions {
        intra_threads: 1,
        max_sessions: options.threads.max(1),
    };
    // the whole parse, entities included: the project's catalog
    let catalog = crate::Catalog::load(&crate::default_catalog_path()?)?;
    let popts = ParserOptions {
        runtime,
        catalog: Some(catalog),
        cascade: options.cascade,
        ..Default::default()
    };
    // the first load (timed cold) is dropped before the second, kept one, so that two
    // parsers never coexist and inflate the peak
    let t0 = Instant::now();
    drop(Parser::load_with(&options.model_dir, popts.clone())?);
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t0 = Instant::now();
    let parser = Parser::load_with(&options.model_dir, popts)?;
    let reload_ms = t0.elapsed().as_secs_f64() * 1e3;
    let rss_after_load = resident_memory_mib().map(|m| m.0);
    run_loaded(options, parser, load_ms, reload_ms, rss_after_load)
}

fn run_loaded(
    options: &BenchOptions,
    parser: Parser,
    load_ms: f64,
    reload_ms: f64,
    rss_after_load: Option<f64>,
) -> Result<BenchReport> {
    let corpus = &options.corpus;
    for _ in 0..options.warmup.max(1) {
        for t in corpus {
            parser.parse(t)?;
        }
    }
    let mut samples = Vec::with_capacity(corpus.len() * options.rounds);
    let mut tok_samples = Vec::with_capacity(corpus.len() * options.rounds);
    let encoder = parser.classifier().encoder();
    let single_start = Instant::now();
    for _ in 0..options.rounds.max(1) {
        for t in corpus {
            let s = Instant::now();
            let (_, stage) = std::hint::black_box(parser.parse_staged(std::hint::black_box(t))?);
            samples.push((s.elapsed(), stage));
        }
    }
    let single_elapsed = single_start.elapsed().as_secs_f64();
    for _ in 0..options.rounds.max(1) {
        for t in corpus {
            let s = Instant::now();
            std::hint::black_box(encoder.tokenize(std::hint::black_box(t))?);
            tok_samples.push(s.elapsed());
        }
    }
    let peak_single = resident_memory_mib().map(|m| m.1);
    let throughput_1 = samples.len() as f64 / single_elapsed;
    let stages = stage_latencies(&samples);
    let samples: Vec<Duration> = samples.into_iter().map(|(d, _)| d).collect();

    // throughput on N threads
    let threads = options.threads.max(1);
    let jobs: Vec<&String> = (0..options.throughput_rounds.max(1))
        .flat_map(|_| corpus.iter())
        .collect();
    // one untimed pass so every thread's session exists
    parser.parse_batch(&corpus.iter().take(threads * 2).collect::<Vec<_>>())?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t0 = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(t) = jobs.get(i) else { break };
                        std::hint::black_box(parser.parse(t)?);
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(NluError::Training("a benchmark thread panicked".into()))
                })
            })
            .collect()
    });
    let elapsed = t0.elapsed().as_secs_f64();
    for r in results {
        r?;
    }
    let throughput = jobs.len() as f64 / elapsed;
    let peak_threads = resident_memory_mib().map(|m| m.1);

    // parse against a bare session of the encoder on the same tokens
    let (mut interleaved, mut bare, mut ratios) = (None, None, None);
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    let mut bare_samples = Vec::new();
    if options.bare {
        let mut session = BareEncoder::load(encoder.dir())?;
        let tokens: Vec<Vec<i64>> = corpus
            .iter()
            .map(|t| encoder.tokenize(t).map(|k| k.ids))
            .collect::<Result<_>>()?;
        for ids in &tokens {
            session.run(ids)?;
        }
        let mut p = Vec::new();
        let mut b = Vec::new();
        let mut per_text: Vec<f64> = Vec::new();
        for _ in 0..options.rounds.max(1) {
            for (t, ids) in corpus.iter().zip(&tokens) {
                let s = Instant::now();
                std::hint::black_box(parser.parse(std::hint::black_box(t))?);
                let dp = s.elapsed();
                let s = Instant::now();
                std::hint::black_box(session.run(std::hint::black_box(ids))?);
                let db = s.elapsed();
                per_text.push(dp.as_secs_f64() / db.as_secs_f64().max(1e-9));
                p.push(dp);
                b.push(db);
            }
        }
        per_text.sort_by(|a, b| a.total_cmp(b));
        interleaved = Some(Latency::from_samples(&p));
        bare = Some(Latency::from_samples(&b));
        ratios = Some(quantile(&per_text, 0.5));
        bare_samples = b.iter().map(ms).collect();
    }
    Ok(BenchReport {
        model_dir: portable_path(&options.model_dir),
        corpus_texts: corpus.len(),
        cascade: parser.cascade(),
        stages,
        load_ms,
        reload_ms,
        parse: Latency::from_samples(&samples),
        tokenize: Latency::from_samples(&tok_samples),
        overhead_ratio_p50: interleaved.zip(bare).map(|(p, b)| p.p50_ms / b.p50_ms),
        overhead_ratio_median_per_text: ratios,
        parse_interleaved: interleaved,
        bare,
        threads,
        throughput_per_s: throughput,
        throughput_1_thread_per_s: throughput_1,
        rss_after_load_mib: rss_after_load,
        peak_rss_single_thread_mib: peak_single,
        peak_rss_threads_mib: peak_threads,
        parse_samples_ms: samples.iter().map(ms).collect(),
        bare_samples_ms: bare_samples,
    })
}

/// A bare ONNX Runtime session of an encoder directory's `encoder.onnx`, one intra-op
/// thread, run on token ids: the floor that `parse` is compared with.
pub struct BareEncoder {
    session: ort::session::Session,
    path: PathBuf,
}

impl BareEncoder {
    /// Creates the session (ONNX Runtime must be loadable, as for the parser).
    pub fn load(encoder_dir: &Path) -> Result<Self> {
        let path = encoder_dir.join(ENCODER_FILE);
        let env = crate::runtime::init(None)?;
        let err = |e: ort::Error| NluError::onnx(&path, e);
        let session = ort::session::Session::builder(env)
            .map_err(err)?
            .with_intra_threads(1)
            .map_err(|e| NluError::onnx(&path, e))?
            .with_inter_threads(1)
            .map_err(|e| NluError::onnx(&path, e))?
            .commit_from_file(&path)
            .map_err(err)?;
        Ok(BareEncoder { session, path })
    }

    /// Runs the encoder on one sequence of ids and returns the first output's first value
    /// (the caller only times it).
    pub fn run(&mut self, ids: &[i64]) -> Result<f32> {
        let n = ids.len();
        let path = &self.path;
        let ids =
            Array2::from_shape_vec((1, n), ids.to_vec()).map_err(|e| NluError::onnx(path, e))?;
        let mask = Array2::<i64>::ones((1, n));
        let ids_t = TensorRef::from_array_view(&ids).map_err(|e| NluError::onnx(path, e))?;
        let mask_t = TensorRef::from_array_view(&mask).map_err(|e| NluError::onnx(path, e))?;
        let outputs = self
            .session
            .run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])
            .map_err(|e| NluError::onnx(path, e))?;
        let (_, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| NluError::onnx(path, e))?;
        Ok(data.first().copied().unwrap_or_default())
    }
}

impl BenchReport {
    /// A readable table.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let mib = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} MiB"));
        let _ = writeln!(s, "model            {}", self.model_dir.display());
        let _ = writeln!(s, "corpus           {} texts", self.corpus_texts);
        let _ = writeln!(
            s,
            "cascade          {}",
            if self.cascade {
                "on (the sparse head, then the early head, answer the texts they are sure of)"
            } else {
                "off (the full model on every text)"
            }
        );
        let _ = writeln!(
            s,
            "load             {:.0} ms (first, with ONNX Runtime), {:.0} ms (again)",
            self.load_ms, self.reload_ms
        );
        let _ = writeln!(
            s,
            "\n{:<26} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "latency (ms)", "n", "mean", "p50", "p90", "p99", "max"
        );
        let mut row = |name: &str, l: &Latency| {
            let _ = writeln!(
                s,
                "{name:<26} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                l.samples, l.mean_ms, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
            );
        };
        row("parse, 1 thread", &self.parse);
        for st in &self.stages {
            row(
                &format!("  answered by {} ({:.1}%)", st.stage, st.share * 100.0),
                &st.latency,
            );
        }
        row("tokenize", &self.tokenize);
        if let (Some(p), Some(b)) = (&self.parse_interleaved, &self.bare) {
            row("parse (interleaved)", p);
            row("bare ORT encoder run", b);
        }
        if let (Some(r), Some(m)) = (self.overhead_ratio_p50, self.overhead_ratio_median_per_text) {
            let _ = writeln!(s, "\noverhead         parse / bare model run: {r:.3} (p50 / p50), {m:.3} (median per text)");
        }
        let _ = writeln!(
            s,
            "throughput       {:.1} texts/s on {} threads ({:.1} on 1 thread)",
            self.throughput_per_s, self.threads, self.throughput_1_thread_per_s
        );
        let _ = writeln!(
            s,
            "memory           {} after load, peak {} on 1 thread, peak {} on {} threads",
            mib(self.rss_after_load_mib),
            mib(self.peak_rss_single_thread_mib),
            mib(self.peak_rss_threads_mib),
            self.threads
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 5.5);
        assert!((quantile(&v, 0.9) - 9.1).abs() < 1e-12);
        assert!((quantile(&v, 0.99) - 9.91).abs() < 1e-12);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 10.0);
        assert_eq!(quantile(&[3.0], 0.99), 3.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn latency_summary() {
        let samples: Vec<Duration> = [5u64, 1, 4, 2, 3]
            .iter()
            .map(|&m| Duration::from_millis(m))
            .collect();
        let l = Latency::from_samples(&samples);
        assert_eq!(l.samples, 5);
        assert!((l.p50_ms - 3.0).abs() < 1e-9);
        assert!((l.mean_ms - 3.0).abs() < 1e-9);
        assert!((l.min_ms - 1.0).abs() < 1e-9 && (l.max_ms - 5.0).abs() < 1e-9);
        assert!((l.p99_ms - 4.96).abs() < 1e-9);
    }

    #[test]
    fn samples_are_grouped_by_the_stage_that_answered() {
        let ms = Duration::from_millis;
        let samples = [
            (ms(1), Stage::Sparse),
            (ms(9), Stage::Full),
            (ms(3), Stage::Sparse),
            (ms(2), Stage::Sparse),
        ];
        let st = stage_latencies(&samples);
        assert_eq!(st.len(), 2);
        assert_eq!((st[0].stage, st[0].share), (Stage::Sparse, 0.75));
        assert_eq!(st[0].latency.samples, 3);
        assert!((st[0].latency.p50_ms - 2.0).abs() < 1e-9);
        assert_eq!((st[1].stage, st[1].share), (Stage::Full, 0.25));
        assert!((st[1].latency.max_ms - 9.0).abs() < 1e-9);
        // a stage with no sample is left out
        assert_eq!(stage_latencies(&samples[1..2]).len(), 1);
    }

    #[test]
    fn corpus_skips_comments_and_blanks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.txt");
        std::fs::write(&p, "# header\n\ndeploy api\n部署 api 到生产  \n").unwrap();
        assert_eq!(
            read_corpus(&p).unwrap(),
            vec!["deploy api", "部署 api 到生产"]
        );
        std::fs::write(&p, "# only a comment\n").unwrap();
        assert!(read_corpus(&p).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_resident_memory() {
        let (rss, peak) = resident_memory_mib().unwrap();
        assert!(rss > 0.0 && peak >= rss);
    }
}
