//! Intent classification: tokenizer, encoder session, trained head.

pub mod encoder;
pub mod features;
pub mod head;
pub(crate) mod session_pool;
pub mod shared_weights;
pub mod unigram;

use crate::error::Result;
use crate::model::ModelMeta;
use encoder::Encoder;
use head::Head;
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
    /// `[tokens × dim]` token states, when asked for ([`Classifier::classify_with`]).
    pub token_states: Option<ndarray::Array2<f32>>,
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
        let encoder = Encoder::load(
            &meta.encoder_dir(dir),
            meta.max_tokens,
            options.intra_threads,
            options.max_sessions,
        )?;
        let head = Head::load(
            &dir.join(head::HEAD_FILE),
            meta.labels.len(),
            options.max_sessions,
        )?;
        Ok(Classifier {
            meta,
            encoder,
            head,
        })
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
        let encoded = self.encoder.encode_tokens(&tokens, states)?;
        let probabilities = self.head.probabilities(&encoded.embedding, &tokens.ids)?;
        Ok(Classification {
            readable_fraction: tokens.readable_fraction(),
            tokens: tokens.ids,
            spans: tokens.spans,
            token_states: encoded.states,
            probabilities,
        })
    }

    /// Runs only the head on an embedding and its token ids.
    pub fn head_probabilities(&self, embedding: &[f32], ids: &[i64]) -> Result<Vec<f32>> {
        self.head.probabilities(embedding, ids)
    }
}
