//! The `nlu` binary: output format and every kind of bad input.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// `nlu ARGS` started in the repository, with stdin, stdout and stderr piped.
fn spawn_nlu(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_nlu"))
        .args(args)
        .current_dir(common::repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nlu")
}

fn nlu(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = spawn_nlu(args);
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn parse_prints_one_json_object_per_text() {
    let o = nlu(&["parse", "cancel 4812", "帮我点个外卖"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["intent"]["name"], "cancel_job");
    assert_eq!(lines[0]["text"], "cancel 4812");
    assert_eq!(lines[1]["outcome"], "out_of_scope");
}

#[test]
fn parse_reads_stdin_lines() {
    let o = nlu(&["parse"], Some("help\r\n\nthanks!\n".as_bytes()));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["intent"]["name"], "help");
    assert_eq!(lines[0]["text"], "help");
    assert_eq!(lines[1]["outcome"], "out_of_scope");
    assert_eq!(lines[2]["intent"]["name"], "smalltalk");
}

/// A reader that stops early (`nlu parse < texts | head -1`) ends `nlu` quietly: no panic
/// about a broken pipe on stderr.
#[test]
#[cfg(unix)]
fn a_reader_that_stops_early_ends_the_cli_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    let mut child = spawn_nlu(&["parse"]);
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..2000 {
            if input.write_all(b"cancel 4812\n").is_err() {
                break; // nlu has gone
            }
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("cancel_job"), "{first}");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    const SIGPIPE: i32 = 13; // on Linux and the BSDs
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{:?}", out.status);
}

#[test]
fn an_invalid_utf8_line_is_reported_and_the_stream_goes_on() {
    let o = nlu(&["parse"], Some(b"help\n\xff\xfe oops\nthanks!\n\xc3\n"));
    // some lines could not be read: the exit status says so, after every line was answered
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("stdin line 2: not valid UTF-8"), "{e}");
    assert!(e.contains("stdin line 4: not valid UTF-8"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    // one object per input line, in order: results, and error objects in the bad lines' places
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["intent"]["name"], "help");
    assert_eq!(lines[1]["error"], "not valid UTF-8");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[2]["intent"]["name"], "smalltalk");
    assert_eq!(lines[3]["line"], 4);
}

#[test]
fn missing_model_dir_is_a_clear_error() {
    let o = nlu(&["parse", "--model", "/nonexistent/model", "hi"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("/nonexistent/model") && e.contains("not a directory"),
        "{e}"
    );
}

fn copy_model(to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["model.json", "head.onnx", "sparse-head.onnx"] {
        std::fs::copy(common::model_dir().join(f), to.join(f)).unwrap();
    }
    let meta = std::fs::read_to_string(to.join("model.json")).unwrap();
    let meta = meta.replace(
        "\"../multilingual-e5-small\"",
        &format!("{:?}", common::encoder_dir().display().to_string()),
    );
    std::fs::write(to.join("model.json"), meta).unwrap();
}

#[test]
fn corrupt_onnx_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    copy_model(&m);
    std::fs::write(m.join("head.onnx"), b"this is not a protobuf").unwrap();
    let o = nlu(&["parse", "--model", m.to_str().unwrap(), "hi"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("head.onnx"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

/// A model whose `model.json` names a cascade but whose `sparse-head.onnx` is missing or not
/// a graph fails to load with the file's name, and `--full` does not hide it (the model
/// directory is broken either way).
#[test]
fn a_missing_or_corrupt_sparse_head_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    copy_model(&m);
    let sparse = m.join("sparse-head.onnx");
    std::fs::remove_file(&sparse).unwrap();
    let o = nlu(
        &["parse", "--model", m.to_str().unwrap(), "list all jobs"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("sparse-head.onnx") && e.contains("not found"),
        "{e}"
    );
    std::fs::write(&sparse, b"\x00\x01 not a protobuf").unwrap();
    let o = nlu(
        &[
            "parse",
            "--full",
            "--model",
            m.to_str().unwrap(),
            "list all jobs",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("sparse-head.onnx") && !e.contains("panicked"),
        "{e}"
    );
}

#[test]
fn malformed_model_json_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    copy_model(&m);
    std::fs::write(
        m.join("model.json"),
        "{\"format\": \"nlu-model/1\",\n  \"labels\": [",
    )
    .unwrap();
    let o = nlu(&["parse", "--model", m.to_str().unwrap(), "hi"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("model.json is malformed at line 2"), "{e}");
}

#[test]
fn malformed_training_yaml_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("bad.yml"),
        "version: \"3.1\"\nnlu:\n- intent: help\n  examples: |\n    - help\n  bogus: [unclosed\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = nlu(
        &[
            "train",
            "--data",
            tmp.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("bad.yml:"), "{e}");
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn malformed_cases_name_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("cases.jsonl");
    std::fs::write(
        &p,
        "{\"text\": \"help\", \"intent\": \"help\", \"entities\": [], \"lang\": \"en\"}\n{\"text\": \"x\", \"intent\": \n",
    )
    .unwrap();
    let o = nlu(&["eval", "--cases", p.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("cases.jsonl:2:"), "{e}");
}

#[test]
fn eval_reports_metrics_per_language() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("cases.jsonl");
    std::fs::write(
        &p,
        concat!(
            "{\"text\": \"cancel 4812\", \"intent\": \"cancel_job\", \"entities\": [], \"lang\": \"en\"}\n",
            "{\"text\": \"帮我点个外卖\", \"intent\": \"out_of_scope\", \"entities\": [], \"lang\": \"zh\"}\n",
        ),
    )
    .unwrap();
    let o = nlu(&["eval", "--cases", p.to_str().unwrap(), "--json"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["overall"]["cases"], 2);
    assert_eq!(v["overall"]["intent_accuracy"], 1.0);
    assert_eq!(v["per_language"]["zh"]["out_of_scope"]["recall"], 1.0);
    let o = nlu(&["eval", "--cases", p.to_str().unwrap()], None);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("accuracy") && text.contains("zh"), "{text}");
}

/// `nlu eval` counts which stage of the cascade answered; `--full` sends every case to the
/// full model, and the figures of these cases do not change.
#[test]
fn eval_counts_the_cascade_stages_and_full_turns_the_cascade_off() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("cases.jsonl");
    std::fs::write(
        &p,
        concat!(
            "{\"text\": \"list all jobs\", \"intent\": \"list_jobs\", \"entities\": []}\n",
            "{\"text\": \"restart checkout on staging because the pool is exhausted\", \"intent\": \"run_job\"}\n",
            "{\"text\": \"please deploy the api service version 2.6.0 to the staging environment once the integration tests are green, and tell me when it is done\", \"intent\": \"deploy_app\"}\n",
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["eval", "--cases", p.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        let o = nlu(&args, None);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let cascade = run(&[]);
    // a known command without the encoder; a reason that the early stage's tagger is sure
    // of; a long request that only the full model is sure of
    assert_eq!(
        cascade["stages"],
        serde_json::json!({"sparse": 1, "early": 1, "full": 1})
    );
    let full = run(&["--full"]);
    assert_eq!(full["stages"], serde_json::json!({"full": 3}));
    assert_eq!(full["overall"]["intent_accuracy"], 1.0);
    assert_eq!(cascade["overall"]["intent_accuracy"], 1.0);
    let o = nlu(&["eval", "--cases", p.to_str().unwrap()], None);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains(
            "answered by: early 1 (33.3%, accuracy 100.0%), full 1 (33.3%, accuracy 100.0%), \
             sparse 1 (33.3%, accuracy 100.0%)"
        ),
        "{text}"
    );
    assert_eq!(cascade["per_stage"]["sparse"]["cases"], 1);
    assert_eq!(
        cascade["per_stage"]["sparse"]["per_intent"]["list_jobs"]["support"],
        1
    );
    assert_eq!(full["per_stage"]["full"]["cases"], 3);
}

#[test]
fn malformed_catalog_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("catalog.toml");
    std::fs::write(&p, "[[apps]]\nid = \"api\"\n[[apps]]\nid = \"api\"\n").unwrap();
    let o = nlu(&["parse", "--catalog", p.to_str().unwrap(), "hi"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("catalog.toml:4") && e.contains("api"), "{e}");
}

#[test]
fn reference_time_and_zone_resolve_times() {
    let o = nlu(
        &[
            "parse",
            "--now",
            "2026-11-27T09:30:00+08:00",
            "rotate logs on web-01 tonight at 11pm",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let time = v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == "time")
        .unwrap();
    assert_eq!(time["value"], "2026-11-27T23:00:00+08:00");
    let o = nlu(&["parse", "--now", "yesterday", "hi"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("RFC 3339"), "{}", stderr(&o));
    let o = nlu(&["parse", "--tz", "Mars/Olympus", "hi"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("IANA"), "{}", stderr(&o));
}
