//! With `--no-default-features --features tract`, the pure-Rust tract backend runs the same
//! model directory and gives the probabilities that Python's onnxruntime gives (the int8
//! kernels differ, so within a small tolerance), and the same top intents.
//!
//! Run: `cargo test -p nlu --no-default-features --features tract --test tract_parity`
//! (needs the virtual environment made by `scripts/setup-test-env.sh`).

#![cfg(feature = "tract")]

mod common;

#[test]
fn tract_matches_onnxruntime() {
    let texts = [
        "deploy api 2.4.1 to prod",
        "把支付服务发布到生产",
        "status of #4812",
        "what's the weather like",
        "cancel that",
    ];
    assert_eq!(nlu::runtime::BACKEND, "tract");
    let parser = common::parser();
    for (text, (labels, probs)) in texts.iter().zip(common::onnxruntime_probabilities(&texts)) {
        let rust = parser.parse(text).unwrap();
        let best = probs
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(rust.intent_ranking[0].name.as_str(), labels[best], "{text}");
        for (label, p) in labels.iter().zip(&probs) {
            let r = rust
                .intent_ranking
                .iter()
                .find(|s| s.name.as_str() == label)
                .unwrap()
                .confidence;
            assert!(
                (p - r).abs() < 0.02,
                "{text}: {label}: onnxruntime {p} tract {r}"
            );
        }
    }
}
