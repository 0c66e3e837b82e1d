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
    let parser = common::full_parser();
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

/// The entity tagger's graph (`Conv`, `Relu`) on tract gives Python onnxruntime's tag
/// probabilities within the int8 tolerance, and the same spans.
#[test]
fn tract_runs_the_tagger_as_onnxruntime_does() {
    let dir = common::smart_home();
    let parser = nlu::Parser::load(dir.path()).unwrap();
    let texts = ["is it going to rain in Lisbon tomorrow", "南京明天会下雨吗"];
    let known = "will it be sunny in San Francisco on Friday";
    let all = [texts[0], texts[1], known];
    let matched = common::assert_tag_probabilities_match(&parser, dir.path(), &all, 0.02);
    assert_eq!(matched, 2, "the lexicon features of San Francisco");
    let cities = [("Lisbon", 23, 29), ("南京", 0, 2)];
    for (text, (city, start, end)) in texts.iter().zip(cities) {
        let r = parser.parse(text).unwrap();
        let found: Vec<(&str, usize, usize)> = r
            .entities
            .iter()
            .filter(|e| e.entity == "city")
            .map(|e| (e.value.as_str(), e.start, e.end))
            .collect();
        assert_eq!(found, vec![(city, start, end)], "{text}");
    }
}

/// The cascade's sparse head (`sparse-head.onnx`, float only) on tract gives Python
/// onnxruntime's probabilities, known fraction and span probability, and the cascade the
/// same stages and outcomes as with ONNX Runtime.
#[test]
fn tract_runs_the_sparse_head_as_onnxruntime_does() {
    let texts = [
        "list all jobs",
        "cancel 4401 because it targets the wrong host",
        "取消 4812",
    ];
    let parser = common::parser();
    for (text, py) in texts
        .iter()
        .zip(common::onnxruntime_outputs(&common::model_dir(), &texts))
    {
        let rust = parser.classifier().sparse_scores(text).unwrap().unwrap();
        for (p, r) in common::floats(&py["sparse_probabilities"])
            .iter()
            .zip(&rust.probabilities)
        {
            assert!((p - r).abs() < 1e-4, "{text}: onnxruntime {p} tract {r}");
        }
        let span = py["span_probability"].as_f64().unwrap() as f32;
        assert!(
            (span - rust.span_probability.unwrap()).abs() < 1e-4,
            "{text}"
        );
    }
    let (r, stage) = parser.parse_staged("list all jobs").unwrap();
    assert_eq!(stage, nlu::classifier::cascade::Stage::Sparse);
    assert_eq!(r.intent.name.as_str(), "list_jobs");
}
