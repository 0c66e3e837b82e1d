//! Shared helpers of the integration tests: the committed model, loaded once.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate sits in the workspace")
        .to_path_buf()
}

pub fn model_dir() -> PathBuf {
    repo_root().join("models/ops-intents")
}

pub fn encoder_dir() -> PathBuf {
    repo_root().join("models/multilingual-e5-small")
}

pub fn parser() -> &'static nlu::Parser {
    static PARSER: OnceLock<nlu::Parser> = OnceLock::new();
    PARSER.get_or_init(|| {
        nlu::Parser::load(&model_dir()).unwrap_or_else(|e| {
            panic!("loading the committed model failed (run scripts/install-onnxruntime.sh first?): {e}")
        })
    })
}
