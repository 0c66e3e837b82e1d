//! Overlap resolution: one span, one entity.
//!
//! 1. Candidates for the same span and tier are merged: the best confidence wins, and several
//!    different values at that confidence make an [`Ambiguity`] (the parser asks).
//! 2. Candidates are taken greedily by tier (structured tokens, then catalog names and
//!    statuses, then guesses, then counts), then by length (the most specific, longest span
//!    wins), then by confidence, then leftmost. A candidate that overlaps one already taken is
//!    dropped; so a number inside a time, version, parameter or id is never also a count.
//! 3. A phrase with filler words ("flush the api cache") lets other entities sit in its gaps;
//!    when one does, the phrase's span shrinks to its first segment ("flush"), so that spans
//!    never overlap in the result.

use super::{Ambiguity, Cand, Extraction, Text};
use crate::result::{Entity, EntityKind};
use std::collections::BTreeMap;

fn entity(t: &Text, c: &Cand, kind: crate::result::EntityKind, value: &str) -> Entity {
    Entity {
        entity: kind,
        value: value.to_string(),
        start: c.start,
        end: c.end,
        text: t.slice(c.start, c.end).to_string(),
        confidence: c.confidence,
        extractor: c.extractor,
    }
}

/// Merges same-span candidates, then picks non-overlapping ones.
pub(crate) fn resolve(t: &Text, cands: Vec<Cand>) -> Extraction {
    // 1. merge by (start, end, tier)
    let mut groups: BTreeMap<(usize, usize, u8), Vec<Cand>> = BTreeMap::new();
    for c in cands {
        if c.start < c.end && c.end <= t.len() {
            groups.entry((c.start, c.end, c.tier)).or_default().push(c);
        }
    }
    let mut merged: Vec<Cand> = Vec::with_capacity(groups.len());
    for (_, group) in groups {
        let best = group.iter().map(|c| c.confidence).fold(f32::MIN, f32::max);
        let mut values: Vec<_> = Vec::new();
        let mut first: Option<Cand> = None;
        for c in group.into_iter().filter(|c| c.confidence >= best - 1e-6) {
            values.push((c.kind.clone(), c.value.clone()));
            values.extend(c.alts.iter().cloned());
            // prefer a candidate without gaps as the representative
            if first
                .as_ref()
                .is_none_or(|f| f.segments.is_some() && c.segments.is_none())
            {
                first = Some(c);
            }
        }
        let Some(mut c) = first else { continue };
        values.sort();
        values.dedup();
        if values.len() > 1 {
            // best first; equal scores are ordered by kind, then id
            c.kind = values[0].0.clone();
            c.value = values[0].1.clone();
        }
        let main = (c.kind.clone(), c.value.clone());
        c.alts = values.into_iter().filter(|v| *v != main).collect();
        merged.push(c);
    }
    // 2. greedy selection
    merged.sort_by(|a, b| {
        b.tier
            .cmp(&a.tier)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(b.confidence.total_cmp(&a.confidence))
            .then(a.start.cmp(&b.start))
    });
    let mut taken = vec![false; t.len()];
    let mut kept: Vec<Cand> = Vec::new();
    for c in merged {
        let segs = c.segments.clone().unwrap_or_else(|| vec![(c.start, c.end)]);
        if segs.iter().any(|&(s, e)| taken[s..e].iter().any(|&x| x)) {
            continue;
        }
        // a plain candidate may not straddle a gapped phrase's words either
        for &(s, e) in &segs {
            taken[s..e].iter_mut().for_each(|x| *x = true);
        }
        kept.push(c);
    }
    // 3. shrink phrases whose gaps hold another entity
    let spans: Vec<(usize, usize)> = kept.iter().map(|c| (c.start, c.end)).collect();
    for c in kept.iter_mut() {
        if let Some(segs) = &c.segments {
            let inner = spans
                .iter()
                .any(|&(s, e)| (s, e) != (c.start, c.end) && s >= c.start && e <= c.end);
            if inner {
                c.end = segs[0].1;
            }
        }
    }
    kept.sort_by_key(|c| (c.start, c.end));
    // two partial names of one entry ("续期 … 证书" of 续期证书) name it once
    let mut seen: Vec<(EntityKind, String)> = Vec::new();
    kept.retain(|c| {
        let key = (c.kind.clone(), c.value.clone());
        let repeat = c.tier == super::tier::GUESS && c.alts.is_empty() && seen.contains(&key);
        seen.push(key);
        !repeat
    });
    let mut out = Extraction::default();
    for c in kept {
        if c.alts.is_empty() {
            out.entities.push(entity(t, &c, c.kind.clone(), &c.value));
        } else {
            let mut candidates = vec![entity(t, &c, c.kind.clone(), &c.value)];
            candidates.extend(c.alts.iter().map(|(k, v)| entity(t, &c, k.clone(), v)));
            out.ambiguities.push(Ambiguity {
                start: c.start,
                end: c.end,
                text: t.slice(c.start, c.end).to_string(),
                candidates,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tier;
    use super::*;
    use crate::result::{EntityKind, Extractor};

    fn cand(kind: EntityKind, v: &str, s: usize, e: usize, conf: f32, tier: u8) -> Cand {
        Cand::new(kind, v, s, e, conf, Extractor::Regex, tier)
    }

    #[test]
    fn higher_tier_then_longer_wins() {
        let t = Text::new("at 23:00 please");
        let out = resolve(
            &t,
            vec![
                cand(EntityKind::COUNT, "23", 3, 5, 0.95, tier::COUNT),
                cand(EntityKind::TIME, "x", 0, 8, 0.95, tier::STRUCTURED),
            ],
        );
        assert_eq!(out.entities.len(), 1);
        assert_eq!(out.entities[0].entity, EntityKind::TIME);
        assert_eq!(out.entities[0].text, "at 23:00");
    }

    #[test]
    fn equal_candidates_make_an_ambiguity() {
        let t = Text::new("run the backup");
        let out = resolve(
            &t,
            vec![
                cand(EntityKind::JOB, "backup-files", 8, 14, 0.6, tier::GUESS),
                cand(EntityKind::JOB, "backup-database", 8, 14, 0.6, tier::GUESS),
            ],
        );
        assert!(out.entities.is_empty());
        assert_eq!(out.ambiguities.len(), 1);
        assert_eq!(out.ambiguities[0].candidates[0].value, "backup-database");
        assert_eq!(out.ambiguities[0].candidates[1].value, "backup-files");
        assert_eq!(out.ambiguities[0].text, "backup");
    }

    #[test]
    fn gapped_phrase_shrinks_around_inner_entity() {
        let t = Text::new("flush the api cache");
        let mut phrase = cand(EntityKind::JOB, "clear-cache", 0, 19, 0.9, tier::NAME);
        phrase.segments = Some(vec![(0, 5), (14, 19)]);
        let out = resolve(
            &t,
            vec![
                phrase,
                cand(EntityKind::APP, "api", 10, 13, 1.0, tier::NAME),
            ],
        );
        assert_eq!(out.entities.len(), 2);
        assert_eq!(out.entities[0].text, "flush");
        assert_eq!(out.entities[1].text, "api");
    }

    #[test]
    fn two_partial_names_of_one_entry_name_it_once() {
        let t = Text::new("续期 2.4.1 的证书");
        let out = resolve(
            &t,
            vec![
                cand(
                    EntityKind::JOB,
                    "renew-certificates",
                    0,
                    2,
                    0.6,
                    tier::GUESS,
                ),
                cand(EntityKind::VERSION, "2.4.1", 3, 8, 1.0, tier::STRUCTURED),
                cand(
                    EntityKind::JOB,
                    "renew-certificates",
                    10,
                    12,
                    0.6,
                    tier::GUESS,
                ),
            ],
        );
        let got: Vec<(&str, usize)> = out
            .entities
            .iter()
            .map(|e| (e.value.as_str(), e.start))
            .collect();
        assert_eq!(got, [("renew-certificates", 0), ("2.4.1", 3)]);
    }
}
