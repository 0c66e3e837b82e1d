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
        "intents-dev.jsonl",
        "robustness-heldout.jsonl",
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
    assert!(total > 1000, "only {total} cases read");
    assert!(
        report.is_empty(),
        "{} held-out cases repeat training examples:\n{}",
        report.len(),
        report.join("\n")
    );
}

/// The dev file the head was tuned on repeats no held-out case: tuning on it does not tune
/// on the held-out files.
#[test]
fn the_dev_file_does_not_repeat_held_out_cases() {
    let root = common::repo_root();
    let mut held_out = nlu::train::rasa::TrainingData::default();
    for name in [
        "intents-heldout.jsonl",
        "entities-heldout.jsonl",
        "robustness-heldout.jsonl",
    ] {
        let path = root.join("tests/data").join(name);
        for (i, c) in read_cases(&path).unwrap().into_iter().enumerate() {
            held_out.examples.push(nlu::train::rasa::Example {
                text: c.text,
                intent: c.intent.to_string(),
                entities: Vec::new(),
                file: path.clone(),
                line: i + 1,
            });
        }
    }
    let dev = read_cases(&root.join("tests/data/intents-dev.jsonl")).unwrap();
    assert!(dev.len() >= 150, "only {} dev cases", dev.len());
    let overlaps = disjoint::find_overlaps(&held_out, &dev, disjoint::NEAR_DUPLICATE);
    let report: Vec<String> = overlaps
        .iter()
        .map(|o| {
            format!(
                "intents-dev.jsonl:{} {:?} ~ {:?} ({}:{}, {:.2})",
                o.case + 1,
                o.case_text,
                o.training_text,
                o.training_file,
                o.training_line,
                o.similarity
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "{} dev cases repeat held-out cases:\n{}",
        report.len(),
        report.join("\n")
    );
}

/// `nlu eval --json` on a held-out file, through the real binary.
fn eval_json(file: &str) -> serde_json::Value {
    let root = common::repo_root();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nlu"))
        .current_dir(&root)
        .args(["eval", "--json", "--cases"])
        .arg(root.join("tests/data").join(file))
        .output()
        .expect("nlu runs");
    assert!(
        out.status.success(),
        "nlu eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("nlu eval --json prints JSON")
}

fn metric(report: &serde_json::Value, lang: &str, key: &str) -> f64 {
    let scope = if lang == "all" {
        &report["overall"]
    } else {
        &report["per_language"][lang]
    };
    key.split('.')
        .fold(scope, |v, k| &v[k])
        .as_f64()
        .unwrap_or_else(|| panic!("no {key} for {lang} in the report"))
}

/// The floors: a little under the measured figures, so that a regression fails here.
const FLOORS: &[(&str, &str, &str, f64)] = &[
    ("intents", "en", "intent_accuracy", 0.94),
    ("intents", "zh", "intent_accuracy", 0.95),
    // issue 14's target; the prior is chosen for traffic with a tenth out of scope
    // (`out_of_scope_share`), which trades a little recall for fewer rejected requests
    ("intents", "all", "out_of_scope.recall", 0.95),
    ("intents", "all", "in_scope_rejected", -0.05),
    ("entities", "en", "entities.f1", 0.97),
    ("entities", "zh", "entities.f1", 0.97),
    ("entities", "all", "intent_accuracy", 0.91),
];

/// `models/ops-intents/heldout-results.json`.
fn committed_results() -> serde_json::Value {
    let path = common::repo_root().join("models/ops-intents/heldout-results.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn held_out_figures_match_the_results_file_and_stay_above_the_floors() {
    let committed = committed_results();
    for (set, file) in [
        ("intents", "intents-heldout.jsonl"),
        ("entities", "entities-heldout.jsonl"),
    ] {
        let report = eval_json(file);
        let summary = committed[set].as_object().expect("a summary per set");
        for (lang, figures) in summary {
            for (key, want) in figures.as_object().unwrap() {
                let want = want.as_f64().unwrap();
                let got = if key == "cases" {
                    metric(&report, lang, "cases")
                } else {
                    metric(&report, lang, key)
                };
                // two cases either way: ONNX Runtime's kernels differ a little between CPUs
                let tolerance = if key == "cases" {
                    0.0
                } else {
                    2.0 / figures["cases"].as_f64().unwrap()
                };
                assert!(
                    (got - want).abs() <= tolerance + 1e-4,
                    "{set} {lang} {key}: measured {got:.4}, heldout-results.json says {want:.4}; \
                     rerun scripts/heldout-figures.sh and check the change"
                );
            }
        }
        for (_, lang, key, floor) in FLOORS.iter().filter(|f| f.0 == set) {
            let got = metric(&report, lang, key);
            // a negative floor is a ceiling (a rate that must stay low)
            let ok = if *floor < 0.0 {
                got <= -floor
            } else {
                got >= *floor
            };
            assert!(
                ok,
                "{set} {lang} {key} = {got:.4} crossed its floor {floor}"
            );
        }
    }
}

#[test]
fn documents_quote_the_results_file() {
    let root = common::repo_root();
    let r = committed_results();
    let pct = |v: &serde_json::Value| format!("{:.1}%", v.as_f64().unwrap() * 100.0);
    let f3 = |v: &serde_json::Value| format!("{:.3}", v.as_f64().unwrap());
    let i = &r["intents"];
    let e = &r["entities"];
    let quoted = [
        pct(&i["all"]["intent_accuracy"]),
        pct(&i["en"]["intent_accuracy"]),
        pct(&i["zh"]["intent_accuracy"]),
        pct(&i["all"]["out_of_scope.recall"]),
        f3(&e["all"]["entities.f1"]),
        f3(&e["en"]["entities.f1"]),
        f3(&e["zh"]["entities.f1"]),
    ];
    for (doc, marker) in [
        ("README.md", "heldout:sentence"),
        ("models/ops-intents/MODEL_CARD.md", "heldout:table"),
        (
            "models/multilingual-e5-small/MODEL_CARD.md",
            "heldout:sentence",
        ),
    ] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let start = text
            .find(&format!("<!-- {marker} -->"))
            .unwrap_or_else(|| panic!("{doc} has no {marker} block"));
        let end = text
            .find(&format!("<!-- /{marker} -->"))
            .unwrap_or_else(|| panic!("{doc} has no end of its {marker} block"));
        let block = &text[start..end];
        for figure in &quoted {
            assert!(
                block.contains(figure.as_str()),
                "{doc} does not quote {figure} from heldout-results.json: run scripts/heldout-figures.sh"
            );
        }
    }
    // the thresholds README quotes are the committed model's
    let model: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("models/ops-intents/model.json")).unwrap(),
    )
    .unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for key in ["fallback", "ambiguity_margin"] {
        let v = format!("{:.3}", model["thresholds"][key].as_f64().unwrap());
        assert!(
            readme.contains("committed model uses fallback") && readme.contains(&v),
            "README.md does not quote the {key} threshold {v} of model.json"
        );
    }
}

#[test]
fn model_cards_state_the_sha256_and_size_of_each_file() {
    use sha2::{Digest, Sha256};
    let root = common::repo_root();
    let mut checked = 0;
    for dir in std::fs::read_dir(root.join("models")).unwrap() {
        let dir = dir.unwrap().path();
        let card = std::fs::read_to_string(dir.join("MODEL_CARD.md"))
            .unwrap_or_else(|_| panic!("{} has no MODEL_CARD.md", dir.display()));
        for line in card.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`');
            let path = dir.join(name);
            let Some(sha) = cells
                .iter()
                .map(|c| c.trim_matches('`'))
                .find(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
            else {
                continue;
            };
            if !path.is_file() {
                continue; // a row about a source package, not a file of this folder
            }
            let bytes = std::fs::read(&path).unwrap();
            let actual = format!("{:x}", Sha256::digest(&bytes));
            assert_eq!(
                sha,
                actual,
                "{}: the card's sha256 is stale",
                path.display()
            );
            let size = bytes.len().to_string();
            let size_cell = cells
                .iter()
                .find(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit() || b == b','));
            if let Some(cell) = size_cell {
                assert_eq!(
                    cell.replace(',', ""),
                    size,
                    "{}: the card's size is stale",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} files checked");
}

#[test]
fn committed_results_name_no_folder_of_the_machine_they_ran_on() {
    let root = common::repo_root();
    let mut files = Vec::new();
    for dir in [
        "benches/results",
        "models/ops-intents",
        "models/multilingual-e5-small",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("json" | "md")
            ) {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 10, "only {} files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for prefix in [
            "\"/work/",
            "\"/home/",
            "\"/tmp/",
            "\"/root/",
            "\"/Users/",
            " /work/",
            "`/work/",
        ] {
            assert!(
                !text.contains(prefix),
                "{} holds an absolute path ({prefix:?}...): write paths relative to the repository",
                path.display()
            );
        }
    }
}

#[test]
fn readme_quotes_the_measured_clinc150_benchmark_time() {
    let root = common::repo_root();
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("benches/results/nlu-clinc150.json")).unwrap(),
    )
    .unwrap();
    let embed = r["embed_seconds"].as_f64().unwrap();
    let fit = r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["fit_seconds"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let minutes = ((embed + fit) / 60.0).round();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let claim =
        format!("`nlu benchmark --dataset clinc150` trains and scores in about {minutes} minutes");
    assert!(
        readme.contains(&claim),
        "README.md should say {claim:?} (embedding {embed:.0} s + fitting {fit:.0} s)"
    );
}

/// README's headline benchmark figures are those of `benches/results/` (REPORT.md is generated
/// from the same files by benches/report/make_report.py).
#[test]
fn readme_quotes_the_benchmark_results_files() {
    let root = common::repo_root();
    let load = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(root.join("benches/results").join(name)).unwrap(),
        )
        .unwrap()
    };
    let pct = |v: &serde_json::Value| format!("{:.1}%", v.as_f64().unwrap() * 100.0);
    let policy = |file: &str, mode: Option<&str>, name: &str| -> serde_json::Value {
        let r = load(file);
        let run = r["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["oos_mode"].as_str() == mode)
            .unwrap_or_else(|| panic!("{file}: no run with oos_mode {mode:?}"))
            .clone();
        run["scores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["policy"] == name)
            .unwrap_or_else(|| panic!("{file}: no policy {name}"))
            .clone()
    };
    let clinc = policy(
        "nlu-clinc150.json",
        Some("threshold"),
        "fallback_val_accuracy",
    );
    let snips = policy("nlu-snips.json", None, "argmax");
    let banking = policy("nlu-banking77.json", None, "argmax");
    let rasa_clinc = load("rasa-clinc150.json");
    let rasa_snips = load("rasa-snips.json");
    let rasa_banking = load("rasa-banking77.json");
    let claims = [
        format!(
            "CLINC150 in-scope accuracy {} with {} out-of-scope recall",
            pct(&clinc["in_scope_accuracy"]),
            pct(&clinc["out_of_scope"]["recall"])
        ),
        format!(
            "class: {} / {}",
            pct(&rasa_clinc["scores"]["in_scope_accuracy"]),
            pct(&rasa_clinc["scores"]["oos_recall"])
        ),
        format!(
            "SNIPS {} (Rasa DIET {})",
            pct(&snips["accuracy"]),
            pct(&rasa_snips["scores"]["accuracy"])
        ),
        format!(
            "Banking77 {} (Rasa DIET {})",
            pct(&banking["accuracy"]),
            pct(&rasa_banking["scores"]["accuracy"])
        ),
    ];
    let readme = std::fs::read_to_string(root.join("README.md"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for claim in claims {
        assert!(
            readme.contains(&claim),
            "README.md should say {claim:?}, as benches/results/ does"
        );
    }
}
