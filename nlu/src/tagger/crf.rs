//! Training the tagger as a linear-chain CRF: the probability of a whole tag sequence,
//! `exp(Σ_i e[i, t_i] + Σ_i T[t_{i-1}, t_i]) / Z`, under the BIO constraints, with learnt
//! transition scores `T`.
//!
//! The tagger's graph still ends in a per-piece softmax: `log softmax(e)[i, t]` differs from
//! `e[i, t]` by a constant per piece, so Viterbi over the saved probabilities plus `T`
//! ([`super::bio::viterbi_with`]) finds the CRF's best sequence exactly.
//!
//! The forward-backward pass runs in scaled probability space (`exp` once per piece and
//! tag, products of `[tags × tags]` matrices otherwise), which keeps it cheap for the 79
//! tags of SNIPS.

use super::bio;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2};

/// `exp` of the transition scores, zero where the BIO constraints forbid a transition:
/// `(tags + 1) × tags`, row 0 for the first piece (as [`bio::viterbi_with`] lays them out).
pub fn transition_factors(transitions: &[f32], tags: usize) -> Array2<f32> {
    Array2::from_shape_fn((tags + 1, tags), |(r, t)| {
        let prev = r.checked_sub(1);
        if bio::allowed(prev, t) {
            transitions.get(r * tags + t).copied().unwrap_or(0.0).exp()
        } else {
            0.0
        }
    })
}

/// The negative log-likelihood of the `gold` tags of one sequence under `emissions` (`[pieces
/// × tags]`) and the transitions whose factors are `factors` ([`transition_factors`]). Adds
/// `scale ×` its gradient with respect to the emissions to `d_emissions` and with respect to
/// the transition scores to `d_transitions` (laid out as the scores). A gold sequence the
/// constraints forbid gives an infinite loss and no gradient.
pub fn nll(
    emissions: ArrayView2<f32>,
    gold: &[usize],
    factors: &Array2<f32>,
    scale: f32,
    mut d_emissions: ArrayViewMut2<f32>,
    d_transitions: &mut [f32],
) -> f32 {
    let (n, tags) = emissions.dim();
    if n == 0 || gold.len() != n {
        return 0.0;
    }
    if gold
        .iter()
        .enumerate()
        .any(|(i, &t)| t >= tags || !bio::allowed(i.checked_sub(1).map(|p| gold[p]), t))
    {
        return f32::INFINITY;
    }
    let Some(Forward {
        e,
        alpha,
        scales: c,
        shift,
    }) = forward(emissions, factors)
    else {
        return f32::INFINITY;
    };
    let inner = factors.slice(s![1.., ..]);
    // scaled backward pass; w[i] = e[i] ⊙ beta[i] / c[i]
    let mut beta = Array2::<f32>::zeros((n, tags));
    beta.row_mut(n - 1).fill(1.0);
    let mut w = Array2::<f32>::zeros((n, tags));
    for i in (0..n).rev() {
        let mut wi = &e.row(i) * &beta.row(i);
        wi /= c[i];
        if i > 0 {
            let b = inner.dot(&wi);
            beta.row_mut(i - 1).assign(&b);
        }
        w.row_mut(i).assign(&wi);
    }
    // gradients: marginals minus the gold counts
    let marginals = &alpha * &beta;
    for i in 0..n {
        for t in 0..tags {
            let g = marginals[[i, t]] - f32::from(u8::from(gold[i] == t));
            d_emissions[[i, t]] += scale * g;
            if i == 0 {
                d_transitions[t] += scale * g;
            }
        }
        if i > 0 {
            d_transitions[(1 + gold[i - 1]) * tags + gold[i]] -= scale;
        }
    }
    // expected transition counts: Σ_i alpha[i-1] ⊗ w[i], times the factors
    if n > 1 {
        let pairs = alpha.slice(s![..n - 1, ..]).t().dot(&w.slice(s![1.., ..]));
        for p in 0..tags {
            for t in 0..tags {
                d_transitions[(1 + p) * tags + t] += scale * pairs[[p, t]] * inner[[p, t]];
            }
        }
    }
    // -log P(gold) = log Z - score(gold)
    log_partition(&c, &shift) - path_score(emissions, gold, factors)
}

/// The probability of the tag sequence `path` under `emissions` and the transition
/// `factors` (as in [`nll`]): how sure the tagger is of a decoded sequence. Zero for a
/// sequence the constraints forbid; an empty sequence is certain.
///
/// ```
/// use ndarray::array;
/// use nlu::tagger::crf::{path_probability, transition_factors};
/// // one type: tags O, B, I; no learnt transition scores
/// let factors = transition_factors(&[], 3);
/// let emissions = array![[2.0f32, 0.0, 0.0], [2.0, 0.0, 0.0]];
/// let p = path_probability(emissions.view(), &[0, 0], &factors);
/// // O O against the five sequences the BIO constraints allow (I never starts a span)
/// let z = (4.0f32).exp() + 2.0 * (2.0f32).exp() + 2.0;
/// assert!((p - (4.0f32).exp() / z).abs() < 1e-5);
/// assert_eq!(path_probability(emissions.view(), &[2, 0], &factors), 0.0);
/// ```
pub fn path_probability(emissions: ArrayView2<f32>, path: &[usize], factors: &Array2<f32>) -> f32 {
    let (n, tags) = emissions.dim();
    if n == 0 {
        return 1.0;
    }
    if path.len() != n
        || path
            .iter()
            .enumerate()
            .any(|(i, &t)| t >= tags || !bio::allowed(i.checked_sub(1).map(|p| path[p]), t))
    {
        return 0.0;
    }
    match forward(emissions, factors) {
        Some(f) => (path_score(emissions, path, factors) - log_partition(&f.scales, &f.shift))
            .exp()
            .min(1.0),
        None => 0.0,
    }
}

/// The scaled forward pass of a sequence: `alpha[i]` sums to 1, with scale `scales[i]`.
struct Forward {
    /// `exp` of the emissions, shifted by each row's maximum (`shift`).
    e: Array2<f32>,
    alpha: Array2<f32>,
    scales: Vec<f32>,
    shift: Vec<f32>,
}

/// The forward pass of `emissions` (`[pieces × tags]`, at least one piece) under the
/// transition `factors`; `None` when no sequence is possible.
fn forward(emissions: ArrayView2<f32>, factors: &Array2<f32>) -> Option<Forward> {
    let (n, tags) = emissions.dim();
    let mut shift = vec![0.0f32; n];
    let mut e = Array2::<f32>::zeros((n, tags));
    for i in 0..n {
        let row = emissions.row(i);
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        shift[i] = max;
        for t in 0..tags {
            e[[i, t]] = (row[t] - max).exp();
        }
    }
    let inner = factors.slice(s![1.., ..]);
    let mut alpha = Array2::<f32>::zeros((n, tags));
    let mut scales = Vec::with_capacity(n);
    for i in 0..n {
        let mut row = if i == 0 {
            factors.row(0).to_owned()
        } else {
            alpha.row(i - 1).dot(&inner)
        };
        row *= &e.row(i);
        let sum = row.sum();
        if sum <= 0.0 || !sum.is_finite() {
            return None;
        }
        scales.push(sum);
        row /= sum;
        alpha.row_mut(i).assign(&row);
    }
    Some(Forward {
        e,
        alpha,
        scales,
        shift,
    })
}

/// `log Z` from a forward pass's scales and shifts.
fn log_partition(scales: &[f32], shift: &[f32]) -> f32 {
    scales.iter().map(|v| v.ln()).sum::<f32>() + shift.iter().sum::<f32>()
}

/// The unnormalized log score of `path`: its emissions and transitions.
fn path_score(emissions: ArrayView2<f32>, path: &[usize], factors: &Array2<f32>) -> f32 {
    let mut score = 0.0;
    for (i, &t) in path.iter().enumerate() {
        let row = if i == 0 { 0 } else { 1 + path[i - 1] };
        score += emissions[[i, t]] + factors[[row, t]].ln();
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over every tag sequence of a short chain.
    fn brute_nll(e: &Array2<f32>, gold: &[usize], trans: &[f32]) -> f32 {
        let (n, tags) = e.dim();
        let score = |seq: &[usize]| -> Option<f32> {
            let mut s = 0.0;
            for i in 0..n {
                let prev = i.checked_sub(1).map(|p| seq[p]);
                if !bio::allowed(prev, seq[i]) {
                    return None;
                }
                s += e[[i, seq[i]]] + trans[prev.map_or(0, |p| 1 + p) * tags + seq[i]];
            }
            Some(s)
        };
        let mut z = 0.0f64;
        let mut seq = vec![0usize; n];
        loop {
            if let Some(s) = score(&seq) {
                z += (s as f64).exp();
            }
            let mut k = 0;
            while k < n {
                seq[k] += 1;
                if seq[k] < tags {
                    break;
                }
                seq[k] = 0;
                k += 1;
            }
            if k == n {
                break;
            }
        }
        z.ln() as f32 - score(gold).unwrap_or(f32::NEG_INFINITY)
    }

    fn toy() -> (Array2<f32>, Vec<f32>, Vec<usize>) {
        let tags = bio::tag_count(2);
        let e = Array2::from_shape_fn((4, tags), |(i, t)| {
            ((i * 7 + t * 3) % 11) as f32 / 5.0 - 1.0
        });
        let trans: Vec<f32> = (0..(tags + 1) * tags)
            .map(|k| ((k * 5) % 13) as f32 / 10.0 - 0.6)
            .collect();
        (e, trans, vec![1, 2, 0, 3])
    }

    #[test]
    fn the_loss_is_the_brute_force_one() {
        let (e, trans, gold) = toy();
        let tags = e.ncols();
        let mut de = Array2::zeros(e.raw_dim());
        let mut dt = vec![0.0; trans.len()];
        let f = transition_factors(&trans, tags);
        let got = nll(e.view(), &gold, &f, 1.0, de.view_mut(), &mut dt);
        let want = brute_nll(&e, &gold, &trans);
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        // a forbidden gold sequence (I after O)
        let bad = nll(e.view(), &[0, 2, 0, 0], &f, 1.0, de.view_mut(), &mut dt);
        assert!(bad.is_infinite());
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (e, trans, gold) = toy();
        let tags = e.ncols();
        let mut de = Array2::zeros(e.raw_dim());
        let mut dt = vec![0.0; trans.len()];
        nll(
            e.view(),
            &gold,
            &transition_factors(&trans, tags),
            1.0,
            de.view_mut(),
            &mut dt,
        );
        let eps = 1e-2;
        for (i, t) in [(0, 1), (1, 2), (2, 0), (3, 4), (3, 3)] {
            let (mut p, mut m) = (e.clone(), e.clone());
            p[[i, t]] += eps;
            m[[i, t]] -= eps;
            let numeric =
                (brute_nll(&p, &gold, &trans) - brute_nll(&m, &gold, &trans)) / (2.0 * eps);
            assert!(
                (de[[i, t]] - numeric).abs() < 2e-3,
                "e[{i},{t}]: {} vs {numeric}",
                de[[i, t]]
            );
        }
        for k in [1, tags + 2, 2 * tags + 1, 3 * tags, 4 * tags + 3] {
            let (mut p, mut m) = (trans.clone(), trans.clone());
            p[k] += eps;
            m[k] -= eps;
            let numeric = (brute_nll(&e, &gold, &p) - brute_nll(&e, &gold, &m)) / (2.0 * eps);
            assert!(
                (dt[k] - numeric).abs() < 2e-3,
                "T[{k}]: {} vs {numeric}",
                dt[k]
            );
        }
    }

    #[test]
    fn a_path_probability_is_the_brute_force_one() {
        let (e, trans, gold) = toy();
        let tags = e.ncols();
        let f = transition_factors(&trans, tags);
        let want = (-brute_nll(&e, &gold, &trans)).exp();
        let got = path_probability(e.view(), &gold, &f);
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // the Viterbi path is the likeliest: no other sequence beats it
        let flat: Vec<f32> = e.iter().copied().collect();
        let best = bio::viterbi_with(&flat, tags, &trans);
        let p_best = path_probability(e.view(), &best, &f);
        assert!(p_best >= got, "{p_best} < {got}");
        assert_eq!(path_probability(e.view(), &[0, 2, 0, 0], &f), 0.0);
        assert_eq!(path_probability(e.view(), &[0, 0], &f), 0.0);
    }
}
