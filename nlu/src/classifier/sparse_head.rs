//! The sparse head: a logistic regression over the hashed n-gram features of the token ids
//! alone ([`super::features`]), with no sentence embedding. It is the first stage of the
//! cascade ([`super::cascade`]): it costs the tokenizer and a few sparse dot products
//! (microseconds) instead of an encoder run (milliseconds), and it answers for the texts on
//! which its calibrated confidence clears the threshold chosen at training time.
//!
//! ```text
//! logits        = (ngram_features · W + bias) / T
//! probabilities = softmax(logits)
//! known_fraction: the share of the text's tokens that the training data held (as in the head)
//! ```
//!
//! Like the head, it is a small ONNX graph (`sparse-head.onnx`) that computes its own
//! features from `input_ids` and `attention_mask`, so any ONNX runtime reproduces it. It also
//! outputs `known_fraction`, which the cascade needs: a text written with words the
//! training data lacks (another language, new vocabulary) is never answered by n-grams.
//!
//! A model with an entity tagger gets one more output, `span_probability`: a binary logistic
//! regression on the same features, trained on the texts of the tagger's intents, that says
//! whether a text holds a span for the tagger (a reason, a domain). The tagger reads the
//! encoder's token states, so the sparse head may answer for such an intent only when this
//! probability is under [`crate::classifier::cascade::CascadeMeta::span_threshold`].

use super::features::{self, SparseVec};
use super::head::{
    add_known_fraction, add_ngram_logits, add_ngram_output, float_output, id_batch,
    load_classifier_graph, softmax, TokenGate,
};
use super::session_pool::SessionPool;
use crate::error::{NluError, Result};
use crate::model::onnx_writer::{Attr, DataType, Dim, Graph, Tensor, ValueInfo};
use ort::value::TensorRef;
use std::path::Path;

/// File name of the sparse head inside a model directory.
pub const SPARSE_HEAD_FILE: &str = "sparse-head.onnx";

/// Parameters of a trained sparse head.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseHeadWeights {
    /// Number of n-gram hash slots.
    pub buckets: usize,
    /// Number of classes.
    pub classes: usize,
    /// `[buckets × classes]`, row-major, applied to idf-weighted features.
    pub sparse: Vec<f32>,
    /// `[classes]`.
    pub bias: Vec<f32>,
    /// Inverse document frequency of each slot, `[buckets]`.
    pub idf: Vec<f32>,
    /// Which tokens the training data held (for `known_fraction`).
    pub gate: TokenGate,
    /// Softmax temperature found by calibration.
    pub temperature: f32,
    /// Whether a text holds a span for the entity tagger (models with a tagger).
    pub span: Option<SpanGate>,
}

/// A binary logistic regression on the n-gram features: the probability that a text holds
/// a span for the entity tagger.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanGate {
    /// `[buckets]`, applied to idf-weighted features.
    pub weights: Vec<f32>,
    pub bias: f32,
}

/// What the sparse head says about one text.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseScores {
    /// Calibrated probability of each label.
    pub probabilities: Vec<f32>,
    /// Share of the text's counted tokens that the training data held.
    pub known_fraction: f32,
    /// The probability that the text holds a span for the entity tagger (models with one).
    pub span_probability: Option<f32>,
}

impl SparseHeadWeights {
    /// Raw (untempered) class scores of one feature vector.
    pub fn raw_logits_of(&self, x: &SparseVec) -> Vec<f32> {
        let c = self.classes;
        let mut out = self.bias.clone();
        for (&s, &v) in x.idx.iter().zip(&x.val) {
            let row = &self.sparse[s as usize * c..(s as usize + 1) * c];
            for (o, w) in out.iter_mut().zip(row) {
                *o += v * w;
            }
        }
        out
    }

    /// Calibrated probabilities and known fraction of one token sequence, computed in Rust
    /// (the graph computes the same).
    pub fn scores(&self, ids: &[i64]) -> SparseScores {
        let x = features::featurize(&features::slots(ids, self.buckets), &self.idf);
        let logits: Vec<f32> = self
            .raw_logits_of(&x)
            .into_iter()
            .map(|l| l * (1.0 / self.temperature))
            .collect();
        let span_probability = self.span.as_ref().map(|g| {
            let z = g.bias
                + x.idx
                    .iter()
                    .zip(&x.val)
                    .map(|(&s, &v)| v * g.weights[s as usize])
                    .sum::<f32>();
            1.0 / (1.0 + (-z).exp())
        });
        SparseScores {
            probabilities: softmax(&logits),
            known_fraction: self.gate.known_fraction(ids),
            span_probability,
        }
    }

    /// Builds the ONNX graph of this sparse head.
    pub fn to_graph(&self, labels: &[String]) -> Graph {
        let c = self.classes as i64;
        let mut g = Graph {
            name: "nlu-sparse-head".into(),
            ..Default::default()
        };
        add_ngram_logits(&mut g, &self.sparse, &self.idf, self.classes);
        add_known_fraction(&mut g, &self.gate);
        g.initializers.extend([
            Tensor::float("bias", &[c], self.bias.clone()),
            Tensor::float("inv_temperature", &[], vec![1.0 / self.temperature]),
        ]);
        g.node("Add", &["sparse_logits", "bias"], "raw_logits", vec![]);
        g.node("Mul", &["raw_logits", "inv_temperature"], "logits", vec![]);
        g.node(
            "Softmax",
            &["logits"],
            "probabilities",
            vec![("axis", Attr::Int(-1))],
        );
        g.inputs = ["input_ids", "attention_mask"]
            .iter()
            .map(|n| ValueInfo {
                name: n.to_string(),
                elem: DataType::Int64,
                dims: vec![Dim::Symbolic("batch"), Dim::Symbolic("sequence")],
            })
            .collect();
        g.outputs = vec![
            ValueInfo {
                name: "probabilities".into(),
                elem: DataType::Float,
                dims: vec![Dim::Symbolic("batch"), Dim::Fixed(c)],
            },
            ValueInfo {
                name: "known_fraction".into(),
                elem: DataType::Float,
                dims: vec![Dim::Symbolic("batch"), Dim::Fixed(1)],
            },
        ];
        if let Some(span) = &self.span {
            add_ngram_output(&mut g, "w_span", &span.weights, &self.idf, 1, "span_sum");
            g.initializers
                .push(Tensor::float("span_bias", &[1], vec![span.bias]));
            g.node("Add", &["span_sum", "span_bias"], "span_logit", vec![]);
            g.node("Sigmoid", &["span_logit"], "span_probability", vec![]);
            g.outputs.push(ValueInfo {
                name: "span_probability".into(),
                elem: DataType::Float,
                dims: vec![Dim::Symbolic("batch"), Dim::Fixed(1)],
            });
        }
        g.metadata = vec![
            ("labels".into(), labels.join(",")),
            ("temperature".into(), self.temperature.to_string()),
            ("buckets".into(), self.buckets.to_string()),
        ];
        g
    }
}

/// The sparse head as loaded for inference: an ONNX Runtime session of `sparse-head.onnx`.
#[derive(Debug)]
pub struct SparseHead {
    pool: SessionPool,
    classes: usize,
    /// Whether the graph has the `span_probability` output.
    span: bool,
}

impl SparseHead {
    /// Loads `sparse-head.onnx`; `classes` is checked against the graph's output.
    pub fn load(path: &Path, classes: usize, sessions: usize) -> Result<Self> {
        let pool = load_classifier_graph(path, classes, sessions)?;
        let span = pool.with_first(|s| s.outputs().iter().any(|o| o.name() == "span_probability"));
        Ok(SparseHead {
            pool,
            classes,
            span,
        })
    }

    /// Calibrated probabilities and known fraction of one token sequence.
    pub fn scores(&self, ids: &[i64]) -> Result<SparseScores> {
        let path = self.pool.path();
        let (ids, mask) = id_batch(path, ids)?;
        self.pool.run(|session| {
            let inputs = ort::inputs![
                "input_ids" => TensorRef::from_array_view(&ids).map_err(|e| NluError::onnx(path, e))?,
                "attention_mask" => TensorRef::from_array_view(&mask).map_err(|e| NluError::onnx(path, e))?,
            ];
            let outputs = session.run(inputs).map_err(|e| NluError::onnx(path, e))?;
            let probabilities = float_output(&outputs, "probabilities", path)?;
            let known = float_output(&outputs, "known_fraction", path)?;
            let span = if self.span {
                Some(float_output(&outputs, "span_probability", path)?)
            } else {
                None
            };
            match (known.as_slice(), span.as_deref()) {
                ([known_fraction], None | Some([_])) if probabilities.len() == self.classes => {
                    Ok(SparseScores {
                        probabilities,
                        known_fraction: *known_fraction,
                        span_probability: span.and_then(|s| s.first().copied()),
                    })
                }
                _ => Err(NluError::onnx(path, "unexpected output size")),
            }
        })
    }
}
