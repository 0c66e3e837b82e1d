//! Multinomial logistic regression over dense embeddings and sparse n-gram features,
//! fitted by L-BFGS on the L2-regularized mean cross-entropy.
//!
//! Written for this problem's shape (a few hundred dense columns, thousands of sparse
//! hashed columns with ~40 non-zeros per row, tens to hundreds of classes) so that the sparse
//! part costs only its non-zeros; the dense part uses ndarray's matrix products.

use crate::classifier::features::SparseVec;
use ndarray::{Array2, ArrayView2, Axis};

/// Training rows: dense features, sparse features and class indices.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// `[n × dim]` dense features (sentence embeddings).
    pub dense: Array2<f32>,
    /// Sparse features per row.
    pub sparse: Vec<SparseVec>,
    /// Class index per row.
    pub labels: Vec<usize>,
    pub classes: usize,
    pub buckets: usize,
}

impl Dataset {
    /// The rows at `idx`, as a new dataset.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        Dataset {
            dense: self.dense.select(Axis(0), idx),
            sparse: idx.iter().map(|&i| self.sparse[i].clone()).collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
            buckets: self.buckets,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dense.ncols()
    }
}

/// Fitting settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// L2 penalty on the weights (not the bias), per example.
    pub l2: f32,
    /// Most L-BFGS iterations.
    pub max_iter: usize,
    /// Stop when the relative decrease of the objective falls below this.
    pub tol: f64,
    /// L-BFGS memory.
    pub memory: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            l2: 1e-4,
            max_iter: 300,
            tol: 1e-7,
            memory: 10,
        }
    }
}

/// Fitted parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// `[dim × classes]`.
    pub dense: Array2<f32>,
    /// `[buckets × classes]`.
    pub sparse: Array2<f32>,
    /// `[classes]`.
    pub bias: Vec<f32>,
    /// Final objective and iterations used, for reports.
    pub objective: f64,
    pub iterations: usize,
}

impl Weights {
    /// Raw class scores of every row of `data`, `[n × classes]`.
    pub fn logits(&self, data: &Dataset) -> Array2<f32> {
        logits(
            data.dense.view(),
            &data.sparse,
            self.dense.view(),
            self.sparse.view(),
            &self.bias,
        )
    }
}

fn logits(
    dense: ArrayView2<f32>,
    sparse: &[SparseVec],
    wd: ArrayView2<f32>,
    ws: ArrayView2<f32>,
    bias: &[f32],
) -> Array2<f32> {
    let mut z = dense.dot(&wd);
    for (mut row, sv) in z.outer_iter_mut().zip(sparse) {
        for (r, b) in row.iter_mut().zip(bias) {
            *r += b;
        }
        for (&s, &v) in sv.idx.iter().zip(&sv.val) {
            let w = ws.row(s as usize);
            row.scaled_add(v, &w);
        }
    }
    z
}

/// Layout of the flat parameter vector: dense weights, sparse weights, bias.
struct Layout {
    dim: usize,
    buckets: usize,
    classes: usize,
}

impl Layout {
    fn len(&self) -> usize {
        (self.dim + self.buckets + 1) * self.classes
    }
    fn split<'a>(&self, x: &'a [f32]) -> (ArrayView2<'a, f32>, ArrayView2<'a, f32>, &'a [f32]) {
        let nd = self.dim * self.classes;
        let ns = self.buckets * self.classes;
        let wd = ArrayView2::from_shape((self.dim, self.classes), &x[..nd]).expect("layout");
        let ws =
            ArrayView2::from_shape((self.buckets, self.classes), &x[nd..nd + ns]).expect("layout");
        (wd, ws, &x[nd + ns..])
    }
}

/// Objective and gradient at `x`.
fn evaluate(data: &Dataset, layout: &Layout, l2: f32, x: &[f32], grad: &mut [f32]) -> f64 {
    let n = data.len() as f32;
    let (wd, ws, bias) = layout.split(x);
    let mut z = logits(data.dense.view(), &data.sparse, wd, ws, bias);
    let mut loss = 0f64;
    // z becomes (softmax(z) - onehot(y)) / n
    for (mut row, &y) in z.outer_iter_mut().zip(&data.labels) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        loss -= f64::from((row[y] / sum).max(1e-30).ln());
        for v in row.iter_mut() {
            *v /= sum * n;
        }
        row[y] -= 1.0 / n;
    }
    loss /= f64::from(n);
    let nd = layout.dim * layout.classes;
    let ns = layout.buckets * layout.classes;
    grad.fill(0.0);
    {
        let gd = data.dense.t().dot(&z);
        for (g, v) in grad[..nd].iter_mut().zip(gd.iter()) {
            *g = *v;
        }
    }
    {
        let c = layout.classes;
        let gs = &mut grad[nd..nd + ns];
        for (row, sv) in z.outer_iter().zip(&data.sparse) {
            for (&s, &v) in sv.idx.iter().zip(&sv.val) {
                let g = &mut gs[s as usize * c..(s as usize + 1) * c];
                for (gi, r) in g.iter_mut().zip(row.iter()) {
                    *gi += v * r;
                }
            }
        }
    }
    let gb = z.sum_axis(Axis(0));
    for (g, v) in grad[nd + ns..].iter_mut().zip(gb.iter()) {
        *g = *v;
    }
    let mut reg = 0f64;
    for (g, w) in grad[..nd + ns].iter_mut().zip(&x[..nd + ns]) {
        *g += l2 * w;
        reg += f64::from(w * w);
    }
    loss + 0.5 * f64::from(l2) * reg
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// Fits the model on `data`.
pub fn fit(data: &Dataset, opts: &FitOptions) -> Weights {
    let layout = Layout {
        dim: data.dim(),
        buckets: data.buckets,
        classes: data.classes,
    };
    let n = layout.len();
    let mut x = vec![0f32; n];
    let mut g = vec![0f32; n];
    let mut f = evaluate(data, &layout, opts.l2, &x, &mut g);
    let mut hist_s: Vec<Vec<f32>> = Vec::new();
    let mut hist_y: Vec<Vec<f32>> = Vec::new();
    let mut x_new = vec![0f32; n];
    let mut g_new = vec![0f32; n];
    let mut iterations = 0;
    for it in 0..opts.max_iter {
        iterations = it + 1;
        // two-loop recursion: d = -H g
        let mut q: Vec<f32> = g.clone();
        let k = hist_s.len();
        let mut alpha = vec![0f64; k];
        for i in (0..k).rev() {
            let rho = 1.0 / dot(&hist_y[i], &hist_s[i]);
            alpha[i] = rho * dot(&hist_s[i], &q);
            let a = alpha[i] as f32;
            for (qj, yj) in q.iter_mut().zip(&hist_y[i]) {
                *qj -= a * yj;
            }
        }
        let gamma = if k > 0 {
            (dot(&hist_s[k - 1], &hist_y[k - 1]) / dot(&hist_y[k - 1], &hist_y[k - 1])) as f32
        } else {
            let gn = dot(&g, &g).sqrt() as f32;
            1.0 / gn.max(1e-12)
        };
        for v in q.iter_mut() {
            *v *= gamma;
        }
        for i in 0..k {
            let rho = 1.0 / dot(&hist_y[i], &hist_s[i]);
            let beta = rho * dot(&hist_y[i], &q);
            let c = (alpha[i] - beta) as f32;
            for (qj, sj) in q.iter_mut().zip(&hist_s[i]) {
                *qj += c * sj;
            }
        }
        let d: Vec<f32> = q.into_iter().map(|v| -v).collect();
        let mut slope = dot(&g, &d);
        let d = if slope >= 0.0 {
            // not a descent direction: restart from steepest descent
            hist_s.clear();
            hist_y.clear();
            let gn = dot(&g, &g).sqrt() as f32;
            let d: Vec<f32> = g.iter().map(|v| -v / gn.max(1e-12)).collect();
            slope = dot(&g, &d);
            d
        } else {
            d
        };
        // backtracking line search (Armijo)
        let mut t = 1f32;
        let mut f_new = f;
        let mut accepted = false;
        for _ in 0..40 {
            for ((xn, xi), di) in x_new.iter_mut().zip(&x).zip(&d) {
                *xn = xi + t * di;
            }
            f_new = evaluate(data, &layout, opts.l2, &x_new, &mut g_new);
            if f_new <= f + 1e-4 * f64::from(t) * slope {
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
        let s: Vec<f32> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f32> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        if dot(&s, &y) > 1e-12 {
            if hist_s.len() == opts.memory {
                hist_s.remove(0);
                hist_y.remove(0);
            }
            hist_s.push(s);
            hist_y.push(y);
        }
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        let decrease = f - f_new;
        f = f_new;
        if decrease.abs() <= opts.tol * f.abs().max(1.0) {
            break;
        }
    }
    let (wd, ws, b) = layout.split(&x);
    Weights {
        dense: wd.to_owned(),
        sparse: ws.to_owned(),
        bias: b.to_vec(),
        objective: f,
        iterations,
    }
}

/// Accuracy of `weights` on `data` (for tests and reports).
pub fn accuracy(weights: &Weights, data: &Dataset) -> f32 {
    let z = weights.logits(data);
    let right = z
        .outer_iter()
        .zip(&data.labels)
        .filter(|(row, &y)| argmax(row.as_slice().unwrap_or(&[])) == Some(y))
        .count();
    right as f32 / data.len().max(1) as f32
}

/// Index of the largest value.
pub fn argmax(v: &[f32]) -> Option<usize> {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn toy(n: usize, seed: u64) -> Dataset {
        // three classes separable by the sign of two dense features, plus a sparse marker
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut dense = Array2::zeros((n, 2));
        let mut sparse = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let y = i % 3;
            let (a, b) = match y {
                0 => (1.0, 0.0),
                1 => (-1.0, 0.0),
                _ => (0.0, 1.0),
            };
            dense[[i, 0]] = a + rng.random_range(-0.3..0.3);
            dense[[i, 1]] = b + rng.random_range(-0.3..0.3);
            sparse.push(SparseVec {
                idx: vec![y as u32 + 1],
                val: vec![1.0],
            });
            labels.push(y);
        }
        Dataset {
            dense,
            sparse,
            labels,
            classes: 3,
            buckets: 8,
        }
    }

    #[test]
    fn separable_data_is_learned() {
        let d = toy(90, 1);
        let w = fit(&d, &FitOptions::default());
        assert_eq!(accuracy(&w, &d), 1.0);
        assert!(w.objective < 0.2, "objective {}", w.objective);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let d = toy(12, 2);
        let layout = Layout {
            dim: 2,
            buckets: 8,
            classes: 3,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let x: Vec<f32> = (0..layout.len())
            .map(|_| rng.random_range(-0.5..0.5))
            .collect();
        let mut g = vec![0f32; layout.len()];
        evaluate(&d, &layout, 0.01, &x, &mut g);
        let mut scratch = vec![0f32; layout.len()];
        for i in [0, 3, 7, 10, 20, layout.len() - 1] {
            let mut xp = x.clone();
            xp[i] += 1e-3;
            let mut xm = x.clone();
            xm[i] -= 1e-3;
            let num = (evaluate(&d, &layout, 0.01, &xp, &mut scratch)
                - evaluate(&d, &layout, 0.01, &xm, &mut scratch))
                / 2e-3;
            assert!(
                (num - f64::from(g[i])).abs() < 2e-3,
                "coordinate {i}: {num} vs {}",
                g[i]
            );
        }
    }

    #[test]
    fn stronger_penalty_shrinks_weights() {
        let d = toy(60, 4);
        let weak = fit(&d, &FitOptions::default());
        let strong = fit(
            &d,
            &FitOptions {
                l2: 0.1,
                ..Default::default()
            },
        );
        let norm = |w: &Weights| w.dense.iter().map(|v| v * v).sum::<f32>();
        assert!(norm(&strong) < norm(&weak));
    }
}
