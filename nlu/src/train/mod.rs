//! Training the head: embed the examples with the frozen encoder, fit two logistic
//! regressions (one over embedding and n-gram features, one over the embedding alone; see
//! [`crate::classifier::head`] for how they are mixed), calibrate the mix on out-of-fold
//! predictions, choose the fallback thresholds, and write the model directory.

pub mod calibrate;
pub mod config;
mod early_tagger;
pub mod logreg;
pub mod rasa;
pub mod translate;

use crate::classifier::cascade::{self, CascadeMeta, ExitRow};
use crate::classifier::encoder::Encoder;
use crate::classifier::features;
use crate::classifier::head::{mix, softmax, HeadWeights, TokenGate, HEAD_FILE};
use crate::classifier::sparse_head::{SparseHeadWeights, SPARSE_HEAD_FILE};
use crate::error::{NluError, Result};
use crate::model::{ModelMeta, ModelSpec, Thresholds, TrainingSummary, FORMAT};
use calibrate::ThresholdTargets;
use logreg::{Dataset, FitOptions};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

/// Which models the head holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeadKind {
    /// The dense-only and the joint model, mixed per text by the share of its tokens that
    /// the training data held (the default).
    #[default]
    Gated,
    /// The joint model alone (embedding and n-gram features; the head before the gate).
    Joint,
    /// The dense-only model alone (embedding features).
    Dense,
}

impl HeadKind {
    fn joint(self) -> bool {
        self != HeadKind::Dense
    }
    fn dense(self) -> bool {
        self != HeadKind::Joint
    }
}

impl std::fmt::Display for HeadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeadKind::Gated => "gated",
            HeadKind::Joint => "joint",
            HeadKind::Dense => "dense",
        })
    }
}

impl std::str::FromStr for HeadKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "gated" => Ok(HeadKind::Gated),
            "joint" => Ok(HeadKind::Joint),
            "dense" => Ok(HeadKind::Dense),
            _ => Err(format!("unknown head `{s}`: gated, joint or dense")),
        }
    }
}

/// Settings of a training run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// n-gram hash slots.
    pub buckets: usize,
    /// L2 penalty of the joint logistic regression.
    pub l2: f32,
    /// Which models the head holds.
    pub head: HeadKind,
    /// L2 penalty of the dense-only logistic regression.
    pub dense_l2: f32,
    /// Known-token fraction at and below which the dense-only model alone scores a text.
    pub gate_low: f32,
    /// Known-token fraction at and above which the joint model alone scores a text.
    pub gate_high: f32,
    /// Folds for out-of-fold calibration and thresholds.
    pub folds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Rates the thresholds are chosen for.
    pub targets: ThresholdTargets,
    /// Token window of the encoder.
    pub max_tokens: usize,
    /// Show a progress bar while embedding.
    pub progress: bool,
    /// Most L-BFGS iterations per fit.
    pub max_iter: usize,
    /// The share of out-of-scope texts expected in real traffic, when it differs from the
    /// training data's: the out-of-scope prior is chosen for it (out of fold, in `fit_head`).
    pub out_of_scope_share: Option<f32>,
    /// Also train the sparse head that answers sure texts without the encoder
    /// ([`crate::classifier::cascade`]; never for a dense-only head).
    pub cascade: bool,
    /// The most in-scope accuracy, and out-of-scope recall, that the cascade may lose against
    /// the full model on the calibration predictions (0.003: 0.3 points).
    pub cascade_budget: f32,
    /// With the cascade: the encoder layer after which the early head reads the hidden
    /// states (the cascade's second stage; `None`: no early head).
    pub early_layer: Option<usize>,
    /// The encoder layer (one of [`crate::classifier::encoder::TOKEN_STATE_LAYERS`]) whose
    /// pooled token states the joint model reads beside the sentence embedding; the
    /// dense-only model never does. `None`: the sentence embedding alone.
    pub pooled_layer: Option<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            buckets: 8192,
            l2: 1e-6,
            head: HeadKind::Gated,
            dense_l2: 1e-6,
            gate_low: 0.25,
            gate_high: 0.6,
            folds: 5,
            seed: 17,
            targets: ThresholdTargets::default(),
            max_tokens: 128,
            progress: true,
            max_iter: 300,
            out_of_scope_share: None,
            cascade: true,
            cascade_budget: 0.003,
            early_layer: Some(DEFAULT_EARLY_LAYER),
            pooled_layer: Some(DEFAULT_POOLED_LAYER),
        }
    }
}

/// The encoder layer after which the early head reads by default.
pub const DEFAULT_EARLY_LAYER: usize = 2;

/// The encoder layer whose pooled states the joint model reads by default. Chosen on the
/// ChatOps training data out of fold and on the dev file (`head_experiments`), see
/// benches/REPORT.md.
pub const DEFAULT_POOLED_LAYER: usize = 8;

/// Embeddings and token ids of a list of texts.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// The head's input per text: the sentence embedding, then the pooled states of a layer
    /// when the encoder pools one ([`Encoder::with_pooled_layer`]).
    pub embeddings: Array2<f32>,
    /// How many leading columns of `embeddings` are the sentence embedding: all that the
    /// dense-only model reads (a middle layer's states carry the training language's words,
    /// which do not carry across languages).
    pub sentence_dim: usize,
    /// The layer whose pooled states follow the sentence embedding, if any.
    pub pooled_layer: Option<usize>,
    pub tokens: Vec<Vec<i64>>,
    /// The pooled hidden states after an early layer, when the encoder was cut there.
    pub early: Option<EarlyEmbeddings>,
}

/// The early layers' pooled states of a list of texts ([`crate::classifier::encoder::Early`]).
#[derive(Debug, Clone)]
pub struct EarlyEmbeddings {
    /// The layer they were read after (1-based).
    pub layer: usize,
    pub embeddings: Array2<f32>,
}

/// The token states of one text and the characters each token covers, for the tagger.
#[derive(Debug, Clone)]
pub struct TokenStates {
    pub spans: Vec<Option<(usize, usize)>>,
    pub states: Array2<f32>,
}

/// Embeds `texts` with the encoder, on as many threads as the machine has.
pub fn embed_all(encoder: &Encoder, texts: &[String], progress: bool) -> Result<Embedded> {
    Ok(embed_all_with_states(encoder, texts, false, progress)?.0)
}

/// Embeds `texts`, and keeps the token states of each if `states` (else the list is empty).
/// With an encoder cut for the early exit, the early layers' pooled states come too.
pub fn embed_all_with_states(
    encoder: &Encoder,
    texts: &[String],
    states: bool,
    progress: bool,
) -> Result<(Embedded, Vec<TokenStates>)> {
    let n = texts.len();
    let dim = encoder.feature_dim();
    let early_dim = encoder.dim();
    let bar = if progress {
        indicatif::ProgressBar::new(n as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "embedding {bar:40} {pos}/{len} [{elapsed} < {eta}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let layer = encoder.exit_layer();
    let rows = crate::parallel::parallel_map(texts, |text| {
        let tokens = encoder.tokenize(text)?;
        let (encoded, early) = match layer {
            Some(_) => {
                let early = encoder.encode_early(&tokens)?;
                let encoded = encoder.encode_late(&tokens, &early, states)?;
                (encoded, Some(early.embedding))
            }
            None => (encoder.encode_tokens(&tokens, states)?, None),
        };
        bar.inc(1);
        let kept = encoded.states.map(|states| TokenStates {
            spans: tokens.spans,
            states,
        });
        Ok((tokens.ids, encoded.embedding, early, kept))
    })?;
    bar.finish_and_clear();
    let mut embeddings = Array2::zeros((n, dim));
    let mut early_rows = layer.map(|_| Array2::zeros((n, early_dim)));
    let mut tokens = Vec::with_capacity(n);
    let mut all_states = Vec::new();
    for (i, (ids, emb, early, kept)) in rows.into_iter().enumerate() {
        let wrong = [(Some(&emb), dim), (early.as_ref(), early_dim)]
            .into_iter()
            .find_map(|(e, want)| e.filter(|e| e.len() != want).map(|e| (e.len(), want)));
        if let Some((got, want)) = wrong {
            return Err(NluError::Training(format!(
                "encoder returned {got} values, expected {want}"
            )));
        }
        embeddings
            .row_mut(i)
            .assign(&ndarray::ArrayView1::from(&emb));
        if let (Some(rows), Some(e)) = (early_rows.as_mut(), early) {
            rows.row_mut(i).assign(&ndarray::ArrayView1::from(&e));
        }
        tokens.push(ids);
        all_states.extend(kept);
    }
    let early = layer
        .zip(early_rows)
        .map(|(layer, embeddings)| EarlyEmbeddings { layer, embeddings });
    Ok((
        Embedded {
            embeddings,
            sentence_dim: encoder.dim(),
            pooled_layer: encoder.pooled_layer(),
            tokens,
            early,
        },
        all_states,
    ))
}

/// The two models of a head, as fitted on some rows (either may be absent, see
/// [`HeadKind`]), and the gate of those rows' tokens.
struct Pair {
    joint: Option<logreg::Weights>,
    dense: Option<logreg::Weights>,
    gate: TokenGate,
    /// The sparse head's model (n-gram features alone), when the cascade is trained.
    sparse: Option<logreg::Weights>,
    /// Which tokens the rows held (for the known fraction, whatever the head's gate).
    vocabulary: TokenGate,
}

/// The raw scores of one row under a [`Pair`]: each model's logits and the gate's weight.
#[derive(Debug, Clone)]
struct Parts {
    joint: Option<Vec<f32>>,
    dense: Option<Vec<f32>>,
    gate: f32,
    sparse: Option<Vec<f32>>,
    /// The share of the row's tokens that the fitted rows held.
    known: f32,
}

impl Pair {
    /// The raw scores of the rows of `data` (the joint model's features) and `dense_data`
    /// (the dense-only model's), whose token ids are `tokens`.
    fn parts(&self, data: &Dataset, dense_data: &Dataset, tokens: &[&[i64]]) -> Vec<Parts> {
        let joint = self.joint.as_ref().map(|w| w.logits(data));
        let dense = self.dense.as_ref().map(|w| w.logits(dense_data));
        let sparse = self.sparse.as_ref().map(|w| w.logits(&sparse_only(data)));
        (0..tokens.len())
            .map(|i| Parts {
                joint: joint.as_ref().map(|j| j.row(i).to_vec()),
                dense: dense.as_ref().map(|d| d.row(i).to_vec()),
                gate: self.gate.weight(tokens[i]),
                sparse: sparse.as_ref().map(|s| s.row(i).to_vec()),
                known: self.vocabulary.known_fraction(tokens[i]),
            })
            .collect()
    }

    /// Adds `by` to class `k`'s bias in both models (so to its mixed logit).
    fn shift(&mut self, k: usize, by: f32) {
        for w in [&mut self.joint, &mut self.dense].into_iter().flatten() {
            if let Some(b) = w.bias.get_mut(k) {
                *b += by;
            }
        }
    }

    /// Divides each model's weights by its temperature (so that each speaks in calibrated
    /// logits before they are mixed).
    fn scale(&mut self, t_joint: f32, t_dense: f32) {
        let scale = |w: &mut logreg::Weights, t: f32| {
            let k = 1.0 / t;
            w.dense.mapv_inplace(|v| v * k);
            w.sparse.mapv_inplace(|v| v * k);
            w.bias.iter_mut().for_each(|v| *v *= k);
        };
        if let Some(w) = &mut self.joint {
            scale(w, t_joint);
        }
        if let Some(w) = &mut self.dense {
            scale(w, t_dense);
        }
    }
}

/// Shifts of the out-of-scope logit (after temperature) tried by [`oos_shift`]: from -3 to
/// 1.5 in steps of 1/8.
fn oos_shifts() -> Vec<f32> {
    (0..=36).map(|i| -3.0 + i as f32 * 0.125).collect()
}

/// Neighbours on each side whose accuracies [`oos_shift`] averages with a shift's own.
const OOS_SMOOTHING: usize = 2;

/// The shift of the out-of-scope class's tempered logit that maximizes the accuracy of the
/// decisions on held-out logits `oof` (an in-scope row is right when its class wins and is
/// not rejected, an out-of-scope row when it is rejected), the fallback threshold chosen
/// anew for each shift.
///
/// - With `share`, the rows are weighted so that out-of-scope ones make that share of the
///   total: the accuracy expected in traffic where out-of-scope texts are that common, not
///   as common as in the training data (a quarter of the ChatOps examples, where its
///   `nlu.toml` expects a tenth of the messages).
/// - The accuracy is averaged over the neighbouring shifts (±1/4) before the maximum is
///   taken: the curve is flat near its top, within a few rows, and its raw maximum would
///   jump across that plateau when a few examples are added.
/// - Ties go to the smallest shift.
fn oos_shift(
    oof: &[Vec<f32>],
    labels: &[usize],
    oos: usize,
    temperature: f32,
    targets: ThresholdTargets,
    share: Option<f32>,
) -> f32 {
    let n = labels.len().max(1) as f32;
    let trained = labels.iter().filter(|&&y| y == oos).count() as f32 / n;
    let (w_oos, w_in) = match share {
        Some(pi) if trained > 0.0 && trained < 1.0 => (pi / trained, (1.0 - pi) / (1.0 - trained)),
        _ => (1.0, 1.0),
    };
    let shifts = oos_shifts();
    let accuracy: Vec<f32> = shifts
        .iter()
        .map(|&b| {
            let probs: Vec<Vec<f32>> = oof
                .iter()
                .map(|z| {
                    let mut t: Vec<f32> = z.iter().map(|v| v / temperature).collect();
                    t[oos] += b;
                    softmax(&t)
                })
                .collect();
            let th = calibrate::choose_thresholds(&probs, labels, Some(oos), targets);
            let right: f32 = probs
                .iter()
                .zip(labels)
                .filter(|(p, &y)| {
                    let top = logreg::argmax(p).unwrap_or(0);
                    let rejected = top == oos || p[top] < th.fallback;
                    if y == oos {
                        rejected
                    } else {
                        !rejected && top == y
                    }
                })
                .map(|(_, &y)| if y == oos { w_oos } else { w_in })
                .sum();
            right / n
        })
        .collect();
    let smoothed = |i: usize| {
        let lo = i.saturating_sub(OOS_SMOOTHING);
        let hi = (i + OOS_SMOOTHING).min(shifts.len() - 1);
        accuracy[lo..=hi].iter().sum::<f32>() / (hi - lo + 1) as f32
    };
    let mut best = (f32::NEG_INFINITY, 0.0f32);
    let mut order: Vec<usize> = (0..shifts.len()).collect();
    order.sort_by(|&a, &b| shifts[a].abs().total_cmp(&shifts[b].abs()));
    for i in order {
        let acc = smoothed(i);
        tracing::debug!(
            shift = shifts[i],
            accuracy = accuracy[i],
            smoothed = acc,
            "out-of-scope prior tried"
        );
        if acc > best.0 + 1e-6 {
            best = (acc, shifts[i]);
        }
    }
    best.1
}

/// Each model's own temperature, fitted on the rows whose class is known (`labels[i]`).
fn part_temperatures(parts: &[Parts], labels: &[Option<usize>]) -> (f32, f32) {
    let fit = |pick: &dyn Fn(&Parts) -> Option<&Vec<f32>>| {
        let (z, y): (Vec<Vec<f32>>, Vec<usize>) = parts
            .iter()
            .zip(labels)
            .filter_map(|(p, y)| Some((pick(p)?.clone(), (*y)?)))
            .unzip();
        if z.is_empty() {
            1.0
        } else {
            calibrate::fit_temperature(&z, &y)
        }
    };
    (fit(&|p| p.joint.as_ref()), fit(&|p| p.dense.as_ref()))
}

/// The mixed logits of each row, each model's logits divided by its temperature first.
fn mix_parts(parts: &[Parts], t_joint: f32, t_dense: f32) -> Vec<Vec<f32>> {
    let div = |z: &Vec<f32>, t: f32| z.iter().map(|v| v * (1.0 / t)).collect::<Vec<f32>>();
    parts
        .iter()
        .map(|p| match (&p.joint, &p.dense) {
            (Some(j), Some(d)) => mix(&div(d, t_dense), &div(j, t_joint), p.gate),
            (Some(j), None) => div(j, t_joint),
            (None, Some(d)) => div(d, t_dense),
            (None, None) => Vec::new(),
        })
        .collect()
}

/// The gate a head of `kind` uses after training on `tokens`.
fn gate_for(kind: HeadKind, tokens: &[&Vec<i64>], options: &TrainOptions) -> TokenGate {
    match kind {
        HeadKind::Gated => {
            let docs: Vec<Vec<i64>> = tokens.iter().map(|t| (*t).clone()).collect();
            TokenGate::from_tokens(&docs, options.gate_low, options.gate_high)
        }
        HeadKind::Joint => TokenGate::constant(1.0),
        HeadKind::Dense => TokenGate::constant(0.0),
    }
}

/// The dense features of `data` alone, for the dense-only model.
/// The first `sentence_dim` columns of `data`'s embeddings (the sentence embedding) alone,
/// for the dense-only model.
fn dense_only(data: &Dataset, sentence_dim: usize) -> Dataset {
    let cols = sentence_dim.min(data.dense.ncols());
    Dataset {
        dense: data.dense.slice(ndarray::s![.., ..cols]).to_owned(),
        sparse: vec![features::SparseVec::default(); data.len()],
        labels: data.labels.clone(),
        classes: data.classes,
        buckets: 0,
    }
}

/// The n-gram features of `data` alone, for the sparse head.
fn sparse_only(data: &Dataset) -> Dataset {
    Dataset {
        dense: Array2::zeros((data.len(), 0)),
        sparse: data.sparse.clone(),
        labels: data.labels.clone(),
        classes: data.classes,
        buckets: data.buckets,
    }
}

/// Whether a training run also fits the sparse head.
fn trains_cascade(options: &TrainOptions) -> bool {
    options.cascade && options.head != HeadKind::Dense
}

/// Fits the models of `options.head` (and the sparse head's, with the cascade) on the rows
/// `idx` of `data` (all rows when `None`), side by side.
fn fit_pair(
    data: &Dataset,
    dense_data: &Dataset,
    tokens: &[Vec<i64>],
    idx: Option<&[usize]>,
    written: Option<&[bool]>,
    options: &TrainOptions,
) -> Result<Pair> {
    let kind = options.head;
    let all: Vec<usize> = match idx {
        Some(idx) => idx.to_vec(),
        None => (0..data.labels.len()).collect(),
    };
    // translations train the dense-only model alone: the joint and sparse models, and the
    // gate's vocabulary, know the examples as written
    let own: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| written.is_none_or(|w| w[i]))
        .collect();
    let (sub, dense_sub, toks): (Dataset, Dataset, Vec<&Vec<i64>>) = (
        data.subset(&own),
        dense_data.subset(&all),
        own.iter().map(|&i| &tokens[i]).collect(),
    );
    let joint_opts = fit_options(options);
    let dense_opts = FitOptions {
        l2: options.dense_l2,
        ..joint_opts
    };
    #[derive(Clone, Copy)]
    enum Model {
        Joint,
        Dense,
        Sparse,
    }
    let models: Vec<Model> = [
        kind.joint().then_some(Model::Joint),
        kind.dense().then_some(Model::Dense),
        trains_cascade(options).then_some(Model::Sparse),
    ]
    .into_iter()
    .flatten()
    .collect();
    let fitted = crate::parallel::parallel_map(&models, |m| {
        Ok(match m {
            Model::Joint => logreg::fit(&sub, &joint_opts),
            Model::Dense => logreg::fit(&dense_sub, &dense_opts),
            Model::Sparse => logreg::fit(&sparse_only(&sub), &joint_opts),
        })
    })?;
    let docs: Vec<Vec<i64>> = toks.iter().map(|t| (*t).clone()).collect();
    let mut pair = Pair {
        joint: None,
        dense: None,
        gate: gate_for(kind, &toks, options),
        sparse: None,
        vocabulary: TokenGate::from_tokens(&docs, options.gate_low, options.gate_high),
    };
    for (m, w) in models.into_iter().zip(fitted) {
        match m {
            Model::Joint => pair.joint = Some(w),
            Model::Dense => pair.dense = Some(w),
            Model::Sparse => pair.sparse = Some(w),
        }
    }
    Ok(pair)
}

/// A trained head with its thresholds, ready to be saved.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    pub labels: Vec<String>,
    pub head: HeadWeights,
    pub thresholds: Thresholds,
    pub summary: TrainingSummary,
    /// The sparse head and its exit rule, when the cascade was trained.
    pub cascade: Option<TrainedCascade>,
    /// The early head and its exit rule, when the cascade was trained on an encoder cut for
    /// the early exit.
    pub early: Option<TrainedEarly>,
    /// The head's calibrated probabilities on the rows it was calibrated on (out of fold, or
    /// the validation split), in their order.
    pub calibration_probabilities: Vec<Vec<f32>>,
    /// The encoder layer whose pooled states the head reads beside the sentence embedding
    /// ([`Encoder::with_pooled_layer`]), if any.
    pub pooled_layer: Option<usize>,
}

/// The cascade's early head and its exit rule.
#[derive(Debug, Clone)]
pub struct TrainedEarly {
    pub head: HeadWeights,
    pub exit: cascade::EarlyExit,
    /// The early stage's tagger ([`cascade::EarlyExit::tagger`] describes it).
    pub tagger: Option<crate::tagger::train::TaggerWeights>,
}

/// The cascade's sparse head and its exit rule.
#[derive(Debug, Clone)]
pub struct TrainedCascade {
    pub weights: SparseHeadWeights,
    pub rule: CascadeMeta,
}

/// The rows an exit threshold is chosen on (out-of-fold, or a validation split).
struct CalibrationRows<'a> {
    /// Each row's sparse logits and known fraction.
    parts: &'a [Parts],
    /// The full model's calibrated probabilities of the same rows.
    full: &'a [Vec<f32>],
    /// The true class; `None` for an out-of-scope row of a model without that class.
    labels: &'a [Option<usize>],
    oos: Option<usize>,
    /// The full model's thresholds.
    thresholds: Thresholds,
}

/// The sparse head of a fit and its exit rule, chosen on calibration rows. `None` without
/// a sparse model.
fn cascade_for(
    pair: &Pair,
    idf: &[f32],
    rows: CalibrationRows<'_>,
    options: &TrainOptions,
) -> Option<(TrainedCascade, Vec<ExitRow>)> {
    let CalibrationRows {
        parts,
        full,
        labels,
        oos,
        thresholds,
    } = rows;
    let w = pair.sparse.as_ref()?;
    let (z, y): (Vec<Vec<f32>>, Vec<usize>) = parts
        .iter()
        .zip(labels)
        .filter_map(|(p, y)| Some((p.sparse.clone()?, (*y)?)))
        .unzip();
    let temperature = if z.is_empty() {
        1.0
    } else {
        calibrate::fit_temperature(&z, &y)
    };
    let rows: Vec<ExitRow> = parts
        .iter()
        .zip(full)
        .zip(labels)
        .map(|((p, f), &label)| ExitRow {
            probabilities: p
                .sparse
                .as_ref()
                .map(|z| softmax(&z.iter().map(|v| v / temperature).collect::<Vec<_>>()))
                .unwrap_or_default(),
            eligible: p.known >= options.gate_high,
            earlier: None,
            full: f.clone(),
            label,
        })
        .collect();
    let rule = cascade::choose_exit(
        &rows,
        oos,
        thresholds,
        options.cascade_budget,
        options.gate_high,
    );
    tracing::info!(
        threshold = rule.threshold,
        answered = rule.calibration.answered,
        "sparse head's exit threshold"
    );
    let cascade = TrainedCascade {
        weights: SparseHeadWeights {
            buckets: options.buckets,
            classes: w.bias.len(),
            sparse: w.sparse.iter().copied().collect(),
            bias: w.bias.clone(),
            idf: idf.to_vec(),
            gate: pair.vocabulary.clone(),
            temperature,
            span: None,
        },
        rule,
    };
    Some((cascade, rows))
}

/// The rows of `data` with the early layers' pooled states as their embeddings.
fn early_rows(data: &Embedded, early: &EarlyEmbeddings) -> Embedded {
    Embedded {
        embeddings: early.embeddings.clone(),
        sentence_dim: early.embeddings.ncols(),
        pooled_layer: None,
        tokens: data.tokens.clone(),
        early: None,
    }
}

/// The options of the early head's own fit: the same, without a cascade of its own.
fn early_options(options: &TrainOptions) -> TrainOptions {
    TrainOptions {
        cascade: false,
        ..*options
    }
}

/// The cascade's early head (`head`, fitted on the early layers' pooled states after `layer`
/// of the same rows and calibrated on the same rows as the full head) and its exit rule,
/// chosen on the rows that the sparse head (`sparse_rows`, with its `rule`) leaves to the
/// encoder, with what is left of the budget. `known` is each row's known-token fraction.
fn early_for(
    layer: usize,
    head: TrainedModel,
    sparse: (&[ExitRow], &CascadeMeta),
    known: &[f32],
    oos: Option<usize>,
    thresholds: Thresholds,
    options: &TrainOptions,
) -> TrainedEarly {
    let (sparse_rows, sparse_rule) = sparse;
    // as for the sparse head: a text in words the training data lacks (another language)
    // gets the full model, whose cross-lingual transfer the early layers do not have
    let early_known = options.gate_high;
    let rows: Vec<ExitRow> = sparse_rows
        .iter()
        .zip(&head.calibration_probabilities)
        .zip(known)
        .map(|((r, p), &known)| ExitRow {
            probabilities: p.clone(),
            eligible: known >= early_known,
            earlier: cascade::stage_answers(r, sparse_rule.threshold, oos, thresholds)
                .then(|| r.probabilities.clone()),
            full: r.full.clone(),
            label: r.label,
        })
        .collect();
    let rule = cascade::choose_exit(&rows, oos, thresholds, options.cascade_budget, early_known);
    tracing::info!(
        layer,
        threshold = rule.threshold,
        answered = rule.calibration.answered,
        "early head's exit threshold"
    );
    TrainedEarly {
        head: head.head,
        exit: cascade::EarlyExit {
            layer,
            rule,
            // fitted with the tagger, when there is one
            span: None,
            tagger: None,
        },
        tagger: None,
    }
}

/// Fits the sparse head's span gate on the examples of the tagger's intents (`in_tagged`):
/// whether each holds a span for the tagger (`has_span`), from its n-grams. The threshold
/// keeps the tagger for every such example out of fold ([`cascade::span_threshold`]).
/// Without examples with spans and without, the sparse head never answers for those intents.
/// Returns the gate's out-of-fold probabilities of those examples, in order.
fn fit_span_gate(
    cascade: &mut TrainedCascade,
    tokens: &[Vec<i64>],
    in_tagged: &[bool],
    has_span: &[bool],
    options: &TrainOptions,
) -> Result<Option<Vec<f32>>> {
    let idx: Vec<usize> = (0..tokens.len()).filter(|&i| in_tagged[i]).collect();
    let w = &cascade.weights;
    let data = Dataset {
        dense: Array2::zeros((idx.len(), 0)),
        sparse: idx
            .iter()
            .map(|&i| features::featurize(&features::slots(&tokens[i], w.buckets), &w.idf))
            .collect(),
        labels: idx.iter().map(|&i| usize::from(has_span[i])).collect(),
        classes: 2,
        buckets: w.buckets,
    };
    let Some(fit) = fit_gate(&data, options)? else {
        return Ok(None);
    };
    let GateFit {
        last,
        threshold,
        figures,
        oof,
    } = fit;
    cascade.weights.span = Some(crate::classifier::sparse_head::SpanGate {
        weights: last.sparse.outer_iter().map(|r| r[1] - r[0]).collect(),
        bias: last.bias[1] - last.bias[0],
    });
    tracing::info!(threshold, skipped = figures.skipped, "span gate");
    cascade.rule.span_threshold = Some(threshold);
    cascade.rule.span_calibration = Some(figures);
    Ok(Some(oof))
}

/// Fits the early span gate ([`cascade::EarlySpanGate`]) as [`fit_span_gate`] fits the
/// sparse head's, from the early layers' pooled states (`states`, one row per example) and
/// the sparse gate's log-odds (its out-of-fold probabilities `sparse_oof` of the tagger
/// intents' examples, in order, so that the gate learns how far to trust it on texts it
/// was not fitted on): it clears texts whose n-grams alone leave the sparse gate unsure.
fn fit_early_span_gate(
    early: &mut TrainedEarly,
    states: &Array2<f32>,
    sparse_oof: &[f32],
    in_tagged: &[bool],
    has_span: &[bool],
    options: &TrainOptions,
) -> Result<()> {
    let idx: Vec<usize> = (0..states.nrows()).filter(|&i| in_tagged[i]).collect();
    if sparse_oof.len() != idx.len() {
        return Err(NluError::Training(format!(
            "{} span probabilities for {} examples of the tagger's intents",
            sparse_oof.len(),
            idx.len()
        )));
    }
    let mut dense = Array2::<f32>::zeros((idx.len(), states.ncols() + 1));
    for (row, (&i, &p)) in idx.iter().zip(sparse_oof).enumerate() {
        dense
            .row_mut(row)
            .slice_mut(ndarray::s![..states.ncols()])
            .assign(&states.row(i));
        dense[[row, states.ncols()]] = cascade::log_odds(p);
    }
    let data = Dataset {
        dense,
        sparse: vec![Default::default(); idx.len()],
        labels: idx.iter().map(|&i| usize::from(has_span[i])).collect(),
        classes: 2,
        buckets: 0,
    };
    let Some(GateFit {
        last,
        threshold,
        figures,
        ..
    }) = fit_gate(&data, options)?
    else {
        return Ok(());
    };
    tracing::info!(threshold, skipped = figures.skipped, "early span gate");
    let mut weights: Vec<f32> = last.dense.outer_iter().map(|r| r[1] - r[0]).collect();
    let sparse = weights.pop().unwrap_or(0.0);
    early.exit.span = Some(cascade::EarlySpanGate {
        weights,
        sparse,
        bias: last.bias[1] - last.bias[0],
        threshold,
        calibration: figures,
    });
    Ok(())
}

/// A span gate fitted by [`fit_gate`].
struct GateFit {
    /// The fit on all rows.
    last: logreg::Weights,
    threshold: f32,
    figures: cascade::SpanFigures,
    /// The out-of-fold span probability of each row.
    oof: Vec<f32>,
}

/// A binary span gate on `data` (label 1: the example holds a span for the tagger): its
/// out-of-fold probabilities choose the threshold ([`cascade::span_threshold`]), and the
/// fit on all rows is the gate. `None` when either label has fewer examples than folds.
fn fit_gate(data: &Dataset, options: &TrainOptions) -> Result<Option<GateFit>> {
    let labels = &data.labels;
    let folds = options.folds.max(2);
    if labels.iter().filter(|&&y| y == 1).count() < folds
        || labels.iter().filter(|&&y| y == 0).count() < folds
    {
        return Ok(None);
    }
    // the intent models' penalty: on the ChatOps data, out of fold, it lets 75% of the
    // examples without spans skip the tagger (1e-4: 63%, 1e-3: 28%) with none of those with
    // spans skipping it (n-gram gate)
    let opts = fit_options(options);
    let assignment = fold_assignment(labels, 2, folds, options.seed);
    let jobs: Vec<Option<usize>> = (0..folds).map(Some).chain([None]).collect();
    let mut fitted = crate::parallel::parallel_map(&jobs, |job| {
        let rows: Vec<usize> = (0..labels.len())
            .filter(|&i| job.is_none_or(|f| assignment[i] != f))
            .collect();
        Ok(logreg::fit(&data.subset(&rows), &opts))
    })?;
    let p_span = |z: ndarray::ArrayView1<f32>| 1.0 / (1.0 + (z[0] - z[1]).exp());
    let mut oof = vec![0f32; labels.len()];
    for (job, w) in jobs.iter().zip(&fitted) {
        if let Some(f) = job {
            let test: Vec<usize> = (0..labels.len()).filter(|&i| assignment[i] == *f).collect();
            let z = w.logits(&data.subset(&test));
            for (row, &i) in test.iter().enumerate() {
                oof[i] = p_span(z.row(row));
            }
        }
    }
    let has_span: Vec<bool> = labels.iter().map(|&y| y == 1).collect();
    let Some((threshold, figures)) = cascade::span_threshold(&oof, &has_span) else {
        return Ok(None);
    };
    let last = fitted
        .pop()
        .ok_or_else(|| NluError::Training("the span gate's final fit is missing".into()))?;
    Ok(Some(GateFit {
        last,
        threshold,
        figures,
        oof,
    }))
}

/// Stratified fold number of each row.
fn fold_assignment(labels: &[usize], classes: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut fold = vec![0; labels.len()];
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        idx.shuffle(&mut rng);
        for (rank, i) in idx.into_iter().enumerate() {
            fold[i] = rank % folds;
        }
    }
    fold
}

/// The hashed n-gram features of `data` with their idf weights, and the training set of
/// embeddings plus those features.
fn training_set(
    data: &Embedded,
    labels: &[usize],
    classes: usize,
    options: &TrainOptions,
    written: Option<&[bool]>,
) -> (Dataset, Vec<f32>) {
    let slots: Vec<Vec<usize>> = data
        .tokens
        .iter()
        .map(|ids| features::slots(ids, options.buckets))
        .collect();
    let own: Vec<Vec<usize>> = slots
        .iter()
        .enumerate()
        .filter(|(i, _)| written.is_none_or(|w| w[*i]))
        .map(|(_, s)| s.clone())
        .collect();
    let idf = features::idf(&own, options.buckets);
    let dataset = Dataset {
        dense: data.embeddings.clone(),
        sparse: slots.iter().map(|s| features::featurize(s, &idf)).collect(),
        labels: labels.to_vec(),
        classes,
        buckets: options.buckets,
    };
    (dataset, idf)
}

fn fit_options(options: &TrainOptions) -> FitOptions {
    FitOptions {
        l2: options.l2,
        max_iter: options.max_iter,
        ..Default::default()
    }
}

/// What a head's calibration predictions (out-of-fold, or a validation split) scored.
struct CalibrationScores {
    correct: Vec<bool>,
    /// Top probability before and after temperature scaling.
    conf_raw: Vec<f32>,
    conf: Vec<f32>,
    in_scope_rejected: f32,
    /// `None` when there were no out-of-scope rows.
    out_of_scope_recall: Option<f32>,
}

/// The share of in-scope rows rejected (predicted out-of-scope, or below the fallback
/// threshold) and the share of out-of-scope rows rejected (`None` without such rows).
fn rejection_rates(
    probs: &[Vec<f32>],
    out_scope: &[bool],
    oos: Option<usize>,
    fallback: f32,
) -> (f32, Option<f32>) {
    let rejected = |p: &Vec<f32>| {
        let t = logreg::argmax(p).unwrap_or(0);
        Some(t) == oos || p[t] < fallback
    };
    let rate = |want_oos: bool| {
        let rows: Vec<&Vec<f32>> = probs
            .iter()
            .zip(out_scope)
            .filter(|(_, &o)| o == want_oos)
            .map(|(p, _)| p)
            .collect();
        let hits = rows.iter().filter(|p| rejected(p)).count();
        (!rows.is_empty()).then(|| hits as f32 / rows.len() as f32)
    };
    (rate(false).unwrap_or(0.0), rate(true))
}

/// The fitted and calibrated parts of a head.
struct Fit<'a> {
    weights: &'a Pair,
    /// The width of the head's input (the dense-only model reads its leading columns).
    dim: usize,
    idf: Vec<f32>,
    temperature: f32,
    thresholds: Thresholds,
}

/// The trained model and its summary from a fit and its calibration scores.
fn assemble(
    fit: Fit<'_>,
    label_names: &[String],
    per_class: Vec<usize>,
    folds: usize,
    options: &TrainOptions,
    scores: &CalibrationScores,
    start: Instant,
) -> TrainedModel {
    let pair = fit.weights;
    let classes = label_names.len();
    let dim = fit.dim;
    let (dense, sparse, bias) = match &pair.joint {
        Some(w) => (
            w.dense.iter().copied().collect(),
            w.sparse.iter().copied().collect(),
            w.bias.clone(),
        ),
        None => (
            vec![0.0; dim * classes],
            vec![0.0; options.buckets * classes],
            vec![0.0; classes],
        ),
    };
    // the dense-only model reads the sentence embedding alone: zero weights for the rest
    let (dense_only, dense_only_bias) = match &pair.dense {
        Some(w) => {
            let mut rows: Vec<f32> = w.dense.iter().copied().collect();
            rows.resize(dim * classes, 0.0);
            (rows, w.bias.clone())
        }
        None => (vec![0.0; dim * classes], vec![0.0; classes]),
    };
    let head = HeadWeights {
        dim,
        buckets: options.buckets,
        classes,
        dense,
        sparse,
        bias,
        idf: fit.idf,
        dense_only,
        dense_only_bias,
        gate: pair.gate.clone(),
        temperature: fit.temperature,
    };
    let correct = &scores.correct;
    let summary = TrainingSummary {
        examples: per_class.iter().sum(),
        examples_per_intent: label_names.iter().cloned().zip(per_class).collect(),
        folds,
        l2: options.l2,
        oof_accuracy: correct.iter().filter(|&&c| c).count() as f32 / correct.len().max(1) as f32,
        oof_ece_before: calibrate::expected_calibration_error(&scores.conf_raw, correct, 15),
        oof_ece_after: calibrate::expected_calibration_error(&scores.conf, correct, 15),
        oof_in_scope_rejected: scores.in_scope_rejected,
        oof_out_of_scope_recall: scores.out_of_scope_recall.unwrap_or(0.0),
        seconds: start.elapsed().as_secs_f32(),
        translated: 0,
    };
    TrainedModel {
        labels: label_names.to_vec(),
        head,
        thresholds: fit.thresholds,
        summary,
        cascade: None,
        early: None,
        calibration_probabilities: Vec::new(),
        pooled_layer: None,
    }
}

/// Fits, calibrates and sets thresholds for a head over already embedded texts.
///
/// `labels[i]` indexes `label_names`; the label `out_of_scope`, if present, is the
/// out-of-scope class for threshold selection.
pub fn fit_head(
    data: &Embedded,
    labels: &[usize],
    label_names: &[String],
    options: &TrainOptions,
) -> Result<TrainedModel> {
    fit_head_translated(data, labels, label_names, options, None)
}

/// [`fit_head`] over examples and their dictionary translations ([`translate`]): rows where
/// `written` is false are translations. They train the dense-only model alone, which reads
/// the multilingual sentence embedding and scores the texts whose tokens the training data
/// does not hold; the joint and sparse models, the gate's vocabulary, the temperature, the
/// out-of-scope prior, the thresholds and the summary's out-of-fold figures are those of the
/// examples as written. So a translation teaches the model the other language without
/// changing how it reads its own (`None`: every row is written).
pub fn fit_head_translated(
    data: &Embedded,
    labels: &[usize],
    label_names: &[String],
    options: &TrainOptions,
    written: Option<&[bool]>,
) -> Result<TrainedModel> {
    let start = Instant::now();
    let classes = label_names.len();
    let n = labels.len();
    if classes < 2 {
        return Err(NluError::Training("need at least two intents".into()));
    }
    if written.is_some_and(|c| c.len() != n) {
        return Err(NluError::Training(
            "the written-row marks and the labels differ in number".into(),
        ));
    }
    let mut per_class = vec![0usize; classes];
    // translations do not make up for examples an intent lacks
    let mut own_per_class = vec![0usize; classes];
    for (i, &y) in labels.iter().enumerate() {
        per_class[y] += 1;
        if written.is_none_or(|w| w[i]) {
            own_per_class[y] += 1;
        }
    }
    if let Some(c) = own_per_class.iter().position(|&k| k < options.folds.max(2)) {
        return Err(NluError::Training(format!(
            "intent `{}` has {} examples; each needs at least {}",
            label_names[c],
            own_per_class[c],
            options.folds.max(2)
        )));
    }
    let (dataset, idf) = training_set(data, labels, classes, options, written);
    let dense_set = dense_only(&dataset, data.sentence_dim);
    // out-of-fold logits, and the final model on all rows: independent fits, run side by
    // side on the machine's cores (each one is deterministic, so the result is the same as
    // fitting them one after the other). Each fold's gate knows only its training rows'
    // tokens, as the final gate knows only the training data's.
    let folds = options.folds.max(2);
    let assignment = fold_assignment(labels, classes, folds, options.seed);
    let jobs: Vec<Option<usize>> = (0..folds).map(Some).chain([None]).collect();
    let fitted = crate::parallel::parallel_map(&jobs, |job| {
        Ok(match *job {
            Some(f) => {
                let train_idx: Vec<usize> = (0..n).filter(|&i| assignment[i] != f).collect();
                let test_idx: Vec<usize> = (0..n).filter(|&i| assignment[i] == f).collect();
                let pair = fit_pair(
                    &dataset,
                    &dense_set,
                    &data.tokens,
                    Some(&train_idx),
                    written,
                    options,
                )?;
                tracing::debug!(fold = f, "fold fitted");
                let toks: Vec<&[i64]> = test_idx
                    .iter()
                    .map(|&i| data.tokens[i].as_slice())
                    .collect();
                let z = pair.parts(
                    &dataset.subset(&test_idx),
                    &dense_set.subset(&test_idx),
                    &toks,
                );
                (Some((test_idx, z)), None)
            }
            None => (
                None,
                Some(fit_pair(
                    &dataset,
                    &dense_set,
                    &data.tokens,
                    None,
                    written,
                    options,
                )?),
            ),
        })
    })?;
    let mut oof_parts: Vec<Parts> = vec![
        Parts {
            joint: None,
            dense: None,
            gate: 0.0,
            sparse: None,
            known: 0.0,
        };
        n
    ];
    let mut all = None;
    for f in fitted {
        match f {
            (Some((test_idx, z)), _) => {
                for (row, &i) in z.into_iter().zip(&test_idx) {
                    oof_parts[i] = row;
                }
            }
            (None, w) => all = w,
        }
    }
    let mut w = all.ok_or_else(|| NluError::Training("the final fit is missing".into()))?;
    let known: Vec<Option<usize>> = labels.iter().copied().map(Some).collect();
    let cal: Vec<usize> = (0..n).filter(|&i| written.is_none_or(|c| c[i])).collect();
    let pick = |v: &[Option<usize>]| cal.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let (t_joint, t_dense) = part_temperatures(
        &cal.iter()
            .map(|&i| oof_parts[i].clone())
            .collect::<Vec<_>>(),
        &pick(&known),
    );
    w.scale(t_joint, t_dense);
    let oof_all = mix_parts(&oof_parts, t_joint, t_dense);
    let labels_all = labels;
    let labels: &[usize] = &cal.iter().map(|&i| labels_all[i]).collect::<Vec<_>>();
    let oof: Vec<Vec<f32>> = cal.iter().map(|&i| oof_all[i].clone()).collect();
    let temperature = calibrate::fit_temperature(&oof, labels);
    // the prior of the out-of-scope class: the shift of its logit that maximizes out-of-fold
    // accuracy under the thresholds chosen with it
    let oos_class = label_names.iter().position(|l| l == "out_of_scope");
    let mut oof = oof;
    if let Some(k) = oos_class {
        let shift = temperature
            * oos_shift(
                &oof,
                labels,
                k,
                temperature,
                options.targets,
                options.out_of_scope_share,
            );
        tracing::info!(shift, "out-of-scope prior");
        for z in &mut oof {
            z[k] += shift;
        }
        w.shift(k, shift);
    }
    let probs_raw: Vec<Vec<f32>> = oof.iter().map(|z| softmax(z)).collect();
    let probs: Vec<Vec<f32>> = oof
        .iter()
        .map(|z| softmax(&z.iter().map(|v| v / temperature).collect::<Vec<_>>()))
        .collect();
    let top = |p: &Vec<f32>| logreg::argmax(p).unwrap_or(0);
    let correct: Vec<bool> = probs
        .iter()
        .zip(labels)
        .map(|(p, &y)| top(p) == y)
        .collect();
    let conf_raw: Vec<f32> = probs_raw.iter().map(|p| p[top(p)]).collect();
    let conf: Vec<f32> = probs.iter().map(|p| p[top(p)]).collect();
    let oos = label_names.iter().position(|l| l == "out_of_scope");
    let thresholds = calibrate::choose_thresholds(&probs, labels, oos, options.targets);
    let out_scope: Vec<bool> = labels.iter().map(|&y| Some(y) == oos).collect();
    let (in_scope_rejected, out_of_scope_recall) =
        rejection_rates(&probs, &out_scope, oos, thresholds.fallback);
    let scores = CalibrationScores {
        correct,
        conf_raw,
        conf,
        in_scope_rejected,
        out_of_scope_recall,
    };
    let oof_parts: Vec<Parts> = cal.iter().map(|&i| oof_parts[i].clone()).collect();
    let rows = CalibrationRows {
        parts: &oof_parts,
        full: &probs,
        labels: &pick(&known),
        oos,
        thresholds,
    };
    let cascade = cascade_for(&w, &idf, rows, options);
    let early = match (&cascade, &data.early) {
        (Some((c, rows)), Some(e)) => {
            let head = fit_head_translated(
                &early_rows(data, e),
                labels_all,
                label_names,
                &early_options(options),
                written,
            )?;
            let known: Vec<f32> = oof_parts.iter().map(|p| p.known).collect();
            let rule = (rows.as_slice(), &c.rule);
            Some(early_for(
                e.layer, head, rule, &known, oos, thresholds, options,
            ))
        }
        _ => None,
    };
    let fit = Fit {
        weights: &w,
        dim: data.embeddings.ncols(),
        idf,
        temperature,
        thresholds,
    };
    let mut model = assemble(fit, label_names, per_class, folds, options, &scores, start);
    model.pooled_layer = data.pooled_layer;
    model.cascade = cascade.map(|(c, _)| c);
    model.early = early;
    model.calibration_probabilities = probs;
    Ok(model)
}

/// Fits a head on `train` and calibrates it on an explicit validation split, for datasets
/// that come with one (the public benchmarks): one fit on all training rows, then the
/// temperature and thresholds are chosen on the validation rows' predictions.
///
/// `val_labels[i]` is the class of validation row `i`, or `None` for a row outside the
/// model's labels (an out-of-scope query when the model has no out-of-scope class). The
/// temperature is fitted on the rows with a class. When the validation split holds
/// out-of-scope rows (of the class `out_of_scope`, or `None`), the fallback threshold is the
/// one that maximizes in-scope accuracy plus out-of-scope recall on them
/// ([`calibrate::balanced_fallback`]); otherwise it follows `options.targets`.
/// The summary's `oof_*` fields then describe the validation split, and `folds` is 0.
pub fn fit_head_validated(
    train: &Embedded,
    labels: &[usize],
    label_names: &[String],
    val: &Embedded,
    val_labels: &[Option<usize>],
    options: &TrainOptions,
) -> Result<TrainedModel> {
    let start = Instant::now();
    let classes = label_names.len();
    if classes < 2 {
        return Err(NluError::Training("need at least two intents".into()));
    }
    if val_labels.len() != val.tokens.len() || labels.len() != train.tokens.len() {
        return Err(NluError::Training(
            "labels and embedded texts differ in number".into(),
        ));
    }
    let mut per_class = vec![0usize; classes];
    for &y in labels {
        per_class[y] += 1;
    }
    if let Some(c) = per_class.iter().position(|&k| k == 0) {
        return Err(NluError::Training(format!(
            "intent `{}` has no training examples",
            label_names[c]
        )));
    }
    let (dataset, idf) = training_set(train, labels, classes, options, None);
    let val_set = Dataset {
        dense: val.embeddings.clone(),
        sparse: val
            .tokens
            .iter()
            .map(|ids| features::featurize(&features::slots(ids, options.buckets), &idf))
            .collect(),
        labels: val_labels.iter().map(|y| y.unwrap_or(0)).collect(),
        classes,
        buckets: options.buckets,
    };
    let mut w = fit_pair(
        &dataset,
        &dense_only(&dataset, train.sentence_dim),
        &train.tokens,
        None,
        None,
        options,
    )?;
    tracing::info!(seconds = start.elapsed().as_secs_f32(), "head fitted");
    let val_tokens: Vec<&[i64]> = val.tokens.iter().map(Vec::as_slice).collect();
    let val_parts = w.parts(
        &val_set,
        &dense_only(&val_set, val.sentence_dim),
        &val_tokens,
    );
    let (t_joint, t_dense) = part_temperatures(&val_parts, val_labels);
    w.scale(t_joint, t_dense);
    let val_logits: Vec<Vec<f32>> = mix_parts(&val_parts, t_joint, t_dense);
    let known: Vec<usize> = (0..val_labels.len())
        .filter(|&i| val_labels[i].is_some())
        .collect();
    let known_logits: Vec<Vec<f32>> = known.iter().map(|&i| val_logits[i].clone()).collect();
    let known_labels: Vec<usize> = known.iter().filter_map(|&i| val_labels[i]).collect();
    let temperature = calibrate::fit_temperature(&known_logits, &known_labels);
    let probs: Vec<Vec<f32>> = val_logits
        .iter()
        .map(|z| softmax(&z.iter().map(|v| v / temperature).collect::<Vec<_>>()))
        .collect();
    let oos = label_names.iter().position(|l| l == "out_of_scope");
    let is_oos = |y: Option<usize>| y.is_none() || y == oos;
    let top = |p: &Vec<f32>| logreg::argmax(p).unwrap_or(0);
    // thresholds: the product policy, then the balanced fallback where out-of-scope rows exist
    let known_probs: Vec<Vec<f32>> = known.iter().map(|&i| probs[i].clone()).collect();
    let mut thresholds =
        calibrate::choose_thresholds(&known_probs, &known_labels, oos, options.targets);
    let out_scope: Vec<bool> = val_labels.iter().map(|&y| is_oos(y)).collect();
    if out_scope.iter().any(|&o| o) {
        let rows: Vec<(usize, f32, bool)> = probs
            .iter()
            .zip(val_labels)
            .map(|(p, &y)| {
                let t = top(p);
                let hit = if is_oos(y) {
                    Some(t) == oos
                } else {
                    Some(t) == y
                };
                (t, p[t], hit)
            })
            .collect();
        thresholds.fallback = calibrate::balanced_fallback(&rows, &out_scope, oos);
    }
    let (in_scope_rejected, out_of_scope_recall) =
        rejection_rates(&probs, &out_scope, oos, thresholds.fallback);
    let raw_probs: Vec<Vec<f32>> = known.iter().map(|&i| softmax(&val_logits[i])).collect();
    let correct: Vec<bool> = known_probs
        .iter()
        .zip(&known_labels)
        .map(|(p, &y)| top(p) == y)
        .collect();
    let conf_raw: Vec<f32> = raw_probs.iter().map(|p| p[top(p)]).collect();
    let conf: Vec<f32> = known_probs.iter().map(|p| p[top(p)]).collect();
    let scores = CalibrationScores {
        correct,
        conf_raw,
        conf,
        in_scope_rejected,
        out_of_scope_recall,
    };
    let rows = CalibrationRows {
        parts: &val_parts,
        full: &probs,
        labels: val_labels,
        oos,
        thresholds,
    };
    let cascade = cascade_for(&w, &idf, rows, options);
    let early = match (&cascade, &train.early, &val.early) {
        (Some((c, rows)), Some(t), Some(v)) => {
            let head = fit_head_validated(
                &early_rows(train, t),
                labels,
                label_names,
                &early_rows(val, v),
                val_labels,
                &early_options(options),
            )?;
            let known: Vec<f32> = val_parts.iter().map(|p| p.known).collect();
            let rule = (rows.as_slice(), &c.rule);
            Some(early_for(
                t.layer, head, rule, &known, oos, thresholds, options,
            ))
        }
        _ => None,
    };
    let fit = Fit {
        weights: &w,
        dim: train.embeddings.ncols(),
        idf,
        temperature,
        thresholds,
    };
    let mut model = assemble(fit, label_names, per_class, 0, options, &scores, start);
    model.pooled_layer = train.pooled_layer;
    model.cascade = cascade.map(|(c, _)| c);
    model.early = early;
    model.calibration_probabilities = probs;
    Ok(model)
}

/// Writes `model.json` and `head.onnx` of a trained model into `out`, with default intent
/// settings and the general builtin entities.
pub fn save(model: &TrainedModel, out: &Path, encoder_dir: &Path, max_tokens: usize) -> Result<()> {
    save_with_spec(
        model,
        out,
        encoder_dir,
        max_tokens,
        &ModelSpec::default(),
        None,
    )
}

/// Writes `model.json` (with the intents' settings and the entity types of `spec`),
/// `head.onnx` and the optional graphs of a trained model into `out`: the cascade's
/// `sparse-head.onnx`, `early-head.onnx` and `early-tagger.onnx`, and with a tagger
/// `tagger.onnx` (one of an earlier training that this model lacks is removed).
pub fn save_with_spec(
    model: &TrainedModel,
    out: &Path,
    encoder_dir: &Path,
    max_tokens: usize,
    spec: &ModelSpec,
    tagger: Option<&crate::tagger::train::TrainedTagger>,
) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| NluError::io(out, e))?;
    let graph = model.head.to_graph(&model.labels);
    let head_path = out.join(HEAD_FILE);
    std::fs::write(&head_path, graph.to_bytes()).map_err(|e| NluError::io(&head_path, e))?;
    // the optional graphs: written when the model has them, a stale one of an earlier
    // training removed when it has not
    let tagger_names: Option<Vec<String>> =
        tagger.map(|t| t.meta.types.iter().map(|k| k.to_string()).collect());
    let optional = [
        (
            SPARSE_HEAD_FILE,
            model
                .cascade
                .as_ref()
                .map(|c| c.weights.to_graph(&model.labels).to_bytes()),
        ),
        (
            cascade::EARLY_HEAD_FILE,
            model
                .early
                .as_ref()
                .map(|e| e.head.to_graph(&model.labels).to_bytes()),
        ),
        (
            crate::tagger::TAGGER_FILE,
            tagger
                .zip(tagger_names.as_ref())
                .map(|(t, names)| t.weights.to_graph(names).to_bytes()),
        ),
        (
            cascade::EARLY_TAGGER_FILE,
            model.early.as_ref().and_then(|e| {
                let names: Vec<String> = e
                    .exit
                    .tagger
                    .as_ref()?
                    .meta
                    .types
                    .iter()
                    .map(|k| k.to_string())
                    .collect();
                Some(e.tagger.as_ref()?.to_graph(&names).to_bytes())
            }),
        ),
    ];
    for (file, bytes) in optional {
        let path = out.join(file);
        match bytes {
            Some(bytes) => std::fs::write(&path, bytes).map_err(|e| NluError::io(&path, e))?,
            None if path.exists() => {
                std::fs::remove_file(&path).map_err(|e| NluError::io(&path, e))?
            }
            None => {}
        }
    }
    let meta = ModelMeta {
        format: FORMAT.to_string(),
        encoder: relative_path(out, encoder_dir),
        labels: model.labels.clone(),
        max_tokens,
        buckets: model.head.buckets,
        temperature: model.head.temperature,
        thresholds: model.thresholds,
        training: model.summary.clone(),
        intents: spec.intents.clone(),
        entities: spec.entities.clone(),
        tagger: tagger.map(|t| t.meta.clone()),
        cascade: model.cascade.as_ref().map(|c| c.rule.clone()),
        early_exit: model.early.as_ref().map(|e| e.exit.clone()),
        pooled_layer: model.pooled_layer,
    };
    meta.save(out)
}

/// The encoder for a training run with `options`: cut for the cascade's early head when it
/// trains one, and pooling [`TrainOptions::pooled_layer`] for the head when the graph has
/// the token states and the head is not dense-only.
pub fn training_encoder(dir: &Path, options: &TrainOptions, sessions: usize) -> Result<Encoder> {
    let exit_layer = options.early_layer.filter(|_| trains_cascade(options));
    let encoder = Encoder::load_with_exit(dir, options.max_tokens, 1, sessions, exit_layer)?;
    let pooled = options
        .pooled_layer
        .filter(|_| encoder.has_token_states() && options.head != HeadKind::Dense);
    encoder.with_pooled_layer(pooled)
}

/// Trains a model from a directory of Rasa YAML files and writes it to `out`.
pub fn train_dir(
    data_dir: &Path,
    out: &Path,
    encoder_dir: &Path,
    options: &TrainOptions,
) -> Result<TrainedModel> {
    let data = rasa::read_dir(data_dir)?;
    let config = config::DataConfig::read(data_dir)?;
    let mut label_names: Vec<String> = data.examples.iter().map(|e| e.intent.clone()).collect();
    label_names.sort();
    label_names.dedup();
    if label_names.len() < 2 {
        return Err(NluError::TrainingData {
            path: data_dir.to_path_buf(),
            line: None,
            reason: format!(
                "the examples name {} intent(s); a classifier needs at least two (add an \
                 `out_of_scope` intent with examples of what the model should reject)",
                label_names.len()
            ),
        });
    }
    let (intents, entities) = config::model_spec(&data, &config, &label_names)?;
    let options = &TrainOptions {
        out_of_scope_share: options.out_of_scope_share.or(config.out_of_scope_share),
        ..*options
    };
    let spec = ModelSpec { intents, entities };
    let tagger_types = config::tagger_types(&data, &config)?;
    let labels: Vec<usize> = data
        .examples
        .iter()
        .map(|e| label_names.iter().position(|l| *l == e.intent).unwrap_or(0))
        .collect();
    let mut texts: Vec<String> = data.examples.iter().map(|e| e.text.clone()).collect();
    let originals = texts.len();
    let translations = translations(&data, &config, &labels, encoder_dir)?;
    let mut labels = labels;
    for (text, label) in translations {
        texts.push(text);
        labels.push(label);
    }
    let encoder = training_encoder(encoder_dir, options, 4)?;
    tracing::info!(
        examples = originals,
        translated = texts.len() - originals,
        intents = label_names.len(),
        "embedding training data"
    );
    let (embedded, mut states) =
        embed_all_with_states(&encoder, &texts, !tagger_types.is_empty(), options.progress)?;
    // the tagger learns from the annotated examples only
    states.truncate(originals);
    let written: Vec<bool> = (0..texts.len()).map(|i| i < originals).collect();
    let mut model = fit_head_translated(&embedded, &labels, &label_names, options, Some(&written))?;
    model.summary.translated = texts.len() - originals;
    if let Some(c) = model.cascade.as_mut() {
        // the sparse head answers only the languages of the examples as written
        c.rule.languages =
            cascade::training_languages(texts[..originals].iter().map(String::as_str));
    }
    let tagger = if tagger_types.is_empty() {
        None
    } else {
        let annotations: Vec<Vec<crate::tagger::bio::TypedSpan>> = data
            .examples
            .iter()
            .map(|e| {
                e.entities
                    .iter()
                    .filter_map(|a| {
                        let k = tagger_types.iter().position(|t| t.as_str() == a.entity)?;
                        Some((k, a.start, a.end))
                    })
                    .collect()
            })
            .collect();
        let example_intents: Vec<crate::IntentName> = data
            .examples
            .iter()
            .map(|e| crate::IntentName::from(e.intent.as_str()))
            .collect();
        tracing::info!(types = tagger_types.len(), "training the entity tagger");
        let written_texts: Vec<&str> = texts[..originals].iter().map(String::as_str).collect();
        let tagger = crate::tagger::train::train(
            &written_texts,
            states,
            &annotations,
            &example_intents,
            tagger_types,
            &crate::tagger::train::TaggerOptions::default(),
        )?;
        // the cascade's span gates: whether each example of the tagger's intents holds a span
        let intents = &tagger.meta.intents;
        // (translations are no example of the gate's, as their spans are not annotated)
        let mut in_tagged: Vec<bool> = example_intents
            .iter()
            .map(|i| intents.contains(i))
            .collect();
        in_tagged.resize(texts.len(), false);
        let mut has_span: Vec<bool> = annotations.iter().map(|a| !a.is_empty()).collect();
        has_span.resize(texts.len(), false);
        let sparse_oof = match model.cascade.as_mut() {
            Some(c) => fit_span_gate(c, &embedded.tokens, &in_tagged, &has_span, options)?,
            None => None,
        };
        if let (Some(early), Some(e), Some(oof)) =
            (model.early.as_mut(), embedded.early.as_ref(), sparse_oof)
        {
            fit_early_span_gate(early, &e.embeddings, &oof, &in_tagged, &has_span, options)?;
        }
        if let Some(early) = model.early.as_mut() {
            tracing::info!("training the early stage's entity tagger");
            early_tagger::fit(
                early,
                &encoder,
                &texts[..originals],
                &annotations,
                &example_intents,
                &tagger.meta,
                options,
            )?;
        }
        Some(tagger)
    };
    save_with_spec(
        &model,
        out,
        encoder_dir,
        options.max_tokens,
        &spec,
        tagger.as_ref(),
    )?;
    Ok(model)
}

/// Dictionary translations of the examples of intents that lack a language, with their
/// labels ([`translate`]): none when `nlu.toml` says `translate = false`, or when no intent
/// lacks one. The lexicon is read from beside the encoder directory; without it a warning
/// is logged and the examples are used as they are.
fn translations(
    data: &rasa::TrainingData,
    config: &config::DataConfig,
    labels: &[usize],
    encoder_dir: &Path,
) -> Result<Vec<(String, usize)>> {
    if !config.translate.unwrap_or(true) {
        return Ok(Vec::new());
    }
    let sources: Vec<translate::Source> = data
        .examples
        .iter()
        .zip(labels)
        .map(|(e, &label)| translate::Source {
            text: &e.text,
            label,
        })
        .collect();
    let lexicon = match translate::Lexicon::beside_encoder(encoder_dir) {
        Some(dir) => translate::Lexicon::load(&dir)?,
        None => {
            if translate::missing_languages(&sources)
                .iter()
                .any(Option::is_some)
            {
                tracing::warn!(
                    "some intents have examples in one language only, and there is no \
                     translation lexicon beside the encoder ({}): they are trained as written",
                    translate::LEXICON_DIR
                );
            }
            return Ok(Vec::new());
        }
    };
    Ok(translate::translate_missing(&lexicon, &sources))
}

/// `to` expressed relative to `from` when both resolve, else `to` made absolute.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let (Ok(from), Ok(to)) = (from.canonicalize(), to.canonicalize()) else {
        return std::path::absolute(to).unwrap_or_else(|_| to.to_path_buf());
    };
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The out-of-scope prior follows the share of out-of-scope texts expected in traffic:
    /// where they are rare, in-scope texts count for more and the prior goes down.
    #[test]
    fn the_out_of_scope_prior_follows_the_expected_share() {
        let mut oof = Vec::new();
        let mut labels = Vec::new();
        for i in 0..100 {
            let x = 3.0 * i as f32 / 100.0;
            oof.push(vec![2.0, 0.0, x]); // in scope, more and more like out-of-scope
            labels.push(0);
            oof.push(vec![x, 0.0, 2.0]); // out of scope, more and more like class 0
            labels.push(2);
        }
        let t = ThresholdTargets::default();
        let plain = oos_shift(&oof, &labels, 2, 1.0, t, None);
        let rare = oos_shift(&oof, &labels, 2, 1.0, t, Some(0.1));
        let common = oos_shift(&oof, &labels, 2, 1.0, t, Some(0.9));
        assert!(rare < plain && plain < common, "{rare} {plain} {common}");
        // the training data's own share changes nothing
        assert_eq!(oos_shift(&oof, &labels, 2, 1.0, t, Some(0.5)), plain);
    }

    #[test]
    fn folds_are_stratified() {
        let labels: Vec<usize> = (0..50).map(|i| i % 2).collect();
        let f = fold_assignment(&labels, 2, 5, 1);
        for fold in 0..5 {
            let in_fold: Vec<usize> = (0..50).filter(|&i| f[i] == fold).collect();
            assert_eq!(in_fold.len(), 10);
            assert_eq!(in_fold.iter().filter(|&&i| labels[i] == 0).count(), 5);
        }
    }

    /// Three well separated clusters in 4 dimensions (class 2 is `out_of_scope`), with a
    /// class-specific token in each text.
    fn clusters(per_class: usize, jitter: f32) -> (Embedded, Vec<usize>) {
        let mut rows = Vec::new();
        let mut tokens = Vec::new();
        let mut labels = Vec::new();
        for i in 0..per_class * 3 {
            let c = i % 3;
            let wobble = jitter * ((i * 7 % 11) as f32 / 11.0 - 0.5);
            let mut v = [wobble; 4];
            v[c] += 1.0;
            rows.extend_from_slice(&v);
            tokens.push(vec![0, 100 + c as i64, 2]);
            labels.push(c);
        }
        let embeddings = Array2::from_shape_vec((labels.len(), 4), rows).unwrap();
        (
            Embedded {
                embeddings,
                sentence_dim: 4,
                pooled_layer: None,
                tokens,
                early: None,
            },
            labels,
        )
    }

    fn names() -> Vec<String> {
        ["a", "b", "out_of_scope"].map(String::from).to_vec()
    }

    fn small() -> TrainOptions {
        TrainOptions {
            buckets: 64,
            l2: 1e-3,
            ..Default::default()
        }
    }

    #[test]
    fn a_head_fitted_with_folds_reports_its_out_of_fold_scores() {
        let (data, labels) = clusters(10, 0.2);
        let m = fit_head(&data, &labels, &names(), &small()).unwrap();
        assert_eq!(m.labels, names());
        assert_eq!((m.head.dim, m.head.buckets, m.head.classes), (4, 64, 3));
        assert_eq!(m.head.dense.len(), 4 * 3);
        assert_eq!(m.head.sparse.len(), 64 * 3);
        assert_eq!(m.summary.examples, 30);
        assert_eq!(m.summary.folds, 5);
        assert_eq!(m.summary.examples_per_intent[1], ("b".to_string(), 10));
        assert_eq!(m.summary.oof_accuracy, 1.0);
        assert_eq!(m.summary.oof_out_of_scope_recall, 1.0);
    }

    /// Rows marked as translations train the dense-only model, but the out-of-fold figures
    /// and the thresholds come from the written rows: 6 rows of class 0 labelled class 1
    /// make no error there.
    #[test]
    fn translated_rows_do_not_count_in_the_calibration() {
        let (mut data, mut labels) = clusters(10, 0.2);
        let (noise, _) = clusters(2, 0.2);
        data.embeddings
            .append(ndarray::Axis(0), noise.embeddings.view())
            .unwrap();
        data.tokens.extend(noise.tokens);
        labels.extend([1; 6]);
        let written: Vec<bool> = (0..labels.len()).map(|i| i < 30).collect();
        let m = fit_head_translated(&data, &labels, &names(), &small(), Some(&written)).unwrap();
        assert_eq!(m.summary.examples, 36);
        assert_eq!(m.summary.oof_accuracy, 1.0);
        assert_eq!(m.calibration_probabilities.len(), 30);
        // with every row counted, the mislabelled ones are errors
        let all = fit_head(&data, &labels, &names(), &small()).unwrap();
        assert!(
            all.summary.oof_accuracy < 1.0,
            "{}",
            all.summary.oof_accuracy
        );
        let err = fit_head_translated(&data, &labels, &names(), &small(), Some(&written[1..]))
            .unwrap_err();
        assert!(err.to_string().contains("differ in number"), "{err}");
    }

    #[test]
    fn a_head_calibrated_on_a_validation_split_reports_its_scores() {
        let (train, labels) = clusters(10, 0.2);
        let (val, val_classes) = clusters(4, 0.3);
        // the out-of-scope rows of the validation split as rows outside the labels
        let val_labels: Vec<Option<usize>> =
            val_classes.iter().map(|&c| (c != 2).then_some(c)).collect();
        let m = fit_head_validated(&train, &labels, &names(), &val, &val_labels, &small()).unwrap();
        assert_eq!(m.summary.examples, 30);
        assert_eq!(m.summary.folds, 0);
        // the scores are those of the 8 in-scope validation rows, all separable
        assert_eq!(m.summary.oof_accuracy, 1.0);
        assert_eq!(m.summary.oof_in_scope_rejected, 0.0);
        assert_eq!(m.summary.oof_out_of_scope_recall, 1.0);
        assert!(m.head.temperature > 0.0);
        // labels and rows that differ in number are refused
        let err = fit_head_validated(&train, &labels[1..], &names(), &val, &val_labels, &small())
            .unwrap_err();
        assert!(err.to_string().contains("differ in number"), "{err}");
    }

    #[test]
    fn relative_paths_between_siblings() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("models/a");
        let b = dir.path().join("models/enc");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        assert_eq!(relative_path(&a, &b), PathBuf::from("../enc"));
    }
}
