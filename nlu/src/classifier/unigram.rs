//! A compact Unigram (SentencePiece) tokenizer model, a drop-in replacement for the
//! `tokenizers` crate's `Unigram` inside a [`tokenizers::TokenizerImpl`] that gives the same
//! tokens.
//!
//! The crate's `Unigram` keeps its 127,259 pieces in a byte trie whose every node is a hash
//! map, plus a string-to-id hash map and a per-word cache: about 108 MiB resident and a
//! quarter of a second to build, more than half of a loaded parser's memory. This model
//! keeps the pieces as one byte buffer and an open-addressing hash table from piece to id
//! (about 3.5 MiB), and a bounded cache of recent words as the crate does. The
//! common-prefix search looks up every prefix of the rest of the word that ends on a
//! character boundary, up to the longest piece, and yields the pieces found shortest first,
//! as the trie does. The Viterbi search and the handling of unknown characters are those of
//! `tokenizers::models::unigram::Unigram::encode_optimized` (0.23), so the token ids are the
//! same; a test checks them against the crate's tokenizer on the project's texts.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokenizers::{AddedToken, Model, Token, Trainer};

/// What the crate's `Unigram` subtracts from the lowest piece score for an unknown character.
const UNK_PENALTY: f64 = 10.0;

/// Unigram pieces in a flat layout.
#[derive(Clone, PartialEq)]
pub struct CompactUnigram {
    /// The pieces' bytes, concatenated in id order.
    bytes: Vec<u8>,
    /// `ends[id]`: where piece `id` ends in `bytes` (it starts where the previous one ends).
    ends: Vec<u32>,
    scores: Vec<f64>,
    /// Open addressing, linear probing: `id + 1` of the piece hashed there, 0 when empty.
    /// Of equal pieces the table keeps the last id, as the crate's map does.
    table: Vec<u32>,
    /// `64 - log2(table.len())`, for Fibonacci hashing.
    shift: u32,
    /// The longest piece, in bytes.
    max_len: usize,
    unk_id: Option<u32>,
    min_score: f64,
    byte_fallback: bool,
    cache: WordCache,
}

/// A segmentation: byte ranges of the word with their piece ids (`None`: unknown).
type Segments = Vec<(usize, usize, Option<u32>)>;

/// Words seen recently and their segmentations, as the crate's `Unigram` keeps them (at most
/// 10,000 words shorter than 256 bytes, about 1 MB): chat text repeats its words. A busy
/// lock is skipped rather than waited for.
#[derive(Default)]
struct WordCache(std::sync::RwLock<HashMap<Box<str>, Segments>>);

const CACHE_WORDS: usize = 10_000;
const CACHE_MAX_LEN: usize = 256;

impl WordCache {
    fn get(&self, word: &str) -> Option<Segments> {
        if word.len() >= CACHE_MAX_LEN {
            return None;
        }
        self.0.try_read().ok()?.get(word).cloned()
    }

    fn put(&self, word: &str, segments: &Segments) {
        if word.len() >= CACHE_MAX_LEN {
            return;
        }
        if let Ok(mut map) = self.0.try_write() {
            if map.len() < CACHE_WORDS {
                map.insert(word.into(), segments.clone());
            }
        }
    }
}

/// A copy starts with an empty cache.
impl Clone for WordCache {
    fn clone(&self) -> Self {
        WordCache::default()
    }
}

/// The cache does not change what a model computes.
impl PartialEq for WordCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for CompactUnigram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompactUnigram")
            .field("pieces", &self.ends.len())
            .field("unk_id", &self.unk_id)
            .field("byte_fallback", &self.byte_fallback)
            .finish()
    }
}

/// Errors building the model from a vocabulary.
#[derive(Debug, thiserror::Error)]
pub enum UnigramError {
    #[error("the vocabulary is empty but at least <unk> is needed")]
    EmptyVocabulary,
    #[error("the `unk_id` is larger than the vocabulary")]
    UnkIdNotInVocabulary,
    #[error("the vocabulary is larger than 4 GiB")]
    TooLarge,
    #[error("an unknown character met a model without `unk_id`")]
    MissingUnkId,
    #[error("this model cannot be trained; use the `tokenizers` crate's Unigram")]
    NotTrainable,
}

impl CompactUnigram {
    /// Builds the model from `(piece, score)` pairs in id order.
    pub fn from_pieces<S: AsRef<str>>(
        pieces: impl IntoIterator<Item = (S, f64)>,
        unk_id: Option<usize>,
        byte_fallback: bool,
    ) -> Result<Self, UnigramError> {
        let mut b = Builder::default();
        for (p, s) in pieces {
            b.push(p.as_ref(), s)?;
        }
        b.finish(unk_id, byte_fallback)
    }

    fn piece(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    fn piece_str(&self, id: u32) -> &str {
        // pieces come from JSON strings and are only ever whole strings
        std::str::from_utf8(self.piece(id)).unwrap_or_default()
    }

    /// Where `piece` starts probing in the table.
    fn slot(&self, piece: &[u8]) -> usize {
        (hash(piece).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The id of a piece, as the crate's string-to-id map gives it (the last of equal ones).
    fn lookup(&self, piece: &[u8]) -> Option<u32> {
        let mask = self.table.len() - 1;
        let mut i = self.slot(piece);
        loop {
            let id = self.table[i].checked_sub(1)?;
            if self.piece(id) == piece {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    /// Calls `f(length, id)` for every piece that is a prefix of `s`, shortest first. `s`
    /// starts on a character boundary; pieces are whole strings, so only prefixes that end
    /// on one can match.
    fn common_prefixes(&self, s: &[u8], mut f: impl FnMut(usize, u32)) {
        for end in 1..=s.len().min(self.max_len) {
            // not inside a multi-byte character (continuation bytes are 0b10xx_xxxx)
            if s.get(end).is_some_and(|&b| (b as i8) < -0x40) {
                continue;
            }
            if let Some(id) = self.lookup(&s[..end]) {
                f(end, id);
            }
        }
    }

    /// [`Self::encode`] through the word cache.
    fn segments(&self, word: &str) -> Result<Segments, UnigramError> {
        if let Some(s) = self.cache.get(word) {
            return Ok(s);
        }
        let s = self.encode(word)?;
        self.cache.put(word, &s);
        Ok(s)
    }

    /// The best segmentation of `sentence` as byte ranges with their ids; consecutive unknown
    /// characters are fused into one range with the unknown id.
    fn encode(&self, sentence: &str) -> Result<Segments, UnigramError> {
        #[derive(Clone, Copy)]
        struct Best {
            id: Option<u32>,
            score: f64,
            starts_at: Option<usize>,
        }
        let size = sentence.len();
        if size == 0 {
            return Ok(Vec::new());
        }
        let bytes = sentence.as_bytes();
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![
            Best {
                id: None,
                score: 0.0,
                starts_at: None
            };
            size + 1
        ];
        let mut start = 0;
        while start < size {
            let here = best[start].score;
            let mblen = sentence[start..].chars().next().map_or(1, char::len_utf8);
            let mut has_single = false;
            self.common_prefixes(&bytes[start..], |len, id| {
                let node = &mut best[start + len];
                let candidate = self.scores[id as usize] + here;
                if node.starts_at.is_none() || candidate > node.score {
                    *node = Best {
                        id: Some(id),
                        score: candidate,
                        starts_at: Some(start),
                    };
                }
                has_single |= len == mblen;
            });
            if !has_single {
                let node = &mut best[start + mblen];
                let candidate = unk_score + here;
                if node.starts_at.is_none() || candidate > node.score {
                    *node = Best {
                        id: Some(self.unk_id.ok_or(UnigramError::MissingUnkId)?),
                        score: candidate,
                        starts_at: Some(start),
                    };
                }
            }
            start += mblen;
        }
        let mut out: Segments = Vec::new();
        let mut end = size;
        while end > 0 {
            let node = best[end];
            let begin = node.starts_at.unwrap_or(0);
            let unk = node.id.is_some() && node.id == self.unk_id;
            match out.last_mut() {
                // fuse with the unknown range after it (we walk backwards)
                Some(last) if unk && last.2.is_none() => last.0 = begin,
                _ => out.push((begin, end, if unk { None } else { node.id })),
            }
            end = begin;
        }
        out.reverse();
        Ok(out)
    }
}

/// Collects pieces.
#[derive(Default)]
struct Builder {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    scores: Vec<f64>,
}

impl Builder {
    fn push(&mut self, piece: &str, score: f64) -> Result<(), UnigramError> {
        self.bytes.extend_from_slice(piece.as_bytes());
        let end = u32::try_from(self.bytes.len()).map_err(|_| UnigramError::TooLarge)?;
        self.ends.push(end);
        self.scores.push(score);
        Ok(())
    }

    fn finish(
        self,
        unk_id: Option<usize>,
        byte_fallback: bool,
    ) -> Result<CompactUnigram, UnigramError> {
        let n = self.ends.len();
        if let Some(u) = unk_id {
            if n == 0 {
                return Err(UnigramError::EmptyVocabulary);
            }
            if u >= n {
                return Err(UnigramError::UnkIdNotInVocabulary);
            }
        }
        let n32 = u32::try_from(n).map_err(|_| UnigramError::TooLarge)?;
        let size = (2 * n).max(8).next_power_of_two();
        let mut model = CompactUnigram {
            min_score: self.scores.iter().copied().fold(f64::INFINITY, f64::min),
            bytes: self.bytes,
            ends: self.ends,
            scores: self.scores,
            table: vec![0; size],
            shift: 64 - size.trailing_zeros(),
            max_len: 0,
            unk_id: unk_id.map(|u| u as u32),
            byte_fallback,
            cache: WordCache::default(),
        };
        let mask = size - 1;
        let mut max_len = 0;
        for id in 0..n32 {
            let piece = model.piece(id);
            max_len = max_len.max(piece.len());
            let mut i = model.slot(piece);
            // an equal piece already there is replaced: the last id wins
            while let Some(other) = model.table[i].checked_sub(1) {
                if model.piece(other) == piece {
                    break;
                }
                i = (i + 1) & mask;
            }
            model.table[i] = id + 1;
        }
        model.max_len = max_len;
        Ok(model)
    }
}

/// FxHash-style hash of a short byte string, eight bytes at a time.
fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h
}

impl Model for CompactUnigram {
    type Trainer = NoTrainer;

    fn tokenize(&self, sentence: &str) -> tokenizers::Result<Vec<Token>> {
        let mut tokens = Vec::new();
        for (start, end, id) in self.segments(sentence)? {
            let text = &sentence[start..end];
            let id = match id.or_else(|| self.lookup(text.as_bytes())) {
                Some(id) => id,
                None => {
                    if self.byte_fallback {
                        let bytes: Option<Vec<Token>> = text
                            .bytes()
                            .map(|byte| {
                                let name = format!("<0x{byte:02X}>");
                                self.lookup(name.as_bytes())
                                    .map(|id| Token::new(id, name, (start, end)))
                            })
                            .collect();
                        if let Some(bytes) = bytes {
                            tokens.extend(bytes);
                            continue;
                        }
                    }
                    self.unk_id.ok_or(UnigramError::MissingUnkId)?
                }
            };
            tokens.push(Token::new(id, text.to_string(), (start, end)));
        }
        Ok(tokens)
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.lookup(token.as_bytes())
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        ((id as usize) < self.ends.len()).then(|| self.piece_str(id).to_string())
    }

    fn get_vocab(&self) -> HashMap<String, u32> {
        (0..self.ends.len() as u32)
            .map(|id| (self.piece_str(id).to_string(), id))
            .collect()
    }

    fn get_vocab_size(&self) -> usize {
        self.ends.len()
    }

    fn save(&self, folder: &Path, prefix: Option<&str>) -> tokenizers::Result<Vec<PathBuf>> {
        let name = match prefix {
            Some(p) => format!("{p}-unigram.json"),
            None => "unigram.json".to_string(),
        };
        let vocab: Vec<(&str, f64)> = (0..self.ends.len() as u32)
            .map(|id| (self.piece_str(id), self.scores[id as usize]))
            .collect();
        let json = serde_json::json!({
            "type": "Unigram",
            "unk_id": self.unk_id,
            "vocab": vocab,
            "byte_fallback": self.byte_fallback,
        });
        let path = folder.join(name);
        std::fs::write(&path, serde_json::to_vec(&json)?)?;
        Ok(vec![path])
    }

    fn get_trainer(&self) -> NoTrainer {
        NoTrainer
    }
}

/// [`CompactUnigram`] is for inference only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrainer;

impl Trainer for NoTrainer {
    type Model = CompactUnigram;

    fn should_show_progress(&self) -> bool {
        false
    }

    fn train(&self, _model: &mut CompactUnigram) -> tokenizers::Result<Vec<AddedToken>> {
        Err(Box::new(UnigramError::NotTrainable))
    }

    fn feed<I, S, F>(&mut self, _iterator: I, _process: F) -> tokenizers::Result<()>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
        F: Fn(&str) -> tokenizers::Result<Vec<String>> + Sync,
    {
        Err(Box::new(UnigramError::NotTrainable))
    }
}

/// Reads the `model` object of a `tokenizer.json` (`{"type": "Unigram", "unk_id": …,
/// "vocab": [[piece, score], …], "byte_fallback": …}`), appending the pieces straight into
/// the flat buffers (no string per piece).
impl<'de> Deserialize<'de> for CompactUnigram {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ModelVisitor)
    }
}

struct ModelVisitor;

impl<'de> Visitor<'de> for ModelVisitor {
    type Value = CompactUnigram;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Unigram model")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CompactUnigram, A::Error> {
        let mut builder = None;
        let mut unk_id: Option<usize> = None;
        let mut byte_fallback = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "type" => {
                    let t: std::borrow::Cow<'de, str> = map.next_value()?;
                    if t != "Unigram" {
                        return Err(de::Error::invalid_value(
                            de::Unexpected::Str(&t),
                            &"Unigram",
                        ));
                    }
                }
                "unk_id" => unk_id = map.next_value()?,
                "byte_fallback" => byte_fallback = map.next_value()?,
                "vocab" => {
                    let mut b = Builder::default();
                    map.next_value_seed(VocabSeed(&mut b))?;
                    builder = Some(b);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        builder
            .ok_or_else(|| de::Error::missing_field("vocab"))?
            .finish(unk_id, byte_fallback)
            .map_err(de::Error::custom)
    }
}

/// `[[piece, score], …]` into a builder.
struct VocabSeed<'a>(&'a mut Builder);

impl<'de> DeserializeSeed<'de> for VocabSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for VocabSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of [piece, score] pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(n) = seq.size_hint() {
            self.0.ends.reserve(n);
            self.0.scores.reserve(n);
        }
        while seq.next_element_seed(PieceSeed(self.0))?.is_some() {}
        Ok(())
    }
}

/// One `[piece, score]` pair.
struct PieceSeed<'a>(&'a mut Builder);

impl<'de> DeserializeSeed<'de> for PieceSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PieceSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a [piece, score] pair")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let piece: std::borrow::Cow<'de, str> = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let score: f64 = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        self.0.push(&piece, score).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenizers::models::unigram::Unigram;

    fn pieces() -> Vec<(String, f64)> {
        [
            ("<unk>", 0.0),
            ("a", -1.0),
            ("b", -1.0),
            ("c", -1.0),
            ("d", -1.5),
            ("cd", 1.0),
            ("ab", 2.0),
            ("abc", 5.0),
            ("abcd", 10.0),
            ("▁", -0.5),
            ("▁ab", -0.2),
            ("中", -2.0),
            ("中文", -1.0),
            ("<0x41>", -3.0),
            // a duplicate: the crate's map, and so its tokens, use the last id
            ("ab", 0.5),
        ]
        .iter()
        .map(|(p, s)| (p.to_string(), *s))
        .collect()
    }

    fn ids(tokens: &[Token]) -> Vec<(u32, String, (usize, usize))> {
        tokens
            .iter()
            .map(|t| (t.id, t.value.clone(), t.offsets))
            .collect()
    }

    #[test]
    fn same_tokens_as_the_crate() {
        let reference = Unigram::from(pieces(), Some(0), false).unwrap();
        let ours = CompactUnigram::from_pieces(pieces(), Some(0), false).unwrap();
        for text in [
            "abcdacdxx",
            "▁ab▁abc",
            "中文中xyz中",
            "",
            "x",
            "dcba",
            "ééab",
            "▁",
            "A",
        ] {
            assert_eq!(
                ids(&ours.tokenize(text).unwrap()),
                ids(&reference.tokenize(text).unwrap()),
                "{text:?}"
            );
        }
        // again, now from the word cache
        for text in ["abcdacdxx", "中文中xyz中"] {
            assert_eq!(
                ids(&ours.tokenize(text).unwrap()),
                ids(&reference.tokenize(text).unwrap())
            );
        }
        assert_eq!(ours.token_to_id("abc"), Some(7));
        assert_eq!(ours.token_to_id("ab c"), None);
        assert_eq!(ours.id_to_token(11).as_deref(), Some("中"));
        assert_eq!(ours.get_vocab_size(), 15);
        assert_eq!(ours.token_to_id("ab"), Some(14));
        assert_eq!(ours.get_vocab(), reference.get_vocab());
    }

    #[test]
    fn byte_fallback_like_the_crate() {
        let reference = Unigram::from(pieces(), Some(0), true).unwrap();
        let ours = CompactUnigram::from_pieces(pieces(), Some(0), true).unwrap();
        for text in ["A", "Ab", "xA"] {
            assert_eq!(
                ids(&ours.tokenize(text).unwrap()),
                ids(&reference.tokenize(text).unwrap()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn reads_and_checks_the_json_model() {
        let json = r#"{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["a\"b",-1.5]],"byte_fallback":false,"extra":[1]}"#;
        let m: CompactUnigram = serde_json::from_str(json).unwrap();
        assert_eq!(m.token_to_id("a\"b"), Some(1));
        assert_eq!(m.scores, vec![0.0, -1.5]);
        for bad in [
            r#"{"type":"BPE","vocab":[]}"#,
            r#"{"type":"Unigram","unk_id":5,"vocab":[["a",0.0]]}"#,
            r#"{"type":"Unigram","unk_id":0}"#,
            r#"{"type":"Unigram","vocab":[["a"]]}"#,
        ] {
            assert!(
                serde_json::from_str::<CompactUnigram>(bad).is_err(),
                "{bad}"
            );
        }
        assert!(NoTrainer.train(&mut m.clone()).is_err());
    }

    #[test]
    fn no_unk_id_fails_on_unknown_characters() {
        let m = CompactUnigram::from_pieces([("a", -1.0)], None, false).unwrap();
        assert_eq!(m.tokenize("aa").unwrap().len(), 2);
        assert!(m.tokenize("ab").is_err());
    }
}
