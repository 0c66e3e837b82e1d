//! Training end to end on a small data set: the ONNX head written by the trainer computes
//! exactly what the trainer's own Rust model computes, and the model directory loads.

mod common;

use nlu::classifier::{Classifier, RuntimeOptions};
use nlu::train::{self, TrainOptions};

fn write_data(dir: &std::path::Path) {
    let yaml = r#"version: "3.1"
nlu:
- intent: run_job
  examples: |
    - run [backup-database](job) on [db-01](host)
    - start the backup on db-02
    - kick off log rotation
    - 跑一下数据库备份
    - 在 web-01 上切割日志
    - restart checkout in staging
- intent: job_status
  examples: |
    - status of #4812
    - is 4812 done?
    - how is run 77 going
    - 4812 怎么样了
    - 任务 99 的状态
    - what's the state of execution 12
- intent: out_of_scope
  examples: |
    - what's the weather
    - write me a poem
    - 帮我点个外卖
    - who won the game
    - 今天吃什么
    - tell me a joke
"#;
    std::fs::write(dir.join("nlu.yml"), yaml).unwrap();
}

#[test]
fn trained_head_matches_its_onnx_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_data(&data);
    let out = tmp.path().join("model");
    let options = TrainOptions {
        folds: 3,
        buckets: 512,
        progress: false,
        ..Default::default()
    };
    let model = train::train_dir(&data, &out, &common::encoder_dir(), &options).unwrap();
    assert_eq!(
        model.labels,
        ["job_status", "out_of_scope", "run_job"],
        "sorted by name"
    );
    assert_eq!(model.summary.examples, 18);
    assert!(model.head.temperature > 0.0);
    // the joint model reads layer 8's pooled states after the sentence embedding; the
    // dense-only model reads the sentence embedding alone
    assert_eq!(model.pooled_layer, Some(8));
    assert_eq!(model.head.dim, 2 * 384);
    let classes = model.labels.len();
    assert!(model.head.dense_only[384 * classes..]
        .iter()
        .all(|&w| w == 0.0));
    assert!(model.head.dense_only[..384 * classes]
        .iter()
        .any(|&w| w != 0.0));
    assert!(model.head.dense[384 * classes..].iter().any(|&w| w != 0.0));

    let classifier = Classifier::load(&out, RuntimeOptions::default()).unwrap();
    assert_eq!(
        classifier.meta().pooled_layer,
        Some(8),
        "model.json records the layer"
    );
    assert_eq!(classifier.encoder().feature_dim(), 2 * 384);
    let mut weights = Vec::new();
    for text in [
        "run the backup on db-02",
        "4812 呢",
        "sing a song",
        "x",
        "Что это такое",
        "status of the backup, 谢谢",
        "",
    ] {
        let tokens = classifier.encoder().tokenize(text).unwrap();
        weights.push(model.head.gate.weight(&tokens.ids));
        let emb = classifier.encoder().embed_tokens(&tokens).unwrap();
        let rust = model.head.probabilities(&emb, &tokens.ids);
        let onnx = classifier.head_probabilities(&emb, &tokens.ids).unwrap();
        for (a, b) in rust.iter().zip(&onnx) {
            assert!((a - b).abs() < 1e-5, "{text}: rust {rust:?} onnx {onnx:?}");
        }
        // the cascade's sparse head: its graph computes what its Rust weights do
        let cascade = model
            .cascade
            .as_ref()
            .expect("a sparse head is trained by default");
        let rust = cascade.weights.scores(&tokens.ids);
        let onnx = classifier
            .sparse_scores(text)
            .unwrap()
            .expect("sparse-head.onnx");
        for (a, b) in rust.probabilities.iter().zip(&onnx.probabilities) {
            assert!((a - b).abs() < 1e-5, "{text}: rust {rust:?} onnx {onnx:?}");
        }
        assert!(
            (rust.known_fraction - onnx.known_fraction).abs() < 1e-6,
            "{text}"
        );
        assert_eq!(onnx.span_probability, None, "no tagger, no span gate");
    }
    // the texts cover the gate's range: the joint model alone, the dense one alone, a mix
    assert_eq!(weights[0], 1.0, "{weights:?}");
    assert!(weights.contains(&0.0), "{weights:?}");
    assert!(weights.iter().any(|&w| w > 0.0 && w < 1.0), "{weights:?}");
    // the parser loads it, and it has learned something
    let parser = nlu::Parser::load(&out).unwrap();
    assert_eq!(
        parser.parse("status of #5").unwrap().intent_ranking[0].name,
        nlu::IntentName::from("job_status")
    );
}

/// With the early exit, a model with an entity tagger also gets the early span gate on the
/// pooled early states: out of fold it keeps the tagger for every annotated example and
/// clears some of the others, and it does not clear texts with a city for the tagger. The
/// cascade records the training data's languages.
#[test]
fn the_early_span_gate_keeps_the_tagger_for_texts_with_spans() {
    let dir = common::smart_home();
    let meta = nlu::model::ModelMeta::load(dir.path()).unwrap();
    // the example is written in both languages, so the cascade's heads read both
    let languages = &meta.cascade.as_ref().expect("a cascade").languages;
    assert_eq!(languages, &vec![nlu::Lang::En, nlu::Lang::Zh]);
    let gate = meta
        .early_exit
        .expect("an early exit")
        .span
        .expect("an early span gate");
    assert_eq!(gate.calibration.recall, 1.0, "{:?}", gate.calibration);
    assert!(gate.calibration.skipped > 0.0, "{:?}", gate.calibration);
    assert!(gate.threshold > 0.0 && gate.threshold <= 0.5);
    let classifier = Classifier::load(dir.path(), RuntimeOptions::default()).unwrap();
    assert_eq!(gate.weights.len(), classifier.encoder().dim());
    for text in ["will it rain in Lisbon tomorrow", "南京明天会下雨吗"] {
        let tokens = classifier.encoder().tokenize(text).unwrap();
        let early = classifier.encoder().encode_early(&tokens).unwrap();
        let sparse = classifier.sparse_scores(text).unwrap().unwrap();
        let p = gate.probability(&early.embedding, sparse.span_probability);
        assert!(p.is_some(), "{text}");
        assert!(
            !gate.span_free(&early.embedding, sparse.span_probability),
            "{text}: {p:?}"
        );
    }
}

/// A model with an entity tagger gets the sparse head's span gate, and its graph computes
/// what its Rust weights do; without a sparse head (`cascade: false`) none of the cascade's
/// files is written and stale ones are removed.
#[test]
fn the_span_gate_matches_its_onnx_graph_and_the_cascade_can_be_left_out() {
    let dir = common::smart_home();
    let meta = nlu::model::ModelMeta::load(dir.path()).unwrap();
    let rule = meta.cascade.expect("an exit rule");
    let span = rule.span_calibration.expect("the span gate's figures");
    assert_eq!(span.recall, 1.0, "{span:?}");
    assert!(rule.span_threshold.is_some_and(|t| t > 0.0 && t <= 0.5));
    let classifier = Classifier::load(dir.path(), RuntimeOptions::default()).unwrap();
    let weights = &dir.model.cascade.as_ref().unwrap().weights;
    assert!(weights.span.is_some());
    // the early stage's tagger is written beside the early head
    assert!(dir.path().join("early-tagger.onnx").is_file());
    for text in [
        "will it rain in Lisbon tomorrow",
        "turn on the kitchen light",
        "南京明天会下雨吗",
    ] {
        let tokens = classifier.encoder().tokenize(text).unwrap();
        let rust = weights.scores(&tokens.ids);
        let onnx = classifier.sparse_scores(text).unwrap().unwrap();
        let (a, b) = (
            rust.span_probability.unwrap(),
            onnx.span_probability.unwrap(),
        );
        assert!((a - b).abs() < 1e-5, "{text}: rust {a} onnx {b}");
    }
    // without the cascade: no sparse head, and the one of the earlier training is removed
    let tmp = tempfile::tempdir().unwrap();
    common::copy_model(dir.path(), tmp.path());
    assert!(tmp.path().join("sparse-head.onnx").is_file());
    let data = common::smart_home_data();
    let no_cascade = TrainOptions {
        progress: false,
        cascade: false,
        ..Default::default()
    };
    let model = train::train_dir(&data, tmp.path(), &common::encoder_dir(), &no_cascade).unwrap();
    assert!(model.cascade.is_none());
    for stale in ["sparse-head.onnx", "early-head.onnx", "early-tagger.onnx"] {
        assert!(!tmp.path().join(stale).exists(), "{stale}");
    }
    let meta = nlu::model::ModelMeta::load(tmp.path()).unwrap();
    assert!(meta.cascade.is_none());
    let parser = nlu::Parser::load(tmp.path()).unwrap();
    assert!(!parser.cascade());
    assert_eq!(
        parser
            .parse_staged("will it rain in Lisbon tomorrow")
            .unwrap()
            .1,
        nlu::classifier::cascade::Stage::Full
    );
}

/// The error of training on `dir`, as text.
fn training_error(dir: &std::path::Path) -> String {
    train::train_dir(
        dir,
        &dir.join("m"),
        &common::encoder_dir(),
        &TrainOptions::default(),
    )
    .unwrap_err()
    .to_string()
}

#[test]
fn any_intent_names_train_but_one_intent_alone_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("a.yml"),
        "version: \"3.1\"\nnlu:\n- intent: fly_plane\n  examples: |\n    - take off\n    - go up\n",
    )
    .unwrap();
    let err = training_error(tmp.path());
    assert!(
        err.contains("name 1 intent(s)")
            && err.contains("at least two")
            && err.contains("out_of_scope"),
        "{err}"
    );
    // nlu.toml must name intents of the data
    std::fs::write(
        tmp.path().join("a.yml"),
        "nlu:\n- intent: fly_plane\n  examples: |\n    - take off\n- intent: land\n  examples: |\n    - touch down\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("nlu.toml"),
        "[intents.fly]\nlabel = \"fly\"\n",
    )
    .unwrap();
    let err = training_error(tmp.path());
    assert!(
        err.contains("nlu.toml")
            && err.contains("[intents.fly]")
            && err.contains("fly_plane, land"),
        "{err}"
    );
}

#[test]
fn too_few_examples_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("a.yml"),
        "nlu:\n- intent: run_job\n  examples: |\n    - run it\n- intent: help\n  examples: |\n    - help\n",
    )
    .unwrap();
    let err = training_error(tmp.path());
    assert!(err.contains("has 1 examples"), "{err}");
}

/// What `model.json` says of a tagger of these types.
fn meta(types: &[&str], transitions: Vec<f32>) -> nlu::tagger::TaggerMeta {
    nlu::tagger::TaggerMeta {
        types: types.iter().map(|&t| nlu::EntityKind::from(t)).collect(),
        examples: 1,
        transitions,
        intents: Vec::new(),
        lexicon: Default::default(),
    }
}

/// The tagger's saved graph (`Conv` over the token states, run by ONNX Runtime) gives the
/// probabilities its Rust weights give, with and without the lexicon's input.
#[test]
fn the_saved_tagger_graph_matches_its_weights() {
    use ndarray::Array2;
    use nlu::tagger::lexicon::Lexicon;
    use nlu::tagger::train::{fit, Sequence, TaggerOptions};
    // each text is five one-letter words, one piece each; "c d" is a known city
    let text = "a b c d e";
    let pieces: Vec<Option<(usize, usize)>> = (0..5).map(|j| Some((2 * j, 2 * j + 1))).collect();
    let lexicon = Lexicon::from_spans([(text, &[(0, 4, 7)][..])]);
    let matcher = lexicon.matcher(1).unwrap();
    let features = matcher.features(text, &pieces, 5);
    assert_eq!(features.column(0).to_vec(), vec![0., 0., 1., 0., 0.]);
    assert_eq!(features.column(1).to_vec(), vec![0., 0., 0., 1., 0.]);
    // 6-dimensional states with a pattern per tag, plus noise
    let mut seqs = Vec::new();
    for i in 0..30usize {
        let tags: Vec<usize> = (0..5).map(|j| [0, 1, 2, 0, 0][(i + j) % 5]).collect();
        let flat: Vec<f32> = tags
            .iter()
            .enumerate()
            .flat_map(|(j, &t)| {
                (0..6).map(move |d| {
                    if d == t {
                        1.0
                    } else {
                        ((i * 7 + j * 3 + d) % 5) as f32 * 0.05
                    }
                })
            })
            .collect();
        seqs.push(Sequence {
            states: Array2::from_shape_vec((5, 6), flat).unwrap(),
            lexicon: features.clone(),
            tags: tags.into_iter().map(Some).collect(),
        });
    }
    let without: Vec<Sequence> = seqs
        .iter()
        .map(|s| Sequence {
            lexicon: Array2::zeros((5, 0)),
            ..s.clone()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(nlu::tagger::TAGGER_FILE);
    // with and without the hidden layer, with and without the sentence's mean state, trained
    // as a CRF or per piece (the graph is the same), with and without the lexicon (read by
    // the hidden layer only)
    for (hidden, context, crf, with_lexicon) in [
        (0, false, true, false),
        (16, false, false, false),
        (16, true, true, false),
        (16, true, true, true),
        (0, false, true, true),
    ] {
        let opts = TaggerOptions {
            min_steps: 200,
            hidden,
            context,
            crf,
            ..Default::default()
        };
        let w = fit(if with_lexicon { &seqs } else { &without }, 1, &opts).unwrap();
        assert_eq!(w.hidden.is_some(), hidden > 0);
        let reads_lexicon = with_lexicon && hidden > 0;
        assert_eq!(
            w.lexicon.as_ref().map(|(h, t)| (h.dim(), t.dim())),
            reads_lexicon.then_some(((2, 16), (2, 3)))
        );
        let rows = w.hidden.as_ref().map_or(0, |h| h.0.nrows());
        assert_eq!(
            rows,
            [0, 18, 24][usize::from(hidden > 0) + usize::from(context)]
        );
        std::fs::write(&path, w.to_graph(&["city".into()]).to_bytes()).unwrap();
        let mut m = meta(&["city"], Vec::new());
        if reads_lexicon {
            m.lexicon = lexicon.clone();
        } else {
            // a lexicon that the graph has no input for is refused
            let wrong = nlu::tagger::TaggerMeta {
                lexicon: lexicon.clone(),
                ..m.clone()
            };
            let err = nlu::tagger::Tagger::load(&path, &wrong, 1).unwrap_err();
            assert!(err.to_string().contains("`lexicon` input"), "{err}");
        }
        let loaded = nlu::tagger::Tagger::load(&path, &m, 1).unwrap();
        for s in &seqs[..5] {
            let want = w.probabilities(s.states.view(), reads_lexicon.then(|| s.lexicon.view()));
            let got = loaded
                .probabilities(text, &pieces, s.states.view())
                .unwrap();
            assert_eq!(got.dim(), (5, 3));
            for (a, b) in got.iter().zip(want.iter()) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "hidden {hidden}, {context}, lexicon {with_lexicon}: {a} vs {b}"
                );
            }
        }
        if reads_lexicon {
            // the features count: without them the graph gives other probabilities
            let zero = Array2::zeros((5, 2));
            let apart = w.probabilities(seqs[0].states.view(), Some(zero.view()));
            let with = w.probabilities(seqs[0].states.view(), Some(seqs[0].lexicon.view()));
            assert!(apart
                .iter()
                .zip(with.iter())
                .any(|(a, b)| (a - b).abs() > 1e-4));
        }
    }
    // transition scores of the wrong size are refused
    let err = nlu::tagger::Tagger::load(&path, &meta(&["city"], vec![0.0; 5]), 1).unwrap_err();
    assert!(
        err.to_string().contains("5 transition scores for 3 tags"),
        "{err}"
    );
    // a graph with another number of tags is refused with what to do
    let err = nlu::tagger::Tagger::load(&path, &meta(&["a", "b"], Vec::new()), 1).unwrap_err();
    assert!(err.to_string().contains("retrain"), "{err}");
}

/// A pooled layer that the encoder's `token_states` does not hold is refused at load, with
/// what to do; layer 8 pools to a second unit-length block after the sentence embedding.
#[test]
fn the_encoder_pools_only_a_layer_its_token_states_hold() {
    use nlu::classifier::encoder::Encoder;
    let load = || Encoder::load(&common::encoder_dir(), 128, 1, 1).unwrap();
    let err = load().with_pooled_layer(Some(5)).unwrap_err().to_string();
    assert!(
        err.contains("layer 5") && err.contains("[4, 8, 12]"),
        "{err}"
    );
    assert!(err.contains("retrain it with `nlu train`"), "{err}");
    let plain = load();
    let pooled = load().with_pooled_layer(Some(8)).unwrap();
    assert_eq!((plain.feature_dim(), pooled.feature_dim()), (384, 768));
    let text = "restart checkout in staging";
    let a = plain.embed(text).unwrap();
    let b = pooled.embed(text).unwrap();
    assert_eq!(
        &b[..384],
        &a[..],
        "the sentence embedding comes first, unchanged"
    );
    let norm: f32 = b[384..].iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "|pooled| = {norm}");
}
