//! Intent classification: tokenizer, encoder session, trained head, and the sparse head
//! that answers the easy texts without the encoder ([`cascade`]).

pub mod cascade;
pub mod encoder;
pub mod features;
pub mod head;
pub mod segments;
pub(crate) mod session_pool;
pub mod shared_weights;
pub mod sparse_head;
pub mod unigram;

use crate::error::{NluError, Result};
use crate::model::{ModelMeta, Thresholds};
use crate::tagger::{Tagged, Tagger};
use cascade::{CascadeMeta, EarlyExit, Stage, EARLY_HEAD_FILE, EARLY_TAGGER_FILE};
use encoder::Encoder;
use head::Head;
use sparse_head::{SparseHead, SPARSE_HEAD_FILE};
use std::path::Path;

/// How many threads and sessions the classifier may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Threads ONNX Runtime uses inside one encoder run.
    pub intra_threads: usize,
    /// Most sessions created for concurrent callers (they share one copy of the weights;
    /// each adds its working memory, a few MB).
    pub max_sessions: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            intra_threads: 1,
            max_sessions: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

/// Encoder and head of a model directory.
#[derive(Debug)]
pub struct Classifier {
    pub(crate) meta: ModelMeta,
    pub(crate) encoder: Encoder,
    head: Head,
    /// The cascade's first stage and its exit rule, when the model has them.
    sparse: Option<(SparseHead, CascadeMeta)>,
    /// Its second stage (the head on the early layers) and exit rule, when the model has it.
    early: Option<EarlyStage>,
    /// Index of the `out_of_scope` label, if any.
    oos: Option<usize>,
}

/// The cascade's second stage: the head on the early layers' pooled states, its exit rule,
/// and its own entity tagger when the model has one.
#[derive(Debug)]
struct EarlyStage {
    head: Head,
    exit: EarlyExit,
    tagger: Option<Tagger>,
}

/// What the classifier says about one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Token ids the encoder saw (after truncation).
    pub tokens: Vec<i64>,
    /// Calibrated probability of each label, in the order of [`Classifier::labels`].
    pub probabilities: Vec<f32>,
    /// Share of the text's pieces that the encoder can read (see
    /// [`encoder::Tokens::readable_fraction`]): emoji, symbols and unknown pieces are not.
    pub readable_fraction: f32,
    /// The characters of the text each token covers ([`encoder::Tokens::spans`]).
    pub spans: Vec<Option<(usize, usize)>>,
    /// `[tokens × dim]` token states, when asked for ([`Classifier::classify_with`]) and
    /// the encoder ran.
    pub token_states: Option<ndarray::Array2<f32>>,
    /// The stage whose probabilities these are.
    pub stage: Stage,
    /// The entity spans that the early stage's own tagger found, when that stage answered
    /// a text of the tagger's intents with them ([`cascade::EarlyTagger`]): the parser
    /// takes these instead of running the full tagger.
    pub tagged: Option<Vec<Tagged>>,
}

/// Under this [`Classification::readable_fraction`] a text is not understood, whatever the
/// head says: the encoder read too little of it for its intent to mean anything.
pub const MIN_READABLE_FRACTION: f32 = 0.5;

impl Classification {
    /// Whether the encoder could read enough of the text for the probabilities to count
    /// (a parser treats an unreadable text as out of scope).
    pub fn is_readable(&self) -> bool {
        self.readable_fraction >= MIN_READABLE_FRACTION
    }
}

impl Classifier {
    /// Loads a model directory (its `model.json`, `head.onnx` and the encoder it names).
    pub fn load(dir: &Path, options: RuntimeOptions) -> Result<Self> {
        let meta = ModelMeta::load(dir)?;
        // the early exit is the cascade's second stage: only after a first one
        let early_exit = meta.early_exit.clone().filter(|_| meta.cascade.is_some());
        let encoder = Encoder::load_with_exit(
            &meta.encoder_dir(dir),
            meta.max_tokens,
            options.intra_threads,
            options.max_sessions,
            early_exit.as_ref().map(|e| e.layer),
        )?
        .with_pooled_layer(meta.pooled_layer)?;
        let head = Head::load(
            &dir.join(head::HEAD_FILE),
            meta.labels.len(),
            options.max_sessions,
        )?;
        let sparse = match &meta.cascade {
            Some(rule) => Some((
                SparseHead::load(
                    &dir.join(SPARSE_HEAD_FILE),
                    meta.labels.len(),
                    options.max_sessions,
                )?,
                rule.clone(),
            )),
            None => None,
        };
        if let Some(gate) = early_exit.as_ref().and_then(|e| e.span.as_ref()) {
            if gate.weights.len() != encoder.dim() {
                return Err(NluError::ModelDir {
                    path: dir.to_path_buf(),
                    reason: format!(
                        "model.json's early span gate has {} weights for the encoder's {} \
                         dimensions; retrain the model with `nlu train`",
                        gate.weights.len(),
                        encoder.dim()
                    ),
                });
            }
        }
        let early = match early_exit {
            Some(exit) => Some(EarlyStage {
                head: Head::load(
                    &dir.join(EARLY_HEAD_FILE),
                    meta.labels.len(),
                    options.max_sessions,
                )?,
                tagger: match &exit.tagger {
                    Some(t) => Some(Tagger::load(
                        &dir.join(EARLY_TAGGER_FILE),
                        &t.meta,
                        options.max_sessions,
                    )?),
                    None => None,
                },
                exit,
            }),
            None => None,
        };
        let oos = meta.labels.iter().position(|l| l == "out_of_scope");
        Ok(Classifier {
            meta,
            encoder,
            head,
            sparse,
            early,
            oos,
        })
    }

    /// The cascade's exit rule, when the model has a sparse head.
    pub fn cascade(&self) -> Option<&CascadeMeta> {
        self.sparse.as_ref().map(|(_, rule)| rule)
    }

    /// The cascade's early exit (its second stage), when the model has one.
    pub fn early_exit(&self) -> Option<&EarlyExit> {
        self.early.as_ref().map(|e| &e.exit)
    }

    /// The labels, in the head's output order.
    pub fn labels(&self) -> &[String] {
        &self.meta.labels
    }

    /// The model's metadata.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The encoder (tokenizer and embedding).
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Classifies one text.
    pub fn classify(&self, text: &str) -> Result<Classification> {
        self.classify_with(text, false)
    }

    /// Classifies one text, keeping the token states of the same encoder run if `states`
    /// (for the entity tagger).
    pub fn classify_with(&self, text: &str, states: bool) -> Result<Classification> {
        let tokens = self.encoder.tokenize(text)?;
        self.classify_full(tokens, states)
    }

    /// The full model (encoder and head) on a tokenized text.
    fn classify_full(&self, tokens: encoder::Tokens, states: bool) -> Result<Classification> {
        let encoded = self.encoder.encode_tokens(&tokens, states)?;
        self.full_answer(tokens, encoded)
    }

    /// The full head's answer on an encoder run.
    fn full_answer(
        &self,
        tokens: encoder::Tokens,
        encoded: encoder::Encoded,
    ) -> Result<Classification> {
        let probabilities = self.head.probabilities(&encoded.embedding, &tokens.ids)?;
        Ok(Classification {
            readable_fraction: tokens.readable_fraction(),
            tokens: tokens.ids,
            spans: tokens.spans,
            token_states: encoded.states,
            probabilities,
            stage: Stage::Full,
            tagged: None,
        })
    }

    /// Classifies one text through the cascade ([`cascade`]), each stage answering when it
    /// is sure (under `thresholds`, the parser's) and, if `tagged` says its top label is one
    /// whose entities the tagger finds, the sparse head's span gate (or, for the early head,
    /// the early span gate, [`cascade::EarlySpanGate`]) says the text holds no span:
    /// 1. the sparse head, on the token ids;
    /// 2. with an early exit, the early head on the pooled states of the encoder's first
    ///    layers; when the stage has a tagger of its own ([`cascade::EarlyTagger`]), it
    ///    tags the texts of the tagger's intents instead of asking the early span gate, and
    ///    the stage answers with its spans ([`Classification::tagged`]) when it is sure of
    ///    them;
    /// 3. the full model, continuing from the early layers' states when they ran, keeping the
    ///    token states if `states`.
    ///
    /// A text the encoder could not read (see [`Classification::is_readable`]) gets the
    /// sparse head's probabilities without an encoder run. Without a sparse head, the same as
    /// [`Classifier::classify_with`].
    pub fn classify_cascade(
        &self,
        text: &str,
        states: bool,
        thresholds: Thresholds,
        tagged: &dyn Fn(usize) -> bool,
    ) -> Result<Classification> {
        let Some((sparse, rule)) = &self.sparse else {
            return self.classify_with(text, states);
        };
        let tokens = self.encoder.tokenize(text)?;
        let scores = sparse.scores(&tokens.ids)?;
        let readable = tokens.readable_fraction();
        // the label a stage with these probabilities and exit rule is sure of, if any
        let sure = |probabilities: &[f32], stage_rule: &CascadeMeta| {
            cascade::sparse_answers(
                probabilities,
                scores.known_fraction,
                stage_rule,
                self.oos,
                thresholds,
            )
            .then(|| crate::train::logreg::argmax(probabilities))
            .flatten()
        };
        // whether label `k` may skip the tagger: not one of its intents, or the text cleared
        // by the stage's own span gate (`span_free`) or the sparse head's
        let skips_tagger = |k: usize, span_free: bool| {
            !tagged(k) || span_free || rule.span_free(scores.span_probability)
        };
        let answer = |tokens: encoder::Tokens,
                      probabilities: Vec<f32>,
                      stage: Stage,
                      tagged: Option<Vec<Tagged>>| {
            Ok(Classification {
                readable_fraction: readable,
                tokens: tokens.ids,
                spans: tokens.spans,
                token_states: None,
                probabilities,
                stage,
                tagged,
            })
        };
        // a text in a language the training data lacks gets the full model
        let reads = rule.reads(text);
        if readable < MIN_READABLE_FRACTION
            || (reads && sure(&scores.probabilities, rule).is_some_and(|k| skips_tagger(k, false)))
        {
            return answer(tokens, scores.probabilities, Stage::Sparse, None);
        }
        let Some(stage) = &self.early else {
            return self.classify_full(tokens, states);
        };
        // the early segment runs either way: the late one continues from its states
        let early = self.encoder.encode_early(&tokens)?;
        if reads {
            let probabilities = stage.head.probabilities(&early.embedding, &tokens.ids)?;
            if let Some(k) = sure(&probabilities, &stage.exit.rule) {
                match (&stage.tagger, &stage.exit.tagger) {
                    // with a tagger of its own, the early stage tags every text of the
                    // tagger's intents, and answers with its spans when it is sure of them
                    // (or without, when the sparse head's span gate clears the text)
                    (Some(tagger), Some(meta)) if tagged(k) => {
                        let hidden = early.hidden.index_axis(ndarray::Axis(0), 0);
                        let (spans, p) = tagger.tag_scored(text, &tokens.spans, hidden)?;
                        if p >= meta.threshold {
                            return answer(tokens, probabilities, Stage::Early, Some(spans));
                        }
                        if skips_tagger(k, false) {
                            return answer(tokens, probabilities, Stage::Early, None);
                        }
                    }
                    _ => {
                        let span_free = stage.exit.span.as_ref().is_some_and(|g| {
                            g.span_free(&early.embedding, scores.span_probability)
                        });
                        if skips_tagger(k, span_free) {
                            return answer(tokens, probabilities, Stage::Early, None);
                        }
                    }
                }
            }
        }
        let encoded = self.encoder.encode_late(&tokens, &early, states)?;
        self.full_answer(tokens, encoded)
    }

    /// The sparse head's probabilities and known fraction for one text (none without a
    /// sparse head).
    pub fn sparse_scores(&self, text: &str) -> Result<Option<sparse_head::SparseScores>> {
        match &self.sparse {
            Some((sparse, _)) => {
                let tokens = self.encoder.tokenize(text)?;
                sparse.scores(&tokens.ids).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The early head's probabilities for one text, from the pooled states after the exit
    /// layer (none without an early exit).
    pub fn early_probabilities(&self, text: &str) -> Result<Option<Vec<f32>>> {
        match &self.early {
            Some(stage) => {
                let tokens = self.encoder.tokenize(text)?;
                let early = self.encoder.encode_early(&tokens)?;
                stage
                    .head
                    .probabilities(&early.embedding, &tokens.ids)
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    /// Runs only the head on an embedding and its token ids.
    pub fn head_probabilities(&self, embedding: &[f32], ids: &[i64]) -> Result<Vec<f32>> {
        self.head.probabilities(embedding, ids)
    }
}
