//! The `nlu` command: parse, train and evaluate. Argument parsing and wiring only.

use anyhow::{Context, Result};
use chrono::DateTime;
use chrono_tz::Tz;
use clap::{Parser as ClapParser, Subcommand};
use nlu::eval;
use nlu::train::{self, TrainOptions};
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(ClapParser)]
#[command(
    name = "nlu",
    version,
    about = "Bilingual intent and entity parser for operations chat"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse each TEXT (or each line of stdin) and print one JSON parse result per line.
    Parse {
        #[command(flatten)]
        common: ParseArgs,
        /// Texts to parse; without any, lines of stdin.
        text: Vec<String>,
    },
    /// Train a model from Rasa YAML training data.
    Train {
        /// Directory of Rasa NLU YAML files.
        #[arg(long)]
        data: PathBuf,
        /// Output model directory.
        #[arg(long)]
        out: PathBuf,
        /// Encoder directory (default: models/multilingual-e5-small).
        #[arg(long)]
        encoder: Option<PathBuf>,
        /// L2 penalty of the logistic regression.
        #[arg(long, default_value_t = TrainOptions::default().l2)]
        l2: f32,
        /// Number of folds for calibration and thresholds.
        #[arg(long, default_value_t = TrainOptions::default().folds)]
        folds: usize,
        /// n-gram hash slots.
        #[arg(long, default_value_t = TrainOptions::default().buckets)]
        buckets: usize,
        /// Head: gated (default), joint (embedding + n-grams only) or dense (embedding only).
        #[arg(long, default_value_t = TrainOptions::default().head)]
        head: nlu::train::HeadKind,
        /// The encoder layer after which the cascade's early head reads the hidden states.
        #[arg(long, default_value_t = nlu::train::DEFAULT_EARLY_LAYER)]
        early_layer: usize,
        /// No early head: the cascade goes from the sparse head to the full model.
        #[arg(long)]
        no_early: bool,
        /// The encoder layer (4, 8 or 12) whose pooled token states the head reads beside
        /// the sentence embedding; 0: the sentence embedding alone.
        #[arg(long, default_value_t = nlu::train::DEFAULT_POOLED_LAYER)]
        pooled_layer: usize,
    },
    /// Measure speed and size: load time, latency percentiles, overhead over a bare model
    /// run, throughput and peak memory.
    Bench {
        /// Model directory (default: the committed models/ops-intents).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Corpus, one text a line (default: benches/corpus.txt).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Threads for the throughput run (default: the number of cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Passes over the corpus for the latency runs.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Passes over the corpus for the throughput run.
        #[arg(long, default_value_t = 5)]
        throughput_rounds: usize,
        /// Skip the comparison with a bare ONNX Runtime session.
        #[arg(long)]
        no_bare: bool,
        /// Run the full model on every text: no answer from the cascade's sparse or early head.
        #[arg(long)]
        full: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Train on a public benchmark's training split, calibrate on its validation split and
    /// report on its test split.
    Benchmark {
        /// clinc150, snips or banking77.
        #[arg(long)]
        dataset: nlu::eval::datasets::Dataset,
        /// The dataset's folder (default: the repository's datasets/<folder>, or $NLU_DATASETS/<folder>).
        #[arg(long)]
        path: Option<PathBuf>,
        /// CLINC150: out-of-scope as a trained `class`, by confidence `threshold`, or both.
        #[arg(long, value_enum, default_value = "both")]
        oos_mode: OosArg,
        /// Keep the trained model directories under this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Encoder directory (default: models/multilingual-e5-small).
        #[arg(long)]
        encoder: Option<PathBuf>,
        /// Most L-BFGS iterations.
        #[arg(long, default_value_t = TrainOptions::default().max_iter)]
        max_iter: usize,
        /// L2 penalty of the logistic regression.
        #[arg(long, default_value_t = TrainOptions::default().l2)]
        l2: f32,
        /// Folds for calibration on datasets without a validation split (Banking77).
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Embedding cache folder (default: .cache/embeddings in the repository).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Embed every text again instead of using the cache.
        #[arg(long)]
        no_cache: bool,
        /// Head: gated (default), joint (embedding + n-grams only) or dense (embedding only).
        #[arg(long, default_value_t = TrainOptions::default().head)]
        head: nlu::train::HeadKind,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve a model over HTTP with Rasa's API (POST /model/parse, /model/train, PUT /model,
    /// GET /status, /version, /metrics) until SIGTERM or ctrl-c.
    #[cfg(feature = "serve")]
    Serve(ServeArgs),
    /// Evaluate a model on a JSONL file of cases.
    Eval {
        /// JSONL file of evaluation cases (the contract's format).
        #[arg(long)]
        cases: PathBuf,
        #[command(flatten)]
        common: ParseArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// How many misclassified cases to list.
        #[arg(long, default_value_t = 50)]
        show: usize,
        /// The model's training data (Rasa YAML), to warn about cases that repeat it
        /// (default: the repository's training-data/ when the default model is used).
        #[arg(long)]
        training_data: Option<PathBuf>,
    },
}

/// Options of `nlu serve`.
#[cfg(feature = "serve")]
#[derive(clap::Args)]
struct ServeArgs {
    /// Model directory served at start (default: the committed models/ops-intents).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Where POST /model/train writes models and PUT /model finds them by file name
    /// (without it, training is off).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port (the address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:5005")]
    listen: std::net::SocketAddr,
    /// Token every request but /, /version and /metrics must carry as ?token=T.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// Read the token from this file (its first line), so that it is not on the command line.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Catalog for models that expect one (default: config/catalog.toml).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Encoder of the models trained by POST /model/train (default: models/multilingual-e5-small).
    #[arg(long)]
    encoder: Option<PathBuf>,
    /// Largest request body accepted, in bytes (larger ones are answered 413).
    #[arg(long, default_value_t = nlu::serve::ServeConfig::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most training jobs at once (more are answered 429).
    #[arg(long, default_value_t = nlu::serve::ServeConfig::default().max_training_jobs)]
    max_training_jobs: usize,
}

#[cfg(feature = "serve")]
impl ServeArgs {
    fn config(self) -> Result<nlu::serve::ServeConfig> {
        let token = match (self.token, self.token_file) {
            (Some(t), _) => Some(t),
            (None, Some(f)) => {
                let text = std::fs::read_to_string(&f)
                    .with_context(|| format!("reading the token file {}", f.display()))?;
                let t = text.lines().next().unwrap_or("").trim().to_string();
                anyhow::ensure!(!t.is_empty(), "the token file {} is empty", f.display());
                Some(t)
            }
            (None, None) => None,
        };
        Ok(nlu::serve::ServeConfig {
            model: model_dir(self.model)?,
            models_dir: self.models,
            listen: self.listen,
            token,
            catalog: self.catalog,
            encoder: self.encoder,
            max_body_bytes: self.max_body_bytes,
            max_training_jobs: self.max_training_jobs.max(1),
        })
    }
}

/// Options shared by `parse` and `eval`.
#[derive(clap::Args)]
struct ParseArgs {
    /// Model directory (default: the committed models/ops-intents).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Catalog of jobs, apps, environments and hosts (default: config/catalog.toml for a
    /// model that expects a catalog, such as the ChatOps model; none for others).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Reference time for time expressions, RFC 3339 (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Time zone for time expressions, e.g. Asia/Shanghai (default: the offset of --now, else UTC).
    #[arg(long)]
    tz: Option<String>,
    /// Run the full model on every text: no answer from the cascade's sparse or early head.
    #[arg(long)]
    full: bool,
}

impl ParseArgs {
    fn load(&self) -> Result<(nlu::Parser, Option<DateTime<Tz>>)> {
        let model = model_dir(self.model.clone())?;
        let catalog = match &self.catalog {
            Some(p) => nlu::Catalog::load(p)?,
            None if nlu::model::ModelMeta::load(&model)?.entities.catalog => {
                nlu::Catalog::load(&nlu::default_catalog_path()?)?
            }
            None => nlu::Catalog::default(),
        };
        let fixed = self
            .now
            .as_deref()
            .map(|n| {
                DateTime::parse_from_rfc3339(n).with_context(|| {
                    format!("--now {n:?} is not an RFC 3339 time such as 2026-11-27T09:30:00+08:00")
                })
            })
            .transpose()?;
        let zone: Tz = match (&self.tz, &fixed) {
            (Some(z), _) => z.parse().map_err(|e| {
                anyhow::anyhow!("--tz {z:?}: {e} (use an IANA name such as Asia/Shanghai)")
            })?,
            (None, Some(t)) => zone_of_offset(t.offset().local_minus_utc()),
            (None, None) => chrono_tz::UTC,
        };
        let parser = nlu::Parser::load_with(
            &model,
            nlu::ParserOptions {
                catalog: Some(catalog),
                time_zone: zone,
                cascade: !self.full,
                ..Default::default()
            },
        )?;
        Ok((parser, fixed.map(|t| t.with_timezone(&zone))))
    }
}

/// A zone with a fixed offset (`Etc/GMT-8` is UTC+8), or UTC for offsets that are not whole hours.
fn zone_of_offset(seconds: i32) -> Tz {
    if seconds % 3600 != 0 {
        return chrono_tz::UTC;
    }
    let hours = -seconds / 3600;
    let name = match hours {
        0 => "UTC".to_string(),
        h if h > 0 => format!("Etc/GMT+{h}"),
        h => format!("Etc/GMT{h}"),
    };
    name.parse().unwrap_or(chrono_tz::UTC)
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OosArg {
    Class,
    Threshold,
    Both,
}

fn encoder_dir(arg: Option<PathBuf>) -> Result<PathBuf> {
    match arg {
        Some(e) => Ok(e),
        None => model_dir(None)?
            .parent()
            .map(|p| p.join("multilingual-e5-small"))
            .context("cannot locate models/multilingual-e5-small; pass --encoder"),
    }
}

fn model_dir(arg: Option<PathBuf>) -> Result<PathBuf> {
    match arg {
        Some(p) => Ok(p),
        None => Ok(nlu::default_model_dir()?),
    }
}

/// A stdin line `nlu parse` could not parse. It is reported on stderr with its line number,
/// and its place on stdout holds [`BadLine::to_json`] instead of a parse result, so that
/// output line N still answers input line N; the other lines are parsed as usual.
#[derive(Debug, thiserror::Error)]
enum BadLine {
    #[error("stdin line {line}: not valid UTF-8; skipped it (re-encode the input as UTF-8)")]
    NotUtf8 { line: usize },
}

impl BadLine {
    /// `{"error": "not valid UTF-8", "line": 2}`.
    fn to_json(&self) -> serde_json::Value {
        match self {
            BadLine::NotUtf8 { line } => {
                serde_json::json!({ "error": "not valid UTF-8", "line": line })
            }
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NLU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,nlu::serve=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    #[cfg(feature = "serve")]
    let serving = matches!(cli.command, Command::Serve(_));
    #[cfg(not(feature = "serve"))]
    let serving = false;
    if !serving {
        quiet_on_closed_stdout();
    }
    if let Err(e) = run(cli) {
        eprintln!("nlu: {e:#}");
        std::process::exit(1);
    }
}

/// Ends the process quietly, as other Unix tools do, when whoever reads its output stops
/// (`nlu parse ... | head -1`), instead of panicking on the next write. Not for `nlu serve`,
/// which must outlive a client that hangs up.
fn quiet_on_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Parse { common, text } => {
            let (parser, now) = common.load()?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            // one JSON object a line: the parse result, or the error object of a bad line
            let mut emit = |line: std::result::Result<&str, &BadLine>| -> Result<()> {
                match line {
                    Ok(t) => {
                        let r = match now {
                            Some(now) => parser.parse_at(t, now)?,
                            None => parser.parse(t)?,
                        };
                        serde_json::to_writer(&mut out, &r)?;
                    }
                    Err(bad) => serde_json::to_writer(&mut out, &bad.to_json())?,
                }
                out.write_all(b"\n")?;
                out.flush()?;
                Ok(())
            };
            if text.is_empty() {
                let stdin = std::io::stdin();
                let mut unreadable = 0usize;
                for (i, line) in stdin.lock().split(b'\n').enumerate() {
                    let line = line.context("reading stdin")?;
                    match String::from_utf8(line) {
                        Ok(line) => emit(Ok(line.strip_suffix('\r').unwrap_or(&line)))?,
                        Err(_) => {
                            // an error object in the result's place keeps the output aligned
                            // with the input, line for line
                            let err = BadLine::NotUtf8 { line: i + 1 };
                            eprintln!("nlu: {err}");
                            tracing::warn!(line = i + 1, "skipped a stdin line: not UTF-8");
                            emit(Err(&err))?;
                            unreadable += 1;
                        }
                    }
                }
                if unreadable > 0 {
                    anyhow::bail!(
                        "{unreadable} stdin line(s) were not valid UTF-8 and were not parsed (each has an error object in its place on stdout); re-encode the input as UTF-8"
                    );
                }
            } else {
                for t in &text {
                    emit(Ok(t))?;
                }
            }
        }
        Command::Train {
            data,
            out,
            encoder,
            l2,
            folds,
            buckets,
            head,
            early_layer,
            no_early,
            pooled_layer,
        } => {
            let encoder = encoder_dir(encoder)?;
            let options = TrainOptions {
                l2,
                folds,
                buckets,
                head,
                early_layer: (!no_early).then_some(early_layer),
                pooled_layer: (pooled_layer != 0).then_some(pooled_layer),
                ..Default::default()
            };
            let model = train::train_dir(&data, &out, &encoder, &options)?;
            let s = &model.summary;
            let translated = match s.translated {
                0 => String::new(),
                n => format!(
                    " ({n} of them translated into a language their intent had no examples in)"
                ),
            };
            println!(
                "trained {} intents ({}) on {} examples{translated} in {:.1} s -> {}",
                model.labels.len(),
                model.labels.join(", "),
                s.examples,
                s.seconds,
                out.display()
            );
            let meta = nlu::model::ModelMeta::load(&out)?;
            let kinds: Vec<String> = meta
                .entities
                .kinds()
                .iter()
                .map(|k| k.to_string())
                .collect();
            println!(
                "entity types: {} (builtins: {}; lookup tables: {}; regexes: {})",
                if kinds.is_empty() {
                    "none".to_string()
                } else {
                    kinds.join(", ")
                },
                meta.entities
                    .builtins
                    .iter()
                    .map(|b| b.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                meta.entities.lookups.len(),
                meta.entities.regexes.len()
            );
            if let Some(t) = &meta.tagger {
                let names = |v: Vec<String>| v.join(", ");
                let params = &meta.entities.params;
                println!(
                    "entity tagger: {} ({} annotated examples; tags the texts of {}){}",
                    names(t.types.iter().map(|k| k.to_string()).collect()),
                    t.examples,
                    if t.intents.is_empty() {
                        "every intent".to_string()
                    } else {
                        names(t.intents.iter().map(|i| i.to_string()).collect())
                    },
                    if params.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; reported as `param` entities: {}",
                            names(params.iter().map(|k| k.to_string()).collect())
                        )
                    }
                );
            }
            println!(
                "out-of-fold: accuracy {:.1}%, ECE {:.3} -> {:.3} (temperature {:.2}), in-scope rejected {:.1}%, out-of-scope recall {:.1}%",
                100.0 * s.oof_accuracy,
                s.oof_ece_before,
                s.oof_ece_after,
                model.head.temperature,
                100.0 * s.oof_in_scope_rejected,
                100.0 * s.oof_out_of_scope_recall
            );
            println!(
                "thresholds: fallback {:.3}, ambiguity margin {:.3}",
                model.thresholds.fallback, model.thresholds.ambiguity_margin
            );
            let stage = |name: &str, r: &nlu::classifier::cascade::CascadeMeta| {
                let c = &r.calibration;
                println!(
                    "cascade, {name}: exit at {:.3}; out of fold it answers {:.1}% of the examples, \
                     in-scope accuracy {:.2}% -> {:.2}% (full model -> cascade)",
                    r.threshold,
                    100.0 * c.answered,
                    100.0 * c.full_accuracy,
                    100.0 * c.cascade_accuracy
                );
            };
            if let Some(c) = &model.cascade {
                stage("sparse head", &c.rule);
            }
            if let Some(e) = &model.early {
                stage(
                    &format!("early head (layer {})", e.exit.layer),
                    &e.exit.rule,
                );
            }
        }
        Command::Bench {
            model,
            corpus,
            threads,
            rounds,
            throughput_rounds,
            no_bare,
            full,
            json,
        } => {
            let corpus = match corpus {
                Some(c) => c,
                None => nlu::bench::default_corpus()?,
            };
            let options = nlu::bench::BenchOptions {
                model_dir: model_dir(model)?,
                corpus: nlu::bench::read_corpus(&corpus)?,
                threads: threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                rounds,
                warmup: 1,
                throughput_rounds,
                bare: !no_bare,
                cascade: !full,
            };
            let report = nlu::bench::run(&options)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
        }
        Command::Benchmark {
            dataset,
            path,
            oos_mode,
            out,
            encoder,
            max_iter,
            l2,
            folds,
            cache,
            no_cache,
            head,
            json,
        } => {
            use nlu::eval::datasets::{default_datasets_dir, OosMode};
            let path = match path {
                Some(p) => p,
                None => default_datasets_dir()
                    .map(|d| d.join(dataset.default_folder()))
                    .context("cannot find the datasets/ folder of the repository (run from inside the repository, set NLU_DATASETS or pass --path)")?,
            };
            let options = nlu::eval::benchmark::BenchmarkOptions {
                dataset,
                path,
                oos_modes: match oos_mode {
                    OosArg::Class => vec![OosMode::Class],
                    OosArg::Threshold => vec![OosMode::Threshold],
                    OosArg::Both => vec![OosMode::Class, OosMode::Threshold],
                },
                encoder: encoder_dir(encoder)?,
                out,
                train: TrainOptions {
                    max_iter,
                    l2,
                    head,
                    progress: !json || std::io::IsTerminal::is_terminal(&std::io::stderr()),
                    ..Default::default()
                },
                folds_without_val: folds,
                cache: (!no_cache)
                    .then(|| cache.unwrap_or_else(nlu::eval::benchmark::default_cache_dir)),
            };
            let report = nlu::eval::benchmark::run(&options)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
        }
        #[cfg(feature = "serve")]
        Command::Serve(args) => nlu::serve::run(args.config()?)?,
        Command::Eval {
            cases,
            common,
            json,
            show,
            training_data,
        } => {
            let cases_path = cases;
            let cases = eval::read_cases(&cases_path)?;
            let training_data = training_data.or_else(|| {
                let models = nlu::default_model_dir().ok()?;
                let dir = models.parent()?.parent()?.join("training-data");
                (common.model.is_none() && dir.is_dir()).then_some(dir)
            });
            if let Some(dir) = training_data {
                warn_about_overlaps(&cases_path, &cases, &dir)?;
            }
            let (parser, now) = common.load()?;
            let known: Vec<nlu::IntentName> =
                parser.intents().iter().map(|i| i.name.clone()).collect();
            eval::check_intents(&cases_path, &cases, &known)?;
            let (results, stages): (Vec<_>, Vec<_>) =
                eval::parse_cases_staged(&parser, &cases, now)?
                    .into_iter()
                    .unzip();
            let entity_intents = parser.entity_intents();
            let mut report = eval::evaluate(&cases, &results, &entity_intents);
            report.record_stages(&cases, &results, &stages, &entity_intents);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text(show));
            }
        }
    }
    Ok(())
}

/// Prints a warning on stderr for each case that repeats an example of the training data
/// in `dir` (exactly or nearly, after `eval::disjoint`'s normalisation).
fn warn_about_overlaps(
    cases_path: &std::path::Path,
    cases: &[eval::Case],
    dir: &std::path::Path,
) -> Result<()> {
    let training = train::rasa::read_dir(dir)
        .with_context(|| format!("reading the training data in {}", dir.display()))?;
    let overlaps = eval::disjoint::find_overlaps(&training, cases, eval::disjoint::NEAR_DUPLICATE);
    if overlaps.is_empty() {
        return Ok(());
    }
    eprintln!(
        "warning: {} of the {} cases in {} repeat training examples of {} (after normalising case, punctuation, digits and entity values); the figures below overstate accuracy on new text:",
        overlaps.len(),
        cases.len(),
        cases_path.display(),
        dir.display()
    );
    const SHOWN: usize = 10;
    for o in overlaps.iter().take(SHOWN) {
        eprintln!(
            "  case {} {:?} ~ {}:{} {:?} (similarity {:.2})",
            o.case + 1,
            o.case_text,
            o.training_file,
            o.training_line,
            o.training_text,
            o.similarity
        );
    }
    if overlaps.len() > SHOWN {
        eprintln!("  ... and {} more", overlaps.len() - SHOWN);
    }
    Ok(())
}
