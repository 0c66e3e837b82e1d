//! Known values of the tagged types, as features of the tagger: which pieces of a text begin
//! or continue a value that the training examples annotate (as Rasa's lookup-table features
//! and Snips NLU's entity-match features feed their taggers).
//!
//! The tagger learns how far to trust a match: a value it knows says little about whether
//! "play thriller" names a `track` or an `album`, but much about where a playlist's name
//! ends. So that it learns the trust that a new text deserves, the features of each training
//! example come from the values of the *other* folds' examples ([`out_of_fold_features`]):
//! at training time as at run time, some values are known and some are not.
//!
//! Matching is on the text lower-cased with full-width forms folded (the gazetteers'
//! normalisation), on the word boundaries of every dictionary match in this crate (as the
//! catalog's gazetteer): a value that begins (ends) with a Latin letter or digit must not
//! have one right before (after) it, nor a `-`, `.` or `/` next to one, so that `web` is not
//! found in `web-01`; values in Chinese match anywhere.
//!
//! ```
//! use nlu::tagger::lexicon::Lexicon;
//! // type 0 is `playlist`, type 1 `artist`
//! let lexicon = Lexicon::from_spans([
//!     ("add it to Dinner Jazz", &[(0, 10, 21)][..]),
//!     ("play 周杰伦", &[(1, 5, 8)][..]),
//! ]);
//! assert_eq!(lexicon.len(), 2);
//! let matcher = lexicon.matcher(2)?;
//! assert_eq!(matcher.matches("put this on my dinner jazz list"), vec![(15, 26, vec![0])]);
//! assert_eq!(matcher.matches("来点周杰伦的歌"), vec![(2, 5, vec![1])]);
//! // not inside a word, nor joined to one by `-`, `.` or `/`
//! assert!(matcher.matches("dinner jazzy").is_empty());
//! assert!(matcher.matches("my-dinner jazz").is_empty());
//! assert_eq!(matcher.matches("dinner jazz."), vec![(0, 11, vec![0])]);
//! # Ok::<(), nlu::NluError>(())
//! ```

use super::bio::TypedSpan;
use crate::entities::Text;
use crate::error::{NluError, Result};
use crate::train::TokenStates;
use aho_corasick::{AhoCorasick, MatchKind};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Known values (normalised: lower-cased, full-width folded, runs of spaces as one) and the
/// indices of the types that annotate each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lexicon {
    values: BTreeMap<String, Vec<usize>>,
}

/// A value as matched: normalised, with runs of white space as one space.
fn normalize(value: &str) -> String {
    Text::new(value)
        .norm
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Lexicon {
    /// The annotated values of some texts: each text with its spans (type index, character
    /// start and end).
    pub fn from_spans<'a>(examples: impl IntoIterator<Item = (&'a str, &'a [TypedSpan])>) -> Self {
        let mut values: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (text, spans) in examples {
            for &(kind, start, end) in spans {
                let value: String = text
                    .chars()
                    .skip(start)
                    .take(end.saturating_sub(start))
                    .collect();
                let value = normalize(&value);
                if value.is_empty() {
                    continue;
                }
                let kinds = values.entry(value).or_default();
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                    kinds.sort_unstable();
                }
            }
        }
        Lexicon { values }
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// A matcher of the values, for a tagger of `types` entity types (every type index must
    /// be below it).
    pub fn matcher(&self, types: usize) -> Result<LexiconMatcher> {
        if let Some(k) = self.values.values().flatten().find(|&&k| k >= types) {
            return Err(NluError::Training(format!(
                "the tagger's lexicon names type {k} of {types}; retrain the model with `nlu \
                 train`"
            )));
        }
        let keys: Vec<&String> = self.values.keys().collect();
        let automaton = if keys.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&keys)
                    .map_err(|e| {
                        NluError::Training(format!("the tagger's lexicon cannot be matched: {e}"))
                    })?,
            )
        };
        Ok(LexiconMatcher {
            automaton,
            kinds: self.values.values().cloned().collect(),
            types,
        })
    }
}

/// Finds a [`Lexicon`]'s values in texts and turns the matches into tagger features.
#[derive(Debug, Clone)]
pub struct LexiconMatcher {
    automaton: Option<AhoCorasick>,
    /// The types of each value, in pattern order.
    kinds: Vec<Vec<usize>>,
    types: usize,
}

impl LexiconMatcher {
    /// Feature columns: two per type ([`LexiconMatcher::features`]).
    pub fn columns(&self) -> usize {
        2 * self.types
    }

    /// Every known value in `text` (overlapping ones too): character start and end, and the
    /// value's types.
    pub fn matches(&self, text: &str) -> Vec<(usize, usize, Vec<usize>)> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let t = Text::new(text);
        let mut out = Vec::new();
        for m in automaton.find_overlapping_iter(t.norm.as_str()) {
            let (s, e) = t.chars_of(m.start(), m.end());
            if s >= e {
                continue;
            }
            if t.stands_alone(s, e) {
                if let Some(kinds) = self.kinds.get(m.pattern().as_usize()) {
                    out.push((s, e, kinds.clone()));
                }
            }
        }
        out
    }

    /// The features of the first `rows` pieces of `text` (`pieces`: each piece's character
    /// range, `None` for special tokens; rows past its end get none), `[rows × 2·types]`:
    /// column `2k` is 1 where the piece begins a known value of type `k`, column `2k + 1`
    /// where it continues one. A piece belongs to a value as [`super::bio::gold_tags`]
    /// assigns pieces to spans.
    pub fn features(
        &self,
        text: &str,
        pieces: &[Option<(usize, usize)>],
        rows: usize,
    ) -> Array2<f32> {
        let mut out = Array2::zeros((rows, self.columns()));
        for (s, e, kinds) in self.matches(text) {
            let mut begun = false;
            for (i, piece) in pieces.iter().enumerate().take(rows) {
                let Some((a, b)) = *piece else { continue };
                let inside = if a < b {
                    s <= a && a < e
                } else {
                    s < a && a < e
                };
                if !inside {
                    continue;
                }
                let offset = usize::from(begun || a >= b);
                begun |= a < b;
                for &k in &kinds {
                    out[[i, 2 * k + offset]] = 1.0;
                }
            }
        }
        out
    }
}

/// The lexicon features of each of `texts` (one row per row of its token states) from the
/// values that the other folds' texts annotate: text `i` is in fold `i % folds`. Without at
/// least two folds, each text's features come from every text's values, its own included.
pub fn out_of_fold_features(
    texts: &[&str],
    states: &[TokenStates],
    spans: &[Vec<TypedSpan>],
    types: usize,
    folds: usize,
) -> Result<Vec<Array2<f32>>> {
    let folds = folds.max(1);
    let matchers = (0..folds)
        .map(|f| {
            Lexicon::from_spans(
                texts
                    .iter()
                    .zip(spans)
                    .enumerate()
                    .filter(|(i, _)| folds == 1 || i % folds != f)
                    .map(|(_, (t, s))| (*t, s.as_slice())),
            )
            .matcher(types)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(texts
        .iter()
        .zip(states)
        .enumerate()
        .map(|(i, (text, st))| matchers[i % folds].features(text, &st.spans, st.states.nrows()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_begin_and_continue_values_as_gold_tags_assign_them() {
        let lexicon = Lexicon::from_spans([("to Dinner  Jazz", &[(1, 3, 15)][..])]);
        let m = lexicon.matcher(2).unwrap();
        // "add dinner jazz": pieces "add", "din", "ner", "jazz", then a special token
        let pieces = [
            Some((0, 3)),
            Some((4, 7)),
            Some((7, 10)),
            Some((11, 15)),
            None,
        ];
        let f = m.features("add dinner jazz", &pieces, 6);
        assert_eq!(f.dim(), (6, 4));
        let col = |c: usize| f.column(c).to_vec();
        assert_eq!(col(2), vec![0., 1., 0., 0., 0., 0.]);
        assert_eq!(col(3), vec![0., 0., 1., 1., 0., 0.]);
        assert_eq!(col(0), vec![0.; 6]);
        // cut to fewer rows than pieces (a text past the encoder's limit)
        assert_eq!(
            m.features("add dinner jazz", &pieces, 3).column(3).to_vec(),
            vec![0., 0., 1.]
        );
        // an empty piece (a lone "▁") before the value is not in it
        let f = m.features(
            "add dinner jazz",
            &[Some((4, 4)), Some((4, 10)), Some((11, 15))],
            3,
        );
        assert_eq!(f.column(2).to_vec(), vec![0., 1., 0.]);
        assert_eq!(f.column(3).to_vec(), vec![0., 0., 1.]);
    }

    #[test]
    fn values_of_several_types_and_overlapping_values_all_count() {
        let lexicon = Lexicon::from_spans([
            ("thriller", &[(0, 0, 8)][..]),
            ("thriller", &[(1, 0, 8)][..]),
            ("thriller live", &[(1, 0, 13)][..]),
        ]);
        let m = lexicon.matcher(2).unwrap();
        assert_eq!(
            m.matches("play Thriller Live"),
            vec![(5, 13, vec![0, 1]), (5, 18, vec![1])]
        );
        assert!(lexicon.matcher(1).is_err());
    }

    #[test]
    fn out_of_fold_features_never_see_their_own_text() {
        let texts = ["to jazz", "to jazz", "to rock"];
        let spans = vec![vec![(0, 3, 7)], vec![(0, 3, 7)], vec![(0, 3, 7)]];
        let st = TokenStates {
            spans: vec![Some((0, 2)), Some((3, 7))],
            states: Array2::zeros((2, 4)),
        };
        let states = vec![st.clone(), st.clone(), st];
        let f = out_of_fold_features(&texts, &states, &spans, 1, 3).unwrap();
        // "jazz" is known to the first two texts from each other; "rock" only from itself
        assert_eq!(f[0][[1, 0]], 1.0);
        assert_eq!(f[1][[1, 0]], 1.0);
        assert_eq!(f[2][[1, 0]], 0.0);
        let all = out_of_fold_features(&texts, &states, &spans, 1, 1).unwrap();
        assert_eq!(all[2][[1, 0]], 1.0);
    }
}
