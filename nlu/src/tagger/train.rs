//! Fitting the tagger: a softmax layer over a window of three token states (the piece, the
//! one before and the one after), trained with Adam on mini-batches of pieces.
//!
//! The window is a 1-D convolution of width 3 over the sequence, which is how the saved
//! graph computes it (`Conv` with zero padding), so the Rust scores here and ONNX Runtime's
//! agree.

use super::{bio, TaggerMeta};
use crate::error::{NluError, Result};
use crate::model::onnx_writer::{Attr, DataType, Dim, Graph, Tensor, ValueInfo};
use crate::result::EntityKind;
use crate::train::TokenStates;
use ndarray::{s, Array1, Array2, ArrayView2, Axis};

/// Width of the window of token states each piece is tagged from.
pub const WINDOW: usize = 3;

/// One training sequence: the token states of a text (all its pieces, special ones
/// included, `[pieces × dim]`) and the gold tag of each piece (`None`: not trained on).
#[derive(Debug, Clone)]
pub struct Sequence {
    pub states: Array2<f32>,
    pub tags: Vec<Option<usize>>,
}

/// Fitting settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaggerOptions {
    /// Passes over the data; more when that would make fewer than `min_steps` updates
    /// (small data sets).
    pub epochs: usize,
    pub min_steps: usize,
    pub batch: usize,
    pub learning_rate: f32,
    /// L2 penalty on the weights.
    pub l2: f32,
    pub seed: u64,
}

impl Default for TaggerOptions {
    fn default() -> Self {
        TaggerOptions {
            epochs: 12,
            min_steps: 1000,
            batch: 256,
            learning_rate: 2e-3,
            l2: 1e-5,
            seed: 17,
        }
    }
}

/// A fitted tagger: `[WINDOW·dim × tags]` weights (rows: the previous piece's state, the
/// piece's own, the next one's) and a bias per tag.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggerWeights {
    pub dim: usize,
    pub tags: usize,
    pub weights: Array2<f32>,
    pub bias: Array1<f32>,
}

/// The window features of every piece of one sequence, `[pieces × WINDOW·dim]`.
pub fn windows(states: ArrayView2<f32>) -> Array2<f32> {
    let (n, dim) = states.dim();
    let mut x = Array2::zeros((n, WINDOW * dim));
    for i in 0..n {
        for k in 0..WINDOW {
            let j = i as isize + k as isize - 1;
            if j >= 0 && (j as usize) < n {
                x.slice_mut(s![i, k * dim..(k + 1) * dim])
                    .assign(&states.row(j as usize));
            }
        }
    }
    x
}

impl TaggerWeights {
    /// Tag probabilities of every piece of a sequence, `[pieces × tags]`.
    pub fn probabilities(&self, states: ArrayView2<f32>) -> Array2<f32> {
        let mut z = windows(states).dot(&self.weights);
        z += &self.bias;
        softmax_rows(&mut z);
        z
    }

    /// The graph saved as `tagger.onnx`: `token_states` `[1, pieces, dim]` to
    /// `tag_probabilities` `[1, pieces, tags]`.
    pub fn to_graph(&self, types: &[String]) -> Graph {
        let (dim, tags) = (self.dim, self.tags);
        // Conv weight [tags, dim, WINDOW]: w[t][c][k] = weights[k·dim + c][t]
        let mut conv = Vec::with_capacity(tags * dim * WINDOW);
        for t in 0..tags {
            for c in 0..dim {
                for k in 0..WINDOW {
                    conv.push(self.weights[[k * dim + c, t]]);
                }
            }
        }
        let mut g = Graph {
            name: "nlu-entity-tagger".into(),
            ..Default::default()
        };
        g.initializers.push(Tensor::float(
            "conv_w",
            &[tags as i64, dim as i64, WINDOW as i64],
            conv,
        ));
        g.initializers
            .push(Tensor::float("conv_b", &[tags as i64], self.bias.to_vec()));
        g.node(
            "Transpose",
            &["token_states"],
            "channels",
            vec![("perm", Attr::Ints(vec![0, 2, 1]))],
        );
        g.node(
            "Conv",
            &["channels", "conv_w", "conv_b"],
            "scores",
            vec![
                ("kernel_shape", Attr::Ints(vec![WINDOW as i64])),
                ("pads", Attr::Ints(vec![1, 1])),
            ],
        );
        g.node(
            "Transpose",
            &["scores"],
            "logits",
            vec![("perm", Attr::Ints(vec![0, 2, 1]))],
        );
        g.node(
            "Softmax",
            &["logits"],
            "tag_probabilities",
            vec![("axis", Attr::Int(-1))],
        );
        g.inputs = vec![ValueInfo {
            name: "token_states".into(),
            elem: DataType::Float,
            dims: vec![
                Dim::Symbolic("batch"),
                Dim::Symbolic("sequence"),
                Dim::Fixed(dim as i64),
            ],
        }];
        g.outputs = vec![ValueInfo {
            name: "tag_probabilities".into(),
            elem: DataType::Float,
            dims: vec![
                Dim::Symbolic("batch"),
                Dim::Symbolic("sequence"),
                Dim::Fixed(tags as i64),
            ],
        }];
        g.metadata = vec![("entity_types".into(), types.join(","))];
        g
    }
}

fn softmax_rows(z: &mut Array2<f32>) {
    for mut row in z.axis_iter_mut(Axis(0)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        row /= sum;
    }
}

/// A fitted tagger with what `model.json` says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedTagger {
    pub weights: TaggerWeights,
    pub meta: TaggerMeta,
}

/// Fits a tagger of `types` on texts' token states and their annotated spans (type index
/// into `types`, character range), one list per text in the same order. Texts without
/// annotations teach it what is not an entity.
pub fn train(
    states: Vec<TokenStates>,
    annotations: &[Vec<bio::TypedSpan>],
    types: Vec<EntityKind>,
    options: &TaggerOptions,
) -> Result<TrainedTagger> {
    if states.len() != annotations.len() {
        return Err(NluError::Training(format!(
            "{} texts' token states for {} annotation lists",
            states.len(),
            annotations.len()
        )));
    }
    let examples = annotations.iter().filter(|a| !a.is_empty()).count();
    let sequences: Vec<Sequence> = states
        .into_iter()
        .zip(annotations)
        .map(|(s, a)| Sequence {
            tags: bio::gold_tags(&s.spans, a),
            states: s.states,
        })
        .collect();
    let weights = fit(&sequences, types.len(), options)?;
    Ok(TrainedTagger {
        weights,
        meta: TaggerMeta { types, examples },
    })
}

/// Fits the tagger on `sequences` with `types` entity types.
pub fn fit(sequences: &[Sequence], types: usize, options: &TaggerOptions) -> Result<TaggerWeights> {
    let tags = bio::tag_count(types);
    let dim = sequences
        .first()
        .map(|s| s.states.ncols())
        .ok_or_else(|| NluError::Training("the tagger has no annotated examples".into()))?;
    // every trained piece's window, stacked
    let rows: usize = sequences
        .iter()
        .map(|s| s.tags.iter().filter(|t| t.is_some()).count())
        .sum();
    let mut x = Array2::<f32>::zeros((rows, WINDOW * dim));
    let mut y = Vec::with_capacity(rows);
    let mut r = 0;
    for seq in sequences {
        if seq.states.ncols() != dim || seq.states.nrows() != seq.tags.len() {
            return Err(NluError::Training(format!(
                "a tagger sequence has {}×{} states for {} tags (expected {dim} columns)",
                seq.states.nrows(),
                seq.states.ncols(),
                seq.tags.len()
            )));
        }
        let w = windows(seq.states.view());
        for (i, tag) in seq.tags.iter().enumerate() {
            if let Some(t) = *tag {
                if t >= tags {
                    return Err(NluError::Training(format!("tag {t} is out of range")));
                }
                x.row_mut(r).assign(&w.row(i));
                y.push(t);
                r += 1;
            }
        }
    }
    if rows == 0 {
        return Err(NluError::Training("the tagger has no tagged pieces".into()));
    }
    let mut weights = Array2::<f32>::zeros((WINDOW * dim, tags));
    let mut bias = Array1::<f32>::zeros(tags);
    let (mut mw, mut vw) = (weights.clone(), weights.clone());
    let (mut mb, mut vb) = (bias.clone(), bias.clone());
    let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let mut order: Vec<usize> = (0..rows).collect();
    let mut rng = options.seed.max(1);
    let mut step = 0i32;
    let batch = options.batch.max(1);
    let epochs = options
        .epochs
        .max(options.min_steps.div_ceil(rows.div_ceil(batch)));
    for epoch in 0..epochs {
        // Fisher–Yates with a xorshift generator: the same order for the same seed
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        // a cosine-decayed learning rate
        let lr = options.learning_rate
            * 0.5
            * (1.0 + (std::f32::consts::PI * epoch as f32 / epochs as f32).cos());
        for chunk in order.chunks(batch) {
            let xb = x.select(Axis(0), chunk);
            let mut p = xb.dot(&weights);
            p += &bias;
            softmax_rows(&mut p);
            for (mut row, &i) in p.axis_iter_mut(Axis(0)).zip(chunk) {
                row[y[i]] -= 1.0;
            }
            p /= chunk.len() as f32;
            let mut gw = xb.t().dot(&p);
            gw.scaled_add(options.l2, &weights);
            let gb = p.sum_axis(Axis(0));
            step += 1;
            let (c1, c2) = (1.0 - b1.powi(step), 1.0 - b2.powi(step));
            adam(
                &mut weights,
                &gw,
                &mut mw,
                &mut vw,
                lr,
                (b1, b2, eps),
                (c1, c2),
            );
            adam(
                &mut bias,
                &gb,
                &mut mb,
                &mut vb,
                lr,
                (b1, b2, eps),
                (c1, c2),
            );
        }
    }
    Ok(TaggerWeights {
        dim,
        tags,
        weights,
        bias,
    })
}

fn adam<D: ndarray::Dimension>(
    w: &mut ndarray::Array<f32, D>,
    g: &ndarray::Array<f32, D>,
    m: &mut ndarray::Array<f32, D>,
    v: &mut ndarray::Array<f32, D>,
    lr: f32,
    (b1, b2, eps): (f32, f32, f32),
    (c1, c2): (f32, f32),
) {
    ndarray::Zip::from(w)
        .and(g)
        .and(m)
        .and(v)
        .for_each(|w, &g, m, v| {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_hold_the_neighbours_and_zeros_at_the_ends() {
        let s = Array2::from_shape_vec((3, 2), vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let w = windows(s.view());
        assert_eq!(w.row(0).to_vec(), vec![0., 0., 1., 2., 3., 4.]);
        assert_eq!(w.row(1).to_vec(), vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(w.row(2).to_vec(), vec![3., 4., 5., 6., 0., 0.]);
    }

    #[test]
    fn a_separable_toy_set_is_learnt() {
        // dimension 0 marks B of type 0, dimension 1 marks I, dimension 2 marks O
        let state = |k: usize| {
            let mut v = [0.0f32; 3];
            v[k] = 1.0;
            v
        };
        let mut seqs = Vec::new();
        for _ in 0..20 {
            let kinds = [2usize, 0, 1, 2];
            let flat: Vec<f32> = kinds.iter().flat_map(|&k| state(k)).collect();
            seqs.push(Sequence {
                states: Array2::from_shape_vec((4, 3), flat).unwrap(),
                tags: vec![Some(0), Some(1), Some(2), Some(0)],
            });
        }
        let opts = TaggerOptions {
            epochs: 60,
            batch: 16,
            learning_rate: 0.05,
            ..Default::default()
        };
        let w = fit(&seqs, 1, &opts).unwrap();
        let p = w.probabilities(seqs[0].states.view());
        let best: Vec<usize> = p
            .outer_iter()
            .map(|r| crate::train::logreg::argmax(r.as_slice().unwrap()).unwrap())
            .collect();
        assert_eq!(best, vec![0, 1, 2, 0]);
        assert!(fit(&[], 1, &opts).is_err());
    }
}
