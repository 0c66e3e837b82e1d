//! The trained head: two multinomial logistic regressions over the frozen encoder's output,
//! mixed per text by how much of the text the training data covered, with temperature
//! scaling, written as a small ONNX graph.
//!
//! ```text
//! joint  = embedding · W_dense + ngram_features · W_sparse + bias      (sharp in-language)
//! dense  = embedding · V + c                                            (carries across languages)
//! g      = clip((known_fraction − low) / (high − low), 0, 1)
//! logits = (dense + g · (joint − dense)) / T
//! probabilities = softmax(logits)
//! ```
//!
//! `embedding` is the sentence embedding, followed, for a model trained with a pooled layer
//! (`pooled_layer` in `model.json`, layer 8 by default), by the unit-length mean of that
//! layer's token states ([`super::encoder::Encoder::with_pooled_layer`]). A middle layer
//! keeps more of the words than the pooled last one, which sharpens the joint model; `V` is
//! zero on those columns, because what they add is the training language's words, which is
//! what the dense-only model must not lean on.
//!
//! `known_fraction` is the share of a text's tokens (ignoring the ones every training text
//! has: `<s>`, `</s>`, the `query: ` prefix) that occur in the training data. The hashed
//! n-gram weights of the joint model only speak for texts written with the training data's
//! words; for a text in a language (or vocabulary) the training data lacks, they are noise
//! that swamps the multilingual embedding, so such a text is scored by the dense-only model,
//! whose weights live in the embedding space that both languages share.
//!
//! The graph computes the n-gram features and the gate itself from `input_ids` and
//! `attention_mask` (see [`super::features`]), so ONNX Runtime alone maps (encoder output,
//! token ids) to calibrated probabilities, and any ONNX runtime can reproduce the parser's
//! numbers.

use super::features::{self, SparseVec, HASH_MUL_A, HASH_MUL_B, HASH_OFFSET};
use super::session_pool::SessionPool;
use crate::error::{NluError, Result};
use crate::model::onnx_writer::{Attr, DataType, Dim, Graph, Tensor, ValueInfo};
use ndarray::Array2;
use ort::value::TensorRef;
use std::path::Path;

/// File name of the head inside a model directory.
pub const HEAD_FILE: &str = "head.onnx";

/// Which token ids the training texts held, and how the share of known tokens of a text
/// turns into the weight of the joint model.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenGate {
    /// Per token id: 1 when some training text held it (and not every one), else 0. Ids at
    /// or past the end are unknown: the last entry is always 0.
    pub known: Vec<u8>,
    /// Per token id: 0 for ids that every training text holds (special tokens, the query
    /// prefix), which the fraction ignores; else 1. The same length as `known`.
    pub counted: Vec<u8>,
    /// Known fraction at and below which only the dense model speaks.
    pub low: f32,
    /// Known fraction at and above which only the joint model speaks.
    pub high: f32,
}

impl TokenGate {
    /// The gate of a set of training token sequences.
    pub fn from_tokens(docs: &[Vec<i64>], low: f32, high: f32) -> Self {
        let max_id = docs
            .iter()
            .flatten()
            .copied()
            .filter(|&i| i >= 0)
            .max()
            .unwrap_or(0);
        let len = usize::try_from(max_id).unwrap_or(0) + 2;
        let mut df = vec![0usize; len];
        for d in docs {
            let mut ids: Vec<usize> = d.iter().filter_map(|&i| usize::try_from(i).ok()).collect();
            ids.sort_unstable();
            ids.dedup();
            for i in ids {
                df[i] += 1;
            }
        }
        let n = docs.len();
        let everywhere = |d: usize| n > 1 && d == n;
        TokenGate {
            known: df
                .iter()
                .map(|&d| u8::from(d > 0 && !everywhere(d)))
                .collect(),
            counted: df.iter().map(|&d| u8::from(!everywhere(d))).collect(),
            low,
            high,
        }
    }

    /// A gate that always gives `weight` (1: the joint model alone, 0: the dense one).
    pub fn constant(weight: f32) -> Self {
        let (low, high) = if weight >= 0.5 {
            (-2.0, -1.0)
        } else {
            (2.0, 3.0)
        };
        TokenGate {
            known: vec![0],
            counted: vec![1],
            low,
            high,
        }
    }

    fn slot(&self, id: i64) -> usize {
        let last = self.known.len().saturating_sub(1);
        usize::try_from(id).map_or(last, |i| i.min(last))
    }

    /// Share of the counted tokens of `ids` that the training data held (0 with none).
    pub fn known_fraction(&self, ids: &[i64]) -> f32 {
        let (mut known, mut counted) = (0f32, 0f32);
        for &id in ids {
            let s = self.slot(id);
            known += f32::from(self.known.get(s).copied().unwrap_or(0));
            counted += f32::from(self.counted.get(s).copied().unwrap_or(1));
        }
        known / counted.max(1.0)
    }

    /// The weight of the joint model for a text.
    pub fn weight(&self, ids: &[i64]) -> f32 {
        let width = (self.high - self.low).max(1e-6);
        ((self.known_fraction(ids) - self.low) * (1.0 / width)).clamp(0.0, 1.0)
    }
}

/// Parameters of a trained head.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadWeights {
    /// Embedding size.
    pub dim: usize,
    /// Number of n-gram hash slots.
    pub buckets: usize,
    /// Number of classes.
    pub classes: usize,
    /// Joint model: `[dim × classes]`, row-major.
    pub dense: Vec<f32>,
    /// Joint model: `[buckets × classes]`, row-major, applied to idf-weighted features.
    pub sparse: Vec<f32>,
    /// Joint model: `[classes]`.
    pub bias: Vec<f32>,
    /// Inverse document frequency of each slot, `[buckets]`.
    pub idf: Vec<f32>,
    /// Dense-only model: `[dim × classes]`, row-major.
    pub dense_only: Vec<f32>,
    /// Dense-only model: `[classes]`.
    pub dense_only_bias: Vec<f32>,
    /// The mix of the two models per text.
    pub gate: TokenGate,
    /// Softmax temperature found by calibration.
    pub temperature: f32,
}

impl HeadWeights {
    /// Raw (untempered) class scores of the joint model for one example.
    pub fn joint_logits(&self, embedding: &[f32], sparse: &SparseVec) -> Vec<f32> {
        let c = self.classes;
        let mut out = self.bias.clone();
        for (d, &x) in embedding.iter().enumerate() {
            if x != 0.0 {
                let row = &self.dense[d * c..(d + 1) * c];
                for (o, w) in out.iter_mut().zip(row) {
                    *o += x * w;
                }
            }
        }
        for (&s, &x) in sparse.idx.iter().zip(&sparse.val) {
            let row = &self.sparse[s as usize * c..(s as usize + 1) * c];
            for (o, w) in out.iter_mut().zip(row) {
                *o += x * w;
            }
        }
        out
    }

    /// Raw class scores of the dense-only model for one example.
    pub fn dense_logits(&self, embedding: &[f32]) -> Vec<f32> {
        let c = self.classes;
        let mut out = self.dense_only_bias.clone();
        for (d, &x) in embedding.iter().enumerate() {
            let row = &self.dense_only[d * c..(d + 1) * c];
            for (o, w) in out.iter_mut().zip(row) {
                *o += x * w;
            }
        }
        out
    }

    /// Raw (untempered) class scores for one example, computed in Rust.
    pub fn raw_logits(&self, embedding: &[f32], ids: &[i64]) -> Vec<f32> {
        let g = self.gate.weight(ids);
        let joint = self.joint_logits(embedding, &self.features(ids));
        let dense = self.dense_logits(embedding);
        mix(&dense, &joint, g)
    }

    /// Calibrated probabilities for one example, computed in Rust.
    pub fn probabilities(&self, embedding: &[f32], ids: &[i64]) -> Vec<f32> {
        let logits: Vec<f32> = self
            .raw_logits(embedding, ids)
            .into_iter()
            .map(|l| l * (1.0 / self.temperature))
            .collect();
        softmax(&logits)
    }

    /// The features of one token sequence under this head's idf weights.
    pub fn features(&self, ids: &[i64]) -> SparseVec {
        features::featurize(&features::slots(ids, self.buckets), &self.idf)
    }

    /// Builds the ONNX graph of this head.
    pub fn to_graph(&self, labels: &[String]) -> Graph {
        let c = self.classes as i64;
        let mut g = Graph {
            name: "nlu-intent-head".into(),
            ..Default::default()
        };
        add_ngram_logits(&mut g, &self.sparse, &self.idf, self.classes);
        let gate_inv_width = 1.0 / (self.gate.high - self.gate.low).max(1e-6);
        g.initializers.extend([
            Tensor::float("w_dense", &[self.dim as i64, c], self.dense.clone()),
            Tensor::float("bias", &[c], self.bias.clone()),
            Tensor::float("inv_temperature", &[], vec![1.0 / self.temperature]),
            Tensor::float(
                "w_dense_only",
                &[self.dim as i64, c],
                self.dense_only.clone(),
            ),
            Tensor::float("bias_dense_only", &[c], self.dense_only_bias.clone()),
            Tensor::float("gate_low", &[], vec![self.gate.low]),
            Tensor::float("gate_inv_width", &[], vec![gate_inv_width]),
            Tensor::float("zero", &[], vec![0.0]),
        ]);
        g.node(
            "MatMul",
            &["sentence_embedding", "w_dense"],
            "dense_logits",
            vec![],
        );
        g.node(
            "Add",
            &["dense_logits", "sparse_logits"],
            "sum_logits",
            vec![],
        );
        g.node("Add", &["sum_logits", "bias"], "joint_logits", vec![]);
        // the gate: share of the text's counted tokens that the training data held
        add_known_fraction(&mut g, &self.gate);
        g.node("Sub", &["known_fraction", "gate_low"], "gate_shift", vec![]);
        g.node("Mul", &["gate_shift", "gate_inv_width"], "gate_lin", vec![]);
        g.node("Max", &["gate_lin", "zero"], "gate_pos", vec![]);
        g.node("Min", &["gate_pos", "one"], "gate", vec![]);
        // the dense-only model, and the mix
        g.node(
            "MatMul",
            &["sentence_embedding", "w_dense_only"],
            "dense_only_mm",
            vec![],
        );
        g.node(
            "Add",
            &["dense_only_mm", "bias_dense_only"],
            "dense_only_logits",
            vec![],
        );
        g.node(
            "Sub",
            &["joint_logits", "dense_only_logits"],
            "joint_minus_dense",
            vec![],
        );
        g.node("Mul", &["joint_minus_dense", "gate"], "gated_diff", vec![]);
        g.node(
            "Add",
            &["dense_only_logits", "gated_diff"],
            "raw_logits",
            vec![],
        );
        g.node("Mul", &["raw_logits", "inv_temperature"], "logits", vec![]);
        g.node(
            "Softmax",
            &["logits"],
            "probabilities",
            vec![("axis", Attr::Int(-1))],
        );
        g.inputs = vec![
            ValueInfo {
                name: "sentence_embedding".into(),
                elem: DataType::Float,
                dims: vec![Dim::Symbolic("batch"), Dim::Fixed(self.dim as i64)],
            },
            ValueInfo {
                name: "input_ids".into(),
                elem: DataType::Int64,
                dims: vec![Dim::Symbolic("batch"), Dim::Symbolic("sequence")],
            },
            ValueInfo {
                name: "attention_mask".into(),
                elem: DataType::Int64,
                dims: vec![Dim::Symbolic("batch"), Dim::Symbolic("sequence")],
            },
        ];
        g.outputs = ["probabilities", "logits"]
            .iter()
            .map(|n| ValueInfo {
                name: n.to_string(),
                elem: DataType::Float,
                dims: vec![Dim::Symbolic("batch"), Dim::Fixed(c)],
            })
            .collect();
        g.metadata = vec![
            ("labels".into(), labels.join(",")),
            ("temperature".into(), self.temperature.to_string()),
            ("buckets".into(), self.buckets.to_string()),
            ("gate_low".into(), self.gate.low.to_string()),
            ("gate_high".into(), self.gate.high.to_string()),
        ];
        g
    }
}

/// Adds to `g` what computes the n-gram logits of [`super::features`] from the graph inputs
/// `input_ids` and `attention_mask`: the value `sparse_logits` (`Σ idf[b]·W[b]` over the
/// text's n-gram slots, divided by the features' norm), and `mask` (the attention mask as
/// floats). `weights` is `[buckets × classes]`, row-major; `idf` is `[buckets]`. Shared by the
/// head and the sparse head ([`super::sparse_head`]), so both read a text's n-grams alike.
pub(crate) fn add_ngram_logits(g: &mut Graph, weights: &[f32], idf: &[f32], classes: usize) {
    let buckets = idf.len() as i64;
    // fold idf into the weights: Σ idf[b]·W[b] over the text's n-grams
    let mut weights_idf = weights.to_vec();
    for (b, w) in idf.iter().enumerate() {
        for v in &mut weights_idf[b * classes..(b + 1) * classes] {
            *v *= w;
        }
    }
    let idf2: Vec<f32> = idf.iter().map(|w| w * w).collect();
    g.initializers.extend([
        Tensor::float("w_sparse", &[buckets, classes as i64], weights_idf),
        Tensor::float("idf2", &[buckets], idf2),
        Tensor::float("eps", &[], vec![1e-24]),
        Tensor::int64("mul_a", &[], vec![HASH_MUL_A]),
        Tensor::int64("mul_b", &[], vec![HASH_MUL_B]),
        Tensor::int64("offset", &[], vec![HASH_OFFSET]),
        Tensor::int64("buckets", &[], vec![buckets]),
        Tensor::int64("s0", &[1], vec![0]),
        Tensor::int64("s1", &[1], vec![1]),
        Tensor::int64("e_last", &[1], vec![-1]),
        Tensor::int64("e_max", &[1], vec![i64::MAX]),
        Tensor::int64("axis1", &[1], vec![1]),
        Tensor::int64("axis2", &[1], vec![2]),
    ]);
    g.node(
        "Cast",
        &["attention_mask"],
        "mask",
        vec![("to", Attr::Int(1))],
    );
    g.node("Mul", &["input_ids", "mul_a"], "uni_h", vec![]);
    g.node("Mod", &["uni_h", "buckets"], "uni_slot", vec![]);
    g.node(
        "Slice",
        &["input_ids", "s0", "e_last", "axis1"],
        "ids_left",
        vec![],
    );
    g.node(
        "Slice",
        &["input_ids", "s1", "e_max", "axis1"],
        "ids_right",
        vec![],
    );
    g.node("Mul", &["ids_left", "mul_b"], "bi_l", vec![]);
    g.node("Mul", &["ids_right", "mul_a"], "bi_r", vec![]);
    g.node("Add", &["bi_l", "bi_r"], "bi_lr", vec![]);
    g.node("Add", &["bi_lr", "offset"], "bi_h", vec![]);
    g.node("Mod", &["bi_h", "buckets"], "bi_slot", vec![]);
    g.node(
        "Slice",
        &["mask", "s0", "e_last", "axis1"],
        "mask_left",
        vec![],
    );
    g.node(
        "Slice",
        &["mask", "s1", "e_max", "axis1"],
        "mask_right",
        vec![],
    );
    g.node("Mul", &["mask_left", "mask_right"], "bi_mask", vec![]);
    g.node(
        "Concat",
        &["uni_slot", "bi_slot"],
        "slots",
        vec![("axis", Attr::Int(1))],
    );
    g.node(
        "Concat",
        &["mask", "bi_mask"],
        "slot_mask",
        vec![("axis", Attr::Int(1))],
    );
    g.node("Gather", &["w_sparse", "slots"], "slot_w", vec![]);
    g.node("Unsqueeze", &["slot_mask", "axis2"], "slot_mask3", vec![]);
    g.node("Mul", &["slot_w", "slot_mask3"], "slot_w_masked", vec![]);
    g.node(
        "ReduceSum",
        &["slot_w_masked", "axis1"],
        "sparse_sum",
        vec![("keepdims", Attr::Int(0))],
    );
    g.node("Gather", &["idf2", "slots"], "slot_idf2", vec![]);
    g.node(
        "Mul",
        &["slot_idf2", "slot_mask"],
        "slot_idf2_masked",
        vec![],
    );
    g.node(
        "ReduceSum",
        &["slot_idf2_masked", "axis1"],
        "norm2",
        vec![("keepdims", Attr::Int(1))],
    );
    g.node("Max", &["norm2", "eps"], "norm2_safe", vec![]);
    g.node("Sqrt", &["norm2_safe"], "norm", vec![]);
    g.node("Div", &["sparse_sum", "norm"], "sparse_logits", vec![]);
}

/// Adds to a graph that [`add_ngram_logits`] built one more linear map of the same n-gram
/// features: `output` (`[batch × width]`) is `Σ idf[b]·W[b]` over the text's slots divided
/// by the features' norm, for the initializer `name` holding `weights` (`[buckets × width]`).
pub(crate) fn add_ngram_output(
    g: &mut Graph,
    name: &str,
    weights: &[f32],
    idf: &[f32],
    width: usize,
    output: &str,
) {
    let mut weights_idf = weights.to_vec();
    for (b, w) in idf.iter().enumerate() {
        for v in &mut weights_idf[b * width..(b + 1) * width] {
            *v *= w;
        }
    }
    g.initializers.push(Tensor::float(
        name,
        &[idf.len() as i64, width as i64],
        weights_idf,
    ));
    let gathered = format!("{name}_slots");
    let masked = format!("{name}_masked");
    let sum = format!("{name}_sum");
    g.node("Gather", &[name, "slots"], &gathered, vec![]);
    g.node("Mul", &[&gathered, "slot_mask3"], &masked, vec![]);
    g.node(
        "ReduceSum",
        &[&masked, "axis1"],
        &sum,
        vec![("keepdims", Attr::Int(0))],
    );
    g.node("Div", &[&sum, "norm"], output, vec![]);
}

/// Adds to `g` what computes `known_fraction` (`[batch × 1]`, [`TokenGate::known_fraction`])
/// from `input_ids` and the float `mask` of [`add_ngram_logits`].
pub(crate) fn add_known_fraction(g: &mut Graph, gate: &TokenGate) {
    let gate_len = gate.known.len() as i64;
    g.initializers.extend([
        Tensor::uint8("gate_known", &[gate_len], gate.known.clone()),
        Tensor::uint8("gate_counted", &[gate_len], gate.counted.clone()),
        Tensor::int64("gate_last", &[], vec![gate_len - 1]),
        Tensor::float("one", &[], vec![1.0]),
    ]);
    g.node("Min", &["input_ids", "gate_last"], "gate_ids", vec![]);
    g.node("Gather", &["gate_known", "gate_ids"], "known_u8", vec![]);
    g.node("Cast", &["known_u8"], "known_f", vec![("to", Attr::Int(1))]);
    g.node(
        "Gather",
        &["gate_counted", "gate_ids"],
        "counted_u8",
        vec![],
    );
    g.node(
        "Cast",
        &["counted_u8"],
        "counted_f",
        vec![("to", Attr::Int(1))],
    );
    g.node("Mul", &["known_f", "mask"], "known_m", vec![]);
    g.node("Mul", &["counted_f", "mask"], "counted_m", vec![]);
    g.node(
        "ReduceSum",
        &["known_m", "axis1"],
        "known_n",
        vec![("keepdims", Attr::Int(1))],
    );
    g.node(
        "ReduceSum",
        &["counted_m", "axis1"],
        "counted_n",
        vec![("keepdims", Attr::Int(1))],
    );
    g.node("Max", &["counted_n", "one"], "counted_safe", vec![]);
    g.node(
        "Div",
        &["known_n", "counted_safe"],
        "known_fraction",
        vec![],
    );
}

/// `dense + g · (joint − dense)`, element by element (the graph's order of operations).
pub fn mix(dense: &[f32], joint: &[f32], g: f32) -> Vec<f32> {
    dense
        .iter()
        .zip(joint)
        .map(|(d, j)| d + (j - d) * g)
        .collect()
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// A session pool of a classifier graph (the head, or the sparse head), checked to have an
/// output `probabilities` with `classes` classes.
pub(crate) fn load_classifier_graph(
    path: &Path,
    classes: usize,
    sessions: usize,
) -> Result<SessionPool> {
    let pool = SessionPool::load(path, 1, sessions)?;
    let out_classes = pool.with_first(|s| {
        s.outputs()
            .iter()
            .find(|o| o.name() == "probabilities")
            .and_then(|o| o.dtype().tensor_shape().and_then(|sh| sh.last().copied()))
    });
    if out_classes != Some(classes as i64) {
        return Err(NluError::onnx(
            path,
            format!(
                "expected an output `probabilities` with {classes} classes, found {out_classes:?}; retrain the model with `nlu train`"
            ),
        ));
    }
    Ok(pool)
}

/// `input_ids` and `attention_mask` of one token sequence, as a batch of one.
pub(crate) fn id_batch(path: &Path, ids: &[i64]) -> Result<(Array2<i64>, Array2<i64>)> {
    let n = ids.len();
    let ids = Array2::from_shape_vec((1, n), ids.to_vec()).map_err(|e| NluError::onnx(path, e))?;
    Ok((ids, Array2::<i64>::ones((1, n))))
}

/// The values of the float output `name` of a run of the graph at `path`.
pub(crate) fn float_output(
    outputs: &ort::session::SessionOutputs<'_>,
    name: &str,
    path: &Path,
) -> Result<Vec<f32>> {
    let (_, data) = outputs[name]
        .try_extract_tensor::<f32>()
        .map_err(|e| NluError::onnx(path, e))?;
    Ok(data.to_vec())
}

/// The head as loaded for inference: an ONNX Runtime session of `head.onnx`.
#[derive(Debug)]
pub struct Head {
    pool: SessionPool,
    classes: usize,
}

impl Head {
    /// Loads `head.onnx`; `classes` is checked against the graph's output.
    pub fn load(path: &Path, classes: usize, sessions: usize) -> Result<Self> {
        let pool = load_classifier_graph(path, classes, sessions)?;
        Ok(Head { pool, classes })
    }

    /// Calibrated probabilities for one text.
    pub fn probabilities(&self, embedding: &[f32], ids: &[i64]) -> Result<Vec<f32>> {
        let path = self.pool.path();
        let emb = Array2::from_shape_vec((1, embedding.len()), embedding.to_vec())
            .map_err(|e| NluError::onnx(path, e))?;
        let (ids, mask) = id_batch(path, ids)?;
        self.pool.run(|session| {
            let inputs = ort::inputs![
                "sentence_embedding" => TensorRef::from_array_view(&emb).map_err(|e| NluError::onnx(path, e))?,
                "input_ids" => TensorRef::from_array_view(&ids).map_err(|e| NluError::onnx(path, e))?,
                "attention_mask" => TensorRef::from_array_view(&mask).map_err(|e| NluError::onnx(path, e))?,
            ];
            let outputs = session.run(inputs).map_err(|e| NluError::onnx(path, e))?;
            let data = float_output(&outputs, "probabilities", path)?;
            if data.len() != self.classes {
                return Err(NluError::onnx(path, "unexpected output size"));
            }
            Ok(data)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_counts_known_tokens_and_ignores_those_of_every_text() {
        // 0 and 2 are in every text (like <s> and </s>), 5 and 6 in some
        let docs = vec![vec![0, 5, 2], vec![0, 6, 2], vec![0, 5, 6, 2]];
        let g = TokenGate::from_tokens(&docs, 0.25, 0.75);
        assert_eq!(g.known.len(), 8);
        assert_eq!(g.known[5], 1);
        assert_eq!(g.known[0], 0);
        assert_eq!(g.counted[0], 0);
        assert_eq!(g.counted[7], 1);
        assert_eq!(g.known_fraction(&[0, 5, 6, 2]), 1.0);
        assert_eq!(g.known_fraction(&[0, 5, 9, 2]), 0.5);
        // ids past the table, and negative ones, are unknown
        assert_eq!(g.known_fraction(&[0, 1000, -3, 2]), 0.0);
        assert_eq!(g.known_fraction(&[0, 2]), 0.0);
        assert_eq!(g.weight(&[0, 5, 6, 2]), 1.0);
        assert_eq!(g.weight(&[0, 5, 9, 2]), 0.5);
        assert_eq!(g.weight(&[0, 9, 2]), 0.0);
        assert_eq!(TokenGate::constant(1.0).weight(&[0, 9]), 1.0);
        assert_eq!(TokenGate::constant(0.0).weight(&[5]), 0.0);
    }

    #[test]
    fn mixing_goes_from_the_dense_to_the_joint_logits() {
        let d = [1.0, -1.0];
        let j = [3.0, 1.0];
        assert_eq!(mix(&d, &j, 0.0), d.to_vec());
        assert_eq!(mix(&d, &j, 1.0), j.to_vec());
        assert_eq!(mix(&d, &j, 0.5), vec![2.0, 0.0]);
    }
}
