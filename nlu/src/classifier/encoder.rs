//! The sentence encoder: tokenizer plus the ONNX graph that maps token ids to a normalized
//! sentence embedding (multilingual-e5-small; mean pooling and L2 normalization are inside
//! the graph).
//!
//! Each text is encoded alone, as a batch of one, so that no padding enters the int8 model's
//! dynamic activation scales: a text embeds the same way at training time, in `parse` and
//! in `parse_batch`.

use super::session_pool::{SegmentPools, SessionPool};
use super::unigram::CompactUnigram;
use crate::error::{NluError, Result};
use ndarray::{Array2, Array3, ArrayView2};
use ort::value::TensorRef;
use std::path::{Path, PathBuf};
use tokenizers::{
    DecoderWrapper, Encoding, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
    Tokenizer, TokenizerImpl, TruncationDirection, TruncationParams, TruncationStrategy,
};

/// File names inside an encoder directory.
pub const ENCODER_FILE: &str = "encoder.onnx";
/// The encoder graph's optional second output: the states of every token after each of
/// [`TOKEN_STATE_LAYERS`], side by side.
pub const TOKEN_STATES: &str = "token_states";
/// The layers (1-based) whose states [`TOKEN_STATES`] holds, in order (as
/// `scripts/encoder/build_encoder.py` writes them).
pub const TOKEN_STATE_LAYERS: [usize; 3] = [4, 8, 12];
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// The prefix multilingual-e5 expects before a query.
pub const QUERY_PREFIX: &str = "query: ";

/// Token ids of one text, with `<s>` and `</s>`, truncated to the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<i64>,
    /// Pieces of the text (not of the query prefix, not special tokens) that the encoder
    /// can read: ones with a letter or digit of any script.
    pub readable: usize,
    /// Pieces it cannot: the unknown token, and pieces of symbols only (emoji, dingbats,
    /// box drawing...). Punctuation and bare word boundaries count as neither.
    pub unreadable: usize,
    /// For each id, the characters of the text it covers (`start..end`, character offsets
    /// of the text without the query prefix, leading spaces left out); `None` for special
    /// tokens and the prefix's pieces, and an empty range for a bare word boundary.
    pub spans: Vec<Option<(usize, usize)>>,
}

impl Tokens {
    /// Share of the text's readable pieces among its readable and unreadable ones; 1 when
    /// it has neither (e.g. only punctuation: "?").
    pub fn readable_fraction(&self) -> f32 {
        let all = self.readable + self.unreadable;
        if all == 0 {
            1.0
        } else {
            self.readable as f32 / all as f32
        }
    }
}

/// How a piece of the vocabulary counts for [`Tokens::readable_fraction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readability {
    /// Has a letter or digit.
    Readable,
    /// The unknown token, or symbols that are not punctuation (emoji...).
    Unreadable,
    /// Punctuation or a bare word boundary.
    Neutral,
}

/// Classifies one piece of a SentencePiece vocabulary (`▁` marks a word start).
pub fn readability(piece: &str, is_unknown: bool) -> Readability {
    if is_unknown {
        return Readability::Unreadable;
    }
    let mut neutral = true;
    for c in piece
        .chars()
        .filter(|&c| c != '\u{2581}' && !c.is_whitespace())
    {
        if c.is_alphanumeric() {
            return Readability::Readable;
        }
        if !is_punctuation(c) {
            neutral = false;
        }
    }
    if neutral {
        Readability::Neutral
    } else {
        Readability::Unreadable
    }
}

/// ASCII, general (U+2000–U+206F), CJK (U+3000–U+303F) and full-width punctuation.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || ('\u{2000}'..='\u{206f}').contains(&c)
        || ('\u{3000}'..='\u{303f}').contains(&c)
        || ('\u{ff01}'..='\u{ff0f}').contains(&c)
        || ('\u{ff1a}'..='\u{ff20}').contains(&c)
        || ('\u{ff3b}'..='\u{ff40}').contains(&c)
        || ('\u{ff5b}'..='\u{ff65}').contains(&c)
        || matches!(
            c,
            '\u{00a1}'
                | '\u{00a7}'
                | '\u{00ab}'
                | '\u{00b6}'
                | '\u{00b7}'
                | '\u{00bb}'
                | '\u{00bf}'
        )
}

/// Tokenizer and encoder session.
#[derive(Debug)]
pub struct Encoder {
    dir: PathBuf,
    tokenizer: TextTokenizer,
    runs: Runs,
    dim: usize,
    max_tokens: usize,
    /// Id of the unknown token, when the vocabulary has one.
    unk_id: Option<u32>,
    /// Whether the graph has the [`TOKEN_STATES`] output.
    token_states: bool,
    /// The layer whose pooled token states follow the sentence embedding in
    /// [`Encoded::embedding`] ([`Encoder::with_pooled_layer`]).
    pooled_layer: Option<usize>,
}

/// How the encoder graph runs: whole, or cut in two after a layer for the early exit.
#[derive(Debug)]
enum Runs {
    Whole(SessionPool),
    Split { layer: usize, pools: SegmentPools },
}

impl Runs {
    /// The pool that gives the graph's outputs.
    fn last(&self) -> &SessionPool {
        match self {
            Runs::Whole(pool) => pool,
            Runs::Split { pools, .. } => &pools.late,
        }
    }
}

/// What one encoder run gives: the head's input and, when asked for, the states of its
/// tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The unit-length sentence embedding; with a pooled layer
    /// ([`Encoder::with_pooled_layer`]), followed by the unit-length mean of that layer's
    /// token states ([`Encoder::feature_dim`] values in all).
    pub embedding: Vec<f32>,
    /// `[tokens × (layers × dim)]`: the [`TOKEN_STATES`] of each token, in the order of
    /// [`Tokens::ids`].
    pub states: Option<Array2<f32>>,
}

/// What the early segment of a split encoder gives ([`Encoder::encode_early`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Early {
    /// `[1 × tokens × dim]`: the hidden states after the exit layer, which the late segment
    /// continues from.
    pub hidden: Array3<f32>,
    /// Their mean over the tokens, scaled to unit length (pooled as the sentence embedding
    /// is pooled from the last layer).
    pub embedding: Vec<f32>,
}

impl Encoder {
    /// Loads `encoder.onnx` and `tokenizer.json` from `dir`.
    ///
    /// The tokenizer is read on a second thread while ONNX Runtime creates the session; a
    /// missing or corrupt file of either kind is an error here (the tokenizer's first).
    pub fn load(dir: &Path, max_tokens: usize, threads: usize, sessions: usize) -> Result<Self> {
        Self::load_with_exit(dir, max_tokens, threads, sessions, None)
    }

    /// [`Encoder::load`], with the graph cut after layer `exit_layer` when given
    /// ([`super::segments`]): [`Encoder::encode_early`] then runs the layers up to the cut,
    /// and [`Encoder::encode_late`] the rest. A whole run is the two in a row, with the same
    /// result as the uncut graph's.
    pub fn load_with_exit(
        dir: &Path,
        max_tokens: usize,
        threads: usize,
        sessions: usize,
        exit_layer: Option<usize>,
    ) -> Result<Self> {
        let tok_path = dir.join(TOKENIZER_FILE);
        let onnx = dir.join(ENCODER_FILE);
        for (path, name) in [(&tok_path, TOKENIZER_FILE), (&onnx, ENCODER_FILE)] {
            if !path.is_file() {
                return Err(NluError::ModelDir {
                    path: dir.to_path_buf(),
                    reason: format!("{name} is missing"),
                });
            }
        }
        let (tokenizer, runs) = std::thread::scope(|scope| {
            let tokenizer = std::thread::Builder::new()
                .name("nlu-tokenizer-load".into())
                .spawn_scoped(scope, || TextTokenizer::load(&tok_path, max_tokens));
            let runs = match exit_layer {
                None => SessionPool::load(&onnx, threads, sessions).map(Runs::Whole),
                Some(layer) => SessionPool::load_segments(&onnx, threads, sessions, layer)
                    .map(|pools| Runs::Split { layer, pools }),
            };
            let tokenizer = match tokenizer {
                Ok(handle) => handle.join().unwrap_or_else(|_| {
                    Err(NluError::Tokenizer {
                        path: tok_path.clone(),
                        reason: "the loading thread panicked".into(),
                    })
                }),
                // no thread to spare: load it here
                Err(_) => TextTokenizer::load(&tok_path, max_tokens),
            };
            (tokenizer, runs)
        });
        let tokenizer = tokenizer?;
        let runs = runs?;
        let pool = runs.last();
        let dim = pool.with_first(|s| {
            s.outputs()
                .first()
                .and_then(|o| o.dtype().tensor_shape().and_then(|sh| sh.last().copied()))
                .unwrap_or(-1)
        });
        let dim = usize::try_from(dim).map_err(|_| {
            NluError::onnx(
                &onnx,
                "the first output is not a [batch, dim] sentence embedding",
            )
        })?;
        let unk_id = tokenizer.token_to_id("<unk>");
        let token_states =
            pool.with_first(|s| s.outputs().iter().any(|o| o.name() == TOKEN_STATES));
        Ok(Encoder {
            dir: dir.to_path_buf(),
            unk_id,
            token_states,
            pooled_layer: None,
            tokenizer,
            runs,
            dim,
            max_tokens,
        })
    }

    /// Makes every run also pool the token states after `layer` (one of
    /// [`TOKEN_STATE_LAYERS`]): their mean over the tokens, scaled to unit length, follows the
    /// sentence embedding in [`Encoded::embedding`]. The middle layers keep more of a text's
    /// words than the last one, which helps a head in the training data's languages. `None`
    /// leaves the sentence embedding alone. An error when the graph has no
    /// [`TOKEN_STATES`] output or `layer` is not in it.
    ///
    /// ```no_run
    /// # fn main() -> nlu::Result<()> {
    /// use nlu::classifier::encoder::Encoder;
    /// let encoder = Encoder::load("models/multilingual-e5-small".as_ref(), 128, 1, 1)?
    ///     .with_pooled_layer(Some(8))?;
    /// let features = encoder.embed("restart api in prod")?;
    /// assert_eq!(features.len(), encoder.feature_dim());
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_pooled_layer(mut self, layer: Option<usize>) -> Result<Self> {
        if let Some(layer) = layer {
            let path = self.runs.last().path();
            if !self.token_states {
                return Err(NluError::onnx(
                    path,
                    format!(
                        "the model pools the states of layer {layer}, but the encoder has no \
                         `{TOKEN_STATES}` output; rebuild it with scripts/encoder/build.sh"
                    ),
                ));
            }
            if !TOKEN_STATE_LAYERS.contains(&layer) {
                return Err(NluError::onnx(
                    path,
                    format!(
                        "the model pools the states of layer {layer}, but `{TOKEN_STATES}` holds \
                         layers {TOKEN_STATE_LAYERS:?}; retrain it with `nlu train`"
                    ),
                ));
            }
        }
        self.pooled_layer = layer;
        Ok(self)
    }

    /// The layer whose pooled states follow the sentence embedding, if any.
    pub fn pooled_layer(&self) -> Option<usize> {
        self.pooled_layer
    }

    /// The length of [`Encoded::embedding`]: [`Encoder::dim`], twice with a pooled layer.
    pub fn feature_dim(&self) -> usize {
        self.dim * (1 + usize::from(self.pooled_layer.is_some()))
    }

    /// The layer after which the graph is cut for the early exit, if it is.
    pub fn exit_layer(&self) -> Option<usize> {
        match &self.runs {
            Runs::Whole(_) => None,
            Runs::Split { layer, .. } => Some(*layer),
        }
    }

    /// The directory the encoder was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The embedding size (384 for multilingual-e5-small).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Whether the graph also gives the states of the tokens (encoders built before the
    /// entity tagger do not).
    pub fn has_token_states(&self) -> bool {
        self.token_states
    }

    /// The longest token sequence the encoder sees; longer texts are truncated.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Tokenizes a text with the query prefix, truncating to the window.
    pub fn tokenize(&self, text: &str) -> Result<Tokens> {
        let input = format!("{QUERY_PREFIX}{text}");
        let enc = self
            .tokenizer
            .encode(input.as_str())
            .map_err(|e| NluError::Tokenizer {
                path: self.dir.join(TOKENIZER_FILE),
                reason: e.to_string(),
            })?;
        // the prefix's pieces end within `query:` (a text's first piece may take its space)
        let prefix = QUERY_PREFIX.trim_end().len();
        let prefix_chars = QUERY_PREFIX.chars().count();
        let chars: Vec<char> = input.chars().collect();
        let spans = enc
            .get_offsets()
            .iter()
            .zip(enc.get_special_tokens_mask())
            .map(|(&(start, end), &special)| {
                if special == 1 || end <= prefix {
                    return None;
                }
                let end = end.min(chars.len());
                let mut start = start.min(end);
                while start < end && chars[start].is_whitespace() {
                    start += 1;
                }
                Some((
                    start.max(prefix_chars) - prefix_chars,
                    end.max(prefix_chars) - prefix_chars,
                ))
            })
            .collect();
        let (mut readable, mut unreadable) = (0, 0);
        for (((piece, &special), &(_, end)), &id) in enc
            .get_tokens()
            .iter()
            .zip(enc.get_special_tokens_mask())
            .zip(enc.get_offsets())
            .zip(enc.get_ids())
        {
            if special == 1 || end <= prefix {
                continue;
            }
            match readability(piece, Some(id) == self.unk_id) {
                Readability::Readable => readable += 1,
                Readability::Unreadable => unreadable += 1,
                Readability::Neutral => {}
            }
        }
        Ok(Tokens {
            ids: enc.get_ids().iter().map(|&i| i64::from(i)).collect(),
            readable,
            unreadable,
            spans,
        })
    }

    /// Runs the encoder on one tokenized text and returns its unit-length embedding (with a
    /// pooled layer, followed by its pooled states: the head's input).
    pub fn embed_tokens(&self, tokens: &Tokens) -> Result<Vec<f32>> {
        Ok(self.encode_tokens(tokens, false)?.embedding)
    }

    /// Runs the encoder on one tokenized text: its embedding and, if `states`, the states
    /// of its tokens (an error when the graph has no [`TOKEN_STATES`] output).
    pub fn encode_tokens(&self, tokens: &Tokens, states: bool) -> Result<Encoded> {
        match &self.runs {
            Runs::Whole(pool) => {
                self.check_states(states)?;
                let (ids, mask) = self.id_arrays(tokens)?;
                pool.run(|session| {
                    let path = pool.path();
                    let ids_t =
                        TensorRef::from_array_view(&ids).map_err(|e| NluError::onnx(path, e))?;
                    let mask_t =
                        TensorRef::from_array_view(&mask).map_err(|e| NluError::onnx(path, e))?;
                    let outputs = session
                        .run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])
                        .map_err(|e| NluError::onnx(path, e))?;
                    self.read_run(&outputs, path, tokens, states)
                })
            }
            Runs::Split { .. } => {
                let early = self.encode_early(tokens)?;
                self.encode_late(tokens, &early, states)
            }
        }
    }

    /// Runs the early segment of a split encoder ([`Encoder::load_with_exit`]): the hidden
    /// states after the exit layer and their pooled embedding. An error when the encoder is
    /// not split.
    pub fn encode_early(&self, tokens: &Tokens) -> Result<Early> {
        let Runs::Split { pools, .. } = &self.runs else {
            return Err(self.not_split());
        };
        let (ids, mask) = self.id_arrays(tokens)?;
        let n = tokens.ids.len();
        let pool = &pools.early;
        let hidden = pool.run(|session| {
            let path = pool.path();
            let ids_t = TensorRef::from_array_view(&ids).map_err(|e| NluError::onnx(path, e))?;
            let mask_t = TensorRef::from_array_view(&mask).map_err(|e| NluError::onnx(path, e))?;
            let outputs = session
                .run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])
                .map_err(|e| NluError::onnx(path, e))?;
            let (_, data) = outputs[0]
                .try_extract_tensor::<f32>()
                .map_err(|e| NluError::onnx(path, e))?;
            let dim = token_width(data.len(), n, &pools.hidden, path)?;
            Array3::from_shape_vec((1, n, dim), data.to_vec()).map_err(|e| NluError::onnx(path, e))
        })?;
        let width = hidden.shape()[2];
        let embedding =
            pool_block(hidden.index_axis(ndarray::Axis(0), 0), 0, width).unwrap_or_default();
        Ok(Early { hidden, embedding })
    }

    /// Runs the late segment of a split encoder from the early one's hidden states: what
    /// [`Encoder::encode_tokens`] gives for the same tokens.
    pub fn encode_late(&self, tokens: &Tokens, early: &Early, states: bool) -> Result<Encoded> {
        let Runs::Split { pools, .. } = &self.runs else {
            return Err(self.not_split());
        };
        self.check_states(states)?;
        let (ids, mask) = self.id_arrays(tokens)?;
        let pool = &pools.late;
        pool.run(|session| {
            let path = pool.path();
            let err = |e: ort::Error| NluError::onnx(path, e);
            let mut inputs: Vec<(String, ort::session::SessionInputValue<'_>)> = Vec::new();
            for name in &pools.late_inputs {
                let value = if *name == pools.hidden {
                    TensorRef::from_array_view(&early.hidden)
                        .map_err(err)?
                        .into()
                } else if name == "input_ids" {
                    TensorRef::from_array_view(&ids).map_err(err)?.into()
                } else if name == "attention_mask" {
                    TensorRef::from_array_view(&mask).map_err(err)?.into()
                } else {
                    return Err(NluError::onnx(
                        path,
                        format!("the late segment reads `{name}`, which the encoder cannot feed"),
                    ));
                };
                inputs.push((name.clone(), value));
            }
            let outputs = session.run(inputs).map_err(err)?;
            self.read_run(&outputs, path, tokens, states)
        })
    }

    fn not_split(&self) -> NluError {
        NluError::onnx(
            self.runs.last().path(),
            "the encoder was loaded whole; the early exit needs it cut after a layer",
        )
    }

    /// What a whole or late run over `tokens` gave ([`read_encoded`], with this encoder's
    /// pooled layer).
    fn read_run(
        &self,
        outputs: &ort::session::SessionOutputs<'_>,
        path: &Path,
        tokens: &Tokens,
        states: bool,
    ) -> Result<Encoded> {
        read_encoded(outputs, path, tokens.ids.len(), states, self.pooled_block())
    }

    /// The index of the pooled layer's block in [`TOKEN_STATES`].
    fn pooled_block(&self) -> Option<usize> {
        self.pooled_layer
            .and_then(|l| TOKEN_STATE_LAYERS.iter().position(|&k| k == l))
    }

    fn check_states(&self, states: bool) -> Result<()> {
        if states && !self.token_states {
            return Err(NluError::onnx(
                self.runs.last().path(),
                format!(
                    "the encoder has no `{TOKEN_STATES}` output, which the entity tagger \
                     reads; rebuild it with scripts/encoder/build.sh"
                ),
            ));
        }
        Ok(())
    }

    /// The batch of one text: its ids and an all-ones mask.
    fn id_arrays(&self, tokens: &Tokens) -> Result<(Array2<i64>, Array2<i64>)> {
        let n = tokens.ids.len();
        let ids = Array2::from_shape_vec((1, n), tokens.ids.clone())
            .map_err(|e| NluError::onnx(self.runs.last().path(), e))?;
        Ok((ids, Array2::<i64>::ones((1, n))))
    }

    /// Tokenizes and embeds one text.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        self.embed_tokens(&self.tokenize(text)?)
    }
}

/// The width of a `[tokens × dim]` output with `len` values for `n` tokens (an error when
/// they do not divide).
fn token_width(len: usize, n: usize, name: &str, path: &Path) -> Result<usize> {
    let dim = len.checked_div(n).unwrap_or(0);
    if dim == 0 || len != n * dim {
        return Err(NluError::onnx(
            path,
            format!("`{name}` has {len} values for {n} tokens"),
        ));
    }
    Ok(dim)
}

/// The sentence embedding (the first output), followed by the pooled states of block
/// `pooled` of the [`TOKEN_STATES`] when given, and, if `states`, the [`TOKEN_STATES`] of a
/// run over `n` tokens.
fn read_encoded(
    outputs: &ort::session::SessionOutputs<'_>,
    path: &Path,
    n: usize,
    states: bool,
    pooled: Option<usize>,
) -> Result<Encoded> {
    let (_, data) = outputs[0]
        .try_extract_tensor::<f32>()
        .map_err(|e| NluError::onnx(path, e))?;
    let mut embedding = data.to_vec();
    let all = if states || pooled.is_some() {
        let (_, data) = outputs[TOKEN_STATES]
            .try_extract_tensor::<f32>()
            .map_err(|e| NluError::onnx(path, e))?;
        let width = token_width(data.len(), n, TOKEN_STATES, path)?;
        Some(
            Array2::from_shape_vec((n, width), data.to_vec())
                .map_err(|e| NluError::onnx(path, e))?,
        )
    } else {
        None
    };
    if let (Some(block), Some(all)) = (pooled, &all) {
        embedding.extend(
            pool_block(all.view(), block, embedding.len()).ok_or_else(|| {
                NluError::onnx(
                    path,
                    format!(
                        "`{TOKEN_STATES}` is {} wide, too narrow for block {block} of {}",
                        all.ncols(),
                        embedding.len()
                    ),
                )
            })?,
        );
    }
    Ok(Encoded {
        embedding,
        states: all.filter(|_| states),
    })
}

/// The mean over the tokens of columns `block × dim .. (block + 1) × dim` of `states`,
/// scaled to unit length; `None` when `states` is narrower.
pub fn pool_block(states: ArrayView2<'_, f32>, block: usize, dim: usize) -> Option<Vec<f32>> {
    if states.ncols() < (block + 1) * dim {
        return None;
    }
    let cols = states.slice(ndarray::s![.., block * dim..(block + 1) * dim]);
    let mut mean = cols.mean_axis(ndarray::Axis(0))?.to_vec();
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        mean.iter_mut().for_each(|v| *v /= norm);
    }
    Some(mean)
}

/// A `tokenizer.json` with a Unigram model, run by [`CompactUnigram`].
type UnigramTokenizer = TokenizerImpl<
    CompactUnigram,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

/// The tokenizer of an encoder directory: a Unigram (SentencePiece) vocabulary, as
/// multilingual-e5's, in the compact model; any other model through the `tokenizers` crate.
#[derive(Debug)]
enum TextTokenizer {
    Unigram(Box<UnigramTokenizer>),
    Other(Box<Tokenizer>),
}

impl TextTokenizer {
    /// Reads `path`, truncating encodings to `max_tokens`, without padding.
    fn load(path: &Path, max_tokens: usize) -> Result<Self> {
        let err = |e: &dyn std::fmt::Display| NluError::Tokenizer {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let json = std::fs::read(path).map_err(|e| NluError::io(path, e))?;
        let truncation = Some(TruncationParams {
            max_length: max_tokens,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        });
        match UnigramTokenizer::from_bytes(&json) {
            Ok(mut t) => {
                t.with_truncation(truncation).map_err(|e| err(&e))?;
                t.with_padding(None);
                Ok(TextTokenizer::Unigram(Box::new(t)))
            }
            Err(_) => {
                // not a Unigram model (or not a tokenizer at all: then this says why)
                let mut t = Tokenizer::from_bytes(&json).map_err(|e| err(&e))?;
                t.with_truncation(truncation).map_err(|e| err(&e))?;
                t.with_padding(None);
                Ok(TextTokenizer::Other(Box::new(t)))
            }
        }
    }

    /// The id of a token of the vocabulary.
    fn token_to_id(&self, token: &str) -> Option<u32> {
        match self {
            TextTokenizer::Unigram(t) => t.token_to_id(token),
            TextTokenizer::Other(t) => t.token_to_id(token),
        }
    }

    /// Encodes one text with the special tokens; offsets are in characters.
    fn encode(&self, text: &str) -> tokenizers::Result<Encoding> {
        match self {
            TextTokenizer::Unigram(t) => t.encode_char_offsets(text, true),
            TextTokenizer::Other(t) => t.encode_char_offsets(text, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_with_letters_of_any_script_are_readable() {
        assert_eq!(readability("\u{2581}deploy", false), Readability::Readable);
        assert_eq!(readability("部署", false), Readability::Readable);
        assert_eq!(readability("\u{2581}нет", false), Readability::Readable);
        assert_eq!(readability("4812", false), Readability::Readable);
        assert_eq!(readability("\u{2581}👍", false), Readability::Unreadable);
        assert_eq!(readability("┻━┻", false), Readability::Unreadable);
        assert_eq!(readability("<unk>", true), Readability::Unreadable);
        assert_eq!(readability("\u{2581}?", false), Readability::Neutral);
        assert_eq!(readability("？", false), Readability::Neutral);
        assert_eq!(readability("\u{2581}", false), Readability::Neutral);
    }

    #[test]
    fn a_pooled_block_is_the_unit_length_mean_of_its_columns() {
        // two tokens, three blocks of two columns
        let states = Array2::from_shape_vec(
            (2, 6),
            vec![1.0, 0.0, 3.0, 4.0, 9.0, 9.0, 3.0, 0.0, 3.0, 4.0, 9.0, 9.0],
        )
        .unwrap();
        assert_eq!(pool_block(states.view(), 0, 2), Some(vec![1.0, 0.0]));
        assert_eq!(pool_block(states.view(), 1, 2), Some(vec![0.6, 0.8]));
        // past the last block: no value, not a panic
        assert_eq!(pool_block(states.view(), 3, 2), None);
        assert_eq!(pool_block(states.view(), 1, 4), None);
        // all zeros stay zeros
        let zeros = Array2::zeros((3, 4));
        assert_eq!(pool_block(zeros.view(), 1, 2), Some(vec![0.0, 0.0]));
    }

    #[test]
    fn a_text_of_punctuation_only_is_readable() {
        let t = Tokens {
            ids: vec![0, 2],
            readable: 0,
            unreadable: 0,
            spans: vec![None, None],
        };
        assert_eq!(t.readable_fraction(), 1.0);
        let t = Tokens {
            ids: vec![0, 7, 8, 2],
            readable: 1,
            unreadable: 3,
            spans: vec![None; 4],
        };
        assert_eq!(t.readable_fraction(), 0.25);
    }
}
