//! A real client of `nlu serve`: opsdroid's Rasa NLU parser (PyPI `opsdroid==0.31.0`,
//! installed in .cache/opsdroid-venv by scripts/setup-test-env.sh) trains a model from a
//! skill's intents, loads it and matches English and Chinese chat messages to its skills,
//! through `tests/python/opsdroid_rasanlu.py`. No mock on either side.

mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// opsdroid's Python: `$NLU_OPSDROID_PYTHON`, else the venv made by the setup script.
fn opsdroid_python() -> PathBuf {
    if let Some(p) = std::env::var_os("NLU_OPSDROID_PYTHON") {
        return PathBuf::from(p);
    }
    let p = common::repo_root().join(".cache/opsdroid-venv/bin/python");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/setup-test-env.sh (it installs opsdroid==0.31.0 there), \
         or point NLU_OPSDROID_PYTHON at a Python with opsdroid 0.31.0",
        p.display()
    );
    p
}

#[test]
fn opsdroid_trains_loads_and_matches_skills_through_nlu_serve() {
    let python = opsdroid_python();
    let models = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_nlu"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--token",
            "opsdroid-token",
        ])
        .arg("--models")
        .arg(models.path())
        .current_dir(common::repo_root())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run nlu serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("nlu serve: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from nlu serve: {line:?}"))
        .to_string();
    let out = Command::new(&python)
        .arg(common::repo_root().join("tests/python/opsdroid_rasanlu.py"))
        .args([&url, "opsdroid-token"])
        // aiohttp honours proxy variables (trust_env): loopback must not go through one
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .expect("run opsdroid's Python");
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "opsdroid_rasanlu.py failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // the model opsdroid trained is the one it loaded (PUT /model, checked by GET /status)
    let file = lines[0]["model_filename"].as_str().unwrap();
    let stem = file.strip_suffix(".tar").unwrap();
    assert!(models.path().join(stem).join("model.json").is_file());

    /// A message, the skill it must match (none: out of scope) and entities opsdroid must get.
    type Expected<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);
    let expected: [Expected; 9] = [
        ("hello there!", Some("hello"), &[]),
        ("good morning, bot", Some("hello"), &[]),
        (
            "could I get a latte please",
            Some("coffee"),
            &[("drink", "latte")],
        ),
        ("is it going to rain today?", Some("weather"), &[]),
        ("你好呀", Some("hello"), &[]),
        ("我想要一杯拿铁", Some("coffee"), &[("drink", "拿铁")]),
        ("明天天气怎么样", Some("weather"), &[]),
        // out of scope: no skill, however sure the classifier is of its own classes
        ("book me a flight to tokyo", None, &[]),
        ("帮我订一张去东京的机票", None, &[]),
    ];
    assert_eq!(lines.len(), 1 + expected.len(), "{stdout}");
    for (got, (text, skill, entities)) in lines[1..].iter().zip(expected) {
        assert_eq!(got["text"], text);
        match skill {
            Some(skill) => {
                assert_eq!(got["skills"], serde_json::json!([skill]), "{got}");
                // the score opsdroid ranks skills by, above its min-score (0.6)
                let score = got["score"].as_f64().unwrap();
                assert!(score > 0.9 && score <= 1.0, "{got}");
            }
            None => {
                assert_eq!(got["skills"], serde_json::json!([]), "{got}");
                assert_eq!(got["score"], Value::Null);
            }
        }
        for (name, value) in entities {
            assert_eq!(got["entities"][name], *value, "{got}");
        }
    }
    // time entities reach opsdroid's message too
    assert!(lines[4]["entities"]["time"].is_string());
    assert!(lines[7]["entities"]["time"].is_string());
}
