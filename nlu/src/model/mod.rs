//! The model directory format.
//!
//! A trained model is a directory holding
//! - `model.json`: labels, thresholds, temperature, feature settings, the path of the
//!   encoder directory (relative to the model directory) and a summary of the training run;
//! - `head.onnx`: the trained head (see [`crate::classifier::head`]);
//! - `sparse-head.onnx`: the cascade's n-gram head (see [`crate::classifier::cascade`]);
//! - `early-head.onnx`: the cascade's head on the encoder's first layers;
//! - `early-tagger.onnx`: the cascade's entity tagger on the same layers' token states;
//! - `tagger.onnx`, when the training data annotates entity types that a tagger learns.
//!
//! The encoder (`encoder.onnx`, `tokenizer.json`) lives in its own directory, shared by all
//! heads trained on it, so that retraining rewrites kilobytes, not the encoder's megabytes.

pub mod onnx_writer;

use crate::entities::EntitySpec;
use crate::error::{NluError, Result};
use crate::result::{EntityKind, IntentName};
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
    /// Dictionary translations added to the examples of intents that lack a language
    /// ([`crate::train::translate`]); they are counted in `examples` too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub translated: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
    /// The settings of each label (from the training data and its `nlu.toml`); a model saved
    /// before they existed has none, and gets the defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<IntentSpec>,
    /// The entity types the model extracts; a model saved before entity specs existed
    /// extracts what the ChatOps model did (every builtin).
    #[serde(default = "EntitySpec::legacy")]
    pub entities: EntitySpec,
    /// The entity tagger (`tagger.onnx`), when the training data had annotated examples of
    /// types that a tagger learns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagger: Option<crate::tagger::TaggerMeta>,
    /// The exit rule of the sparse head (`sparse-head.onnx`), the cascade's first stage; a
    /// model without one always runs the encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cascade: Option<crate::classifier::cascade::CascadeMeta>,
    /// The cascade's second stage (`early-head.onnx`): where the encoder is cut and when the
    /// early head answers. Only with a sparse head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_exit: Option<crate::classifier::cascade::EarlyExit>,
    /// The encoder layer whose pooled token states follow the sentence embedding in the
    /// head's input ([`crate::classifier::encoder::Encoder::with_pooled_layer`]); `None`:
    /// the sentence embedding alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooled_layer: Option<usize>,
}

/// What a model knows besides its classifier, derived from the training data and its
/// `nlu.toml` (see [`crate::train::config`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelSpec {
    /// One per label, in label order.
    pub intents: Vec<IntentSpec>,
    pub entities: EntitySpec,
}

/// What the parser knows of one intent besides its examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentSpec {
    pub name: IntentName,
    /// A short phrase for the intent's option in a clarification question ("check the
    /// status of a run"); default: the name with spaces for underscores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether the intent's texts carry entities: an ambiguous name is asked about, and the
    /// evaluation scores entities, only in such texts. Default: its examples have annotations.
    #[serde(default)]
    pub entities: bool,
    /// The kind of a lone number in a text of this intent ("cancel 4812" -> `execution_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bare_number: Option<EntityKind>,
}

impl IntentSpec {
    /// The defaults for an intent.
    pub fn new(name: IntentName) -> Self {
        IntentSpec {
            name,
            label: None,
            entities: false,
            bare_number: None,
        }
    }

    /// The clarification label: the configured one, or the name with spaces.
    pub fn label(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| self.name.as_str().replace('_', " "))
    }
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

    /// The settings of each label, in label order (defaults where `model.json` has none).
    pub fn intent_specs(&self) -> Vec<IntentSpec> {
        self.labels
            .iter()
            .map(|l| {
                self.intents
                    .iter()
                    .find(|i| i.name == l.as_str())
                    .cloned()
                    .unwrap_or_else(|| IntentSpec::new(IntentName::from(l.as_str())))
            })
            .collect()
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
