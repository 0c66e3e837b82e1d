//! Sparse n-gram features over token ids, computed identically here (for training) and
//! inside the head's ONNX graph (for inference).
//!
//! Each token id and each pair of adjacent token ids is hashed into one of `buckets` slots
//! (the "hashing trick"). A text's feature vector is the sum of the slots' inverse document
//! frequencies, divided by the square root of the sum of their squares:
//!
//! ```text
//! x[b] = Σ_{n-grams g hashed to b} idf[b] / sqrt(Σ_{n-grams g} idf[h(g)]²)
//! ```
//!
//! These are the word-piece analogue of the word and character n-grams of Rasa's DIET and
//! of TF-IDF classifiers; beside the sentence embedding they sharpen intent boundaries and
//! out-of-scope detection. Special tokens and the `query: ` prefix are hashed like any
//! other token: they are constant across texts and mark the first and last pieces.

/// Multiplier for the right-hand (or only) id of an n-gram.
pub const HASH_MUL_A: i64 = 2_654_435_761;
/// Multiplier for the left-hand id of a bigram.
pub const HASH_MUL_B: i64 = 1_000_003;
/// Offset that keeps bigrams apart from unigrams.
pub const HASH_OFFSET: i64 = 97;

/// The slot of a single token id.
#[inline]
pub fn unigram_slot(id: i64, buckets: i64) -> usize {
    ((id * HASH_MUL_A) % buckets) as usize
}

/// The slot of a pair of adjacent token ids.
#[inline]
pub fn bigram_slot(left: i64, right: i64, buckets: i64) -> usize {
    ((left * HASH_MUL_B + right * HASH_MUL_A + HASH_OFFSET) % buckets) as usize
}

/// The slots of all n-grams of a token sequence (unigrams first, then bigrams), with repeats.
pub fn slots(ids: &[i64], buckets: usize) -> Vec<usize> {
    let b = buckets as i64;
    let mut out = Vec::with_capacity(ids.len() * 2);
    out.extend(ids.iter().map(|&id| unigram_slot(id, b)));
    out.extend(ids.windows(2).map(|w| bigram_slot(w[0], w[1], b)));
    out
}

/// A sparse feature vector: (slot, value) pairs, slots sorted and unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseVec {
    pub idx: Vec<u32>,
    pub val: Vec<f32>,
}

/// Builds the normalized feature vector of `slots` with the given idf weights.
pub fn featurize(slots: &[usize], idf: &[f32]) -> SparseVec {
    let mut pairs: Vec<(u32, f32)> = slots.iter().map(|&s| (s as u32, idf[s])).collect();
    let norm = pairs
        .iter()
        .map(|(_, w)| w * w)
        .sum::<f32>()
        .sqrt()
        .max(1e-12);
    pairs.sort_unstable_by_key(|p| p.0);
    let mut out = SparseVec::default();
    for (s, w) in pairs {
        if out.idx.last() == Some(&s) {
            if let Some(v) = out.val.last_mut() {
                *v += w / norm;
            }
        } else {
            out.idx.push(s);
            out.val.push(w / norm);
        }
    }
    out
}

/// Smoothed inverse document frequencies of the slots over a set of texts.
pub fn idf(docs: &[Vec<usize>], buckets: usize) -> Vec<f32> {
    let mut df = vec![0u32; buckets];
    for d in docs {
        let mut seen: Vec<usize> = d.clone();
        seen.sort_unstable();
        seen.dedup();
        for s in seen {
            df[s] += 1;
        }
    }
    let n = docs.len() as f32;
    df.iter()
        .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cover_unigrams_and_bigrams() {
        let s = slots(&[0, 5, 2], 1024);
        assert_eq!(s.len(), 5);
        assert_eq!(s[0], unigram_slot(0, 1024));
        assert_eq!(s[3], bigram_slot(0, 5, 1024));
        assert!(s.iter().all(|&x| x < 1024));
    }

    #[test]
    fn features_are_unit_length_and_merge_repeats() {
        let idf = vec![1.0, 2.0, 3.0];
        let v = featurize(&[2, 1, 2], &idf);
        assert_eq!(v.idx, vec![1, 2]);
        let norm: f32 = (4.0f32 + 9.0 + 9.0).sqrt();
        assert!((v.val[0] - 2.0 / norm).abs() < 1e-6);
        assert!((v.val[1] - 6.0 / norm).abs() < 1e-6);
    }

    #[test]
    fn rare_slots_weigh_more() {
        let docs = vec![vec![0, 1], vec![0, 2], vec![0]];
        let w = idf(&docs, 3);
        assert!(w[1] > w[0]);
        assert_eq!(w[1], w[2]);
    }
}
