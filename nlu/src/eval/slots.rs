//! Entity (slot) scores as conlleval counts them: a predicted span is correct only when its
//! type, start and end all equal a gold span's; precision, recall and F1 are micro-averaged
//! over all spans, and also given per type.

use super::datasets::{Labeled, Slot};
use super::Prf;
use crate::result::{EntityKind, IntentName};
use crate::tagger::bio::TypedSpan;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Span-level scores of a set of texts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlotScores {
    /// Over all spans (`support`: the gold spans).
    pub all: Prf,
    pub predicted: usize,
    pub correct: usize,
    /// Per entity type, by name.
    pub per_type: BTreeMap<String, Prf>,
}

/// Scores `predicted` spans against `gold` ones, text by text (the two lists in the same
/// order).
///
/// ```
/// use nlu::eval::datasets::Slot;
/// use nlu::eval::slots::score;
/// let s = |e: &str, a, b| Slot { entity: e.into(), start: a, end: b };
/// let gold = vec![vec![s("city", 11, 17), s("date", 18, 26)]];
/// let pred = vec![vec![s("city", 11, 17), s("date", 18, 22)]];
/// let scores = score(&gold, &pred);
/// assert_eq!((scores.correct, scores.predicted, scores.all.support), (1, 2, 2));
/// assert_eq!(scores.all.f1, 0.5);
/// ```
pub fn score(gold: &[Vec<Slot>], predicted: &[Vec<Slot>]) -> SlotScores {
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new(); // tp, fp, fn
    for (g, p) in gold.iter().zip(predicted) {
        let gs: BTreeSet<&Slot> = g.iter().collect();
        let ps: BTreeSet<&Slot> = p.iter().collect();
        for s in &ps {
            let c = counts.entry(s.entity.clone()).or_default();
            if gs.contains(s) {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
        for s in gs.difference(&ps) {
            counts.entry(s.entity.clone()).or_default().2 += 1;
        }
    }
    let (tp, fp, fn_) = counts
        .values()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    SlotScores {
        all: Prf::from_counts(tp, fp, fn_),
        predicted: tp + fp,
        correct: tp,
        per_type: counts
            .into_iter()
            .map(|(k, (tp, fp, fn_))| (k, Prf::from_counts(tp, fp, fn_)))
            .collect(),
    }
}

/// What the entity tagger is trained on from a split with slot annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotTraining {
    /// The entity types that the texts annotate, sorted.
    pub types: Vec<String>,
    /// Each text's spans: index into `types`, character start and end.
    pub annotations: Vec<Vec<TypedSpan>>,
    /// Each text's intent.
    pub intents: Vec<IntentName>,
}

impl SlotTraining {
    /// The types, spans and intents of `items`, in their order.
    ///
    /// ```
    /// use nlu::eval::datasets::{Labeled, Slot};
    /// use nlu::eval::slots::SlotTraining;
    /// let slot = |e: &str, a, b| Slot { entity: e.into(), start: a, end: b };
    /// let items = vec![
    ///     Labeled { text: "play jazz by miles".into(), label: "PlayMusic".into(),
    ///               slots: vec![slot("genre", 5, 9), slot("artist", 13, 18)] },
    ///     Labeled { text: "hello".into(), label: "Greet".into(), slots: vec![] },
    /// ];
    /// let t = SlotTraining::of(&items);
    /// assert_eq!(t.types, vec!["artist", "genre"]);
    /// assert_eq!(t.annotations, vec![vec![(1, 5, 9), (0, 13, 18)], vec![]]);
    /// assert_eq!(t.intents[1].as_str(), "Greet");
    /// ```
    pub fn of(items: &[Labeled]) -> SlotTraining {
        let mut types: Vec<String> = items
            .iter()
            .flat_map(|e| e.slots.iter().map(|s| s.entity.clone()))
            .collect();
        types.sort();
        types.dedup();
        let annotations = items
            .iter()
            .map(|e| {
                e.slots
                    .iter()
                    .filter_map(|s| {
                        Some((types.iter().position(|t| *t == s.entity)?, s.start, s.end))
                    })
                    .collect()
            })
            .collect();
        let intents = items
            .iter()
            .map(|e| IntentName::from(e.label.as_str()))
            .collect();
        SlotTraining {
            types,
            annotations,
            intents,
        }
    }

    /// The types as entity kinds.
    pub fn kinds(&self) -> Vec<EntityKind> {
        self.types
            .iter()
            .map(|t| EntityKind::from(t.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(e: &str, a: usize, b: usize) -> Slot {
        Slot {
            entity: e.into(),
            start: a,
            end: b,
        }
    }

    #[test]
    fn a_wrong_type_or_boundary_is_both_a_false_positive_and_a_miss() {
        let gold = vec![vec![s("artist", 5, 16)], vec![s("playlist", 0, 4)], vec![]];
        let pred = vec![
            vec![s("album", 5, 16)],
            vec![s("playlist", 0, 4)],
            vec![s("genre", 0, 3)],
        ];
        let r = score(&gold, &pred);
        assert_eq!((r.correct, r.predicted, r.all.support), (1, 3, 2));
        assert!((r.all.precision - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(r.all.recall, 0.5);
        assert_eq!(r.per_type["playlist"].f1, 1.0);
        assert_eq!(r.per_type["artist"].recall, 0.0);
        assert_eq!(r.per_type["genre"].precision, 0.0);
        // nothing to find and nothing found is perfect
        assert_eq!(score(&[vec![]], &[vec![]]).all.f1, 1.0);
    }
}
