//! Entity extraction and catalog loading, end to end, on the reference catalog.

use arc_swap::ArcSwap;
use chrono::{DateTime, TimeZone};
use chrono_tz::Tz;
use nlu::catalog::{NamedItem, ParamKind};
use nlu::{
    Catalog, CatalogError, EntityExtractor, EntityKind, ExtractContext, Extraction, Extractor,
};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/catalog.toml");

static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::load(Path::new(REFERENCE)).expect("reference catalog loads"));
static EX: LazyLock<EntityExtractor> = LazyLock::new(|| EntityExtractor::new(&CATALOG));

/// Friday 2026-11-27 15:30 in Shanghai.
fn now() -> DateTime<Tz> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 27, 15, 30, 0)
        .unwrap()
}

fn ctx() -> ExtractContext {
    ExtractContext::new(now())
}

fn extract(text: &str) -> Extraction {
    EX.extract(text, &ctx())
}

/// (kind, value) pairs, in order.
fn pairs(text: &str) -> Vec<(String, String)> {
    pairs_of(&extract(text))
}

fn pairs_of(x: &Extraction) -> Vec<(String, String)> {
    x.entities
        .iter()
        .map(|e| (e.entity.to_string(), e.value.clone()))
        .collect()
}

fn p(kind: &str, value: &str) -> (String, String) {
    (kind.to_string(), value.to_string())
}

fn assert_spans_valid(text: &str, x: &Extraction) {
    let chars: Vec<char> = text.chars().collect();
    let mut last_end = 0;
    for e in &x.entities {
        assert!(e.start < e.end && e.end <= chars.len(), "{e:?}");
        assert_eq!(chars[e.start..e.end].iter().collect::<String>(), e.text);
        assert!(
            e.start >= last_end,
            "overlapping spans in {text:?}: {:?}",
            x.entities
        );
        last_end = e.end;
    }
}

// ---------------------------------------------------------------------------------------------
// Catalog

#[test]
fn reference_catalog_loads_unchanged() {
    let c = &*CATALOG;
    assert_eq!(c.jobs.len(), 12);
    assert_eq!(c.apps.len(), 8);
    assert_eq!(c.environments.len(), 4);
    assert_eq!(c.hosts.len(), 7);
    let deploy = c.job("deploy-app").unwrap();
    assert!(deploy.sensitive);
    assert_eq!(deploy.parameters[2].default.as_deref(), Some("latest"));
    assert_eq!(deploy.parameters[0].kind, ParamKind::App);
    let backup = c.job("backup-database").unwrap();
    assert!(!backup.sensitive);
    assert_eq!(backup.parameters[1].choices, vec!["zstd", "gzip", "none"]);
    assert_eq!(
        c.environment("production").unwrap().aliases[0],
        "prod".to_string()
    );
    assert_eq!(
        c.host("db-01"),
        Some(&NamedItem {
            id: "db-01".into(),
            aliases: vec![]
        })
    );
    assert!(c.app("payment").is_some());
}

#[test]
fn unknown_keys_in_jobs_are_ignored() {
    let c = Catalog::from_toml_str(
        "[[jobs]]\nid = \"a\"\nrun = { command = \"x\", timeout = 30 }\nowner = \"ops\"\n",
        "bot.toml",
    )
    .unwrap();
    assert_eq!(c.jobs[0].id, "a");
}

fn load_err(text: &str) -> CatalogError {
    Catalog::from_toml_str(text, "bad.toml").expect_err("must fail")
}

#[test]
fn error_bad_toml_syntax_has_line() {
    let e = load_err("[[apps]]\nid = \"api\"\n\n[[hosts]]\nid = \"db-01\nx = 1\n");
    assert!(matches!(e, CatalogError::Syntax { .. }), "{e}");
    assert_eq!(e.line(), Some(5), "{e}");
    assert!(e.to_string().starts_with("bad.toml:5:"), "{e}");
}

#[test]
fn error_missing_id() {
    let e = load_err("[[apps]]\nid = \"api\"\n\n[[apps]]\naliases = [\"web\"]\n");
    match &e {
        CatalogError::MissingId { section, line, .. } => {
            assert_eq!(section, "apps");
            assert!((4..=5).contains(line), "{e}");
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("bad.toml:"), "{e}");
    assert!(e.to_string().contains("add `id"), "{e}");
}

#[test]
fn error_duplicate_id() {
    let e = load_err("[[jobs]]\nid = \"backup\"\n\n[[jobs]]\nid = \"Backup\"\n");
    match &e {
        CatalogError::DuplicateId {
            line, first_line, ..
        } => {
            assert_eq!((*line, *first_line), (5, 2));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().starts_with("bad.toml:5:"), "{e}");
}

#[test]
fn error_alias_collides_within_a_kind() {
    let e = load_err(
        "[[environments]]\nid = \"production\"\naliases = [\"prod\"]\n\n[[environments]]\nid = \"preprod\"\naliases = [\"PROD\"]\n",
    );
    match &e {
        CatalogError::AliasCollision {
            line,
            other_id,
            other_line,
            ..
        } => {
            assert_eq!(*line, 7);
            assert_eq!(other_id, "production");
            assert_eq!(*other_line, 3);
        }
        other => panic!("{other}"),
    }
    // An alias that equals another entry's id collides too.
    let e = load_err("[[apps]]\nid = \"web\"\n[[apps]]\nid = \"site\"\naliases = [\"web\"]\n");
    assert!(
        matches!(e, CatalogError::AliasCollision { line: 5, .. }),
        "{e}"
    );
    // Across kinds the same name is allowed (it becomes an ambiguity at parse time).
    Catalog::from_toml_str(
        "[[apps]]\nid = \"web\"\n[[hosts]]\nid = \"web\"\n",
        "ok.toml",
    )
    .unwrap();
}

#[test]
fn error_unknown_parameter_kind() {
    let e = load_err(
        "[[jobs]]\nid = \"a\"\n  [[jobs.parameters]]\n  name = \"x\"\n  kind = \"colour\"\n",
    );
    match &e {
        CatalogError::UnknownParamKind {
            line, kind, job, ..
        } => {
            assert_eq!((*line, kind.as_str(), job.as_str()), (5, "colour", "a"));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("integer"), "lists the kinds: {e}");
}

#[test]
fn error_default_not_in_choices() {
    let e = load_err(
        "[[jobs]]\nid = \"a\"\n  [[jobs.parameters]]\n  name = \"compression\"\n  kind = \"string\"\n  default = \"lz4\"\n  choices = [\"zstd\", \"gzip\"]\n",
    );
    match &e {
        CatalogError::DefaultNotInChoices { line, default, .. } => {
            assert_eq!((*line, default.as_str()), (6, "lz4"));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("zstd, gzip"), "{e}");
}

#[test]
fn error_other_checks() {
    let e = load_err("[[jobs]]\nid = \"a\"\n  [[jobs.parameters]]\n  name = \"n\"\n  kind = \"integer\"\n  default = \"many\"\n");
    assert!(
        matches!(e, CatalogError::InvalidDefault { line: 6, .. }),
        "{e}"
    );
    let e = load_err("[[jobs]]\nid = \"a\"\n  [[jobs.parameters]]\n  name = \"n\"\n  kind = \"integer\"\n  [[jobs.parameters]]\n  name = \"n\"\n  kind = \"string\"\n");
    assert!(
        matches!(e, CatalogError::DuplicateParameter { line: 7, .. }),
        "{e}"
    );
    let e = load_err("[[hosts]]\nid = \"  \"\n");
    assert!(matches!(e, CatalogError::EmptyName { line: 2, .. }), "{e}");
    let e = Catalog::load(Path::new("/nonexistent/catalog.toml")).unwrap_err();
    assert!(matches!(e, CatalogError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/catalog.toml"));
}

#[test]
fn load_from_a_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cat.toml");
    std::fs::write(&path, "[[apps]]\nid = \"a\"\n[[apps]]\nid = \"a\"\n").unwrap();
    let e = Catalog::load(&path).unwrap_err();
    assert!(e.to_string().contains("cat.toml:4:"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Gazetteer

#[test]
fn gazetteer_english() {
    assert_eq!(
        pairs("run backup-database on db-02"),
        vec![p("job", "backup-database"), p("host", "db-02")]
    );
    assert_eq!(
        pairs("restart checkout in staging"),
        vec![
            p("job", "restart-service"),
            p("app", "checkout"),
            p("environment", "staging")
        ]
    );
    assert_eq!(
        pairs("Deploy the Payment Service to PROD"),
        vec![p("app", "payment"), p("environment", "production")]
    );
    assert_eq!(
        pairs("deploy api to stg"),
        vec![p("app", "api"), p("environment", "staging")]
    );
    assert_eq!(pairs("run health-check"), vec![p("job", "health-check")]);
    assert_eq!(pairs("run healthcheck"), vec![p("job", "health-check")]);
    assert_eq!(pairs("health check please"), vec![p("job", "health-check")]);
}

#[test]
fn gazetteer_chinese() {
    assert_eq!(
        pairs("在 web-02 上切割日志"),
        vec![p("host", "web-02"), p("job", "rotate-logs")]
    );
    assert_eq!(
        pairs("重启预发的认证服务"),
        vec![
            p("job", "restart-service"),
            p("environment", "staging"),
            p("app", "auth")
        ]
    );
    assert_eq!(
        pairs("把支付服务发布到生产环境"),
        vec![p("app", "payment"), p("environment", "production")]
    );
    assert_eq!(pairs("跑一下数据库备份"), vec![p("job", "backup-database")]);
    assert_eq!(
        pairs("在web-01上巡检"),
        vec![p("host", "web-01"), p("job", "health-check")]
    );
}

#[test]
fn gazetteer_word_boundaries_and_guards() {
    assert!(pairs("the service restarted twice").is_empty());
    assert_eq!(pairs("run scale-service"), vec![p("job", "scale-service")]);
    assert!(pairs("let me test this quickly").is_empty());
    assert!(pairs("is the site live?").is_empty());
    assert_eq!(
        pairs("ship it to live"),
        vec![p("environment", "production")]
    );
    assert_eq!(
        pairs("deploy web to the test environment"),
        vec![p("app", "web"), p("environment", "testing")]
    );
    assert_eq!(pairs("at this stage"), vec![]);
    assert_eq!(
        pairs("deploy web to stage"),
        vec![p("app", "web"), p("environment", "staging")]
    );
    // no job for "deploy ... app" unless the job's own name is there
    assert_eq!(
        pairs("deploy the app to prod"),
        vec![p("environment", "production")]
    );
    assert_eq!(pairs("run deploy-app"), vec![p("job", "deploy-app")]);
    assert_eq!(pairs("start the deploy job"), vec![p("job", "deploy-app")]);
}

#[test]
fn gazetteer_phrases() {
    let x = extract("flush the api cache in prod");
    assert_eq!(
        pairs_of(&x),
        vec![
            p("job", "clear-cache"),
            p("app", "api"),
            p("environment", "production")
        ]
    );
    assert_eq!(x.entities[0].text, "flush");
    assert!((x.entities[0].confidence - 0.9).abs() < 1e-6);
    assert_spans_valid("flush the api cache in prod", &x);
    for (text, job) in [
        ("rotate logs on web-01", "rotate-logs"),
        ("rotate the logs", "rotate-logs"),
        ("clear cache", "clear-cache"),
        ("renew the certs", "renew-certificates"),
        ("clean up disk on batch-01", "disk-cleanup"),
        ("sync the config to staging", "sync-config"),
        ("run the db migrations", "run-db-migration"),
    ] {
        let v = pairs(text);
        assert_eq!(v.first(), Some(&p("job", job)), "{text}: {v:?}");
    }
}

#[test]
fn gazetteer_typos() {
    let x = extract("run backup-databse on db-01");
    assert_eq!(
        pairs_of(&x),
        vec![p("job", "backup-database"), p("host", "db-01")]
    );
    let c = x.entities[0].confidence;
    assert!((0.8..0.95).contains(&c), "typo confidence {c}");
    assert_eq!(pairs("rotate-lgos on web-03")[0], p("job", "rotate-logs"));
    assert_eq!(pairs("deploy web to stg")[1], p("environment", "staging"));
    assert_eq!(
        pairs("deploy to prodution")[0],
        p("environment", "production")
    );
    assert_eq!(pairs("restart chekout")[1], p("app", "checkout"));
    // short words are not typos of anything; digits must agree
    assert!(pairs("ship it to prd").iter().any(|e| e.1 == "production"));
    assert!(pairs("run on web-04").is_empty());
    assert!(pairs("wbe").is_empty());
    // inflections are not typos
    assert!(pairs("the schema was migrated").is_empty());
    assert!(pairs("it rescaled itself").is_empty());
}

#[test]
fn gazetteer_partial_match() {
    let x = extract("is the backup done?");
    assert_eq!(pairs_of(&x), vec![p("job", "backup-database")]);
    assert!((x.entities[0].confidence - 0.6).abs() < 1e-6);
    assert_eq!(
        pairs("back up db-01"),
        vec![p("job", "backup-database"), p("host", "db-01")]
    );
    assert_eq!(
        pairs("最近5次备份"),
        vec![p("count", "5"), p("job", "backup-database")]
    );
}

const TWO_BACKUPS: &str = r#"
[[jobs]]
id = "backup-database"
[[jobs]]
id = "backup-files"
[[apps]]
id = "search"
[[hosts]]
id = "search"
"#;

#[test]
fn ambiguity_asks_instead_of_guessing() {
    let cat = Catalog::from_toml_str(TWO_BACKUPS, "two.toml").unwrap();
    let ex = EntityExtractor::new(&cat);
    let x = ex.extract("run the backup", &ctx());
    assert!(x.entities.is_empty(), "{:?}", x.entities);
    assert_eq!(x.ambiguities.len(), 1);
    let a = &x.ambiguities[0];
    assert_eq!((a.start, a.end, a.text.as_str()), (8, 14, "backup"));
    let values: Vec<_> = a.candidates.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(values, vec!["backup-database", "backup-files"]);
    assert!(a.candidates.iter().all(|c| c.entity == EntityKind::JOB));
    // the full names are not ambiguous
    let x = ex.extract("run backup-files", &ctx());
    assert_eq!(pairs_of(&x), vec![p("job", "backup-files")]);
    assert!(x.ambiguities.is_empty());
    // one name for entries of two kinds
    let x = ex.extract("restart search", &ctx());
    assert_eq!(x.ambiguities.len(), 1);
    let kinds: Vec<_> = x.ambiguities[0]
        .candidates
        .iter()
        .map(|c| c.entity.clone())
        .collect();
    assert_eq!(kinds, vec![EntityKind::APP, EntityKind::HOST]);
    // in the reference catalog "restart" alone is clear
    let x = extract("restart");
    assert_eq!(pairs_of(&x), vec![p("job", "restart-service")]);
    assert!(x.ambiguities.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Regex entities

#[test]
fn execution_ids_both_languages() {
    for (text, id) in [
        ("status of #4812", "4812"),
        ("what about run 4812", "4812"),
        ("watch execution 555", "555"),
        ("job 4400 logs", "4400"),
        ("任务4812怎么样了", "4812"),
        ("作业 5120 的状态", "5120"),
        ("取消任务 987", "987"),
    ] {
        assert_eq!(pairs(text), vec![p("execution_id", id)], "{text}");
    }
    // a bare number only when the intent says what numbers are
    assert!(pairs("what's the status of 1234").is_empty());
    let c = ctx().with_bare_number(EntityKind::EXECUTION_ID);
    let x = EX.extract("what's the status of 1234", &c);
    assert_eq!(pairs_of(&x), vec![p("execution_id", "1234")]);
    let c = ctx().with_bare_number(EntityKind::EXECUTION_ID);
    assert_eq!(
        pairs_of(&EX.extract("停掉 4812", &c)),
        vec![p("execution_id", "4812")]
    );
    assert_eq!(
        pairs_of(&EX.extract("4812 怎么样了", &c)),
        vec![p("execution_id", "4812")]
    );
    assert_eq!(
        pairs_of(&EX.extract("cancel the backup in 30 minutes", &c))[1].0,
        "time"
    );
}

#[test]
fn versions_hosts_params() {
    assert_eq!(
        pairs("ship payment v2.0.1 to live"),
        vec![
            p("app", "payment"),
            p("version", "2.0.1"),
            p("environment", "production")
        ]
    );
    assert_eq!(pairs("deploy api@2.5.0")[1], p("version", "2.5.0"));
    assert_eq!(
        pairs("deploy web 1.12.0-rc1 to qa")[1],
        p("version", "1.12.0-rc1")
    );
    assert_eq!(pairs("deploy api@latest")[1], p("version", "latest"));
    assert_eq!(
        pairs("把 checkout 1.2.0 部署到测试环境")[1],
        p("version", "1.2.0")
    );
    assert_eq!(pairs("清理 10.0.3.17 的磁盘")[0], p("host", "10.0.3.17"));
    assert_eq!(
        pairs("run rotate-logs --keep-days 14 on web-01"),
        vec![
            p("job", "rotate-logs"),
            p("param", "keep-days=14"),
            p("host", "web-01")
        ]
    );
    assert_eq!(
        pairs(r#"run sync-config message="a=b c" env=prod"#),
        vec![
            p("job", "sync-config"),
            p("param", "message=a=b c"),
            p("param", "env=prod")
        ]
    );
}

#[test]
fn counts_and_statuses_both_languages() {
    assert_eq!(
        pairs("show the last 3 runs of rotate-logs"),
        vec![p("count", "3"), p("job", "rotate-logs")]
    );
    assert_eq!(
        pairs("scale search to 3 replicas in production"),
        vec![
            p("job", "scale-service"),
            p("app", "search"),
            p("count", "3"),
            p("environment", "production")
        ]
    );
    assert_eq!(
        pairs("最近5次失败的作业"),
        vec![p("count", "5"), p("status", "failed")]
    );
    assert_eq!(pairs("扩容到十个副本")[1], p("count", "10"));
    assert_eq!(pairs("失败了五次")[1], p("count", "5"));
    assert_eq!(pairs("最近二十三次")[0], p("count", "23"));
    assert_eq!(pairs("what failed today")[0], p("status", "failed"));
    assert_eq!(pairs("最近失败的作业有哪些"), vec![p("status", "failed")]);
    assert_eq!(pairs("any errored runs")[0], p("status", "failed"));
    assert_eq!(pairs("正在跑的任务")[0], p("status", "running"));
    assert_eq!(pairs("show cancelled runs")[0], p("status", "cancelled"));
    assert_eq!(pairs("计划中的作业")[0], p("status", "scheduled"));
    assert_eq!(pairs("which ones succeeded")[0], p("status", "succeeded"));
}

// ---------------------------------------------------------------------------------------------
// Time

#[test]
fn time_english_and_chinese() {
    for (text, value) in [
        (
            "rotate logs on web-01 at 23:00",
            "2026-11-27T23:00:00+08:00",
        ),
        ("run it in 30 minutes", "2026-11-27T16:00:00+08:00"),
        (
            "kick off log rotation on web-02 tonight at 11pm",
            "2026-11-27T23:00:00+08:00",
        ),
        ("backup db-01 tomorrow morning", "2026-11-28T09:00:00+08:00"),
        ("明天早上8点备份数据库", "2026-11-28T08:00:00+08:00"),
        ("今晚11点切割日志", "2026-11-27T23:00:00+08:00"),
        ("下周一巡检", "2026-11-30T00:00:00+08:00"),
        (
            "what failed yesterday",
            "2026-11-26T00:00:00+08:00/2026-11-27T00:00:00+08:00",
        ),
        (
            "failures in the last 24 hours",
            "2026-11-26T15:30:00+08:00/2026-11-27T15:30:00+08:00",
        ),
        (
            "runs this week",
            "2026-11-23T00:00:00+08:00/2026-11-30T00:00:00+08:00",
        ),
        (
            "since monday",
            "2026-11-23T00:00:00+08:00/2026-11-27T15:30:00+08:00",
        ),
        (
            "昨天失败的任务",
            "2026-11-26T00:00:00+08:00/2026-11-27T00:00:00+08:00",
        ),
        (
            "最近24小时的运行",
            "2026-11-26T15:30:00+08:00/2026-11-27T15:30:00+08:00",
        ),
        (
            "本周的失败",
            "2026-11-23T00:00:00+08:00/2026-11-30T00:00:00+08:00",
        ),
    ] {
        let x = extract(text);
        let t: Vec<_> = x
            .entities
            .iter()
            .filter(|e| e.entity == EntityKind::TIME)
            .collect();
        assert_eq!(t.len(), 1, "{text}: {:?}", x.entities);
        assert_eq!(t[0].value, value, "{text}");
        assert_eq!(t[0].extractor, Extractor::Time);
    }
}

#[test]
fn time_in_another_zone() {
    let utc = chrono_tz::UTC
        .with_ymd_and_hms(2026, 11, 27, 7, 30, 0)
        .unwrap();
    let x = EX.extract("rotate logs at 23:00", &ExtractContext::new(utc));
    assert_eq!(x.entities[1].value, "2026-11-27T23:00:00+00:00");
}

// ---------------------------------------------------------------------------------------------
// Overlaps

#[test]
fn numbers_inside_other_entities_are_not_counts() {
    for text in [
        "run backup at 23:00",
        "deploy api 2.5.0",
        "scale api --replicas 4",
        "status of #4812",
        "run 4812",
        "ping 10.0.0.5",
        "in 5 minutes",
        "最近24小时",
        "任务4812",
    ] {
        let x = extract(text);
        assert!(
            !x.entities.iter().any(|e| e.entity == EntityKind::COUNT),
            "{text}: {:?}",
            x.entities
        );
        assert_spans_valid(text, &x);
    }
    // but a count next to them stays
    let v = pairs("scale search to 3 replicas at 23:00");
    assert!(v.contains(&p("count", "3")), "{v:?}");
}

#[test]
fn one_span_one_entity_most_specific_wins() {
    // the alias "checkout service" wins over "checkout"
    let x = extract("restart the checkout service in prod");
    assert_eq!(x.entities[1].text, "checkout service");
    // "smoke test" (job) wins over "test" (environment)
    assert_eq!(
        pairs("run a smoke test in staging"),
        vec![p("job", "health-check"), p("environment", "staging")]
    );
    // a parameter keeps its value whole
    assert_eq!(pairs("env=prod"), vec![p("param", "env=prod")]);
    // "测试环境" wins over "测试"
    let x = extract("部署到测试环境");
    assert_eq!(x.entities[0].text, "测试环境");
}

// ---------------------------------------------------------------------------------------------
// Spans

#[test]
fn spans_are_character_offsets_on_multibyte_text() {
    let text = "😀🎉 请在 web-02 上切割日志，明天早上8点 v1.2.0";
    let x = extract(text);
    assert_spans_valid(text, &x);
    let host = &x.entities[0];
    assert_eq!(
        (host.value.as_str(), host.start, host.end),
        ("web-02", 6, 12)
    );
    let job = &x.entities[1];
    assert_eq!(
        (job.text.as_str(), job.start, job.end),
        ("切割日志", 14, 18)
    );
    let time = &x.entities[2];
    assert_eq!(
        (time.text.as_str(), time.start, time.end),
        ("明天早上8点", 19, 25)
    );
    let version = &x.entities[3];
    assert_eq!(
        (version.text.as_str(), version.start, version.end),
        ("v1.2.0", 26, 32)
    );
    // Every entity says who produced it.
    assert_eq!(host.extractor, Extractor::Gazetteer);
    assert_eq!(version.extractor, Extractor::Regex);
    assert_eq!(time.extractor, Extractor::Time);

    let text = "🚀 deploy Ｐａｙｍｅｎｔ to 生产";
    let x = extract(text);
    assert_spans_valid(text, &x);
    assert_eq!(x.entities[0].value, "payment");
    assert_eq!((x.entities[0].start, x.entities[0].end), (9, 16));
    assert_eq!((x.entities[1].start, x.entities[1].end), (20, 22));
}

#[test]
fn dev_sample_sentences_have_no_overlaps() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/dev-sample.jsonl"
    ))
    .unwrap();
    let mut right = 0;
    let mut total = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = v["text"].as_str().unwrap();
        let intent = v["intent"].as_str().unwrap();
        let mut c = ctx();
        if ["job_status", "watch_job", "cancel_job"].contains(&intent) {
            c = c.with_bare_number(EntityKind::EXECUTION_ID);
        }
        let x = EX.extract(s, &c);
        assert_spans_valid(s, &x);
        let mut got: Vec<(String, String)> = pairs_of(&x)
            .into_iter()
            .map(|(k, v)| if k == "time" { (k, "*".into()) } else { (k, v) })
            .collect();
        let mut want: Vec<(String, String)> = v["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["entity"].as_str().unwrap().into(),
                    e["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        got.sort();
        want.sort();
        total += 1;
        if got == want {
            right += 1;
        } else {
            eprintln!("{s}: got {got:?}, want {want:?}");
        }
    }
    assert_eq!(
        right, total,
        "every dev-sample case gets exactly its entities"
    );
}

// ---------------------------------------------------------------------------------------------
// Catalog swap and scale

#[test]
fn extractor_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<EntityExtractor>();
}

#[test]
fn catalog_swap_while_extracting_from_several_threads() {
    let before = Catalog::from_toml_str("[[jobs]]\nid = \"backup-database\"\n", "a.toml").unwrap();
    let mut after = before.clone();
    after.jobs.push(nlu::catalog::Job {
        id: "reindex-search".into(),
        aliases: vec!["重建索引".into()],
        description: String::new(),
        sensitive: false,
        parameters: vec![],
    });
    let shared = Arc::new(ArcSwap::from_pointee(EntityExtractor::new(&before)));
    let stop = Arc::new(AtomicBool::new(false));
    let seen_new = Arc::new(AtomicUsize::new(0));
    let c = ctx();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            let seen_new = Arc::clone(&seen_new);
            let c = c.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) || n < 50 {
                    let ex = shared.load();
                    let x = ex.extract("run backup-database then reindex-search", &c);
                    // always the old job; the new one only once swapped in, never half of it
                    assert_eq!(x.entities[0].value, "backup-database");
                    match x.entities.len() {
                        1 => {}
                        2 => {
                            assert_eq!(x.entities[1].value, "reindex-search");
                            seen_new.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => panic!("{:?}", x.entities),
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    shared.store(Arc::new(EntityExtractor::new(&after)));
    // recognized at once, with no retraining
    let x = shared.load().extract("重建索引", &c);
    assert_eq!(pairs_of(&x), vec![p("job", "reindex-search")]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    stop.store(true, Ordering::Relaxed);
    let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(total >= 200);
    assert!(seen_new.load(Ordering::Relaxed) > 0);
}

/// A catalog of about 10,000 entries, plus the reference one.
fn big_catalog() -> Catalog {
    let mut c = CATALOG.clone();
    let verbs = [
        "reindex",
        "compact",
        "vacuum",
        "snapshot",
        "rebalance",
        "warmup",
        "export",
        "import",
        "archive",
        "verify",
    ];
    let nouns = [
        "orders",
        "users",
        "ledger",
        "sessions",
        "metrics",
        "events",
        "invoices",
        "catalogue",
        "reports",
        "queues",
    ];
    for i in 0..7000 {
        c.jobs.push(nlu::catalog::Job {
            id: format!("{}-{}-{i}", verbs[i % 10], nouns[(i / 10) % 10]),
            aliases: vec![format!("{} {} {i}", verbs[i % 10], nouns[(i / 10) % 10])],
            description: String::new(),
            sensitive: false,
            parameters: vec![],
        });
    }
    for i in 0..1500 {
        c.apps.push(NamedItem {
            id: format!("svc{i}"),
            aliases: vec![format!("服务{i}号")],
        });
    }
    for i in 0..500 {
        c.environments.push(NamedItem {
            id: format!("region-{i}"),
            aliases: vec![],
        });
    }
    for i in 0..1000 {
        c.hosts.push(NamedItem {
            id: format!("node-{i:04}"),
            aliases: vec![],
        });
    }
    c
}

#[test]
fn ten_thousand_entry_catalog_stays_correct() {
    let cat = big_catalog();
    assert!(cat.jobs.len() + cat.apps.len() + cat.environments.len() + cat.hosts.len() >= 10_000);
    // it also passes validation when written out and loaded back
    let text = toml::to_string(&cat).unwrap();
    let back = Catalog::from_toml_str(&text, "big.toml").unwrap();
    assert_eq!(back.jobs.len(), cat.jobs.len());
    let ex = EntityExtractor::new(&cat);
    let c = ctx();
    let x = ex.extract("run backup-database on db-02", &c);
    assert_eq!(
        pairs_of(&x),
        vec![p("job", "backup-database"), p("host", "db-02")]
    );
    let x = ex.extract("run compact-ledger-4521 on node-0042 in region-7", &c);
    assert_eq!(
        pairs_of(&x),
        vec![
            p("job", "compact-ledger-4521"),
            p("host", "node-0042"),
            p("environment", "region-7")
        ]
    );
    let x = ex.extract("run compcat-ledger-4521", &c);
    assert_eq!(pairs_of(&x), vec![p("job", "compact-ledger-4521")]);
    let x = ex.extract("部署服务17号到生产", &c);
    assert_eq!(
        pairs_of(&x),
        vec![p("app", "svc17"), p("environment", "production")]
    );
    let x = ex.extract("restart checkout in staging", &c);
    assert_eq!(
        pairs_of(&x),
        vec![
            p("job", "restart-service"),
            p("app", "checkout"),
            p("environment", "staging")
        ]
    );
}
