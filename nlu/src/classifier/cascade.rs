//! The cascade: spend the encoder only on the texts that need it.
//!
//! A parse first runs the sparse head ([`super::sparse_head`]) on the token ids: the
//! tokenizer and a few sparse dot products, tens of microseconds. When the sparse head is
//! sure enough, its answer is the parse's; otherwise the text goes to the full model (the
//! encoder and the gated head), as every text did before. The sparse head answers only when
//! - its top probability is at least [`CascadeMeta::threshold`], chosen at training time on
//!   out-of-fold (or validation) predictions by [`choose_exit`], so that the cascade loses at
//!   most a budget of accuracy and of out-of-scope recall against the full model;
//! - at least [`CascadeMeta::min_known_fraction`] of the text's tokens occur in the training
//!   data (a text in another language or vocabulary is the encoder's job: n-gram weights know
//!   nothing of it);
//! - its decision is `understood`, or `out_of_scope` by the out-of-scope class: a text it
//!   would reject by the fallback threshold, or ask about, goes to the full model;
//! - and, for an intent whose entities the tagger finds (it reads the encoder's token
//!   states), the sparse head's span gate says the text holds no span for the tagger: its
//!   probability is under [`CascadeMeta::span_threshold`], chosen so that no annotated
//!   training text of those intents would have skipped the tagger out of fold.
//!
//! The early head ([`EarlyExit`]) answers under the same conditions, with its own exit
//! threshold, except that a text of those intents may also be cleared by the early span gate
//! ([`EarlySpanGate`]): a logistic regression on the pooled early states and the sparse
//! gate's log-odds, which tells apart texts whose n-grams alone leave the sparse gate unsure.
//! A model whose early stage has a tagger of its own ([`EarlyTagger`], on the token states
//! after the exit layer) tags every text of those intents there instead: the early head
//! answers with that tagger's spans when the probability of its decoded tag sequence clears
//! a threshold chosen out of fold ([`early_tagger_threshold`]), or without spans when the
//! sparse head's span gate clears the text; the early span gate is then not consulted (it
//! cleared texts with a domain that the early tagger finds).
//! Both heads answer only texts in a language of the training data
//! ([`CascadeMeta::languages`]).
//!
//! A model trained before the cascade existed has no sparse head and always runs in full,
//! and [`crate::ParserOptions::cascade`] switches the cascade off for comparison.

use crate::lang::Lang;
use crate::model::Thresholds;
use crate::parser::decide_labels;
use crate::result::Outcome;
use serde::{Deserialize, Serialize};

/// Which stage of the cascade answered a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The sparse head, on n-grams of the token ids (no encoder run).
    Sparse,
    /// The early head, on the pooled states of the encoder's first layers (the early
    /// segment of the cut encoder).
    Early,
    /// The encoder and the full head.
    Full,
}

impl Stage {
    /// Every stage, cheapest first.
    pub const ALL: [Stage; 3] = [Stage::Sparse, Stage::Early, Stage::Full];

    /// The stage's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Sparse => "sparse",
            Stage::Early => "early",
            Stage::Full => "full",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The exit rule of the sparse head, stored in `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CascadeMeta {
    /// The sparse head answers when its top probability is at least this.
    pub threshold: f32,
    /// ... and at least this share of the text's tokens occur in the training data.
    pub min_known_fraction: f32,
    /// What the rule did on the predictions it was chosen on.
    pub calibration: ExitFigures,
    /// For the tagger's intents: the sparse head may answer only when its span probability
    /// is under this (none: never for those intents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_threshold: Option<f32>,
    /// How the span threshold did out of fold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_calibration: Option<SpanFigures>,
    /// The languages of the training data ([`training_languages`]; set on the sparse head's
    /// rule, which decides for both heads): the sparse and early heads answer only texts in
    /// these (empty: any). Neither n-grams nor the first layers hold much of the encoder's
    /// cross-lingual alignment, so a text in a language they were not trained on goes to
    /// the full model, even when its ids and job names pass the known-token gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Lang>,
}

/// The file of the early head, next to `head.onnx`.
pub const EARLY_HEAD_FILE: &str = "early-head.onnx";

/// The cascade's second stage, stored in `model.json`: where the encoder is cut, and when
/// the head on the early layers' pooled states (`early-head.onnx`, a head of the same kind
/// as `head.onnx`) answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyExit {
    /// The encoder is cut after this layer (1-based).
    pub layer: usize,
    /// The early head's exit rule; its figures count the rows that the sparse head answered
    /// as answered by it (the rule was chosen for the cascade as a whole). For the tagger's
    /// intents, the text must be span-free by the sparse head's span gate or by [`Self::span`].
    pub rule: CascadeMeta,
    /// A second span gate, on the early layers' pooled states, which clears texts that the
    /// n-gram gate cannot (none: only the sparse head's gate decides). Not consulted when
    /// the stage has a tagger of its own ([`Self::tagger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<EarlySpanGate>,
    /// The early stage's own entity tagger (none: a text of the tagger's intents that the
    /// span gates do not clear goes on to the full model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagger: Option<EarlyTagger>,
}

/// The file of the early stage's tagger, next to `tagger.onnx`.
pub const EARLY_TAGGER_FILE: &str = "early-tagger.onnx";

/// The early stage's entity tagger, stored in `model.json` (its layers in
/// `early-tagger.onnx`): a tagger of the same kind as `tagger.onnx`, on the token states
/// after the exit layer. When the early head is sure of a text of the tagger's intents, the
/// early stage answers with this tagger's spans if the probability of its decoded tag
/// sequence is at least [`EarlyTagger::threshold`], or without spans if the sparse head's
/// span gate clears the text; otherwise the text goes on to the full model and its tagger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyTagger {
    /// Its entity types (the full tagger's, in the same order), transition scores and
    /// intents.
    pub meta: crate::tagger::TaggerMeta,
    /// The least probability of the decoded tag sequence ([`crate::tagger::crf::path_probability`])
    /// at which the early stage answers with its spans.
    pub threshold: f32,
    /// How the threshold did out of fold.
    pub calibration: EarlyTaggerFigures,
}

/// The early tagger's threshold on out-of-fold predictions of the examples of the tagger's
/// intents ([`early_tagger_threshold`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EarlyTaggerFigures {
    /// Examples of the tagger's intents, and those of them with spans.
    pub examples: usize,
    pub with_spans: usize,
    /// Share of the examples whose tag sequence clears the threshold.
    pub answered: f32,
    /// Share of those whose spans differ from the annotated ones.
    pub wrong: f32,
}

/// One out-of-fold prediction of the early tagger: the probability of its decoded tag
/// sequence, and whether its spans are the annotated ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaggedRow {
    pub probability: f32,
    pub correct: bool,
}

/// The early tagger's threshold: the lowest of the exit grid (0.6 to 0.999) at which, and at
/// every higher one, the rows it lets through hold at most `budget` (a share of all rows)
/// of wrong spans. `None` when no grid value keeps to the budget, or there are no rows:
/// the early stage then never answers with its own spans.
///
/// ```
/// use nlu::classifier::cascade::{early_tagger_threshold, TaggedRow};
/// let row = |probability, correct| TaggedRow { probability, correct };
/// let mut rows = vec![row(0.99, true); 400];
/// rows.push(row(0.6, false));
/// rows.push(row(0.8, true));
/// // one wrong row at 0.6: the threshold must rise above it
/// let (t, figures) = early_tagger_threshold(&rows, 0.0).unwrap();
/// assert!(t > 0.6 && t <= 0.8, "{t}");
/// assert_eq!(figures.answered, 401.0 / 402.0);
/// assert_eq!(figures.wrong, 0.0);
/// // a budget of one wrong row in 402 lets it through
/// assert_eq!(early_tagger_threshold(&rows, 0.003).unwrap().0, 0.6);
/// // wrong at the top: no threshold keeps to the budget
/// assert!(early_tagger_threshold(&[row(0.999, false), row(0.9, true)], 0.0).is_none());
/// ```
pub fn early_tagger_threshold(
    rows: &[TaggedRow],
    budget: f32,
) -> Option<(f32, EarlyTaggerFigures)> {
    let allowed = (budget * rows.len() as f32).floor() as usize;
    let figures = |t: f32| {
        let answered: Vec<&TaggedRow> = rows.iter().filter(|r| r.probability >= t).collect();
        let wrong = answered.iter().filter(|r| !r.correct).count();
        (answered.len(), wrong)
    };
    let grid = exit_grid();
    // from the top down: the lowest value whose every higher value keeps to the budget
    let mut chosen = None;
    for &t in grid.iter().rev() {
        if figures(t).1 > allowed {
            break;
        }
        chosen = Some(t);
    }
    let t = chosen.filter(|_| !rows.is_empty())?;
    let (answered, wrong) = figures(t);
    Some((
        t,
        EarlyTaggerFigures {
            examples: rows.len(),
            with_spans: 0,
            answered: answered as f32 / rows.len() as f32,
            wrong: if answered == 0 {
                0.0
            } else {
                wrong as f32 / answered as f32
            },
        },
    ))
}

/// The languages that at least a tenth of `texts` are written in ([`Lang::detect_opt`]),
/// in [`Lang::ALL`]'s order.
///
/// ```
/// use nlu::classifier::cascade::training_languages;
/// use nlu::Lang;
/// let mut texts = vec!["restart api"; 19];
/// texts.push("重启 api");
/// assert_eq!(training_languages(texts.iter().copied()), vec![Lang::En]);
/// texts.extend(["部署 api"; 2]);
/// assert_eq!(training_languages(texts.iter().copied()), vec![Lang::En, Lang::Zh]);
/// ```
pub fn training_languages<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<Lang> {
    let mut counts = [0usize; Lang::ALL.len()];
    let mut total = 0usize;
    for text in texts {
        total += 1;
        if let Some(l) = Lang::detect_opt(text) {
            if let Some(i) = Lang::ALL.iter().position(|&x| x == l) {
                counts[i] += 1;
            }
        }
    }
    Lang::ALL
        .iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0 && n * 10 >= total)
        .map(|(&l, _)| l)
        .collect()
}

/// A binary logistic regression on the early layers' pooled states (the early head's input)
/// and the sparse head's span gate's log-odds: the probability that a text holds a span for
/// the entity tagger. Its threshold, like the sparse head's ([`span_threshold`]), keeps the
/// tagger for every annotated training text of the tagger's intents out of fold.
///
/// ```
/// use nlu::classifier::cascade::{EarlySpanGate, SpanFigures};
/// let gate = EarlySpanGate {
///     weights: vec![4.0, -4.0],
///     sparse: 1.0,
///     bias: 0.0,
///     threshold: 0.1,
///     calibration: SpanFigures::default(),
/// };
/// // the sparse gate unsure (0.5, log-odds 0): the states decide
/// assert!(gate.span_free(&[0.0, 1.0], Some(0.5))); // p = 0.018
/// assert!(!gate.span_free(&[1.0, 0.0], Some(0.5))); // p = 0.982
/// // the sparse gate sure of a span outweighs them
/// assert!(!gate.span_free(&[0.0, 1.0], Some(0.999)));
/// // an embedding of another size, or no sparse gate, never clears a text
/// assert!(!gate.span_free(&[0.0], Some(0.5)));
/// assert!(!gate.span_free(&[0.0, 1.0], None));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlySpanGate {
    /// One weight per dimension of the pooled states.
    pub weights: Vec<f32>,
    /// The weight of the sparse head's span gate's log-odds ([`log_odds`]).
    pub sparse: f32,
    pub bias: f32,
    /// A text is span-free when its probability is under this.
    pub threshold: f32,
    /// How the threshold did out of fold.
    pub calibration: SpanFigures,
}

impl EarlySpanGate {
    /// The probability that a text holds a span, given its pooled early states and the
    /// sparse head's span probability (none when the embedding is not of the gate's size or
    /// there is no sparse probability).
    pub fn probability(&self, embedding: &[f32], sparse: Option<f32>) -> Option<f32> {
        let sparse = sparse?;
        (embedding.len() == self.weights.len()).then(|| {
            let z: f32 = self.bias
                + self.sparse * log_odds(sparse)
                + self
                    .weights
                    .iter()
                    .zip(embedding)
                    .map(|(w, x)| w * x)
                    .sum::<f32>();
            1.0 / (1.0 + (-z).exp())
        })
    }

    /// Whether the text may skip the tagger.
    pub fn span_free(&self, embedding: &[f32], sparse: Option<f32>) -> bool {
        self.probability(embedding, sparse)
            .is_some_and(|p| p < self.threshold)
    }
}

/// `ln(p / (1 - p))`, with `p` kept within `[1e-6, 1 - 1e-6]`.
pub fn log_odds(p: f32) -> f32 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// The span gate's threshold on out-of-fold predictions of the tagger intents' examples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanFigures {
    /// Examples with a span for the tagger, and without.
    pub with_spans: usize,
    pub without_spans: usize,
    /// Share of the examples with spans that the gate lets through to the tagger (1: all).
    pub recall: f32,
    /// Share of the examples without spans that may skip the tagger.
    pub skipped: f32,
}

impl CascadeMeta {
    /// Whether the cascade's heads may answer `text`, by its language: one of
    /// [`Self::languages`], or a text with no language of its own (`#4812`).
    ///
    /// ```
    /// use nlu::classifier::cascade::{CascadeMeta, ExitFigures};
    /// use nlu::Lang;
    /// let rule = CascadeMeta {
    ///     threshold: 0.9,
    ///     min_known_fraction: 0.6,
    ///     calibration: ExitFigures::default(),
    ///     span_threshold: None,
    ///     span_calibration: None,
    ///     languages: vec![Lang::En],
    /// };
    /// assert!(rule.reads("cancel 4812"));
    /// assert!(rule.reads("4812"));
    /// assert!(!rule.reads("取消 4812"));
    /// ```
    pub fn reads(&self, text: &str) -> bool {
        self.languages.is_empty()
            || Lang::detect_opt(text).is_none_or(|l| self.languages.contains(&l))
    }

    /// Whether the sparse head may answer for an intent that the tagger tags, given the
    /// text's span probability.
    pub fn span_free(&self, span_probability: Option<f32>) -> bool {
        matches!((self.span_threshold, span_probability), (Some(t), Some(p)) if p < t)
    }
}

/// The span gate's threshold: half the lowest out-of-fold span probability of an example
/// with spans (so that every one of them keeps the tagger, with a margin), at most 0.5.
/// `None` when there are no examples with spans or without.
///
/// ```
/// use nlu::classifier::cascade::span_threshold;
/// let (t, f) = span_threshold(&[0.9, 0.4, 0.05, 0.01, 0.3], &[true, true, false, false, false]).unwrap();
/// assert_eq!(t, 0.2);
/// assert_eq!(f.recall, 1.0);
/// assert!((f.skipped - 2.0 / 3.0).abs() < 1e-6);
/// ```
pub fn span_threshold(probabilities: &[f32], has_span: &[bool]) -> Option<(f32, SpanFigures)> {
    let lowest = probabilities
        .iter()
        .zip(has_span)
        .filter(|(_, &h)| h)
        .map(|(&p, _)| p)
        .fold(f32::INFINITY, f32::min);
    let with = has_span.iter().filter(|&&h| h).count();
    let without = has_span.len() - with;
    if with == 0 || without == 0 {
        return None;
    }
    let t = (lowest * 0.5).min(0.5);
    let passed = |want: bool| {
        probabilities
            .iter()
            .zip(has_span)
            .filter(|(&p, &h)| h == want && p >= t)
            .count()
    };
    Some((
        t,
        SpanFigures {
            with_spans: with,
            without_spans: without,
            recall: passed(true) as f32 / with as f32,
            skipped: 1.0 - passed(false) as f32 / without as f32,
        },
    ))
}

/// The full model against the cascade on the rows an exit threshold was chosen on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExitFigures {
    /// Rows the threshold was chosen on.
    pub rows: usize,
    /// Share of rows that the sparse head answers.
    pub answered: f32,
    /// Share of the answered rows on which it decides as the full model does.
    pub agreement: f32,
    /// In-scope accuracy (a rejection counts as wrong) of the full model, and of the cascade.
    pub full_accuracy: f32,
    pub cascade_accuracy: f32,
    /// Out-of-scope recall of the full model and of the cascade (none without such rows).
    pub full_out_of_scope_recall: Option<f32>,
    pub cascade_out_of_scope_recall: Option<f32>,
    /// The most accuracy and recall the threshold was allowed to lose.
    pub budget: f32,
}

/// One calibration row for [`choose_exit`].
#[derive(Debug, Clone)]
pub struct ExitRow {
    /// The stage's calibrated probabilities (the sparse head's, or the early head's).
    pub probabilities: Vec<f32>,
    /// Whether enough of the row's tokens were known for the stage to answer.
    pub eligible: bool,
    /// The probabilities of an earlier stage that answered the row (which this stage then
    /// never sees): the cascade's loss is counted over all its stages.
    pub earlier: Option<Vec<f32>>,
    /// The full model's calibrated probabilities.
    pub full: Vec<f32>,
    /// The true label; `None` for an out-of-scope row of a model without such a class.
    pub label: Option<usize>,
}

/// Whether the sparse head answers a text: its probabilities clear `threshold`, it decides
/// `understood` or `out_of_scope` by that class (never a fallback rejection or a question),
/// and the text's known fraction clears `min_known_fraction`.
pub fn sparse_answers(
    probabilities: &[f32],
    known_fraction: f32,
    rule: &CascadeMeta,
    oos: Option<usize>,
    thresholds: Thresholds,
) -> bool {
    if known_fraction < rule.min_known_fraction {
        return false;
    }
    confident(probabilities, rule.threshold, oos, thresholds)
}

fn confident(probabilities: &[f32], threshold: f32, oos: Option<usize>, t: Thresholds) -> bool {
    let top = probabilities.iter().copied().fold(0.0f32, f32::max);
    if probabilities.is_empty() || top < threshold {
        return false;
    }
    let d = decide_labels(probabilities, oos, t);
    match d.outcome {
        Outcome::Understood => true,
        Outcome::OutOfScope => d.label.is_some() && d.label == oos && top >= t.fallback,
        _ => false,
    }
}

/// Whether a stage with exit threshold `threshold` answers a calibration row: no earlier
/// stage did, the row is eligible, and the stage is sure (see [`sparse_answers`]).
pub fn stage_answers(row: &ExitRow, threshold: f32, oos: Option<usize>, t: Thresholds) -> bool {
    row.earlier.is_none() && row.eligible && confident(&row.probabilities, threshold, oos, t)
}

/// Thresholds tried by [`choose_exit`], lowest first.
fn exit_grid() -> Vec<f32> {
    let mut g: Vec<f32> = (0..8).map(|i| 0.6 + 0.05 * i as f32).collect();
    g.extend([0.96, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999]);
    g
}

/// Whether a decision on probabilities `p` turns the text away as out of scope.
fn rejects(p: &[f32], oos: Option<usize>, t: Thresholds) -> bool {
    decide_labels(p, oos, t).outcome == Outcome::OutOfScope
}

/// Whether a decision on probabilities `p` is right for `label`.
fn correct(p: &[f32], label: Option<usize>, oos: Option<usize>, t: Thresholds) -> bool {
    let d = decide_labels(p, oos, t);
    let rejected = d.outcome == Outcome::OutOfScope;
    match label {
        Some(y) if Some(y) != oos => !rejected && d.label == Some(y),
        _ => rejected,
    }
}

/// The rows that the full model gets right and the cascade wrong (the cascade: an earlier
/// stage's answer where it answered, the stage's where `answers[i]`, else the full model's),
/// in scope and out of scope, with the number of rows of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Losses {
    in_scope: usize,
    in_scope_rows: usize,
    out_of_scope: usize,
    out_of_scope_rows: usize,
    /// In-scope rows the full model rejects and the cascade answers with an intent.
    overruled: usize,
    /// Rows the full model rejects (out of scope, by its class or the fallback).
    rejected_rows: usize,
}

/// The probabilities the cascade decides a calibration row by: an earlier stage's where it
/// answered, the stage's where it answers (`answered`), else the full model's.
fn chosen(r: &ExitRow, answered: bool) -> &[f32] {
    match &r.earlier {
        Some(p) => p,
        None if answered => &r.probabilities,
        None => &r.full,
    }
}

fn losses(rows: &[ExitRow], answers: &[bool], oos: Option<usize>, t: Thresholds) -> Losses {
    let mut l = Losses::default();
    for (r, &a) in rows.iter().zip(answers) {
        let in_scope = r.label.is_some_and(|y| Some(y) != oos);
        if in_scope {
            l.in_scope_rows += 1;
        } else {
            l.out_of_scope_rows += 1;
        }
        let full_rejects = rejects(&r.full, oos, t);
        l.rejected_rows += usize::from(full_rejects);
        if r.earlier.is_none() && !a {
            continue;
        }
        let p = chosen(r, a);
        if in_scope && full_rejects && !rejects(p, oos, t) {
            l.overruled += 1;
        }
        if correct(&r.full, r.label, oos, t) && !correct(p, r.label, oos, t) {
            if in_scope {
                l.in_scope += 1;
            } else {
                l.out_of_scope += 1;
            }
        }
    }
    l
}

/// In-scope accuracy and out-of-scope recall of choosing, per row, an earlier stage's
/// probabilities where it answered, the stage's where `answers[i]`, and the full model's
/// elsewhere; with `answers` `None`, the full model's on every row.
fn figures(
    rows: &[ExitRow],
    answers: Option<&[bool]>,
    oos: Option<usize>,
    t: Thresholds,
) -> (f32, Option<f32>) {
    let (mut ok_in, mut n_in, mut ok_out, mut n_out) = (0usize, 0usize, 0usize, 0usize);
    for (i, r) in rows.iter().enumerate() {
        let p = match answers {
            None => &r.full,
            Some(a) => chosen(r, a[i]),
        };
        let hit = correct(p, r.label, oos, t);
        let in_scope = r.label.is_some_and(|y| Some(y) != oos);
        if in_scope {
            n_in += 1;
            ok_in += usize::from(hit);
        } else {
            n_out += 1;
            ok_out += usize::from(hit);
        }
    }
    (
        ok_in as f32 / n_in.max(1) as f32,
        (n_out > 0).then(|| ok_out as f32 / n_out as f32),
    )
}

/// Chooses a stage's exit threshold on calibration rows: the lowest threshold of a fixed
/// grid (0.6 to 0.999) at which, and at every higher one, the cascade gets wrong at most
/// `budget` of the in-scope rows, and at most `budget` of the out-of-scope rows, that the
/// full model gets right, and overrules at most `budget` of the full model's rejections
/// (it answers an intent where the full model turns the text away, whatever the label).
/// Rows where the cascade is right and the full model wrong earn nothing back: on a few
/// calibration rows such gains and the losses cancel by chance, and on new texts they do
/// not. The rejections count whatever the label because out-of-scope rows are often few:
/// CLINC150's validation split has 100, on which a stage that met the net budget lost
/// nothing, and on the test split it lost 2.5 points of out-of-scope recall; the in-scope
/// texts the full model rejects are the evidence of how readily a stage answers texts it
/// should not. Rows that an earlier stage answered ([`ExitRow::earlier`]) keep its answer,
/// so a later stage's budget is what the earlier ones left. When none qualifies, the
/// threshold is above 1 and the stage never answers.
///
/// ```
/// use nlu::classifier::cascade::{choose_exit, ExitRow};
/// use nlu::model::Thresholds;
/// // the sparse head is sure and right on the first rows, unsure on the last
/// let row = |sparse: [f32; 2], label| ExitRow {
///     probabilities: sparse.to_vec(),
///     eligible: true,
///     earlier: None,
///     full: if label == 0 { vec![0.9, 0.1] } else { vec![0.1, 0.9] },
///     label: Some(label),
/// };
/// let rows = vec![row([0.97, 0.03], 0), row([0.02, 0.98], 1), row([0.7, 0.3], 1)];
/// let rule = choose_exit(&rows, None, Thresholds::default(), 0.003, 0.6);
/// assert!(rule.threshold > 0.7 && rule.threshold <= 0.97);
/// assert_eq!(rule.calibration.cascade_accuracy, 1.0);
/// ```
pub fn choose_exit(
    rows: &[ExitRow],
    oos: Option<usize>,
    thresholds: Thresholds,
    budget: f32,
    min_known_fraction: f32,
) -> CascadeMeta {
    let (full_acc, full_rec) = figures(rows, None, oos, thresholds);
    let answers_at = |tau: f32| -> Vec<bool> {
        rows.iter()
            .map(|r| stage_answers(r, tau, oos, thresholds))
            .collect()
    };
    let within = |answers: &[bool]| {
        let l = losses(rows, answers, oos, thresholds);
        let allowed = |n: usize| (budget * n as f32 + 1e-4).floor() as usize;
        l.in_scope <= allowed(l.in_scope_rows)
            && l.out_of_scope <= allowed(l.out_of_scope_rows)
            && l.out_of_scope + l.overruled <= allowed(l.rejected_rows)
    };
    // the lowest threshold from which on every higher one stays within the budget
    let grid = exit_grid();
    let mut threshold = 1.01;
    for &tau in grid.iter().rev() {
        if within(&answers_at(tau)) {
            threshold = tau;
        } else {
            break;
        }
    }
    let answers = answers_at(threshold);
    let (acc, rec) = figures(rows, Some(&answers), oos, thresholds);
    let answered = answers.iter().filter(|&&a| a).count();
    let agree = rows
        .iter()
        .zip(&answers)
        .filter(|(r, &a)| {
            a && {
                let s = decide_labels(&r.probabilities, oos, thresholds);
                let f = decide_labels(&r.full, oos, thresholds);
                s.outcome == f.outcome && s.label == f.label
            }
        })
        .count();
    CascadeMeta {
        threshold,
        min_known_fraction,
        span_threshold: None,
        span_calibration: None,
        // set by the caller, which has the texts
        languages: Vec::new(),
        calibration: ExitFigures {
            rows: rows.len(),
            answered: answered as f32 / rows.len().max(1) as f32,
            agreement: agree as f32 / answered.max(1) as f32,
            full_accuracy: full_acc,
            cascade_accuracy: acc,
            full_out_of_scope_recall: full_rec,
            cascade_out_of_scope_recall: rec,
            budget,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(threshold: f32) -> CascadeMeta {
        CascadeMeta {
            threshold,
            min_known_fraction: 0.6,
            calibration: ExitFigures::default(),
            span_threshold: None,
            span_calibration: None,
            languages: Vec::new(),
        }
    }

    /// `model.json` of a model trained before the early span gate loads without one, and
    /// one with a gate keeps it.
    #[test]
    fn an_early_exit_reads_with_and_without_its_span_gate_and_tagger() {
        let old = r#"{"layer": 2, "rule": {"threshold": 0.9, "min_known_fraction": 0.6,
            "calibration": {"rows": 1, "answered": 0.5, "agreement": 1.0, "full_accuracy": 1.0,
            "cascade_accuracy": 1.0, "full_out_of_scope_recall": null,
            "cascade_out_of_scope_recall": null, "budget": 0.003}}}"#;
        let exit: EarlyExit = serde_json::from_str(old).unwrap();
        assert_eq!(exit.span, None);
        assert_eq!(exit.tagger, None);
        let with = EarlyExit {
            span: Some(EarlySpanGate {
                weights: vec![0.5, -0.5],
                sparse: 0.3,
                bias: 0.1,
                threshold: 0.02,
                calibration: SpanFigures::default(),
            }),
            tagger: Some(EarlyTagger {
                meta: crate::tagger::TaggerMeta {
                    types: vec!["reason".into()],
                    examples: 3,
                    transitions: Vec::new(),
                    intents: vec!["run_job".into()],
                    lexicon: Default::default(),
                },
                threshold: 0.9,
                calibration: EarlyTaggerFigures::default(),
            }),
            ..exit
        };
        let json = serde_json::to_string(&with).unwrap();
        assert_eq!(serde_json::from_str::<EarlyExit>(&json).unwrap(), with);
    }

    #[test]
    fn the_sparse_head_answers_only_when_sure_and_on_known_words() {
        let t = Thresholds::default();
        let r = rule(0.9);
        assert!(sparse_answers(&[0.95, 0.05], 0.8, &r, None, t));
        assert!(!sparse_answers(&[0.85, 0.15], 0.8, &r, None, t));
        assert!(!sparse_answers(&[0.95, 0.05], 0.5, &r, None, t));
        // out of scope by its class: answered; label 1 is the out-of-scope class
        assert!(sparse_answers(&[0.04, 0.96], 0.8, &r, Some(1), t));
        assert!(!sparse_answers(&[], 1.0, &r, None, t));
        // a threshold under the fallback never lets it reject by low confidence
        let low = rule(0.3);
        let strict = Thresholds { fallback: 0.7, ..t };
        assert!(!sparse_answers(
            &[0.5, 0.3, 0.2],
            1.0,
            &low,
            Some(2),
            strict
        ));
        // nor ask a question: the top two within the ambiguity margin
        let wide = Thresholds {
            ambiguity_margin: 0.5,
            ..t
        };
        assert!(!sparse_answers(&[0.7, 0.3], 1.0, &rule(0.6), None, wide));
    }

    fn row(sparse: Vec<f32>, full: Vec<f32>, label: Option<usize>) -> ExitRow {
        ExitRow {
            probabilities: sparse,
            eligible: true,
            earlier: None,
            full,
            label,
        }
    }

    #[test]
    fn the_exit_threshold_keeps_the_loss_within_the_budget() {
        // class 2 is out of scope. The full model is right everywhere; the sparse head is
        // right when it is at least 0.95 sure, and wrong (confidently, 0.9) on two rows.
        let mut rows = Vec::new();
        for i in 0..100 {
            let y = i % 3;
            let mut full = vec![0.05; 3];
            full[y] = 0.9;
            let mut sparse = vec![0.01; 3];
            sparse[y] = 0.98;
            rows.push(row(sparse, full, Some(y)));
        }
        for y in [0, 2] {
            let mut full = vec![0.05; 3];
            full[y] = 0.9;
            let mut sparse = vec![0.05; 3];
            sparse[(y + 1) % 3] = 0.9;
            rows.push(row(sparse, full, Some(y)));
        }
        let t = Thresholds::default();
        let r = choose_exit(&rows, Some(2), t, 0.003, 0.6);
        assert!(r.threshold > 0.9 && r.threshold <= 0.98, "{r:?}");
        assert_eq!(r.calibration.cascade_accuracy, 1.0);
        assert_eq!(r.calibration.cascade_out_of_scope_recall, Some(1.0));
        assert!((r.calibration.answered - 100.0 / 102.0).abs() < 1e-6);
        assert_eq!(r.calibration.agreement, 1.0);
        // with a budget that one error fits in (1 of 68 in-scope rows, 1 of 34 out of
        // scope), the threshold may go lower
        let loose = choose_exit(&rows, Some(2), t, 0.05, 0.6);
        assert!(loose.threshold <= 0.9, "{loose:?}");
        // rows whose tokens are unknown are never answered
        for r in &mut rows {
            r.eligible = false;
        }
        let none = choose_exit(&rows, Some(2), t, 0.003, 0.6);
        assert_eq!(none.calibration.answered, 0.0);
    }

    /// A stage that fixes as many rows of the full model's as it breaks is no better than
    /// one that only breaks them: gains do not pay for losses.
    #[test]
    fn gains_on_some_rows_do_not_pay_for_losses_on_others() {
        // class 1 is out of scope. 200 rows both are sure of and right on; then 3 in-scope
        // rows the full model gets wrong and the stage right, and 3 it breaks (all at 0.9)
        let mut rows = Vec::new();
        for i in 0..200 {
            let y = i % 2;
            let mut p = vec![0.02; 2];
            p[y] = 0.98;
            rows.push(row(p.clone(), p, Some(y)));
        }
        for _ in 0..3 {
            // the full model says out of scope, the stage the right intent
            rows.push(row(vec![0.9, 0.1], vec![0.1, 0.9], Some(0)));
            // the full model is right, the stage says out of scope
            rows.push(row(vec![0.1, 0.9], vec![0.9, 0.1], Some(0)));
        }
        let t = Thresholds::default();
        let r = choose_exit(&rows, Some(1), t, 0.003, 0.6);
        // net, the cascade would lose nothing at 0.9; it must stop above it
        assert!(r.threshold > 0.9 && r.threshold <= 0.98, "{r:?}");
        assert!((r.calibration.answered - 200.0 / 206.0).abs() < 1e-6);
        // a budget with room for the three losses (3 of the 106 in-scope rows) lets it
        // answer them
        let loose = choose_exit(&rows, Some(1), t, 0.03, 0.6);
        assert!(loose.threshold <= 0.9, "{loose:?}");
    }

    /// A stage that answers texts the full model turns away is held back even when it is
    /// right on them: out-of-scope rows may be too few to show what it does to those.
    #[test]
    fn a_stage_may_not_overrule_the_full_models_rejections() {
        // class 1 is out of scope; 300 rows both are sure of, only 10 of them out of scope
        let mut rows = Vec::new();
        for i in 0..300 {
            let y = usize::from(i % 30 == 0);
            let mut p = vec![0.02; 2];
            p[y] = 0.98;
            rows.push(row(p.clone(), p, Some(y)));
        }
        // 2 in-scope rows the full model rejects and the stage answers, right, at 0.9
        for _ in 0..2 {
            rows.push(row(vec![0.9, 0.1], vec![0.2, 0.8], Some(0)));
        }
        let t = Thresholds::default();
        let r = choose_exit(&rows, Some(1), t, 0.003, 0.6);
        assert!(r.threshold > 0.9, "{r:?}");
        // no out-of-scope row is lost, and accuracy even rises: only the rejections count
        let loose = choose_exit(&rows, Some(1), t, 0.2, 0.6);
        assert!(loose.threshold <= 0.9, "{loose:?}");
    }

    #[test]
    fn a_sparse_head_that_is_never_reliable_never_answers() {
        let rows: Vec<ExitRow> = (0..50)
            .map(|i| {
                let y = i % 2;
                let mut full = vec![0.1; 2];
                full[y] = 0.9;
                let mut sparse = vec![0.001; 2];
                sparse[1 - y] = 0.999;
                row(sparse, full, Some(y))
            })
            .collect();
        let r = choose_exit(&rows, None, Thresholds::default(), 0.003, 0.6);
        assert!(r.threshold > 1.0);
        assert_eq!(r.calibration.answered, 0.0);
        assert_eq!(r.calibration.cascade_accuracy, 1.0);
    }
}
