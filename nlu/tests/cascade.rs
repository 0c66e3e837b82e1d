//! The cascade on the committed model: where the sparse head answers, the parse is the full
//! model's (outcome, intent and entities), on the held-out files and the chat corpus; where
//! it does not, the parse is exactly the full model's; and it answers a real share of texts.

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

fn texts() -> Vec<String> {
    let root = common::repo_root();
    let mut out = Vec::new();
    for name in [
        "intents-heldout.jsonl",
        "entities-heldout.jsonl",
        "robustness-heldout.jsonl",
    ] {
        let cases = nlu::eval::read_cases(&root.join("tests/data").join(name)).unwrap();
        out.extend(cases.into_iter().map(|c| c.text));
    }
    out.extend(nlu::bench::read_corpus(&root.join("benches/chat-corpus.txt")).unwrap());
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
    let texts = texts();
    let (mut sparse, mut differ) = (0usize, Vec::new());
    for t in &texts {
        let (c, stage) = cascade.parse_staged_at(t, now).unwrap();
        let (f, full_stage) = full.parse_staged_at(t, now).unwrap();
        let empty = t.trim().is_empty();
        assert!(
            full_stage == Stage::Full || empty,
            "{t}: --full ran {full_stage}"
        );
        match stage {
            Stage::Full => assert_eq!(c, f, "{t}: the full stage must be the full model"),
            Stage::Sparse => {
                sparse += 1;
                if gist(&c) != gist(&f) {
                    differ.push(format!("{t:?}: cascade {} / full {}", gist(&c), gist(&f)));
                }
            }
        }
    }
    let share = sparse as f64 / texts.len() as f64;
    assert!(texts.len() > 1000, "{} texts", texts.len());
    // the committed model's sparse head answers about half of these texts
    assert!(share > 0.3, "the sparse head answered only {share:.3}");
    // the exit threshold allows 0.3 points of loss against the full model; a difference is
    // not always a loss, but there may be no more differences than that
    assert!(
        differ.len() as f64 <= 0.003 * texts.len() as f64,
        "{} of {} sparse answers differ from the full model:\n{}",
        differ.len(),
        sparse,
        differ.join("\n")
    );
}

#[test]
fn texts_that_need_the_encoder_go_to_it() {
    let parser = load(true);
    let stage = |t: &str| parser.parse_staged(t).unwrap().1;
    // a known command: answered without the encoder
    assert_eq!(stage("list all jobs"), Stage::Sparse);
    // a reason for the tagger, in a run_job text: the encoder's token states are needed
    let (r, s) = parser
        .parse_staged("run backup-database on db-01 because the disk is almost full")
        .unwrap();
    assert_eq!(s, Stage::Full);
    assert!(
        r.entities.iter().any(|e| e.value.starts_with("reason=")),
        "{:?}",
        r.entities
    );
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
fn the_full_switch_runs_the_encoder_on_every_text() {
    let parser = common::full_parser();
    for t in ["list all jobs", "yes", "取消 4812"] {
        assert_eq!(parser.parse_staged(t).unwrap().1, Stage::Full, "{t}");
    }
}
