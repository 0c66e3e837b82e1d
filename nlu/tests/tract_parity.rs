//! With `--no-default-features --features tract`, the pure-Rust tract backend runs the same
//! model directory and gives the probabilities that Python's onnxruntime gives (the int8
//! kernels differ, so within a small tolerance), and the same top intents.
//!
//! Run: `cargo test -p nlu --no-default-features --features tract --test tract_parity`
//! (needs the virtual environment made by `scripts/setup-test-env.sh`).

#![cfg(feature = "tract")]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn tract_matches_onnxruntime() {
    let python = std::env::var_os("NLU_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| common::repo_root().join(".cache/test-venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env.sh",
        python.display()
    );
    let texts = [
        "deploy api 2.4.1 to prod",
        "把支付服务发布到生产",
        "status of #4812",
        "what's the weather like",
        "cancel that",
    ];
    let mut child = Command::new(python)
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parser = common::parser();
    assert_eq!(nlu::runtime::BACKEND, "tract");
    for (text, line) in texts
        .iter()
        .zip(String::from_utf8(out.stdout).unwrap().lines())
    {
        let py: serde_json::Value = serde_json::from_str(line).unwrap();
        let rust = parser.parse(text).unwrap();
        let labels = py["labels"].as_array().unwrap();
        let probs: Vec<f32> = py["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_f64().unwrap() as f32)
            .collect();
        let best = probs
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(
            rust.intent_ranking[0].name.as_str(),
            labels[best].as_str().unwrap(),
            "{text}"
        );
        for (label, p) in labels.iter().zip(&probs) {
            let r = rust
                .intent_ranking
                .iter()
                .find(|s| s.name.as_str() == label.as_str().unwrap())
                .unwrap()
                .confidence;
            assert!(
                (p - r).abs() < 0.02,
                "{text}: {label}: onnxruntime {p} tract {r}"
            );
        }
    }
}
