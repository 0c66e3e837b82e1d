//! The trained head: a multinomial logistic regression over the sentence embedding and
//! hashed token n-gram features, with temperature scaling, written as a small ONNX graph.
//!
//! ```text
//! logits = (embedding · W_dense + ngram_features · W_sparse + bias) / T
//! probabilities = softmax(logits)
//! ```
//!
//! The graph computes the n-gram features itself from `input_ids` and `attention_mask`
//! (see [`super::features`]), so ONNX Runtime alone maps (encoder output, token ids) to
//! calibrated probabilities, and any ONNX runtime can reproduce the parser's numbers.

use super::features::{self, SparseVec, HASH_MUL_A, HASH_MUL_B, HASH_OFFSET};
use super::session_pool::SessionPool;
use crate::error::{NluError, Result};
use crate::model::onnx_writer::{Attr, DataType, Dim, Graph, Tensor, ValueInfo};
use ndarray::Array2;
use ort::value::TensorRef;
use std::path::Path;

/// File name of the head inside a model directory.
pub const HEAD_FILE: &str = "head.onnx";

/// Parameters of a trained head.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadWeights {
    /// Embedding size.
    pub dim: usize,
    /// Number of n-gram hash slots.
    pub buckets: usize,
    /// Number of classes.
    pub classes: usize,
    /// `[dim × classes]`, row-major.
    pub dense: Vec<f32>,
    /// `[buckets × classes]`, row-major, applied to idf-weighted features.
    pub sparse: Vec<f32>,
    /// `[classes]`.
    pub bias: Vec<f32>,
    /// Inverse document frequency of each slot, `[buckets]`.
    pub idf: Vec<f32>,
    /// Softmax temperature found by calibration.
    pub temperature: f32,
}

impl HeadWeights {
    /// Raw (untempered) class scores for one example, computed in Rust.
    pub fn raw_logits(&self, embedding: &[f32], sparse: &SparseVec) -> Vec<f32> {
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

    /// Calibrated probabilities for one example, computed in Rust.
    pub fn probabilities(&self, embedding: &[f32], sparse: &SparseVec) -> Vec<f32> {
        let logits: Vec<f32> = self
            .raw_logits(embedding, sparse)
            .into_iter()
            .map(|l| l / self.temperature)
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
        // Fold idf into the sparse weights: Σ idf[b]·W[b] over the text's n-grams.
        let mut sparse_idf = self.sparse.clone();
        for (b, w) in self.idf.iter().enumerate() {
            for v in &mut sparse_idf[b * self.classes..(b + 1) * self.classes] {
                *v *= w;
            }
        }
        let idf2: Vec<f32> = self.idf.iter().map(|w| w * w).collect();
        let buckets = self.buckets as i64;
        g.initializers = vec![
            Tensor::float("w_dense", &[self.dim as i64, c], self.dense.clone()),
            Tensor::float("w_sparse", &[buckets, c], sparse_idf),
            Tensor::float("bias", &[c], self.bias.clone()),
            Tensor::float("idf2", &[buckets], idf2),
            Tensor::float("inv_temperature", &[], vec![1.0 / self.temperature]),
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
        ];
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
        g.node("Add", &["sum_logits", "bias"], "raw_logits", vec![]);
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
        ];
        g
    }
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
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
        Ok(Head { pool, classes })
    }

    /// Calibrated probabilities for one text.
    pub fn probabilities(&self, embedding: &[f32], ids: &[i64]) -> Result<Vec<f32>> {
        let path = self.pool.path();
        let n = ids.len();
        let emb = Array2::from_shape_vec((1, embedding.len()), embedding.to_vec())
            .map_err(|e| NluError::onnx(path, e))?;
        let ids =
            Array2::from_shape_vec((1, n), ids.to_vec()).map_err(|e| NluError::onnx(path, e))?;
        let mask = Array2::<i64>::ones((1, n));
        self.pool.run(|session| {
            let inputs = ort::inputs![
                "sentence_embedding" => TensorRef::from_array_view(&emb).map_err(|e| NluError::onnx(path, e))?,
                "input_ids" => TensorRef::from_array_view(&ids).map_err(|e| NluError::onnx(path, e))?,
                "attention_mask" => TensorRef::from_array_view(&mask).map_err(|e| NluError::onnx(path, e))?,
            ];
            let outputs = session.run(inputs).map_err(|e| NluError::onnx(path, e))?;
            let (_, data) = outputs["probabilities"]
                .try_extract_tensor::<f32>()
                .map_err(|e| NluError::onnx(path, e))?;
            if data.len() != self.classes {
                return Err(NluError::onnx(path, "unexpected output size"));
            }
            Ok(data.to_vec())
        })
    }
}
