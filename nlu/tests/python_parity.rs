//! Python's onnxruntime, given only the model directory, computes the same probabilities
//! as `nlu parse`: the head graph carries everything the parser computes.
//!
//! Needs the virtual environment made by `scripts/setup-test-env.sh` (or a Python with
//! onnxruntime, tokenizers and numpy named by `NLU_TEST_PYTHON`).

mod common;

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
    let parser = common::full_parser();
    for (text, (labels, probs)) in texts.iter().zip(common::onnxruntime_probabilities(&texts)) {
        let rust = parser.parse(text).unwrap();
        for (label, p) in labels.iter().zip(&probs) {
            let r = rust
                .intent_ranking
                .iter()
                .find(|s| s.name.as_str() == label)
                .unwrap()
                .confidence;
            assert!((p - r).abs() < 1e-5, "{text}: {label}: python {p} rust {r}");
        }
    }
}

/// The entity tagger too: Python's onnxruntime runs the encoder's `token_states` (and the
/// lexicon features that the script computes on its own) through `tagger.onnx` and gets the
/// parser's tag probabilities, token by token. "San Francisco", an annotated city, is in the
/// tagger's lexicon: its two pieces' features are 1 on both sides, where it stands alone;
/// after "north-" it is part of another word, and both sides find no match there.
#[test]
fn python_onnxruntime_gives_the_same_tag_probabilities() {
    let dir = common::smart_home();
    let parser = nlu::Parser::load(dir.path()).unwrap();
    let texts = [
        "is it going to rain in Lisbon tomorrow",
        "南京明天会下雨吗",
        "will it be sunny in San Francisco on Friday",
        "fog in north-San Francisco or in San Francisco.",
    ];
    let matched = common::assert_tag_probabilities_match(&parser, dir.path(), &texts, 1e-5);
    assert_eq!(
        matched, 4,
        "the begin and continue features of San Francisco, twice where it stands alone"
    );
}

/// The cascade's sparse head too: Python's onnxruntime runs `sparse-head.onnx` on the token
/// ids and gets the parser's sparse probabilities, known fraction and span probability.
#[test]
fn python_onnxruntime_gives_the_same_sparse_head_outputs() {
    let texts = [
        "status of #4812",
        "list the jobs",
        "restart checkout because the pool is exhausted",
        "取消 4812",
        "Café español 👋",
    ];
    let parser = common::parser();
    let dir = common::model_dir();
    for (text, py) in texts.iter().zip(common::onnxruntime_outputs(&dir, &texts)) {
        let rust = parser
            .classifier()
            .sparse_scores(text)
            .unwrap()
            .expect("the committed model has a sparse head");
        let probs = common::floats(&py["sparse_probabilities"]);
        assert_eq!(probs.len(), rust.probabilities.len(), "{text}");
        for (p, r) in probs.iter().zip(&rust.probabilities) {
            assert!(
                (p - r).abs() < 1e-5,
                "{text}: python {probs:?} rust {:?}",
                rust.probabilities
            );
        }
        let known = py["known_fraction"].as_f64().unwrap() as f32;
        assert!((known - rust.known_fraction).abs() < 1e-6, "{text}");
        let span = py["span_probability"].as_f64().expect("a span probability") as f32;
        let r = rust
            .span_probability
            .expect("the committed model has a span gate");
        assert!((span - r).abs() < 1e-5, "{text}: python {span} rust {r}");
    }
}

/// The cascade's early head: Python's onnxruntime runs the encoder's early segment (cut as the
/// parser cuts it), pools its states and runs `early-head.onnx`, and gets the parser's early
/// probabilities.
#[test]
fn python_onnxruntime_gives_the_same_early_head_outputs() {
    let texts = [
        "status of #4812",
        "restart checkout in prod",
        "what can you do",
        "部署 web 到预发",
        "tell me a joke about kubernetes",
    ];
    let parser = common::parser();
    let layer = parser
        .classifier()
        .early_exit()
        .expect("the committed model has an early exit")
        .layer;
    let encoder = std::fs::read(common::encoder_dir().join("encoder.onnx")).unwrap();
    let cut = nlu::classifier::segments::Graph::parse(&encoder)
        .unwrap()
        .cut_after_layer(layer)
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let segment = tmp.path().join("early.onnx");
    std::fs::write(&segment, &cut.early.bytes).unwrap();
    let dir = common::model_dir();
    let rows = common::onnxruntime_outputs_with(&dir, &texts, &[("NLU_EARLY_SEGMENT", &segment)]);
    for (text, py) in texts.iter().zip(rows) {
        let rust = parser
            .classifier()
            .early_probabilities(text)
            .unwrap()
            .expect("an early head");
        let probs = common::floats(&py["early_probabilities"]);
        assert_eq!(probs.len(), rust.len(), "{text}");
        for (p, r) in probs.iter().zip(&rust) {
            assert!(
                (p - r).abs() < 1e-5,
                "{text}: python {probs:?} rust {rust:?}"
            );
        }
    }
}
