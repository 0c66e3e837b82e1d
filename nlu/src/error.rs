//! Errors of the `nlu` crate: each says what went wrong and what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong when loading, running, training or evaluating a model.
#[derive(Debug, thiserror::Error)]
pub enum NluError {
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("ONNX Runtime could not be loaded: {reason}. Run `scripts/install-onnxruntime.sh` (it installs the PyPI wheel onnxruntime==1.31.1 into .runtime/), or point ORT_DYLIB_PATH at libonnxruntime.so.1.31.1")]
    Runtime { reason: String },

    /// A model directory is missing, incomplete or not readable.
    #[error("model directory {path}: {reason}")]
    ModelDir { path: PathBuf, reason: String },

    /// An ONNX file could not be loaded or run.
    #[error("ONNX model {path}: {reason}")]
    Onnx { path: PathBuf, reason: String },

    /// The tokenizer failed to load or to encode a text.
    #[error("tokenizer {path}: {reason}")]
    Tokenizer { path: PathBuf, reason: String },

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Training data is malformed.
    #[error("{path}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    TrainingData {
        path: PathBuf,
        line: Option<usize>,
        reason: String,
    },

    /// An evaluation file (JSONL) is malformed.
    #[error("{path}:{line}: {reason}")]
    Cases {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    /// A public benchmark dataset (CLINC150, SNIPS, Banking77) is malformed.
    #[error("{path}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Dataset {
        path: PathBuf,
        line: Option<usize>,
        reason: String,
    },

    /// Training could not produce a model.
    #[error("training failed: {0}")]
    Training(String),

    /// The catalog is invalid.
    #[error(transparent)]
    Catalog(Box<crate::catalog::CatalogError>),
}

impl From<crate::catalog::CatalogError> for NluError {
    fn from(e: crate::catalog::CatalogError) -> Self {
        NluError::Catalog(Box::new(e))
    }
}

impl NluError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NluError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn onnx(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        NluError::Onnx {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = NluError> = std::result::Result<T, E>;
