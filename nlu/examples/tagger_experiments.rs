//! Entity-tagger experiments on SNIPS without rerunning the whole benchmark for each setting:
//! the token states of the train, validation and test splits are computed once, then each
//! CONFIG is fitted and scored (validation F1, test F1 in brackets, as the design record in
//! `benches/report/tagger.md` reports them), with the validation errors broken down by kind.
//!
//! ```sh
//! cargo run -p nlu --release --example tagger_experiments -- [CONFIG...]
//! ```
//! A CONFIG is comma-separated `key=value` settings of [`TaggerOptions`]: `hidden`, `epochs`,
//! `seed`, `lr`, `l2`, `batch`, `crf` (0/1), `context` (0/1), `lexicon` (folds; 0: none),
//! `min_steps`, `max_epochs`, e.g. `hidden=192,seed=18`
//! (default: one run with the default options). `ENSEMBLE=1` fits every CONFIG and scores
//! them as one tagger instead: the geometric mean of their tag probabilities, decoded with
//! the mean of their transition scores (`ENSEMBLE=1 ... -- seed=17 seed=18 seed=19`).
//! `SUBSAMPLE=n` trains on n evenly spaced training texts only (a small data set), e.g.
//! `SUBSAMPLE=100 ... -- min_steps=1000 min_steps=200`.

use nlu::eval::datasets::{Dataset, Labeled, OosMode, Slot};
use nlu::eval::slots;
use nlu::tagger::{self, train::TaggerOptions};
use nlu::train::{self, TokenStates, TrainOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn parse_config(s: &str) -> anyhow::Result<TaggerOptions> {
    let mut o = TaggerOptions::default();
    for kv in s.split(',').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("`{kv}` is not key=value"))?;
        match k {
            "hidden" => o.hidden = v.parse()?,
            "epochs" => o.epochs = v.parse()?,
            "seed" => o.seed = v.parse()?,
            "lr" => o.learning_rate = v.parse()?,
            "l2" => o.l2 = v.parse()?,
            "batch" => o.batch = v.parse()?,
            "crf" => o.crf = v == "1",
            "context" => o.context = v == "1",
            "lexicon" => o.lexicon_folds = v.parse()?,
            "min_steps" => o.min_steps = v.parse()?,
            "max_epochs" => o.max_epochs = v.parse()?,
            _ => anyhow::bail!("unknown setting `{k}`"),
        }
    }
    Ok(o)
}

/// Tag probabilities of one text by a fitted tagger (with its lexicon's features).
fn probabilities(
    trained: &tagger::train::TrainedTagger,
    matcher: Option<&tagger::lexicon::LexiconMatcher>,
    item: &Labeled,
    st: &TokenStates,
) -> ndarray::Array2<f32> {
    let lexicon = matcher.map(|m| m.features(&item.text, &st.spans, st.states.nrows()));
    trained
        .weights
        .probabilities(st.states.view(), lexicon.as_ref().map(|l| l.view()))
}

/// Predicted slots of each text.
fn predict(
    trained: &tagger::train::TrainedTagger,
    types: &[String],
    items: &[Labeled],
    states: &[TokenStates],
) -> anyhow::Result<Vec<Vec<Slot>>> {
    let matcher = trained.matcher()?;
    Ok(items
        .iter()
        .zip(states)
        .map(|(item, st)| {
            let probs = probabilities(trained, matcher.as_ref(), item, st);
            decoded(item, st, &probs, &trained.meta.transitions, types)
        })
        .collect())
}

/// The slots that Viterbi decoding finds in one text's tag probabilities.
fn decoded(
    item: &Labeled,
    st: &TokenStates,
    probs: &ndarray::Array2<f32>,
    transitions: &[f32],
    types: &[String],
) -> Vec<Slot> {
    tagger::decode(&item.text, &st.spans, probs, transitions)
        .into_iter()
        .map(|((k, start, end), _)| Slot {
            entity: types[k].clone(),
            start,
            end,
        })
        .collect()
}

/// Predicted slots of each text by an ensemble of taggers: the geometric mean of their tag
/// probabilities, decoded with the mean of their transition scores.
fn predict_ensemble(
    fitted: &[tagger::train::TrainedTagger],
    types: &[String],
    items: &[Labeled],
    states: &[TokenStates],
) -> anyhow::Result<Vec<Vec<Slot>>> {
    let matchers = fitted
        .iter()
        .map(|f| f.matcher())
        .collect::<nlu::Result<Vec<_>>>()?;
    let k = fitted.len().max(1) as f32;
    let mut transitions = vec![0f32; fitted.first().map_or(0, |f| f.meta.transitions.len())];
    for f in fitted {
        for (a, b) in transitions.iter_mut().zip(&f.meta.transitions) {
            *a += b / k;
        }
    }
    Ok(items
        .iter()
        .zip(states)
        .map(|(item, st)| {
            let mut log_mean: Option<ndarray::Array2<f32>> = None;
            for (f, m) in fitted.iter().zip(&matchers) {
                let p = probabilities(f, m.as_ref(), item, st).mapv(|v| v.max(1e-12).ln() / k);
                log_mean = Some(match log_mean {
                    Some(m) => m + p,
                    None => p,
                });
            }
            let probs = log_mean.map(|m| m.mapv(f32::exp)).unwrap_or_default();
            decoded(item, st, &probs, &transitions, types)
        })
        .collect())
}

/// Counts the errors by kind: a gold span with a predicted one of the same range but another
/// type (type), one overlapping it with another range (boundary, and of the same type or not),
/// none overlapping it (missed); a predicted span overlapping no gold one (spurious).
fn error_kinds(items: &[Labeled], predicted: &[Vec<Slot>]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    let overlaps = |a: &Slot, b: &Slot| a.start < b.end && b.start < a.end;
    for (item, pred) in items.iter().zip(predicted) {
        for g in &item.slots {
            if pred.contains(g) {
                continue;
            }
            let kind = match pred.iter().find(|p| overlaps(p, g)) {
                None => "missed",
                Some(p) if p.start == g.start && p.end == g.end => "type",
                Some(p) if p.entity == g.entity => "boundary",
                Some(_) => "boundary and type",
            };
            *out.entry(kind).or_default() += 1;
        }
        for p in pred {
            if !item.slots.iter().any(|g| overlaps(p, g)) {
                *out.entry("spurious").or_default() += 1;
            }
        }
    }
    out
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let configs: Vec<String> = std::env::args().skip(1).collect();
    let configs = if configs.is_empty() {
        vec![String::new()]
    } else {
        configs
    };
    let options: Vec<TaggerOptions> = configs
        .iter()
        .map(|c| parse_config(c))
        .collect::<anyhow::Result<_>>()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let splits = Dataset::Snips.read(&root.join("datasets/snips_jointbert"), OosMode::Class)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let encoder = train::training_encoder(
        &root.join("models/multilingual-e5-small"),
        &TrainOptions::default(),
        threads,
    )?;
    let texts = splits.texts();
    let start = Instant::now();
    let (_, mut states) = train::embed_all_with_states(&encoder, &texts, true, true)?;
    eprintln!(
        "token states of {} texts in {:.0} s",
        texts.len(),
        start.elapsed().as_secs_f32()
    );
    let (a, b) = (splits.train.len(), splits.train.len() + splits.val.len());
    let test_states = states.split_off(b);
    let val_states = states.split_off(a);
    let mut train_states = states;
    let mut splits = splits;
    // SUBSAMPLE=n: train on n of the training texts (every k-th), as a small data set
    if let Some(n) = std::env::var("SUBSAMPLE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let k = (splits.train.len() / n).max(1);
        let keep: Vec<usize> = (0..splits.train.len())
            .filter(|i| i % k == 0)
            .take(n)
            .collect();
        splits.train = keep.iter().map(|&i| splits.train[i].clone()).collect();
        train_states = keep.iter().map(|&i| train_states[i].clone()).collect();
        eprintln!("training on {} texts", splits.train.len());
    }

    let training = slots::SlotTraining::of(&splits.train);
    let train_texts: Vec<&str> = splits.train.iter().map(|e| e.text.as_str()).collect();
    let (types, kinds) = (&training.types, training.kinds());
    let gold = |items: &[Labeled]| items.iter().map(|e| e.slots.clone()).collect::<Vec<_>>();
    let fit_one = |opts: &TaggerOptions| {
        tagger::train::train(
            &train_texts,
            train_states.clone(),
            &training.annotations,
            &training.intents,
            kinds.clone(),
            opts,
        )
    };
    if std::env::var_os("ENSEMBLE").is_some() {
        let start = Instant::now();
        let fitted = options
            .iter()
            .map(fit_one)
            .collect::<nlu::Result<Vec<_>>>()?;
        let fit = start.elapsed().as_secs_f32();
        let (val_pred, test_pred) = (
            predict_ensemble(&fitted, types, &splits.val, &val_states)?,
            predict_ensemble(&fitted, types, &splits.test, &test_states)?,
        );
        let val = slots::score(&gold(&splits.val), &val_pred);
        let test = slots::score(&gold(&splits.test), &test_pred);
        println!(
            "[ensemble of {}: {}] validation F1 {:.1} (test {:.1}); fit {fit:.0} s",
            fitted.len(),
            configs.join(" "),
            val.all.f1 * 100.0,
            test.all.f1 * 100.0,
        );
        return Ok(());
    }
    for (config, opts) in configs.iter().zip(&options) {
        let start = Instant::now();
        let trained = fit_one(opts)?;
        let fit = start.elapsed().as_secs_f32();
        let val_pred = predict(&trained, types, &splits.val, &val_states)?;
        let test_pred = predict(&trained, types, &splits.test, &test_states)?;
        let val = slots::score(&gold(&splits.val), &val_pred);
        let test = slots::score(&gold(&splits.test), &test_pred);
        println!(
            "[{}] validation F1 {:.1} (test {:.1}); fit {:.0} s; validation errors {:?}",
            if config.is_empty() { "default" } else { config },
            val.all.f1 * 100.0,
            test.all.f1 * 100.0,
            fit,
            error_kinds(&splits.val, &val_pred)
        );
        let shown: usize = std::env::var("ERRORS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let wrong = splits
            .val
            .iter()
            .zip(&val_pred)
            .filter(|(item, pred)| {
                let mut g = item.slots.clone();
                let mut p = (*pred).clone();
                g.sort();
                p.sort();
                g != p
            })
            .take(shown);
        for (item, pred) in wrong {
            let show = |s: &[Slot]| {
                s.iter()
                    .map(|s| {
                        let t: String = item
                            .text
                            .chars()
                            .skip(s.start)
                            .take(s.end.saturating_sub(s.start))
                            .collect();
                        format!("{}={t}", s.entity)
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            };
            println!(
                "  {}\n    gold: {}\n    pred: {}",
                item.text,
                show(&item.slots),
                show(pred)
            );
        }
        if std::env::var_os("PER_TYPE").is_some() {
            for (k, prf) in &val.per_type {
                println!("  {k:<28} F1 {:5.1} of {:3}", prf.f1 * 100.0, prf.support);
            }
        }
    }
    Ok(())
}
