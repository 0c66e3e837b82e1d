//! Shared helpers of the integration tests: the committed model, loaded once.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
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

/// The committed model with the cascade off: the full model on every text (what the Python
/// and tract parity tests reproduce).
pub fn full_parser() -> &'static nlu::Parser {
    static PARSER: OnceLock<nlu::Parser> = OnceLock::new();
    PARSER.get_or_init(|| {
        let options = nlu::ParserOptions {
            cascade: false,
            ..Default::default()
        };
        nlu::Parser::load_with(&model_dir(), options).unwrap_or_else(|e| {
            panic!("loading the committed model failed (run scripts/install-onnxruntime.sh first?): {e}")
        })
    })
}

/// Labels and probabilities that Python's onnxruntime computes for `texts` from the committed
/// model directory alone (`tests/python/parity.py`), one entry per text.
///
/// Needs the virtual environment made by `scripts/setup-test-env.sh`, or a Python with
/// onnxruntime, tokenizers and numpy named by `NLU_TEST_PYTHON`.
pub fn onnxruntime_probabilities(texts: &[&str]) -> Vec<(Vec<String>, Vec<f32>)> {
    onnxruntime_outputs(&model_dir(), texts)
        .into_iter()
        .map(|v| {
            let labels = v["labels"]
                .as_array()
                .expect("labels")
                .iter()
                .map(|s| s.as_str().expect("label").to_string())
                .collect();
            let probs = floats(&v["probabilities"]);
            (labels, probs)
        })
        .collect()
}

/// The smart-home example's training data (`examples/smart-home`).
pub fn smart_home_data() -> PathBuf {
    repo_root().join("examples/smart-home")
}

/// The smart-home example (`examples/smart-home`, with its entity tagger and cascade),
/// trained with the default options.
pub struct SmartHome {
    /// Where the model was written.
    pub dir: tempfile::TempDir,
    /// What `train_dir` returned.
    pub model: nlu::train::TrainedModel,
}

impl SmartHome {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The smart-home example trained once per test binary, on the first call, and shared by
/// its tests (a training takes about a minute on two cores; tests that write to a model
/// directory copy it first, with [`copy_model`]).
pub fn smart_home() -> &'static SmartHome {
    static TRAINED: OnceLock<SmartHome> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = nlu::train::TrainOptions {
            progress: false,
            ..Default::default()
        };
        let model = nlu::train::train_dir(&smart_home_data(), dir.path(), &encoder_dir(), &options)
            .expect("training");
        SmartHome { dir, model }
    })
}

/// Copies the files of the model directory `from` into `to`.
pub fn copy_model(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("the model directory") {
        let entry = entry.expect("a directory entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copying a model file");
    }
}

/// Asserts that the tagger of `parser` (loaded from `dir`) gives the tag probabilities that
/// Python's onnxruntime computes from `dir` for each of `texts`, token by token, within
/// `tolerance`, and, when it reads a lexicon, the same lexicon features. Returns how many
/// features were 1 over all the texts.
pub fn assert_tag_probabilities_match(
    parser: &nlu::Parser,
    dir: &Path,
    texts: &[&str],
    tolerance: f32,
) -> usize {
    let tagger = parser.tagger().expect("the model has a tagger");
    let mut matched = 0;
    for (text, py) in texts.iter().zip(onnxruntime_outputs(dir, texts)) {
        let c = parser
            .classifier()
            .classify_with(text, true)
            .expect("classify");
        let states = c.token_states.expect("token states");
        if let Some(features) = tagger.lexicon_features(text, &c.spans, states.nrows()) {
            let rows = py["lexicon_features"].as_array().expect("lexicon_features");
            let py_rows: Vec<Vec<f32>> = rows.iter().map(floats).collect();
            let rust_rows: Vec<Vec<f32>> = features.outer_iter().map(|r| r.to_vec()).collect();
            assert_eq!(py_rows, rust_rows, "{text}: lexicon features");
            matched += features.iter().filter(|&&v| v == 1.0).count();
        }
        let rust = tagger
            .probabilities(text, &c.spans, states.view())
            .expect("tag probabilities");
        let rows = py["tag_probabilities"]
            .as_array()
            .expect("tag_probabilities");
        assert_eq!(rows.len(), rust.nrows(), "{text}: tokens");
        for (row, r) in rows.iter().zip(rust.outer_iter()) {
            for (p, q) in floats(row).iter().zip(r.iter()) {
                assert!(
                    (p - q).abs() < tolerance,
                    "{text}: onnxruntime {p}, here {q}"
                );
            }
        }
    }
    matched
}

/// A JSON array of numbers.
pub fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|p| p.as_f64().expect("a number") as f32)
        .collect()
}

/// What `tests/python/parity.py` prints for each text with the model in `dir`: one JSON
/// object per text (`labels`, `probabilities`, and `tag_probabilities` with a tagger).
pub fn onnxruntime_outputs(dir: &Path, texts: &[&str]) -> Vec<serde_json::Value> {
    onnxruntime_outputs_with(dir, texts, &[])
}

/// [`onnxruntime_outputs`] with environment variables for the script (`NLU_EARLY_SEGMENT`).
pub fn onnxruntime_outputs_with(
    dir: &Path,
    texts: &[&str],
    env: &[(&str, &Path)],
) -> Vec<serde_json::Value> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let python = std::env::var_os("NLU_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/test-venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env.sh (or set NLU_TEST_PYTHON)",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(repo_root().join("tests/python/parity.py"))
        .arg(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(texts.join("\n").as_bytes())
        .expect("write texts");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), texts.len());
    rows
}
