//! The entity tagger: finds spans of open-class entity types (a city, a playlist, a reason)
//! that no lookup table lists, from the encoder's token states.
//!
//! A hidden layer over windows of three token states and the sentence's mean state, then a
//! softmax over windows of three hidden states, gives each piece a BIO tag probability
//! ([`train`]), trained as a linear-chain CRF ([`crf`]); Viterbi decoding under the BIO
//! constraints, with the CRF's learnt transition scores ([`bio::viterbi_with`]), picks the
//! tags, and the tagged pieces become character spans of the text, widened to whole words.
//! Each piece also reads whether it begins or continues a value that the training examples
//! annotate ([`lexicon`]), so that a name seen in training is found again whole.
//! The layers are saved as `tagger.onnx` next to `head.onnx`, and the entity types and
//! transition scores in `model.json`. The same encoder run serves the intent head and the
//! tagger.
//!
//! ```no_run
//! // trained by `nlu train --data examples/smart-home --out /tmp/home`: its annotated
//! // cities train a tagger
//! let parser = nlu::Parser::load(std::path::Path::new("/tmp/home"))?;
//! let r = parser.parse("what's the weather like in Porto")?;
//! assert_eq!(r.entities[0].entity, "city");
//! assert_eq!(r.entities[0].extractor, nlu::Extractor::Tagger);
//! # Ok::<(), nlu::NluError>(())
//! ```

pub mod bio;
pub mod crf;
pub mod lexicon;
pub mod train;

use crate::classifier::session_pool::SessionPool;
use crate::error::{NluError, Result};
use crate::result::{EntityKind, IntentName};
use ndarray::{Array2, ArrayView2, Axis};
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The tagger's file in a model directory.
pub const TAGGER_FILE: &str = "tagger.onnx";

/// What `model.json` says of the tagger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaggerMeta {
    /// The entity types it tags, in tag order (type `k` has tags `1 + 2k` and `2 + 2k`).
    pub types: Vec<EntityKind>,
    /// Annotated examples it was trained on.
    #[serde(default)]
    pub examples: usize,
    /// Scores of tag transitions added in decoding ([`bio::viterbi_with`]; empty: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<f32>,
    /// The intents whose examples annotate a tagged type: the parser tags the texts of these
    /// intents only (empty: every text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<IntentName>,
    /// The annotated values whose matches the tagger reads as features
    /// ([`lexicon`]; empty: it reads none, and its graph has no `lexicon` input).
    #[serde(default, skip_serializing_if = "lexicon::Lexicon::is_empty")]
    pub lexicon: lexicon::Lexicon,
}

/// A span the tagger found.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged {
    pub entity: EntityKind,
    /// Character offsets in the text, end exclusive.
    pub start: usize,
    pub end: usize,
    /// Mean probability of the span's tags.
    pub confidence: f32,
}

/// A loaded tagger.
#[derive(Debug)]
pub struct Tagger {
    pool: SessionPool,
    types: Vec<EntityKind>,
    transitions: Vec<f32>,
    intents: Vec<IntentName>,
    /// The matcher of the lexicon whose features the graph's `lexicon` input takes.
    lexicon: Option<lexicon::LexiconMatcher>,
}

impl Tagger {
    /// Loads `tagger.onnx` as `meta` (from `model.json`) describes it: its output must have
    /// a tag for each of the types, and the transition scores one per pair of tags.
    pub fn load(path: &Path, meta: &TaggerMeta, sessions: usize) -> Result<Self> {
        if !path.is_file() {
            return Err(NluError::ModelDir {
                path: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                reason: format!("{TAGGER_FILE} is missing; retrain the model with `nlu train`"),
            });
        }
        let types = meta.types.clone();
        let tag_count = bio::tag_count(types.len());
        if !meta.transitions.is_empty() && meta.transitions.len() != (tag_count + 1) * tag_count {
            return Err(NluError::ModelDir {
                path: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                reason: format!(
                    "model.json's tagger has {} transition scores for {tag_count} tags; retrain \
                     the model with `nlu train`",
                    meta.transitions.len()
                ),
            });
        }
        let pool = SessionPool::load(path, 1, sessions)?;
        let (tags, lexicon_columns) = pool.with_first(|s| {
            let last =
                |v: &ort::value::ValueType| v.tensor_shape().and_then(|sh| sh.last().copied());
            (
                s.outputs()
                    .iter()
                    .find(|o| o.name() == "tag_probabilities")
                    .and_then(|o| last(o.dtype())),
                s.inputs()
                    .iter()
                    .find(|i| i.name() == "lexicon")
                    .and_then(|i| last(i.dtype())),
            )
        });
        let expected = tag_count as i64;
        if tags != Some(expected) {
            return Err(NluError::onnx(
                path,
                format!(
                    "expected an output `tag_probabilities` with {expected} tags, found \
                     {tags:?}; retrain the model with `nlu train`"
                ),
            ));
        }
        let lexicon = if meta.lexicon.is_empty() {
            None
        } else {
            Some(meta.lexicon.matcher(types.len())?)
        };
        let want = lexicon.as_ref().map(|m| m.columns() as i64);
        if lexicon_columns != want {
            return Err(NluError::onnx(
                path,
                format!(
                    "model.json's tagger lexicon needs a `lexicon` input of {want:?} columns, \
                     the graph has {lexicon_columns:?}; retrain the model with `nlu train`"
                ),
            ));
        }
        Ok(Tagger {
            pool,
            types,
            transitions: meta.transitions.clone(),
            intents: meta.intents.clone(),
            lexicon,
        })
    }

    /// The entity types it tags.
    pub fn types(&self) -> &[EntityKind] {
        &self.types
    }

    /// Whether texts classified as `intent` are tagged (those of [`TaggerMeta::intents`]).
    pub fn tags_intent(&self, intent: &IntentName) -> bool {
        self.intents.is_empty() || self.intents.contains(intent)
    }

    /// The lexicon features that it reads for a text with `rows` token states, when it reads
    /// a lexicon ([`lexicon::LexiconMatcher::features`]).
    pub fn lexicon_features(
        &self,
        text: &str,
        pieces: &[Option<(usize, usize)>],
        rows: usize,
    ) -> Option<Array2<f32>> {
        Some(self.lexicon.as_ref()?.features(text, pieces, rows))
    }

    /// Tag probabilities of each piece, `[pieces × tags]`, from the token states of one text
    /// (and, when the tagger reads a lexicon, the matches of its values in `text`; `pieces`
    /// as in [`Tagger::tag`]).
    pub fn probabilities(
        &self,
        text: &str,
        pieces: &[Option<(usize, usize)>],
        states: ArrayView2<f32>,
    ) -> Result<Array2<f32>> {
        let path = self.pool.path();
        let n = states.nrows();
        // a batch of one, without a copy
        let input = states.insert_axis(Axis(0));
        let features = self
            .lexicon
            .as_ref()
            .map(|m| m.features(text, pieces, n).insert_axis(Axis(0)));
        let tags = bio::tag_count(self.types.len());
        self.pool.run(|session| {
            let t = TensorRef::from_array_view(input).map_err(|e| NluError::onnx(path, e))?;
            let outputs = match &features {
                Some(f) => {
                    let f = TensorRef::from_array_view(f.view())
                        .map_err(|e| NluError::onnx(path, e))?;
                    session.run(ort::inputs!["token_states" => t, "lexicon" => f])
                }
                None => session.run(ort::inputs!["token_states" => t]),
            }
            .map_err(|e| NluError::onnx(path, e))?;
            let (_, data) = outputs["tag_probabilities"]
                .try_extract_tensor::<f32>()
                .map_err(|e| NluError::onnx(path, e))?;
            Array2::from_shape_vec((n, tags), data.to_vec()).map_err(|e| NluError::onnx(path, e))
        })
    }

    /// The entity spans of one text, given its pieces' character ranges (as in
    /// [`crate::classifier::encoder::Tokens::spans`]) and its token states.
    pub fn tag(
        &self,
        text: &str,
        pieces: &[Option<(usize, usize)>],
        states: ArrayView2<f32>,
    ) -> Result<Vec<Tagged>> {
        let probs = self.probabilities(text, pieces, states)?;
        Ok(self.typed(decode(text, pieces, &probs, &self.transitions)))
    }

    /// [`Tagger::tag`], with the probability of the decoded tag sequence under the CRF
    /// ([`crf::path_probability`]): how sure the tagger is of the whole answer, spans and
    /// the pieces outside them alike.
    pub fn tag_scored(
        &self,
        text: &str,
        pieces: &[Option<(usize, usize)>],
        states: ArrayView2<f32>,
    ) -> Result<(Vec<Tagged>, f32)> {
        let probs = self.probabilities(text, pieces, states)?;
        let (spans, probability) = decode_scored(text, pieces, &probs, &self.transitions);
        Ok((self.typed(spans), probability))
    }

    /// Decoded spans with their types' names.
    fn typed(&self, spans: Vec<(bio::TypedSpan, f32)>) -> Vec<Tagged> {
        spans
            .into_iter()
            .filter_map(|((k, start, end), confidence)| {
                Some(Tagged {
                    entity: self.types.get(k)?.clone(),
                    start,
                    end,
                    confidence,
                })
            })
            .collect()
    }
}

/// Decodes the tag probabilities of all pieces (`[pieces × tags]`) into typed character
/// spans of `text`, with their confidences: Viterbi over the pieces that cover text.
pub fn decode(
    text: &str,
    pieces: &[Option<(usize, usize)>],
    probs: &Array2<f32>,
    transitions: &[f32],
) -> Vec<(bio::TypedSpan, f32)> {
    Decoded::new(text, pieces, probs, transitions).spans
}

/// [`decode`], with the probability of the decoded tag sequence under the CRF whose
/// emissions are the log probabilities and whose transition scores are `transitions`
/// ([`crf::path_probability`]).
pub fn decode_scored(
    text: &str,
    pieces: &[Option<(usize, usize)>],
    probs: &Array2<f32>,
    transitions: &[f32],
) -> (Vec<(bio::TypedSpan, f32)>, f32) {
    let d = Decoded::new(text, pieces, probs, transitions);
    let tags = probs.ncols();
    let probability = match Array2::from_shape_vec((d.path.len(), tags), d.log) {
        Ok(emissions) => crf::path_probability(
            emissions.view(),
            &d.path,
            &crf::transition_factors(transitions, tags),
        ),
        Err(_) => 0.0,
    };
    (d.spans, probability)
}

/// A Viterbi decoding over the pieces that cover text.
struct Decoded {
    spans: Vec<(bio::TypedSpan, f32)>,
    /// The tag of each covered piece.
    path: Vec<usize>,
    /// The log probabilities of the covered pieces' tags, row after row.
    log: Vec<f32>,
}

impl Decoded {
    fn new(
        text: &str,
        pieces: &[Option<(usize, usize)>],
        probs: &Array2<f32>,
        transitions: &[f32],
    ) -> Self {
        let tags = probs.ncols();
        let mut covered = Vec::new();
        let mut p = Vec::new();
        for (i, piece) in pieces.iter().enumerate().take(probs.nrows()) {
            if let Some(span) = piece {
                covered.push(*span);
                p.extend(probs.row(i).iter().copied());
            }
        }
        let log: Vec<f32> = p.iter().map(|&v| v.max(1e-12).ln()).collect();
        let path = bio::viterbi_with(&log, tags, transitions);
        let chars: Vec<char> = text.chars().collect();
        Decoded {
            spans: bio::spans(&path, &p, tags, &covered, &chars),
            path,
            log,
        }
    }
}
