//! BIO tags over the encoder's pieces: labels from annotated character spans, constrained
//! Viterbi decoding, and spans back to characters of the text.
//!
//! Tag `0` is `O`; entity type `k` (0-based) has `B` = `1 + 2k` and `I` = `2 + 2k`. Only
//! pieces that cover text take part ([`crate::classifier::encoder::Tokens::spans`]); the
//! special tokens and the query prefix's pieces are left out.

/// The tag index of `O`.
pub const OUTSIDE: usize = 0;

/// `B` of entity type `k`.
pub fn begin(k: usize) -> usize {
    1 + 2 * k
}

/// `I` of entity type `k`.
pub fn inside(k: usize) -> usize {
    2 + 2 * k
}

/// The entity type of a tag, or `None` for `O`.
pub fn type_of(tag: usize) -> Option<usize> {
    (tag != OUTSIDE).then(|| (tag - 1) / 2)
}

/// Number of tags for `types` entity types.
pub fn tag_count(types: usize) -> usize {
    1 + 2 * types
}

/// Whether `next` may follow `prev` (`None`: the first piece): `I-x` only after `B-x`
/// or `I-x`.
pub fn allowed(prev: Option<usize>, next: usize) -> bool {
    if next == OUTSIDE || (next - 1).is_multiple_of(2) {
        return true;
    }
    match prev {
        Some(p) => p != OUTSIDE && type_of(p) == type_of(next),
        None => false,
    }
}

/// A character span of an entity type (type index, start, end), end exclusive.
pub type TypedSpan = (usize, usize, usize);

/// The gold tag of each piece, given annotated character spans: a piece whose first
/// character lies in a span is inside it (`B` for the span's first such piece). Pieces that
/// cover no text (`None`) get no tag; an empty piece (a bare word boundary) is `I` when it
/// sits strictly inside a span, else `O`.
pub fn gold_tags(pieces: &[Option<(usize, usize)>], spans: &[TypedSpan]) -> Vec<Option<usize>> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut open: Option<usize> = None; // index into `spans` of the span being tagged
    for p in pieces {
        let Some((start, end)) = *p else {
            out.push(None);
            continue;
        };
        let hit = spans.iter().position(|&(_, s, e)| {
            if start < end {
                s <= start && start < e
            } else {
                s < start && start < e
            }
        });
        let tag = match hit {
            Some(i) if open == Some(i) => inside(spans[i].0),
            Some(i) if start < end => {
                open = Some(i);
                begin(spans[i].0)
            }
            _ => {
                open = None;
                OUTSIDE
            }
        };
        out.push(Some(tag));
    }
    out
}

/// The best tag sequence under `log_probs` (`[pieces × tags]`, row-major) that obeys the
/// BIO constraints.
pub fn viterbi(log_probs: &[f32], tags: usize) -> Vec<usize> {
    viterbi_with(log_probs, tags, &[])
}

/// [`viterbi`] with transition scores added: `transitions[t]` for a first tag `t`, and
/// `transitions[(1 + p) * tags + t]` for `t` after `p` (empty: none).
pub fn viterbi_with(log_probs: &[f32], tags: usize, transitions: &[f32]) -> Vec<usize> {
    let trans = |p: Option<usize>, t: usize| -> f32 {
        let i = p.map_or(0, |p| 1 + p) * tags + t;
        transitions.get(i).copied().unwrap_or(0.0)
    };
    let n = log_probs.len().checked_div(tags).unwrap_or(0);
    if n == 0 {
        return Vec::new();
    }
    let mut score = vec![f32::NEG_INFINITY; tags];
    for (t, s) in score.iter_mut().enumerate() {
        if allowed(None, t) {
            *s = log_probs[t] + trans(None, t);
        }
    }
    let mut back = vec![0usize; n * tags];
    for i in 1..n {
        let mut next = vec![f32::NEG_INFINITY; tags];
        for t in 0..tags {
            let mut best = (f32::NEG_INFINITY, 0);
            for (p, &sp) in score.iter().enumerate() {
                let sp = sp + trans(Some(p), t);
                if sp > best.0 && allowed(Some(p), t) {
                    best = (sp, p);
                }
            }
            next[t] = best.0 + log_probs[i * tags + t];
            back[i * tags + t] = best.1;
        }
        score = next;
    }
    let mut last = 0;
    for t in 1..tags {
        if score[t] > score[last] {
            last = t;
        }
    }
    let mut path = vec![last; n];
    for i in (1..n).rev() {
        path[i - 1] = back[i * tags + path[i]];
    }
    path
}

/// Log transition probabilities between the tags of consecutive text pieces in gold tag
/// sequences (`None`: pieces that cover no text, skipped), add-one smoothed, laid out for
/// [`viterbi_with`].
pub fn transitions(sequences: &[Vec<Option<usize>>], tags: usize) -> Vec<f32> {
    let mut counts = vec![1.0f32; (tags + 1) * tags];
    for seq in sequences {
        let mut prev: Option<usize> = None;
        for &t in seq.iter().flatten() {
            if t < tags {
                counts[prev.map_or(0, |p| 1 + p) * tags + t] += 1.0;
                prev = Some(t);
            }
        }
    }
    for row in counts.chunks_mut(tags) {
        let sum: f32 = row.iter().sum();
        for v in row {
            *v = (*v / sum).ln();
        }
    }
    counts
}

/// The entity spans of a tag sequence over `pieces` (the text-covering pieces' character
/// ranges, in order), each with the mean probability of its tags; spans are widened to
/// whole words of `text` (a tag never cuts a Latin word) and trimmed of spaces and
/// punctuation at their ends.
pub fn spans(
    path: &[usize],
    probs: &[f32],
    tags: usize,
    pieces: &[(usize, usize)],
    text: &[char],
) -> Vec<(TypedSpan, f32)> {
    let mut out: Vec<(TypedSpan, f32)> = Vec::new();
    let mut cur: Option<(usize, usize, usize, f32, usize)> = None; // type, start, end, sum, n
    let flush = |cur: &mut Option<(usize, usize, usize, f32, usize)>,
                 out: &mut Vec<(TypedSpan, f32)>| {
        if let Some((k, s, e, sum, n)) = cur.take() {
            if let Some((s, e)) = snap(text, s, e) {
                out.push(((k, s, e), sum / n as f32));
            }
        }
    };
    for (i, (&tag, &(s, e))) in path.iter().zip(pieces).enumerate() {
        let p = probs.get(i * tags + tag).copied().unwrap_or(0.0);
        match type_of(tag) {
            Some(k) if tag == inside(k) && cur.as_ref().is_some_and(|c| c.0 == k) => {
                if let Some(c) = cur.as_mut() {
                    c.2 = c.2.max(e);
                    c.3 += p;
                    c.4 += 1;
                }
            }
            Some(k) => {
                flush(&mut cur, &mut out);
                cur = Some((k, s, e.max(s), p, 1));
            }
            None => flush(&mut cur, &mut out),
        }
    }
    flush(&mut cur, &mut out);
    // widening may make neighbours meet: keep the first of overlapping spans
    let mut kept: Vec<(TypedSpan, f32)> = Vec::with_capacity(out.len());
    for item in out {
        if kept.last().is_none_or(|last| last.0 .2 <= item.0 .1) {
            kept.push(item);
        }
    }
    kept
}

/// Widens `start..end` to whole words (letters and digits of scripts written with spaces,
/// joined by `.`, `-`, `_` or `@`: `billing.example.com`, `db-01`) and trims spaces and
/// punctuation; `None` if nothing is left.
fn snap(text: &[char], mut start: usize, mut end: usize) -> Option<(usize, usize)> {
    let end_max = text.len();
    end = end.min(end_max);
    start = start.min(end);
    let wordy = |i: usize| {
        text.get(i)
            .is_some_and(|&c| c.is_alphanumeric() && !is_cjk(c))
    };
    let joiner = |i: usize| {
        text.get(i)
            .is_some_and(|c| matches!(c, '.' | '-' | '_' | '@'))
    };
    // whether the boundary before `i` is inside a word
    let inside = |i: usize| {
        i > 0
            && ((wordy(i - 1) && wordy(i))
                || (joiner(i - 1) && i >= 2 && wordy(i - 2) && wordy(i))
                || (joiner(i) && wordy(i - 1) && wordy(i + 1)))
    };
    while start > 0 && start < end_max && inside(start) {
        start -= 1;
    }
    while end > start && end < end_max && inside(end) {
        end += 1;
    }
    let trim =
        |c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '#') || is_cjk_punct(c);
    while start < end && trim(text[start]) {
        start += 1;
    }
    while end > start && trim(text[end - 1]) {
        end -= 1;
    }
    (start < end).then_some((start, end))
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{20000}'..='\u{2ffff}')
}

fn is_cjk_punct(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{ff01}'..='\u{ff0f}' | '\u{ff1a}'..='\u{ff20}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_constraints() {
        assert_eq!((begin(0), inside(0), begin(2), inside(2)), (1, 2, 5, 6));
        assert_eq!(type_of(0), None);
        assert_eq!(type_of(5), Some(2));
        assert_eq!(type_of(6), Some(2));
        assert_eq!(tag_count(3), 7);
        assert!(allowed(None, begin(1)));
        assert!(!allowed(None, inside(1)));
        assert!(!allowed(Some(OUTSIDE), inside(0)));
        assert!(allowed(Some(begin(0)), inside(0)));
        assert!(allowed(Some(inside(0)), inside(0)));
        assert!(!allowed(Some(begin(1)), inside(0)));
    }

    #[test]
    fn gold_tags_follow_the_first_character_of_each_piece() {
        // "play the beatles now": pieces ▁play | ▁the | ▁beat | les | ▁now, plus specials
        let pieces = [
            None,
            Some((0, 4)),
            Some((5, 8)),
            Some((9, 13)),
            Some((13, 16)),
            Some((17, 20)),
            None,
        ];
        let tags = gold_tags(&pieces, &[(1, 5, 16)]);
        assert_eq!(
            tags,
            vec![
                None,
                Some(0),
                Some(begin(1)),
                Some(inside(1)),
                Some(inside(1)),
                Some(0),
                None
            ]
        );
        // two adjacent spans of one type stay two
        let tags = gold_tags(&pieces[1..4], &[(0, 0, 4), (0, 5, 8)]);
        assert_eq!(tags, vec![Some(begin(0)), Some(begin(0)), Some(0)]);
    }

    #[test]
    fn viterbi_never_starts_a_span_with_i() {
        // 2 pieces, 3 tags (O, B-0, I-0); the best unconstrained path would be O, I
        let lp = [
            0.0f32.ln(),
            0.4f32.ln(),
            0.6f32.ln(),
            0.1f32.ln(),
            0.1f32.ln(),
            0.8f32.ln(),
        ];
        let lp: Vec<f32> = lp.iter().map(|v| v.max(-1e9)).collect();
        assert_eq!(viterbi(&lp, 3), vec![1, 2]);
        assert!(viterbi(&[], 3).is_empty());
    }

    #[test]
    fn transitions_are_learnt_from_gold_tags_and_sway_close_calls() {
        // O B I O, twice; pieces without text are skipped
        let seqs = vec![vec![None, Some(0), Some(1), Some(2), Some(0), None]; 2];
        let t = transitions(&seqs, 3);
        assert_eq!(t.len(), 4 * 3);
        // from the start: O twice, plus one for smoothing, of 2 + 3
        assert!((t[0] - (3.0f32 / 5.0).ln()).abs() < 1e-6);
        // after B: I twice
        assert!((t[2 * 3 + 2] - (3.0f32 / 5.0).ln()).abs() < 1e-6);
        // a close call between O and B after B: the transitions pick I, then O
        let lp: Vec<f32> = [0.1f32, 0.8, 0.1, 0.34, 0.33, 0.33, 0.5, 0.4, 0.1]
            .iter()
            .map(|v| v.ln())
            .collect();
        assert_eq!(viterbi(&lp, 3), vec![1, 0, 0]);
        assert_eq!(viterbi_with(&lp, 3, &t), vec![1, 2, 0]);
    }

    #[test]
    fn spans_are_widened_to_words_and_trimmed() {
        let text: Vec<char> = "weather in lisbon?".chars().collect();
        // ▁weather | ▁in | ▁lis | bon | ?  tagged O O B I O
        let pieces = [(0, 7), (8, 10), (11, 14), (14, 17), (17, 18)];
        let probs = vec![0.5; 5 * 3];
        let out = spans(&[0, 0, 1, 2, 0], &probs, 3, &pieces, &text);
        assert_eq!(out, vec![((0, 11, 17), 0.5)]);
        // only the first piece tagged: the word is still whole
        let out = spans(&[0, 0, 1, 0, 0], &probs, 3, &pieces, &text);
        assert_eq!(out, vec![((0, 11, 17), 0.5)]);
        // a domain name is one word
        let text: Vec<char> = "renew billing.fabrikam.com now".chars().collect();
        // ▁renew | ▁billing | . | fab | rikam | . | com | ▁now   tagged O O O B I O O O
        let pieces = [
            (0, 5),
            (6, 13),
            (13, 14),
            (14, 17),
            (17, 22),
            (22, 23),
            (23, 26),
            (27, 30),
        ];
        let probs = vec![0.5; 8 * 3];
        let out = spans(&[0, 0, 0, 1, 2, 0, 0, 0], &probs, 3, &pieces, &text);
        assert_eq!(out, vec![((0, 6, 26), 0.5)]);
        // a sentence's full stop is not part of the word before it
        let text: Vec<char> = "in lisbon. ok".chars().collect();
        let out = spans(
            &[0, 1, 0, 0],
            &probs,
            3,
            &[(0, 2), (3, 9), (9, 10), (11, 13)],
            &text,
        );
        assert_eq!(out, vec![((0, 3, 9), 0.5)]);
        // a span of punctuation only is dropped
        let text: Vec<char> = "weather in lisbon?".chars().collect();
        let pieces = [(0, 7), (8, 10), (11, 14), (14, 17), (17, 18)];
        let probs = vec![0.5; 5 * 3];
        let out = spans(&[0, 0, 0, 0, 1], &probs, 3, &pieces, &text);
        assert!(out.is_empty());
    }

    #[test]
    fn chinese_spans_keep_their_characters() {
        let text: Vec<char> = "北京明天天气".chars().collect();
        let pieces = [(0, 2), (2, 4), (4, 6)];
        let probs = vec![1.0; 3 * 3];
        let out = spans(&[1, 0, 0], &probs, 3, &pieces, &text);
        assert_eq!(out, vec![((0, 0, 2), 1.0)]);
    }
}
