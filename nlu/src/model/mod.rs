//! The model directory format.
//!
//! A trained model is a directory holding
//! - `model.json`: labels, thresholds, temperature, feature settings, the path of the
//!   encoder directory (relative to the model directory) and a summary of the training run;
//! - `head.onnx`: the trained head (see [`crate::classifier::head`]).
//!
//! The encoder (`encoder.onnx`, `tokenizer.json`) lives in its own directory, shared by all
//! heads trained on it, so that retraining rewrites kilobytes, not the encoder's megabytes.

pub mod onnx_writer;

use crate::error::{NluError, Result};
use crate::result::IntentName;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `format` value this version reads and writes.
pub const FORMAT: &str = "nlu-model/1";

/// File name of the metadata inside a model directory.
pub const META_FILE: &str = "model.json";

/// How the parser turns probabilities into an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Below this top probability the outcome is `out_of_scope`.
    pub fallback: f32,
    /// When the top two in-scope intents are closer than this, the outcome is `clarify`.
    pub ambiguity_margin: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            fallback: 0.5,
            ambiguity_margin: 0.1,
        }
    }
}

/// Out-of-fold measurements of the training run, kept for the model card.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub examples: usize,
    pub examples_per_intent: Vec<(String, usize)>,
    pub folds: usize,
    pub l2: f32,
    pub oof_accuracy: f32,
    pub oof_ece_before: f32,
    pub oof_ece_after: f32,
    pub oof_in_scope_rejected: f32,
    pub oof_out_of_scope_recall: f32,
    pub seconds: f32,
}

/// The contents of `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub format: String,
    /// The encoder directory, relative to the model directory (or absolute).
    pub encoder: PathBuf,
    /// Class labels in the head's output order (for the parser: the contract's intent names).
    pub labels: Vec<String>,
    /// Token window of the encoder; longer texts are truncated.
    pub max_tokens: usize,
    /// Number of n-gram hash slots of the head.
    pub buckets: usize,
    /// Softmax temperature applied in the head (for information; it is inside the graph).
    pub temperature: f32,
    pub thresholds: Thresholds,
    #[serde(default)]
    pub training: TrainingSummary,
}

impl ModelMeta {
    /// Reads and checks `model.json` of a model directory.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(NluError::ModelDir {
                path: dir.to_path_buf(),
                reason: "not a directory (train one with `nlu train --data DIR --out DIR`)".into(),
            });
        }
        let path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| NluError::ModelDir {
            path: dir.to_path_buf(),
            reason: format!("cannot read {META_FILE}: {e}"),
        })?;
        let meta: ModelMeta = serde_json::from_str(&text).map_err(|e| NluError::ModelDir {
            path: dir.to_path_buf(),
            reason: format!("{META_FILE} is malformed at line {}: {e}", e.line()),
        })?;
        if meta.format != FORMAT {
            return Err(NluError::ModelDir {
                path: dir.to_path_buf(),
                reason: format!(
                    "{META_FILE} has format `{}`, this version reads `{FORMAT}`",
                    meta.format
                ),
            });
        }
        if meta.labels.len() < 2 {
            return Err(NluError::ModelDir {
                path: dir.to_path_buf(),
                reason: format!("{META_FILE} lists fewer than two labels"),
            });
        }
        Ok(meta)
    }

    /// Writes `model.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(META_FILE);
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| NluError::Training(format!("cannot serialize {META_FILE}: {e}")))?;
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| NluError::io(path, e))
    }

    /// The labels as intents.
    pub fn intents(&self) -> std::result::Result<Vec<IntentName>, crate::result::UnknownName> {
        self.labels.iter().map(|l| l.parse()).collect()
    }

    /// The encoder directory, resolved against the model directory.
    pub fn encoder_dir(&self, model_dir: &Path) -> PathBuf {
        if self.encoder.is_absolute() {
            self.encoder.clone()
        } else {
            model_dir.join(&self.encoder)
        }
    }
}
