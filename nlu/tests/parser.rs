//! The committed model through the library API: known utterances in both languages,
//! out-of-scope, clarification, awkward input, batches and threads.

mod common;

use nlu::{IntentName, Outcome, ParserOptions, Thresholds};
use std::sync::Arc;

fn intent_of(text: &str) -> (IntentName, Outcome) {
    let r = common::parser().parse(text).expect("parse");
    (r.intent.name, r.outcome)
}

#[test]
fn known_english_utterances() {
    let cases = [
        ("run backup-database on db-02", IntentName::from("run_job")),
        (
            "kick off log rotation on web-02 tonight at 11pm",
            IntentName::from("run_job"),
        ),
        (
            "deploy api 2.4.1 to staging",
            IntentName::from("deploy_app"),
        ),
        ("ship checkout to prod", IntentName::from("deploy_app")),
        ("status of #4812", IntentName::from("job_status")),
        (
            "let me know when 4812 finishes",
            IntentName::from("watch_job"),
        ),
        ("cancel 4812", IntentName::from("cancel_job")),
        ("what jobs can I run?", IntentName::from("list_jobs")),
        (
            "last 5 runs of backup-database",
            IntentName::from("job_history"),
        ),
        ("what failed yesterday?", IntentName::from("job_history")),
        ("help", IntentName::from("help")),
        ("yes", IntentName::from("affirm")),
        ("never mind", IntentName::from("deny")),
        ("thanks!", IntentName::from("smalltalk")),
    ];
    for (text, want) in cases {
        assert_eq!(intent_of(text), (want, Outcome::Understood), "{text}");
    }
}

#[test]
fn known_chinese_utterances() {
    let cases = [
        ("跑一下数据库备份", IntentName::from("run_job")),
        ("把支付服务发布到生产", IntentName::from("deploy_app")),
        ("4812 怎么样了", IntentName::from("job_status")),
        ("4812 跑完了告诉我", IntentName::from("watch_job")),
        ("停掉 4812", IntentName::from("cancel_job")),
        ("有哪些作业可以执行", IntentName::from("list_jobs")),
        ("昨天失败的任务有哪些", IntentName::from("job_history")),
        ("你能做什么", IntentName::from("help")),
        ("确认", IntentName::from("affirm")),
        ("不用了", IntentName::from("deny")),
        ("谢谢", IntentName::from("smalltalk")),
    ];
    for (text, want) in cases {
        assert_eq!(intent_of(text), (want, Outcome::Understood), "{text}");
    }
}

#[test]
fn out_of_scope_in_both_languages() {
    for text in [
        "what's the weather in Paris tomorrow",
        "write me a poem about autumn",
        "帮我点个外卖",
        "今天股市怎么样",
    ] {
        let r = common::parser().parse(text).unwrap();
        assert_eq!(r.outcome, Outcome::OutOfScope, "{text}: {r:?}");
        assert_eq!(r.intent.name, IntentName::OUT_OF_SCOPE);
        assert!(r.clarification.is_none());
    }
}

#[test]
fn close_intents_ask_to_clarify() {
    let r = common::parser().parse("logs for 4812").unwrap();
    assert_eq!(r.outcome, Outcome::Clarify, "{r:?}");
    let c = r.clarification.expect("options");
    let opts: Vec<IntentName> = c.options.iter().map(|o| o.intent.clone()).collect();
    assert!(
        opts.contains(&IntentName::from("job_status"))
            && opts.contains(&IntentName::from("watch_job")),
        "{opts:?}"
    );
    assert_eq!(opts[0], r.intent.name, "best option first");
    assert!(c.options.iter().all(|o| !o.label.is_empty()));
}

#[test]
fn thresholds_can_be_overridden() {
    let strict = nlu::Parser::load_with(
        &common::model_dir(),
        ParserOptions {
            thresholds: Some(Thresholds {
                fallback: 0.999_999,
                ambiguity_margin: 0.1,
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let r = strict.parse("deploy api 2.4.1 to staging").unwrap();
    assert_eq!(r.outcome, Outcome::OutOfScope);
    assert_eq!(
        r.intent_ranking[0].name,
        IntentName::from("deploy_app"),
        "ranking is kept"
    );
}

#[test]
fn confidences_are_a_distribution_sorted_best_first() {
    let r = common::parser()
        .parse("restart checkout in staging")
        .unwrap();
    assert_eq!(r.intent_ranking.len(), 12);
    let sum: f32 = r.intent_ranking.iter().map(|s| s.confidence).sum();
    assert!((sum - 1.0).abs() < 1e-4, "{sum}");
    assert!(r
        .intent_ranking
        .windows(2)
        .all(|w| w[0].confidence >= w[1].confidence));
    assert_eq!(r.intent, r.intent_ranking[0]);
}

#[test]
fn empty_and_whitespace_are_out_of_scope() {
    for text in ["", "   ", "\n\t", "\u{0}\u{1}"] {
        let r = common::parser().parse(text).unwrap();
        assert_eq!(r.outcome, Outcome::OutOfScope, "{text:?}");
        assert_eq!(r.text, text, "the text is returned as given");
    }
}

#[test]
fn awkward_text_is_handled() {
    let long = "please run backup-database on db-01 ".repeat(3000);
    let texts = [
        "deploy\u{0}api\u{7} to staging",
        "👋🚀🔥",
        "run 备份 on db-01 然后 deploy api 到 staging",
        "Café español naïve résumé",
        long.as_str(),
        "\u{202e}reversed\u{202c} text",
    ];
    for text in texts {
        let r = common::parser().parse(text).unwrap();
        assert_eq!(r.text, text);
        assert!(r.intent.confidence.is_finite());
    }
    let r = common::parser().parse(&long).unwrap();
    assert_eq!(
        r.intent.name,
        IntentName::from("run_job"),
        "a long text is truncated, not rejected"
    );
    let tokens = common::parser()
        .classifier()
        .encoder()
        .tokenize(&long)
        .unwrap();
    assert_eq!(
        tokens.ids.len(),
        common::parser().classifier().encoder().max_tokens()
    );
}

#[test]
fn batch_equals_single() {
    let texts = [
        "cancel 4812",
        "部署 web 到测试环境",
        "hello",
        "draw me a cat",
    ];
    let batch = common::parser().parse_batch(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        assert_eq!(&common::parser().parse(t).unwrap(), b);
    }
}

#[test]
fn one_parser_serves_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<nlu::Parser>();
    let parser = Arc::new(nlu::Parser::load(&common::model_dir()).unwrap());
    let expected = parser.parse("status of #4812").unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = Arc::clone(&parser);
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| p.parse("status of #4812").unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for r in h.join().unwrap() {
            assert_eq!(r, expected);
        }
    }
}

#[test]
fn result_serializes_as_the_contract_says() {
    let r = common::parser().parse("deploy api 2.4.1 to prod").unwrap();
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    for k in [
        "text",
        "intent",
        "intent_ranking",
        "entities",
        "outcome",
        "clarification",
    ] {
        assert!(keys.contains(&k), "missing {k}");
    }
    assert_eq!(v["intent"]["name"], "deploy_app");
    assert_eq!(v["outcome"], "understood");
    assert!(v["clarification"].is_null());
    let back: nlu::ParseResult = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}
