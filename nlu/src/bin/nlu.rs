//! The `nlu` command: parse, train and evaluate. Argument parsing and wiring only.

use anyhow::{Context, Result};
use clap::{Parser as ClapParser, Subcommand};
use nlu::eval;
use nlu::train::{self, TrainOptions};
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(ClapParser)]
#[command(name = "nlu", version, about = "Bilingual intent and entity parser for operations chat")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse each TEXT (or each line of stdin) and print one JSON parse result per line.
    Parse {
        /// Model directory (default: the committed models/ops-intents).
        #[arg(long)]
        model: Option<PathBuf>,
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
    },
    /// Evaluate a model on a JSONL file of cases.
    Eval {
        /// JSONL file of evaluation cases (the contract's format).
        #[arg(long)]
        cases: PathBuf,
        /// Model directory (default: the committed models/ops-intents).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// How many misclassified cases to list.
        #[arg(long, default_value_t = 50)]
        show: usize,
    },
}

fn model_dir(arg: Option<PathBuf>) -> Result<PathBuf> {
    match arg {
        Some(p) => Ok(p),
        None => Ok(nlu::default_model_dir()?),
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NLU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("nlu: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Parse { model, text } => {
            let parser = nlu::Parser::load(&model_dir(model)?)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let mut emit = |t: &str| -> Result<()> {
                let r = parser.parse(t)?;
                serde_json::to_writer(&mut out, &r)?;
                out.write_all(b"\n")?;
                Ok(())
            };
            if text.is_empty() {
                let stdin = std::io::stdin();
                for (i, line) in stdin.lock().split(b'\n').enumerate() {
                    let line = line.context("reading stdin")?;
                    let line = String::from_utf8(line)
                        .with_context(|| format!("stdin line {}: not valid UTF-8", i + 1))?;
                    emit(line.strip_suffix('\r').unwrap_or(&line))?;
                }
            } else {
                for t in &text {
                    emit(t)?;
                }
            }
            out.flush()?;
        }
        Command::Train {
            data,
            out,
            encoder,
            l2,
            folds,
            buckets,
        } => {
            let encoder = match encoder {
                Some(e) => e,
                None => model_dir(None)?
                    .parent()
                    .map(|p| p.join("multilingual-e5-small"))
                    .context("cannot locate models/multilingual-e5-small; pass --encoder")?,
            };
            let options = TrainOptions {
                l2,
                folds,
                buckets,
                ..Default::default()
            };
            let model = train::train_dir(&data, &out, &encoder, &options)?;
            let s = &model.summary;
            println!(
                "trained {} intents on {} examples in {:.1} s -> {}",
                model.labels.len(),
                s.examples,
                s.seconds,
                out.display()
            );
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
        }
        Command::Eval {
            cases,
            model,
            json,
            show,
        } => {
            let cases = eval::read_cases(&cases)?;
            let parser = nlu::Parser::load(&model_dir(model)?)?;
            let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
            let results = parser.parse_batch(&texts)?;
            let report = eval::evaluate(&cases, &results);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text(show));
            }
        }
    }
    Ok(())
}
