//! The held-out sets are held out: no case of `tests/data/*.jsonl` repeats a training example
//! of `training-data/`, exactly or nearly, under `nlu::eval::disjoint`'s normalisation (case,
//! punctuation, whitespace, digits, entity values replaced by their kind).

mod common;

use nlu::eval::{disjoint, read_cases};

#[test]
fn held_out_cases_do_not_repeat_training_examples() {
    let root = common::repo_root();
    let training = nlu::train::rasa::read_dir(&root.join("training-data")).unwrap();
    let mut report = Vec::new();
    let mut total = 0;
    for name in [
        "intents-heldout.jsonl",
        "entities-heldout.jsonl",
        "dev-sample.jsonl",
    ] {
        let cases = read_cases(&root.join("tests/data").join(name)).unwrap();
        total += cases.len();
        for o in disjoint::find_overlaps(&training, &cases, disjoint::NEAR_DUPLICATE) {
            report.push(format!(
                "{name}:{} {:?} ~ {:?} ({}:{}, {:.2})",
                o.case + 1,
                o.case_text,
                o.training_text,
                o.training_file,
                o.training_line,
                o.similarity
            ));
        }
    }
    assert!(total > 800, "only {total} cases read");
    assert!(
        report.is_empty(),
        "{} held-out cases repeat training examples:\n{}",
        report.len(),
        report.join("\n")
    );
}
