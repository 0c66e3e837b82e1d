//! How operators really type: emoji-only and unreadable messages are out of scope (never
//! affirm or deny), a lone "?" asks for help, misspelled commands and terse ids are
//! understood. The held-out measure of these kinds is `tests/data/robustness-heldout.jsonl`.

mod common;

use nlu::classifier::{Classifier, RuntimeOptions};
use nlu::result::Outcome;

#[test]
fn emoji_and_unreadable_text_are_out_of_scope() {
    let parser = common::parser();
    for text in [
        "👍",
        "👎",
        "🙃🙃",
        "❤️🔥",
        "ᚠᚢᚦ ᚨᚱᚲ",
        "┻━┻ ︵ヽ(`Д´)ﾉ︵ ┻━┻",
    ] {
        let r = parser.parse(text).unwrap();
        assert_eq!(r.outcome, Outcome::OutOfScope, "{text}: {r:?}");
        assert_eq!(r.intent.name.as_str(), "out_of_scope", "{text}");
    }
}

#[test]
fn the_readable_fraction_counts_emoji_and_symbols_against_a_text() {
    let c = Classifier::load(&common::model_dir(), RuntimeOptions::default()).unwrap();
    let of = |t: &str| c.classify(t).unwrap().readable_fraction;
    assert_eq!(of("cancel 4812"), 1.0);
    assert_eq!(of("取消 4812"), 1.0);
    assert_eq!(of("?"), 1.0);
    assert!(of("👍") < 0.5);
    assert!(of("🙃🙃 ok") <= 0.5);
    assert!(of("🙃🙃🙃") < 0.5);
    assert!(c.classify("yes 👍").unwrap().is_readable());
    assert!(!c.classify("👍👍👍").unwrap().is_readable());
}

#[test]
fn a_lone_question_mark_asks_for_help() {
    let parser = common::parser();
    for text in ["?", "？"] {
        let r = parser.parse(text).unwrap();
        assert_eq!(r.intent.name.as_str(), "help", "{text}: {r:?}");
    }
}

#[test]
fn misspelled_commands_and_terse_ids_are_understood() {
    let parser = common::parser();
    for (text, intent) in [
        ("cancle 5517", "cancel_job"),
        ("stauts 5521", "job_status"),
        ("progress of 8080", "job_status"),
        ("tail 6100 for me", "watch_job"),
        ("show the catalog", "list_jobs"),
    ] {
        let r = parser.parse(text).unwrap();
        assert_eq!(r.intent.name.as_str(), intent, "{text}: {r:?}");
        assert_ne!(r.outcome, Outcome::OutOfScope, "{text}");
    }
}
