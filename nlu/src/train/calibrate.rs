//! Calibration and decision thresholds, fitted on out-of-fold predictions.
//!
//! - Temperature scaling (Guo et al., 2017): one scalar `T` dividing the logits, chosen to
//!   minimize the negative log-likelihood of held-out predictions; it changes confidences,
//!   never the ranking.
//! - Expected calibration error over equal-width confidence bins.
//! - The fallback threshold and the ambiguity margin, chosen on held-out predictions to keep
//!   false rejections and needless clarifications of in-scope texts under set rates.

use crate::classifier::head::softmax;
use crate::model::Thresholds;

/// Finds the temperature minimizing the NLL of `logits` (rows) for `labels`.
pub fn fit_temperature(logits: &[Vec<f32>], labels: &[usize]) -> f32 {
    let nll = |log_t: f64| -> f64 {
        let t = log_t.exp() as f32;
        logits
            .iter()
            .zip(labels)
            .map(|(z, &y)| {
                let scaled: Vec<f32> = z.iter().map(|v| v / t).collect();
                -f64::from(softmax(&scaled)[y].max(1e-30)).ln()
            })
            .sum::<f64>()
    };
    // golden-section search over log T in [ln 0.05, ln 20]
    let (mut a, mut b) = (0.05f64.ln(), 20f64.ln());
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let (mut fc, mut fd) = (nll(c), nll(d));
    for _ in 0..60 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = nll(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = nll(d);
        }
    }
    (((a + b) / 2.0).exp()) as f32
}

/// Expected calibration error of top-1 confidences over `bins` equal-width bins.
pub fn expected_calibration_error(confidences: &[f32], correct: &[bool], bins: usize) -> f32 {
    reliability(confidences, correct, bins)
        .iter()
        .map(|b| b.count as f32 * (b.accuracy - b.confidence).abs())
        .sum::<f32>()
        / confidences.len().max(1) as f32
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Bin {
    pub lower: f32,
    pub upper: f32,
    pub count: usize,
    pub confidence: f32,
    pub accuracy: f32,
}

/// Reliability diagram: per confidence bin, mean confidence and accuracy.
pub fn reliability(confidences: &[f32], correct: &[bool], bins: usize) -> Vec<Bin> {
    let mut out: Vec<Bin> = (0..bins)
        .map(|i| Bin {
            lower: i as f32 / bins as f32,
            upper: (i + 1) as f32 / bins as f32,
            count: 0,
            confidence: 0.0,
            accuracy: 0.0,
        })
        .collect();
    for (&c, &ok) in confidences.iter().zip(correct) {
        let i = ((c * bins as f32) as usize).min(bins - 1);
        out[i].count += 1;
        out[i].confidence += c;
        out[i].accuracy += if ok { 1.0 } else { 0.0 };
    }
    for b in &mut out {
        if b.count > 0 {
            b.confidence /= b.count as f32;
            b.accuracy /= b.count as f32;
        }
    }
    out
}

/// Rates the thresholds are chosen for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdTargets {
    /// Most in-scope texts that the fallback may reject.
    pub max_in_scope_rejection: f32,
    /// Most correctly classified in-scope texts that may be asked to clarify.
    pub max_clarify_rate: f32,
}

impl Default for ThresholdTargets {
    fn default() -> Self {
        ThresholdTargets {
            max_in_scope_rejection: 0.01,
            max_clarify_rate: 0.03,
        }
    }
}

/// Chooses the fallback threshold and ambiguity margin from held-out probabilities.
///
/// `probs` are calibrated probabilities per row, `labels` the true classes, `oos` the index
/// of the out-of-scope class if the model has one. The fallback is the highest threshold
/// that rejects at most `max_in_scope_rejection` of the in-scope rows; the margin the widest
/// that sends at most `max_clarify_rate` of the correctly classified in-scope rows to
/// clarification. Both are clamped to sensible ranges.
pub fn choose_thresholds(
    probs: &[Vec<f32>],
    labels: &[usize],
    oos: Option<usize>,
    targets: ThresholdTargets,
) -> Thresholds {
    let in_scope: Vec<&Vec<f32>> = probs
        .iter()
        .zip(labels)
        .filter(|(_, &y)| Some(y) != oos)
        .map(|(p, _)| p)
        .collect();
    let top_in_scope = |p: &Vec<f32>| -> (usize, f32, f32) {
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let second = order
            .iter()
            .skip(1)
            .find(|&&i| Some(i) != oos)
            .map(|&i| p[i])
            .unwrap_or(0.0);
        (order[0], p[order[0]], second)
    };
    // fallback: rejection of in-scope rows at threshold t, counting only rows not already
    // lost to the out-of-scope class
    let mut tops: Vec<f32> = in_scope
        .iter()
        .map(|p| top_in_scope(p))
        .filter(|(i, _, _)| Some(*i) != oos)
        .map(|(_, p, _)| p)
        .collect();
    tops.sort_by(|a, b| a.total_cmp(b));
    let k = ((targets.max_in_scope_rejection * in_scope.len() as f32).floor() as usize)
        .min(tops.len().saturating_sub(1));
    let fallback = tops.get(k).copied().unwrap_or(0.3).clamp(0.2, 0.6);
    // margin
    let mut gaps: Vec<f32> = probs
        .iter()
        .zip(labels)
        .filter(|(_, &y)| Some(y) != oos)
        .filter_map(|(p, &y)| {
            let (top, p1, p2) = top_in_scope(p);
            (top == y && p1 >= fallback).then_some(p1 - p2)
        })
        .collect();
    gaps.sort_by(|a, b| a.total_cmp(b));
    let k = (targets.max_clarify_rate * gaps.len() as f32).floor() as usize;
    let margin = gaps.get(k).copied().unwrap_or(0.1).clamp(0.02, 0.25);
    Thresholds {
        fallback,
        ambiguity_margin: margin,
    }
}

/// The fallback threshold that maximizes in-scope accuracy plus out-of-scope recall on
/// held-out rows that include out-of-scope queries (the "oos-threshold" setting of
/// Larson et al. 2019, with validation in-scope and out-of-scope rows weighted equally).
///
/// Each row is `(top class, top probability, top class is right)`, where "right" for an
/// out-of-scope row means its top class is the out-of-scope class `oos`; `out_scope[i]` says
/// whether row `i` is out of scope. A row is rejected when its top class is `oos` or its top
/// probability is under the threshold. Candidates are the rows' top probabilities; ties go
/// to the lowest threshold.
pub fn balanced_fallback(
    rows: &[(usize, f32, bool)],
    out_scope: &[bool],
    oos: Option<usize>,
) -> f32 {
    fallback_maximizing(rows, out_scope, oos, true)
}

/// The fallback threshold that maximizes plain accuracy over held-out rows, in-scope and
/// out-of-scope counted alike (a rejected out-of-scope row is right, a rejected in-scope row
/// wrong): the conservative operating point when out-of-scope rows are few.
pub fn accuracy_fallback(
    rows: &[(usize, f32, bool)],
    out_scope: &[bool],
    oos: Option<usize>,
) -> f32 {
    fallback_maximizing(rows, out_scope, oos, false)
}

fn fallback_maximizing(
    rows: &[(usize, f32, bool)],
    out_scope: &[bool],
    oos: Option<usize>,
    balanced: bool,
) -> f32 {
    let (n_in, n_out) = if balanced {
        (
            out_scope.iter().filter(|&&o| !o).count().max(1) as f32,
            out_scope.iter().filter(|&&o| o).count().max(1) as f32,
        )
    } else {
        (1.0, 1.0)
    };
    let mut candidates: Vec<f32> = rows.iter().map(|r| r.1).collect();
    candidates.push(0.0);
    candidates.sort_by(|a, b| a.total_cmp(b));
    candidates.dedup();
    let score = |t: f32| {
        let (mut acc, mut rec) = (0usize, 0usize);
        for (&(top, p, right), &o) in rows.iter().zip(out_scope) {
            let rejected = Some(top) == oos || p < t;
            if o {
                rec += usize::from(rejected);
            } else {
                acc += usize::from(right && !rejected);
            }
        }
        acc as f32 / n_in + rec as f32 / n_out
    };
    // the score only changes at candidate values; evaluate each (O(n²) would be slow for
    // thousands of rows, so sort once and sweep)
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| rows[a].1.total_cmp(&rows[b].1));
    let base_acc = rows
        .iter()
        .zip(out_scope)
        .filter(|(r, &o)| !o && r.2 && Some(r.0) != oos)
        .count();
    let base_rec = rows
        .iter()
        .zip(out_scope)
        .filter(|(r, &o)| o && Some(r.0) == oos)
        .count();
    let (mut acc, mut rec) = (base_acc as f32, base_rec as f32);
    let mut best = (acc / n_in + rec / n_out, 0.0f32);
    let mut k = 0;
    // raising the threshold just above rows[order[k]].1 rejects that row
    while k < order.len() {
        let t = rows[order[k]].1;
        while k < order.len() && rows[order[k]].1 <= t {
            let (top, _, right) = rows[order[k]];
            if Some(top) != oos {
                if out_scope[order[k]] {
                    rec += 1.0;
                } else if right {
                    acc -= 1.0;
                }
            }
            k += 1;
        }
        let next = order.get(k).map_or(t + 1e-6, |&i| rows[i].1);
        let threshold = (t + next) / 2.0;
        let s = acc / n_in + rec / n_out;
        if s > best.0 + 1e-9 {
            best = (s, threshold);
        }
    }
    debug_assert!((score(best.1) - best.0).abs() < 1e-3);
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overconfident_logits_get_a_temperature_above_one() {
        // logits say 99.99% but only 3 of 4 are right
        let logits = vec![vec![10.0, 0.0]; 4];
        let labels = vec![0, 0, 0, 1];
        let t = fit_temperature(&logits, &labels);
        let p = softmax(&[10.0 / t, 0.0])[0];
        assert!(t > 1.0, "t = {t}");
        assert!((p - 0.75).abs() < 0.01, "p = {p}");
    }

    #[test]
    fn ece_is_zero_when_calibrated_and_large_when_not() {
        let conf = vec![0.75; 4];
        assert!(expected_calibration_error(&conf, &[true, true, true, false], 10) < 1e-6);
        let conf = vec![0.99; 4];
        let e = expected_calibration_error(&conf, &[true, false, false, false], 10);
        assert!((e - 0.74).abs() < 1e-4, "{e}");
    }

    #[test]
    fn balanced_fallback_separates_in_and_out_of_scope() {
        // in-scope rows are confident (0.6..0.9), out-of-scope rows are not (0.2..0.5)
        let mut rows = Vec::new();
        let mut out = Vec::new();
        for i in 0..30 {
            rows.push((0, 0.6 + i as f32 / 100.0, true));
            out.push(false);
        }
        for i in 0..10 {
            rows.push((1, 0.2 + i as f32 / 33.0, false));
            out.push(true);
        }
        let t = balanced_fallback(&rows, &out, None);
        assert!(t > 0.48 && t <= 0.6, "{t}");
        // with an out-of-scope class that already catches them, no threshold is needed
        let rows: Vec<_> = rows
            .iter()
            .zip(&out)
            .map(|(&(c, p, r), &o)| if o { (2, 0.9, true) } else { (c, p, r) })
            .collect();
        assert_eq!(balanced_fallback(&rows, &out, Some(2)), 0.0);
        // plain accuracy: 30 in-scope rows outweigh 10 out-of-scope ones
        let rows = vec![(0, 0.5, true), (0, 0.5, true), (1, 0.4, false)];
        let out = vec![false, false, true];
        let t = accuracy_fallback(&rows, &out, None);
        assert!(t > 0.4 && t < 0.5, "{t}");
    }

    #[test]
    fn thresholds_follow_the_data() {
        // class 2 is out of scope
        let mut probs = Vec::new();
        let mut labels = Vec::new();
        for i in 0..100 {
            let p = 0.5 + (i as f32) / 250.0; // 0.5 .. 0.9
            probs.push(vec![p, 1.0 - p - 0.01, 0.01]);
            labels.push(0);
        }
        let t = choose_thresholds(&probs, &labels, Some(2), ThresholdTargets::default());
        assert!((t.fallback - 0.504).abs() < 1e-3, "{t:?}");
        assert!(t.ambiguity_margin >= 0.02);
    }
}
