//! The cascade on the committed model: where the sparse head or the early head answers, the
//! parse is the full model's (outcome, intent and entities), on the held-out files and the
//! chat corpus; where neither does, the parse is exactly the full model's; and each answers
//! a real share of texts. The encoder cut for the early exit computes what the whole one
//! does.

mod common;

use chrono::TimeZone;
use nlu::classifier::cascade::Stage;
use nlu::{Parser, ParserOptions};

fn load(cascade: bool) -> Parser {
    let catalog = nlu::Catalog::load(&common::repo_root().join("config/catalog.toml")).unwrap();
    Parser::load_with(
        &common::model_dir(),
        ParserOptions {
            catalog: Some(catalog),
            cascade,
            ..Default::default()
        },
    )
    .unwrap()
}

/// The held-out cases (with their expected parse) and the chat corpus's texts (without).
fn cases() -> Vec<(String, Option<nlu::eval::Case>)> {
    let root = common::repo_root();
    let mut out = Vec::new();
    for name in [
        "intents-heldout.jsonl",
        "entities-heldout.jsonl",
        "robustness-heldout.jsonl",
    ] {
        let cases = nlu::eval::read_cases(&root.join("tests/data").join(name)).unwrap();
        out.extend(cases.into_iter().map(|c| (c.text.clone(), Some(c))));
    }
    let corpus = nlu::bench::read_corpus(&root.join("benches/chat-corpus.txt")).unwrap();
    out.extend(corpus.into_iter().map(|t| (t, None)));
    out
}

/// What a comparison looks at: outcome, intent, and each entity with its span.
fn gist(r: &nlu::ParseResult) -> String {
    let entities: Vec<String> = r
        .entities
        .iter()
        .map(|e| format!("{}={}@{}..{}", e.entity, e.value, e.start, e.end))
        .collect();
    format!(
        "{:?} {} [{}]",
        r.outcome,
        r.intent.name,
        entities.join(", ")
    )
}

#[test]
fn the_sparse_head_answers_as_the_full_model_would() {
    let cascade = load(true);
    let full = load(false);
    assert!(cascade.cascade(), "the committed model has a sparse head");
    assert!(!full.cascade());
    let now = chrono_tz::UTC
        .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .unwrap();
    let cases = cases();
    let texts: Vec<&String> = cases.iter().map(|(t, _)| t).collect();
    let intents = full.entity_intents();
    // whether a parse is the expected one: intent, outcome and entities, as `nlu eval` scores
    let right = |case: &nlu::eval::Case, r: &nlu::ParseResult| {
        nlu::eval::evaluate(
            std::slice::from_ref(case),
            std::slice::from_ref(r),
            &intents,
        )
        .misses
        .is_empty()
    };
    let (mut answered, mut differ, mut lost) =
        (std::collections::BTreeMap::new(), Vec::new(), 0usize);
    for (t, case) in &cases {
        let (c, stage) = cascade.parse_staged_at(t, now).unwrap();
        let (f, full_stage) = full.parse_staged_at(t, now).unwrap();
        let empty = t.trim().is_empty();
        assert!(
            full_stage == Stage::Full || empty,
            "{t}: --full ran {full_stage}"
        );
        *answered.entry(stage).or_insert(0usize) += 1;
        match stage {
            Stage::Full => assert_eq!(c, f, "{t}: the full stage must be the full model"),
            Stage::Sparse | Stage::Early => {
                if gist(&c) != gist(&f) {
                    // a loss: the full model's parse is the expected one and the cascade's
                    // is not, or (a chat-corpus text) no expectation says which is right
                    let loss = case.as_ref().is_none_or(|k| right(k, &f) && !right(k, &c));
                    lost += usize::from(loss);
                    differ.push(format!(
                        "{t:?} ({stage}{}): cascade {} / full {}",
                        if loss { ", a loss" } else { "" },
                        gist(&c),
                        gist(&f)
                    ));
                }
            }
        }
    }
    let share = |s: Stage| answered.get(&s).copied().unwrap_or(0) as f64 / texts.len() as f64;
    assert!(texts.len() > 1000, "{} texts", texts.len());
    // the committed model's sparse head answers about half of these texts, and the early
    // head a share of the others
    assert!(share(Stage::Sparse) > 0.3, "{answered:?}");
    assert!(share(Stage::Early) > 0.05, "{answered:?}");
    // the exit thresholds allow the cascade to get wrong 0.3% of the texts the full model
    // gets right (`choose_exit`): so many losses at most, counting every difference on a text
    // without an expected parse as one; and differences of any kind stay rare
    let report = format!(
        "{} of the cascade's answers ({answered:?}) differ from the full model, {lost} of them \
         losses:\n{}",
        differ.len(),
        differ.join("\n")
    );
    assert!(lost as f64 <= 0.003 * texts.len() as f64, "{report}");
    assert!(differ.len() as f64 <= 0.01 * texts.len() as f64, "{report}");
}

#[test]
fn texts_that_need_the_encoder_go_to_it() {
    let parser = load(true);
    let stage = |t: &str| parser.parse_staged(t).unwrap().1;
    // a known command: answered without the encoder
    assert_eq!(stage("list all jobs"), Stage::Sparse);
    // words the training data never held (another language): the encoder's job
    assert_eq!(
        stage("Zeig mir bitte den Zustand von Auftrag 4812"),
        Stage::Full
    );
    // a script the encoder reads too little of: out of scope without an encoder run
    let (r, s) = parser.parse_staged("Покажи статус задачи 4812").unwrap();
    assert_eq!((r.outcome, s), (nlu::Outcome::OutOfScope, Stage::Sparse));
    // emoji alone: unreadable, out of scope, and no encoder run
    let (r, s) = parser.parse_staged("🎉🎉🎉").unwrap();
    assert_eq!((r.outcome, s), (nlu::Outcome::OutOfScope, Stage::Sparse));
}

#[test]
fn texts_with_reasons_and_domains_get_the_full_models_spans_at_any_stage() {
    let cascade = load(true);
    let full = load(false);
    let early_tagger = cascade
        .classifier()
        .early_exit()
        .and_then(|e| e.tagger.as_ref())
        .expect("the committed model's early stage has a tagger");
    assert_eq!(
        early_tagger.meta.types,
        full.tagger().expect("a tagger").types(),
        "the early tagger tags the full one's types"
    );
    let texts = [
        "cancel 4401 because it targets the wrong host",
        "取消 4401，因为选错主机了",
        "run backup-database on db-01 because the disk is almost full",
        "续期 portal.example.net 的证书",
        "renew certificates for shop.example.org",
        "restart api in prod because memory keeps growing",
        "deploy web 5.0.1 to staging since the hotfix is ready",
        "因为内存泄漏，重启生产的 payment",
    ];
    let mut early = Vec::new();
    for t in texts {
        let (c, stage) = cascade.parse_staged(t).unwrap();
        let f = full.parse(t).unwrap();
        assert_ne!(
            stage,
            Stage::Sparse,
            "{t}: a text with spans needs token states"
        );
        assert_eq!(gist(&c), gist(&f), "{t} ({stage})");
        if stage == Stage::Early {
            early.push(t);
        }
    }
    // the early tagger is sure of the short ones, with the spans the full tagger finds
    for t in [
        "cancel 4401 because it targets the wrong host",
        "取消 4401，因为选错主机了",
    ] {
        assert!(
            early.contains(&t),
            "{t} went to the full model; early: {early:?}"
        );
    }
    let (r, _) = cascade
        .parse_staged("cancel 4401 because it targets the wrong host")
        .unwrap();
    let reason = r
        .entities
        .iter()
        .find(|e| e.value.starts_with("reason="))
        .expect("a reason");
    assert_eq!(
        (
            reason.value.as_str(),
            reason.start,
            reason.end,
            reason.extractor
        ),
        (
            "reason=it targets the wrong host",
            20,
            45,
            nlu::Extractor::Tagger
        )
    );
}

#[test]
fn the_full_switch_runs_the_encoder_on_every_text() {
    let parser = common::full_parser();
    for t in ["list all jobs", "yes", "取消 4812"] {
        assert_eq!(parser.parse_staged(t).unwrap().1, Stage::Full, "{t}");
    }
}

#[test]
fn the_cut_encoder_computes_what_the_whole_one_does() {
    use nlu::classifier::encoder::Encoder;
    let dir = common::encoder_dir();
    let whole = Encoder::load(&dir, 128, 1, 1).unwrap();
    assert_eq!(whole.exit_layer(), None);
    for layer in [2, 4] {
        let cut = Encoder::load_with_exit(&dir, 128, 1, 1, Some(layer)).unwrap();
        assert_eq!(cut.exit_layer(), Some(layer));
        assert_eq!((cut.dim(), cut.has_token_states()), (384, true));
        for t in [
            "list all jobs",
            "部署 api 到生产环境",
            "run backup-database on db-01 because the disk is almost full",
            "",
        ] {
            let tokens = whole.tokenize(t).unwrap();
            let a = whole.encode_tokens(&tokens, true).unwrap();
            let early = cut.encode_early(&tokens).unwrap();
            assert_eq!(early.hidden.shape(), [1, tokens.ids.len(), 384]);
            let norm: f32 = early.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "{t}: |early| = {norm}");
            let b = cut.encode_late(&tokens, &early, true).unwrap();
            // a whole run of the cut encoder is the two segments in a row
            assert_eq!(b, cut.encode_tokens(&tokens, true).unwrap(), "{t}");
            let diff = a
                .embedding
                .iter()
                .zip(&b.embedding)
                .chain(
                    a.states
                        .as_ref()
                        .unwrap()
                        .iter()
                        .zip(b.states.as_ref().unwrap().iter()),
                )
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            // the same nodes on the same values: the same numbers
            assert_eq!(diff, 0.0, "{t} (layer {layer})");
        }
    }
    // a whole encoder has no segments, and a cut must leave layers on both sides
    let tokens = whole.tokenize("list all jobs").unwrap();
    let e = whole.encode_early(&tokens).unwrap_err().to_string();
    assert!(e.contains("loaded whole"), "{e}");
    for layer in [0, 12] {
        let e = Encoder::load_with_exit(&dir, 128, 1, 1, Some(layer))
            .unwrap_err()
            .to_string();
        assert!(e.contains("the encoder has 12 layers"), "{e}");
    }
}
