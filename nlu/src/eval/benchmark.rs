//! Accuracy on public benchmarks: train a head on a dataset's training split, calibrate it on
//! its validation split (or out-of-fold when it has none), and score the test split with the
//! same decision policy ([`crate::parser::decide_labels`]) and the same metric code
//! ([`super::intent_metrics`]) as the contract's evaluation.
//!
//! The head is saved as a model directory and the test split is scored through its ONNX
//! graph, the same path `parse` takes.

use super::datasets::{Dataset, OosMode, Slot, Splits, OUT_OF_SCOPE};
use super::slots::{self, SlotScores};
use super::{confusion_pairs, intent_metrics, IntentMetrics, Prf, Scored};
use crate::classifier::cascade::{self, CascadeMeta};
use crate::classifier::encoder::Encoder;
use crate::classifier::head::{Head, HEAD_FILE};
use crate::classifier::sparse_head::{SparseHead, SPARSE_HEAD_FILE};
use crate::error::{NluError, Result};
use crate::model::Thresholds;
use crate::parser::decide_labels;
use crate::result::Outcome;
use crate::tagger::{self, Tagger};
use crate::train::calibrate::{self, Bin};
use crate::train::{self, Embedded, TokenStates, TrainOptions, TrainedModel};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchmarkOptions {
    pub dataset: Dataset,
    /// The dataset's folder.
    pub path: PathBuf,
    /// For CLINC150: the out-of-scope settings to run (each trains its own head; the texts
    /// are embedded once). Ignored for datasets without out-of-scope queries.
    pub oos_modes: Vec<OosMode>,
    /// The encoder directory.
    pub encoder: PathBuf,
    /// Where to write the trained model directories (`<out>/<dataset>[-<mode>]`); a
    /// temporary directory, removed afterwards, when absent.
    pub out: Option<PathBuf>,
    pub train: TrainOptions,
    /// Folds for calibration when the dataset has no validation split.
    pub folds_without_val: usize,
    /// Folder of the embedding cache (see [`EmbeddingCache`]); `None` embeds every time.
    pub cache: Option<PathBuf>,
}

/// The default folder of the embedding cache: `.cache/embeddings` under the repository
/// root (the folder above `datasets/`), else under the current folder.
pub fn default_cache_dir() -> PathBuf {
    super::datasets::default_datasets_dir()
        .and_then(|d| d.parent().map(|p| p.join(".cache/embeddings")))
        .unwrap_or_else(|| PathBuf::from(".cache/embeddings"))
}

/// A cache of embeddings and token ids on disk, so that head experiments on a benchmark only
/// refit: one file per list of texts, named by a 64-bit FNV-1a hash of the encoder's files
/// (`encoder.onnx`, `tokenizer.json`), the token window and the texts. A file that is
/// missing, truncated or of another shape is ignored (and rewritten).
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    dir: PathBuf,
}

/// First bytes of a cache file (version 2: with the early layers' pooled states when the
/// encoder was cut for the early exit; version 3: with the pooled layer and the width of the
/// sentence embedding).
const CACHE_MAGIC: &[u8; 8] = b"NLUEMB03";

/// 64-bit FNV-1a.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl EmbeddingCache {
    /// A cache in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        EmbeddingCache { dir: dir.into() }
    }

    /// The file that holds the embeddings of `texts` under `encoder`.
    pub fn path(&self, name: &str, encoder: &Encoder, texts: &[String]) -> Result<PathBuf> {
        let mut h = Fnv::new();
        for file in [
            crate::classifier::encoder::ENCODER_FILE,
            crate::classifier::encoder::TOKENIZER_FILE,
        ] {
            let path = encoder.dir().join(file);
            let bytes = std::fs::read(&path).map_err(|e| NluError::io(&path, e))?;
            h.write(&(bytes.len() as u64).to_le_bytes());
            h.write(&bytes);
        }
        h.write(&(encoder.max_tokens() as u64).to_le_bytes());
        h.write(&(encoder.exit_layer().unwrap_or(0) as u64).to_le_bytes());
        h.write(&(encoder.pooled_layer().unwrap_or(0) as u64).to_le_bytes());
        for t in texts {
            h.write(&(t.len() as u64).to_le_bytes());
            h.write(t.as_bytes());
        }
        Ok(self.dir.join(format!("{name}-{:016x}.bin", h.0)))
    }

    /// Reads a cache file written for `n` texts of `dim` values each (the sentence embedding,
    /// then the states of layer `pooled` when given), with the early layers' states after
    /// `layer` when given; `None` when it is missing or does not match.
    pub fn load(
        path: &Path,
        n: usize,
        dim: usize,
        layer: Option<usize>,
        pooled: Option<usize>,
    ) -> Option<Embedded> {
        let bytes = std::fs::read(path).ok()?;
        let mut r = Reader {
            bytes: &bytes,
            at: 0,
        };
        if r.take(8)? != CACHE_MAGIC
            || r.u64()? != n as u64
            || r.u64()? != dim as u64
            || r.u64()? != layer.unwrap_or(0) as u64
            || r.u64()? != pooled.unwrap_or(0) as u64
        {
            return None;
        }
        let sentence_dim = usize::try_from(r.u64()?).ok().filter(|&d| d <= dim)?;
        let matrix = |r: &mut Reader<'_>| {
            let mut values = Vec::with_capacity(n * dim);
            for _ in 0..n * dim {
                values.push(f32::from_le_bytes(r.take(4)?.try_into().ok()?));
            }
            ndarray::Array2::from_shape_vec((n, dim), values).ok()
        };
        let embeddings = matrix(&mut r)?;
        let early = match layer {
            Some(layer) => Some(train::EarlyEmbeddings {
                layer,
                embeddings: matrix(&mut r)?,
            }),
            None => None,
        };
        let mut tokens = Vec::with_capacity(n);
        for _ in 0..n {
            let len = usize::try_from(r.u64()?).ok()?;
            let mut ids = Vec::with_capacity(len.min(1 << 16));
            for _ in 0..len {
                ids.push(i64::from(u32::from_le_bytes(r.take(4)?.try_into().ok()?)));
            }
            tokens.push(ids);
        }
        (r.at == bytes.len()).then_some(Embedded {
            embeddings,
            sentence_dim,
            pooled_layer: pooled,
            tokens,
            early,
        })
    }

    /// Writes `data` to `path` (through a temporary file, renamed into place).
    pub fn save(path: &Path, data: &Embedded) -> Result<()> {
        let (n, dim) = data.embeddings.dim();
        let mut out = Vec::with_capacity(24 + n * dim * 4 + n * 200);
        out.extend_from_slice(CACHE_MAGIC);
        out.extend_from_slice(&(n as u64).to_le_bytes());
        out.extend_from_slice(&(dim as u64).to_le_bytes());
        let layer = data.early.as_ref().map_or(0, |e| e.layer);
        out.extend_from_slice(&(layer as u64).to_le_bytes());
        out.extend_from_slice(&(data.pooled_layer.unwrap_or(0) as u64).to_le_bytes());
        out.extend_from_slice(&(data.sentence_dim as u64).to_le_bytes());
        let early = data.early.iter().flat_map(|e| e.embeddings.iter());
        for v in data.embeddings.iter().chain(early) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for ids in &data.tokens {
            out.extend_from_slice(&(ids.len() as u64).to_le_bytes());
            for &id in ids {
                let id = u32::try_from(id)
                    .map_err(|_| NluError::Training(format!("token id {id} out of range")))?;
                out.extend_from_slice(&id.to_le_bytes());
            }
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| NluError::io(dir, e))?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &out).map_err(|e| NluError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| NluError::io(path, e))
    }
}

/// A cursor over a cache file's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, k: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(k)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Scores of the test split under one decision policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyScores {
    /// `argmax` (top label, no rejection), `fallback` (the threshold chosen with the model:
    /// balanced in-scope accuracy + out-of-scope recall on validation where it has
    /// out-of-scope rows), or `fallback_val_accuracy` (the threshold maximizing plain
    /// validation accuracy).
    pub policy: String,
    pub fallback: f32,
    /// Accuracy over all test items (an out-of-scope item is right when rejected).
    pub accuracy: f32,
    /// Accuracy over the in-scope test items (a rejected in-scope item is wrong).
    pub in_scope_accuracy: f32,
    /// Recall and precision of out-of-scope (absent for datasets without out-of-scope items).
    pub out_of_scope: Option<Prf>,
    pub in_scope_rejected: f32,
    pub macro_f1: f32,
    pub expected_calibration_error: f32,
    /// The most frequent (expected, got, count) errors under this policy.
    pub confusions: Vec<(String, String, usize)>,
}

/// One trained and scored head.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub dataset: String,
    /// `class` or `threshold` for CLINC150.
    pub oos_mode: Option<String>,
    pub labels: usize,
    pub train_examples: usize,
    pub val_examples: usize,
    pub test_examples: usize,
    /// How the temperature and thresholds were chosen: `validation split` or `N-fold`.
    pub calibrated_on: String,
    pub fit_seconds: f32,
    pub temperature: f32,
    pub thresholds: Thresholds,
    /// Calibration error of the held-out predictions before and after temperature scaling.
    pub heldout_ece_before: f32,
    pub heldout_ece_after: f32,
    /// The headline policy first.
    pub scores: Vec<PolicyScores>,
    /// The most frequent (expected, got, count) errors under the headline policy.
    pub confusions: Vec<(String, String, usize)>,
    /// Reliability diagram of top-1 confidences on the test split (argmax policy, in-scope
    /// items; for a model with an out-of-scope class, all items).
    pub reliability: Vec<Bin>,
    pub model_dir: Option<PathBuf>,
    /// The same test split through the cascade (the sparse head answers where it is sure),
    /// when the model has a sparse head.
    pub cascade: Option<CascadeRun>,
}

/// The cascade on a benchmark's test split, next to the full model's [`RunReport::scores`].
#[derive(Debug, Clone, Serialize)]
pub struct CascadeRun {
    /// The exit rule, with its figures on the validation split (or out of fold).
    pub rule: CascadeMeta,
    /// Share of the test texts the sparse head answered.
    pub answered: f32,
    /// The early head, when the cascade has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early: Option<EarlyRun>,
    /// Scores of the cascade's decisions, under the same policies as the full model's.
    pub scores: Vec<PolicyScores>,
}

/// The cascade's early head on a benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct EarlyRun {
    /// Where the encoder is cut, and the exit rule with its figures on the validation split
    /// (or out of fold; they count the sparse head's answers as the cascade's).
    pub exit: cascade::EarlyExit,
    /// Share of the test texts the early head answered.
    pub answered: f32,
}

/// Everything one `nlu benchmark` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkReport {
    pub dataset: String,
    pub texts_embedded: usize,
    /// Seconds spent embedding (or reading the embedding cache).
    pub embed_seconds: f32,
    /// Whether the embeddings came from the cache.
    pub embeddings_cached: bool,
    pub runs: Vec<RunReport>,
    /// The entity tagger's scores, for datasets with slots.
    pub slots: Option<SlotReport>,
}

/// Embedded splits.
struct EmbeddedSplits {
    from_cache: bool,
    train: Embedded,
    val: Embedded,
    test: Embedded,
    /// Token states of the train, validation and test texts, when the dataset has slots.
    states: Option<[Vec<TokenStates>; 3]>,
}

/// The entity tagger's scores on a dataset with slot annotations (SNIPS).
#[derive(Debug, Clone, Serialize)]
pub struct SlotReport {
    /// Entity types of the training split.
    pub types: usize,
    pub train_examples: usize,
    /// Training texts with at least one slot.
    pub annotated_examples: usize,
    pub test_examples: usize,
    /// Seconds spent fitting the tagger (the token states come from the embedding pass).
    pub fit_seconds: f32,
    /// Exact span and type, conlleval-style, through the saved `tagger.onnx`.
    pub scores: SlotScores,
    /// The same F1 on the validation split (where settings are compared).
    pub val_f1: f32,
}

fn rows(e: &Embedded, idx: &[usize]) -> Embedded {
    Embedded {
        embeddings: e.embeddings.select(ndarray::Axis(0), idx),
        sentence_dim: e.sentence_dim,
        pooled_layer: e.pooled_layer,
        tokens: idx.iter().map(|&i| e.tokens[i].clone()).collect(),
        early: e.early.as_ref().map(|x| crate::train::EarlyEmbeddings {
            layer: x.layer,
            embeddings: x.embeddings.select(ndarray::Axis(0), idx),
        }),
    }
}

fn embed_splits(
    encoder: &Encoder,
    s: &Splits,
    progress: bool,
    cache: Option<(&EmbeddingCache, &str)>,
    states: bool,
) -> Result<EmbeddedSplits> {
    let texts = s.texts();
    let path = match cache {
        Some((c, name)) => Some(c.path(name, encoder, &texts)?),
        None => None,
    };
    // the token states are not cached: with them, the encoder runs anyway
    let cached = path.as_deref().filter(|_| !states).and_then(|p| {
        EmbeddingCache::load(
            p,
            texts.len(),
            encoder.feature_dim(),
            encoder.exit_layer(),
            encoder.pooled_layer(),
        )
    });
    let from_cache = cached.is_some();
    let (all, mut token_states) = match cached {
        Some(all) => {
            tracing::info!(path = ?path, "embeddings read from the cache");
            (all, Vec::new())
        }
        None => {
            let (all, token_states) =
                train::embed_all_with_states(encoder, &texts, states, progress)?;
            if let Some(p) = &path {
                EmbeddingCache::save(p, &all)?;
            }
            (all, token_states)
        }
    };
    let (a, b) = (s.train.len(), s.train.len() + s.val.len());
    let range = |r: std::ops::Range<usize>| rows(&all, &r.collect::<Vec<_>>());
    let states = if states {
        let test = token_states.split_off(b);
        let val = token_states.split_off(a);
        Some([token_states, val, test])
    } else {
        None
    };
    Ok(EmbeddedSplits {
        from_cache,
        train: range(0..a),
        val: range(a..b),
        test: range(b..texts.len()),
        states,
    })
}

/// Runs the benchmark: reads the dataset, embeds every text once, trains and scores a head
/// per out-of-scope setting.
pub fn run(options: &BenchmarkOptions) -> Result<BenchmarkReport> {
    let modes: Vec<Option<OosMode>> = if options.dataset == Dataset::Clinc150 {
        if options.oos_modes.is_empty() {
            vec![Some(OosMode::Class), Some(OosMode::Threshold)]
        } else {
            options.oos_modes.iter().copied().map(Some).collect()
        }
    } else {
        vec![None]
    };
    // the class-mode splits are a superset: threshold mode drops the out-of-scope training rows
    let splits = options.dataset.read(&options.path, OosMode::Class)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // cut for the cascade's early head and pooling a layer, as `nlu train` does
    let encoder = train::training_encoder(&options.encoder, &options.train, threads)?;
    let start = Instant::now();
    tracing::info!(
        dataset = %options.dataset,
        texts = splits.train.len() + splits.val.len() + splits.test.len(),
        "embedding"
    );
    let cache = options.cache.as_ref().map(EmbeddingCache::new);
    let name = options.dataset.to_string();
    let has_slots = splits.train.iter().any(|e| !e.slots.is_empty());
    let mut embedded = embed_splits(
        &encoder,
        &splits,
        options.train.progress,
        cache.as_ref().map(|c| (c, name.as_str())),
        has_slots,
    )?;
    let states = embedded.states.take();
    let embed_seconds = start.elapsed().as_secs_f32();
    let tmp = std::env::temp_dir().join(format!("nlu-benchmark-{}", std::process::id()));
    let out_root = options.out.clone().unwrap_or_else(|| tmp.clone());
    let bar = if options.train.progress {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message(format!(
        "fitting and scoring {} head{} (logistic regression, L-BFGS)",
        modes.len(),
        if modes.len() == 1 {
            ""
        } else {
            "s, side by side"
        }
    ));
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    // the out-of-scope settings train independent heads: one thread each
    let runs = crate::parallel::parallel_map(&modes, |&mode| {
        let name = match mode {
            Some(m) => format!("{}-{}", options.dataset, m),
            None => options.dataset.to_string(),
        };
        let dir = out_root.join(&name);
        let run = run_one(options, mode, &splits, &embedded, &dir);
        if options.out.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        let mut run = run?;
        if options.out.is_some() {
            run.model_dir = Some(dir);
        }
        Ok(run)
    });
    bar.finish_and_clear();
    let slots = match states {
        Some([train_states, val_states, test_states]) => {
            let dir = out_root.join(format!("{}-tagger", options.dataset));
            let report = run_slots(&splits, train_states, &val_states, &test_states, &dir);
            if options.out.is_none() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Some(report?)
        }
        None => None,
    };
    if options.out.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let runs = runs?;
    Ok(BenchmarkReport {
        dataset: options.dataset.to_string(),
        texts_embedded: splits.train.len() + splits.val.len() + splits.test.len(),
        embed_seconds,
        embeddings_cached: embedded.from_cache,
        runs,
        slots,
    })
}

/// Trains the entity tagger on the training split's slots, the same way `nlu train` does,
/// saves it, and scores the test split's spans through the saved graph.
fn run_slots(
    splits: &Splits,
    train_states: Vec<TokenStates>,
    val_states: &[TokenStates],
    test_states: &[TokenStates],
    dir: &Path,
) -> Result<SlotReport> {
    let training = slots::SlotTraining::of(&splits.train);
    let kinds = training.kinds();
    let slots::SlotTraining {
        types,
        annotations,
        intents,
    } = training;
    let start = Instant::now();
    let texts: Vec<&str> = splits.train.iter().map(|e| e.text.as_str()).collect();
    let trained = tagger::train::train(
        &texts,
        train_states,
        &annotations,
        &intents,
        kinds,
        &tagger::train::TaggerOptions::default(),
    )?;
    let fit_seconds = start.elapsed().as_secs_f32();
    std::fs::create_dir_all(dir).map_err(|e| NluError::io(dir, e))?;
    let path = dir.join(tagger::TAGGER_FILE);
    std::fs::write(&path, trained.weights.to_graph(&types).to_bytes())
        .map_err(|e| NluError::io(&path, e))?;
    let loaded = Tagger::load(&path, &trained.meta, 1)?;
    let score_split = |items: &[super::datasets::Labeled], states: &[TokenStates]| {
        let mut predicted = Vec::with_capacity(items.len());
        for (item, st) in items.iter().zip(states) {
            let spans = loaded.tag(&item.text, &st.spans, st.states.view())?;
            predicted.push(
                spans
                    .into_iter()
                    .map(|t| Slot {
                        entity: t.entity.to_string(),
                        start: t.start,
                        end: t.end,
                    })
                    .collect(),
            );
        }
        let gold: Vec<Vec<Slot>> = items.iter().map(|e| e.slots.clone()).collect();
        Ok::<_, NluError>(slots::score(&gold, &predicted))
    };
    let val = score_split(&splits.val, val_states)?;
    Ok(SlotReport {
        types: types.len(),
        train_examples: splits.train.len(),
        annotated_examples: annotations.iter().filter(|a| !a.is_empty()).count(),
        test_examples: splits.test.len(),
        fit_seconds,
        val_f1: val.all.f1,
        scores: score_split(&splits.test, test_states)?,
    })
}

fn run_one(
    options: &BenchmarkOptions,
    mode: Option<OosMode>,
    splits: &Splits,
    embedded: &EmbeddedSplits,
    dir: &Path,
) -> Result<RunReport> {
    let keep: Vec<usize> = (0..splits.train.len())
        .filter(|&i| mode != Some(OosMode::Threshold) || splits.train[i].label != OUT_OF_SCOPE)
        .collect();
    let train_rows = rows(&embedded.train, &keep);
    let sub = Splits {
        train: keep.iter().map(|&i| splits.train[i].clone()).collect(),
        val: Vec::new(),
        test: Vec::new(),
    };
    let label_names = sub.train_labels();
    let index = |l: &str| label_names.iter().position(|x| x == l);
    let labels: Vec<usize> = sub.train.iter().filter_map(|e| index(&e.label)).collect();
    let start = Instant::now();
    let (mut model, calibrated_on): (TrainedModel, String) = if splits.val.is_empty() {
        let mut o = options.train;
        o.folds = options.folds_without_val.max(2);
        let m = train::fit_head(&train_rows, &labels, &label_names, &o)?;
        (
            m,
            format!("{}-fold out-of-fold predictions on train", o.folds),
        )
    } else {
        let val_labels: Vec<Option<usize>> = splits.val.iter().map(|e| index(&e.label)).collect();
        let m = train::fit_head_validated(
            &train_rows,
            &labels,
            &label_names,
            &embedded.val,
            &val_labels,
            &options.train,
        )?;
        (m, "validation split".to_string())
    };
    let fit_seconds = start.elapsed().as_secs_f32();
    if let Some(c) = model.cascade.as_mut() {
        c.rule.languages = cascade::training_languages(sub.train.iter().map(|e| e.text.as_str()));
    }
    train::save(&model, dir, &options.encoder, options.train.max_tokens)?;
    // score the test split through the saved ONNX head
    let head = Head::load(&dir.join(HEAD_FILE), label_names.len(), 1)?;
    let probs: Vec<Vec<f32>> = (0..splits.test.len())
        .map(|i| {
            let emb = embedded.test.embeddings.row(i);
            let emb = emb
                .as_slice()
                .ok_or_else(|| NluError::Training("embedding row not contiguous".into()))?;
            head.probabilities(emb, &embedded.test.tokens[i])
        })
        .collect::<Result<_>>()?;
    let gold: Vec<&str> = splits.test.iter().map(|e| e.label.as_str()).collect();
    let has_oos = gold.contains(&OUT_OF_SCOPE);
    let oos = index(OUT_OF_SCOPE);
    let argmax = Thresholds {
        fallback: 0.0,
        ambiguity_margin: model.thresholds.ambiguity_margin,
    };
    let mut policies = vec![("fallback", model.thresholds), ("argmax", argmax)];
    // where validation has out-of-scope rows, also the threshold maximizing plain accuracy on
    // them (the conservative operating point, closer to the literature's)
    let val_oos: Vec<bool> = splits.val.iter().map(|e| e.label == OUT_OF_SCOPE).collect();
    if val_oos.iter().any(|&o| o) {
        let rows: Vec<(usize, f32, bool)> = (0..splits.val.len())
            .map(|i| {
                let emb = embedded.val.embeddings.row(i);
                let emb = emb
                    .as_slice()
                    .ok_or_else(|| NluError::Training("embedding row not contiguous".into()))?;
                let p = head.probabilities(emb, &embedded.val.tokens[i])?;
                let top = crate::train::logreg::argmax(&p).unwrap_or(0);
                Ok((top, p[top], label_names[top] == splits.val[i].label))
            })
            .collect::<Result<_>>()?;
        let t = Thresholds {
            fallback: calibrate::accuracy_fallback(&rows, &val_oos, oos),
            ambiguity_margin: model.thresholds.ambiguity_margin,
        };
        policies.push(("fallback_val_accuracy", t));
    }
    if !has_oos {
        // the literature's accuracy on closed-set benchmarks is the argmax's
        policies.reverse();
    }
    let policy_scores = |probs: &[Vec<f32>]| {
        policies
            .iter()
            .map(|(policy, t)| {
                let (m, in_scope, pairs) = score(probs, &gold, &label_names, oos, *t);
                let scores = PolicyScores {
                    policy: policy.to_string(),
                    fallback: t.fallback,
                    accuracy: m.intent_accuracy,
                    in_scope_accuracy: in_scope.intent_accuracy,
                    out_of_scope: has_oos.then_some(m.out_of_scope),
                    in_scope_rejected: m.in_scope_rejected,
                    macro_f1: m.macro_f1,
                    expected_calibration_error: m.expected_calibration_error,
                    confusions: pairs.iter().take(15).cloned().collect(),
                };
                (scores, pairs)
            })
            .collect::<Vec<_>>()
    };
    // the cascade: the sparse head's probabilities where it answers, under the model's
    // thresholds, the full model's elsewhere
    let cascade_run = match &model.cascade {
        Some(c) => {
            let sparse = SparseHead::load(&dir.join(SPARSE_HEAD_FILE), label_names.len(), 1)?;
            // the early head reads the test texts' pooled early states
            let early = match (&model.early, &embedded.test.early) {
                (Some(e), Some(states)) => Some((
                    e,
                    Head::load(&dir.join(cascade::EARLY_HEAD_FILE), label_names.len(), 1)?,
                    states,
                )),
                _ => None,
            };
            let mut mixed = probs.clone();
            let (mut answered, mut answered_early) = (0usize, 0usize);
            for (i, ids) in embedded.test.tokens.iter().enumerate() {
                // a text in a language the training data lacks gets the full model
                if !c.rule.reads(&splits.test[i].text) {
                    continue;
                }
                let s = sparse.scores(ids)?;
                let sure = |p: &[f32], rule: &CascadeMeta| {
                    cascade::sparse_answers(p, s.known_fraction, rule, oos, model.thresholds)
                };
                if sure(&s.probabilities, &c.rule) {
                    mixed[i] = s.probabilities;
                    answered += 1;
                } else if let Some((e, head, states)) = &early {
                    let row = states.embeddings.row(i);
                    let row = row
                        .as_slice()
                        .ok_or_else(|| NluError::Training("embedding row not contiguous".into()))?;
                    let p = head.probabilities(row, ids)?;
                    if sure(&p, &e.exit.rule) {
                        mixed[i] = p;
                        answered_early += 1;
                    }
                }
            }
            let n = probs.len().max(1) as f32;
            Some(CascadeRun {
                rule: c.rule.clone(),
                answered: answered as f32 / n,
                early: early.map(|(e, _, _)| EarlyRun {
                    exit: e.exit.clone(),
                    answered: answered_early as f32 / n,
                }),
                scores: policy_scores(&mixed).into_iter().map(|(s, _)| s).collect(),
            })
        }
        None => None,
    };
    let full_scores = policy_scores(&probs);
    let confusions: Vec<(String, String, usize)> = full_scores
        .first()
        .map(|(_, pairs)| pairs.iter().take(25).cloned().collect())
        .unwrap_or_default();
    let scores: Vec<PolicyScores> = full_scores.into_iter().map(|(s, _)| s).collect();
    // reliability of the top-1 probability
    let (conf, correct): (Vec<f32>, Vec<bool>) = probs
        .iter()
        .zip(&gold)
        .filter(|(_, g)| oos.is_some() || **g != OUT_OF_SCOPE)
        .map(|(p, g)| {
            let top = crate::train::logreg::argmax(p).unwrap_or(0);
            (p[top], label_names[top] == *g)
        })
        .unzip();
    Ok(RunReport {
        dataset: options.dataset.to_string(),
        oos_mode: mode.map(|m| m.to_string()),
        labels: label_names.len(),
        train_examples: keep.len(),
        val_examples: splits.val.len(),
        test_examples: splits.test.len(),
        calibrated_on,
        fit_seconds,
        temperature: model.head.temperature,
        thresholds: model.thresholds,
        heldout_ece_before: model.summary.oof_ece_before,
        heldout_ece_after: model.summary.oof_ece_after,
        scores,
        confusions,
        reliability: calibrate::reliability(&conf, &correct, 10),
        model_dir: None,
        cascade: cascade_run,
    })
}

/// Scores test probabilities under thresholds `t`: all items, in-scope items, confusions.
fn score(
    probs: &[Vec<f32>],
    gold: &[&str],
    label_names: &[String],
    oos: Option<usize>,
    t: Thresholds,
) -> (IntentMetrics, IntentMetrics, Vec<(String, String, usize)>) {
    let scored: Vec<Scored<'_>> = probs
        .iter()
        .zip(gold)
        .map(|(p, &g)| {
            let d = decide_labels(p, oos, t);
            let got = match (d.outcome, d.label) {
                (Outcome::OutOfScope, _) | (_, None) => OUT_OF_SCOPE,
                (_, Some(i)) => label_names[i].as_str(),
            };
            Scored {
                expected: g,
                got,
                outcome: d.outcome,
                confidence: d.confidence,
            }
        })
        .collect();
    let all = intent_metrics(&scored, OUT_OF_SCOPE);
    let in_scope: Vec<Scored<'_>> = scored
        .iter()
        .filter(|s| s.expected != OUT_OF_SCOPE)
        .copied()
        .collect();
    let in_m = intent_metrics(&in_scope, OUT_OF_SCOPE);
    let pairs = confusion_pairs(
        scored
            .iter()
            .map(|s| (s.expected.to_string(), s.got.to_string())),
    );
    (all, in_m, pairs)
}

impl BenchmarkReport {
    /// A readable summary.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: {} texts embedded in {:.1} s{}",
            self.dataset,
            self.texts_embedded,
            self.embed_seconds,
            if self.embeddings_cached {
                " (read from the cache)"
            } else {
                ""
            }
        );
        for r in &self.runs {
            let _ = writeln!(
                s,
                "\n{}{}: {} labels, train {} / val {} / test {}; fitted in {:.1} s, calibrated on {}; T = {:.2}, fallback {:.3}; held-out ECE {:.3} -> {:.3}",
                r.dataset,
                r.oos_mode.as_deref().map(|m| format!(" (out-of-scope as {m})")).unwrap_or_default(),
                r.labels,
                r.train_examples,
                r.val_examples,
                r.test_examples,
                r.fit_seconds,
                r.calibrated_on,
                r.temperature,
                r.thresholds.fallback,
                r.heldout_ece_before,
                r.heldout_ece_after,
            );
            let _ = writeln!(
                s,
                "  {:<9} {:>9} {:>9} {:>10} {:>8} {:>8} {:>9} {:>9} {:>6}",
                "policy",
                "fallback",
                "accuracy",
                "in-scope",
                "OOS-rec",
                "OOS-prec",
                "rejected",
                "macro-F1",
                "ECE"
            );
            for p in &r.scores {
                let (rec, prec) = p
                    .out_of_scope
                    .map(|o| {
                        (
                            format!("{:.1}%", 100.0 * o.recall),
                            format!("{:.1}%", 100.0 * o.precision),
                        )
                    })
                    .unwrap_or(("-".into(), "-".into()));
                let _ = writeln!(
                    s,
                    "  {:<9} {:>9.3} {:>8.1}% {:>9.1}% {:>8} {:>8} {:>8.1}% {:>9.3} {:>6.3}",
                    p.policy,
                    p.fallback,
                    100.0 * p.accuracy,
                    100.0 * p.in_scope_accuracy,
                    rec,
                    prec,
                    100.0 * p.in_scope_rejected,
                    p.macro_f1,
                    p.expected_calibration_error
                );
            }
            if let Some(c) = &r.cascade {
                let _ = writeln!(
                    s,
                    "  cascade: the sparse head (threshold {:.3}) answers {:.1}% of the test texts",
                    c.rule.threshold,
                    100.0 * c.answered
                );
                for (full, p) in r.scores.iter().zip(&c.scores) {
                    let rec = |x: &PolicyScores| {
                        x.out_of_scope
                            .map_or("-".to_string(), |o| format!("{:.1}%", 100.0 * o.recall))
                    };
                    let _ = writeln!(
                        s,
                        "  {:<9} accuracy {:.1}% (full {:.1}%), in-scope {:.1}% (full {:.1}%), OOS recall {} (full {})",
                        p.policy,
                        100.0 * p.accuracy,
                        100.0 * full.accuracy,
                        100.0 * p.in_scope_accuracy,
                        100.0 * full.in_scope_accuracy,
                        rec(p),
                        rec(full)
                    );
                }
            }
            if !r.confusions.is_empty() {
                let _ = writeln!(s, "  most confused (expected -> got):");
                for (a, b, n) in r.confusions.iter().take(8) {
                    let _ = writeln!(s, "    {n:>3}  {a} -> {b}");
                }
            }
        }
        if let Some(t) = &self.slots {
            let a = &t.scores.all;
            let _ = writeln!(
                s,
                "\nentity tagger: {} types, {} training texts ({} with slots), fitted in {:.1} s; validation F1 {:.1}",
                t.types, t.train_examples, t.annotated_examples, t.fit_seconds, 100.0 * t.val_f1
            );
            let _ = writeln!(
                s,
                "  slots (exact span and type, {} test texts): precision {:.1}%, recall {:.1}%, F1 {:.1} ({} gold, {} predicted, {} correct)",
                t.test_examples,
                100.0 * a.precision,
                100.0 * a.recall,
                100.0 * a.f1,
                a.support,
                t.scores.predicted,
                t.scores.correct
            );
            let mut worst: Vec<(&String, &super::Prf)> = t.scores.per_type.iter().collect();
            worst.sort_by(|x, y| x.1.f1.total_cmp(&y.1.f1));
            let _ = writeln!(s, "  lowest F1 by type:");
            for (k, p) in worst.iter().take(6) {
                let _ = writeln!(s, "    {:>5.1}  {k} ({} gold)", 100.0 * p.f1, p.support);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedding_cache_reads_back_what_it_wrote_and_refuses_other_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.bin");
        let data = Embedded {
            embeddings: ndarray::Array2::from_shape_vec(
                (2, 3),
                vec![0.5, -1.0, 2.0, 0.0, 1e-3, 7.0],
            )
            .unwrap(),
            sentence_dim: 3,
            pooled_layer: None,
            tokens: vec![vec![0, 250_001, 2], vec![0, 2]],
            early: None,
        };
        EmbeddingCache::save(&path, &data).unwrap();
        let back = EmbeddingCache::load(&path, 2, 3, None, None).unwrap();
        assert_eq!(back.embeddings, data.embeddings);
        assert_eq!(back.tokens, data.tokens);
        assert!(back.early.is_none());
        assert!(EmbeddingCache::load(&path, 3, 3, None, None).is_none());
        assert!(EmbeddingCache::load(&path, 2, 4, None, None).is_none());
        // written without the early layers' states: no use to a cut encoder
        assert!(EmbeddingCache::load(&path, 2, 3, Some(2), None).is_none());
        // a truncated file is ignored
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(EmbeddingCache::load(&path, 2, 3, None, None).is_none());
        assert!(EmbeddingCache::load(&dir.path().join("missing.bin"), 2, 3, None, None).is_none());
        // with the early layers' states
        let early =
            ndarray::Array2::from_shape_vec((2, 3), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let data = Embedded {
            early: Some(crate::train::EarlyEmbeddings {
                layer: 2,
                embeddings: early.clone(),
            }),
            ..data
        };
        EmbeddingCache::save(&path, &data).unwrap();
        let back = EmbeddingCache::load(&path, 2, 3, Some(2), None).unwrap();
        assert_eq!(back.embeddings, data.embeddings);
        let e = back.early.unwrap();
        assert_eq!((e.layer, e.embeddings), (2, early));
        assert!(EmbeddingCache::load(&path, 2, 3, Some(4), None).is_none());
        assert!(EmbeddingCache::load(&path, 2, 3, None, None).is_none());
        // with a pooled layer: written for it, read back only for it
        let data = Embedded {
            sentence_dim: 2,
            pooled_layer: Some(8),
            ..data
        };
        EmbeddingCache::save(&path, &data).unwrap();
        let back = EmbeddingCache::load(&path, 2, 3, Some(2), Some(8)).unwrap();
        assert_eq!((back.sentence_dim, back.pooled_layer), (2, Some(8)));
        assert!(EmbeddingCache::load(&path, 2, 3, Some(2), Some(4)).is_none());
        assert!(EmbeddingCache::load(&path, 2, 3, Some(2), None).is_none());
    }

    #[test]
    fn scoring_counts_rejections_against_in_scope_accuracy() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let probs = vec![
            vec![0.9, 0.1],   // a, right
            vec![0.55, 0.45], // a, but under the threshold: rejected
            vec![0.3, 0.7],   // b, wrong (gold oos)
            vec![0.52, 0.48], // rejected, right for oos
        ];
        let gold = ["a", "a", OUT_OF_SCOPE, OUT_OF_SCOPE];
        let t = Thresholds {
            fallback: 0.6,
            ambiguity_margin: 0.01,
        };
        let (all, in_scope, pairs) = score(&probs, &gold, &labels, None, t);
        assert_eq!(all.intent_accuracy, 0.5);
        assert_eq!(in_scope.intent_accuracy, 0.5);
        assert_eq!(all.out_of_scope.recall, 0.5);
        assert_eq!(all.out_of_scope.precision, 0.5);
        assert_eq!(all.in_scope_rejected, 0.5);
        assert_eq!(pairs.len(), 2);
        let t0 = Thresholds {
            fallback: 0.0,
            ambiguity_margin: 0.01,
        };
        let (all, in_scope, _) = score(&probs, &gold, &labels, None, t0);
        assert_eq!(in_scope.intent_accuracy, 1.0);
        assert_eq!(all.out_of_scope.recall, 0.0);
    }
}
