//! Python's onnxruntime, given only the model directory, computes the same probabilities
//! as `nlu parse`: the head graph carries everything the parser computes.
//!
//! Needs the virtual environment made by `scripts/setup-test-env.sh` (or a Python with
//! onnxruntime, tokenizers and numpy named by `NLU_TEST_PYTHON`).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("NLU_TEST_PYTHON") {
        return p.into();
    }
    let venv = common::repo_root().join(".cache/test-venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup-test-env.sh (or set NLU_TEST_PYTHON)",
        venv.display()
    );
    venv
}

#[test]
fn python_onnxruntime_gives_the_same_probabilities() {
    let texts = [
        "deploy api 2.4.1 to prod",
        "把支付服务发布到生产",
        "status of #4812",
        "what's the weather like",
        "logs for 4812",
        "Café español 👋",
    ];
    let mut child = Command::new(python())
        .arg(common::repo_root().join("tests/python/parity.py"))
        .arg(common::model_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(texts.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), texts.len());
    let parser = common::parser();
    for (text, py) in texts.iter().zip(&lines) {
        let rust = parser.parse(text).unwrap();
        let labels = py["labels"].as_array().unwrap();
        let probs = py["probabilities"].as_array().unwrap();
        for (label, p) in labels.iter().zip(probs) {
            let p = p.as_f64().unwrap() as f32;
            let r = rust
                .intent_ranking
                .iter()
                .find(|s| s.name.as_str() == label.as_str().unwrap())
                .unwrap()
                .confidence;
            assert!((p - r).abs() < 1e-5, "{text}: {label}: python {p} rust {r}");
        }
    }
}
