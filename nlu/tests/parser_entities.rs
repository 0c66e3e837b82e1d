//! Entities through the whole parser: values, character spans on multibyte text, the
//! reference time, entity ambiguity turned into a clarification, and a catalog swapped
//! while other threads parse.

mod common;

use chrono::TimeZone;
use nlu::{
    Catalog, ClarifyReason, EntityKind, Extractor, IntentName, Outcome, Parser, ParserOptions,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

fn parser() -> &'static Parser {
    static P: OnceLock<Parser> = OnceLock::new();
    P.get_or_init(|| {
        let catalog = Catalog::load(&common::repo_root().join("config/catalog.toml")).unwrap();
        Parser::load_with(
            &common::model_dir(),
            ParserOptions {
                catalog: Some(catalog),
                time_zone: chrono_tz::Asia::Shanghai,
                ..Default::default()
            },
        )
        .unwrap()
    })
}

fn now() -> chrono::DateTime<chrono_tz::Tz> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 27, 9, 30, 0)
        .unwrap()
}

fn entities(text: &str) -> Vec<(EntityKind, String, usize, usize, String)> {
    parser()
        .parse_at(text, now())
        .unwrap()
        .entities
        .into_iter()
        .map(|e| (e.entity, e.value, e.start, e.end, e.text))
        .collect()
}

fn e(
    k: EntityKind,
    v: &str,
    s: usize,
    end: usize,
    t: &str,
) -> (EntityKind, String, usize, usize, String) {
    (k, v.to_string(), s, end, t.to_string())
}

#[test]
fn english_entities_with_spans() {
    assert_eq!(
        entities("deploy api 2.4.1 to prod"),
        vec![
            e(EntityKind::APP, "api", 7, 10, "api"),
            e(EntityKind::VERSION, "2.4.1", 11, 16, "2.4.1"),
            e(EntityKind::ENVIRONMENT, "production", 20, 24, "prod"),
        ]
    );
    assert_eq!(
        entities("run backup-database on db-01 tonight at 11pm"),
        vec![
            e(EntityKind::JOB, "backup-database", 4, 19, "backup-database"),
            e(EntityKind::HOST, "db-01", 23, 28, "db-01"),
            e(
                EntityKind::TIME,
                "2026-11-27T23:00:00+08:00",
                29,
                44,
                "tonight at 11pm"
            ),
        ]
    );
}

#[test]
fn chinese_and_emoji_spans_count_characters() {
    let r = parser().parse_at("🚀 重启预发的认证服务", now()).unwrap();
    assert_eq!(r.intent.name, IntentName::from("run_job"));
    let got: Vec<_> = r
        .entities
        .iter()
        .map(|x| {
            (
                x.entity.clone(),
                x.value.as_str(),
                x.start,
                x.end,
                x.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (EntityKind::JOB, "restart-service", 2, 4, "重启"),
            (EntityKind::ENVIRONMENT, "staging", 4, 6, "预发"),
            (EntityKind::APP, "auth", 7, 11, "认证服务"),
        ]
    );
    for x in &r.entities {
        let span: String = r.text.chars().skip(x.start).take(x.end - x.start).collect();
        assert_eq!(span, x.text);
    }
    assert!(r
        .entities
        .iter()
        .all(|x| x.extractor == Extractor::Gazetteer));
}

#[test]
fn bare_number_is_an_execution_id_when_the_intent_is_about_one() {
    let r = parser().parse_at("4812 怎么样了", now()).unwrap();
    assert_eq!(r.intent.name, IntentName::from("job_status"));
    assert_eq!(r.entities.len(), 1);
    assert_eq!(
        (r.entities[0].entity.clone(), r.entities[0].value.as_str()),
        (EntityKind::EXECUTION_ID, "4812")
    );
}

#[test]
fn times_resolve_against_the_reference_time() {
    let r = parser().parse_at("what failed yesterday?", now()).unwrap();
    let t = r
        .entities
        .iter()
        .find(|x| x.entity == EntityKind::TIME)
        .expect("time");
    assert_eq!(
        t.value,
        "2026-11-26T00:00:00+08:00/2026-11-27T00:00:00+08:00"
    );
    let s = r
        .entities
        .iter()
        .find(|x| x.entity == EntityKind::STATUS)
        .expect("status");
    assert_eq!(s.value, "failed");
}

const TWO_BACKUPS: &str = r#"
[[hosts]]
id = "db-01"
[[jobs]]
id = "backup-database"
description = "Back up a database"
[[jobs]]
id = "backup-files"
description = "Back up files"
"#;

#[test]
fn an_ambiguous_name_asks_which_one() {
    let p = Parser::load_with(
        &common::model_dir(),
        ParserOptions {
            catalog: Some(Catalog::from_toml_str(TWO_BACKUPS, "inline").unwrap()),
            ..Default::default()
        },
    )
    .unwrap();
    let r = p.parse_at("run the backup on db-01", now()).unwrap();
    assert_eq!(r.intent.name, IntentName::from("run_job"));
    assert_eq!(r.outcome, Outcome::Clarify, "{r:?}");
    let c = r.clarification.unwrap();
    assert_eq!(c.reason, ClarifyReason::AmbiguousEntity);
    let values: Vec<&str> = c
        .options
        .iter()
        .map(|o| o.entity.as_ref().unwrap().value.as_str())
        .collect();
    assert_eq!(values, vec!["backup-database", "backup-files"]);
    assert!(c.options.iter().all(|o| o.intent == "run_job"));
    assert_eq!(c.options[0].label, "backup-database (job)");
    assert!(
        r.entities.iter().any(|x| x.entity == EntityKind::HOST),
        "the unambiguous entities stay"
    );
}

#[test]
fn a_new_job_is_recognized_at_once_while_others_parse() {
    let p = Arc::new(
        Parser::load_with(
            &common::model_dir(),
            ParserOptions {
                catalog: Some(Catalog::from_toml_str(TWO_BACKUPS, "inline").unwrap()),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let text = "run purge-queue on db-01";
    let before = p.parse_at(text, now()).unwrap();
    assert!(!before.entities.iter().any(|x| x.entity == EntityKind::JOB));
    // two readers parse the same text in a loop; each says when it has parsed once, and when
    // it first sees the new job (after which it must never see the old catalog again)
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let saw_new = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (p, stop) = (Arc::clone(&p), Arc::clone(&stop));
            let (started, saw_new) = (Arc::clone(&started), Arc::clone(&saw_new));
            std::thread::spawn(move || {
                let mut seen = false;
                for n in 0.. {
                    let r = p.parse_at(text, now()).unwrap();
                    assert!(r.entities.iter().any(|x| x.entity == EntityKind::HOST));
                    let has_job = r.entities.iter().any(|x| x.entity == EntityKind::JOB);
                    assert!(has_job || !seen, "the old catalog came back");
                    if has_job && !seen {
                        seen = true;
                        saw_new.fetch_add(1, Ordering::SeqCst);
                    }
                    if n == 0 {
                        started.fetch_add(1, Ordering::SeqCst);
                    }
                    if stop.load(Ordering::SeqCst) {
                        return seen;
                    }
                }
                seen
            })
        })
        .collect();
    let wait_for = |count: &AtomicUsize, what: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while count.load(Ordering::SeqCst) < 2 {
            assert!(std::time::Instant::now() < deadline, "readers never {what}");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    };
    wait_for(&started, "parsed");
    let mut catalog = Catalog::from_toml_str(TWO_BACKUPS, "inline").unwrap();
    catalog.jobs.push(
        Catalog::from_toml_str("[[jobs]]\nid = \"purge-queue\"\n", "inline")
            .unwrap()
            .jobs
            .remove(0),
    );
    p.set_catalog(&catalog);
    let after = p.parse_at(text, now()).unwrap();
    // the readers see the new job without being stopped or restarted
    wait_for(&saw_new, "saw the new job");
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        assert!(r.join().unwrap());
    }
    let job = after
        .entities
        .iter()
        .find(|x| x.entity == EntityKind::JOB)
        .expect("job now known");
    assert_eq!(job.value, "purge-queue");
}
