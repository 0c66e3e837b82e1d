//! The engine with someone else's intents and entity types: the smart-home assistant of
//! `examples/smart-home` (English and Chinese, its own lookup table, synonyms, regex and
//! builtins, no job catalog), trained and parsed through the library and through the CLI.

mod common;

use chrono::TimeZone;
use nlu::{Outcome, Parser};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn data_dir() -> PathBuf {
    common::smart_home_data()
}

/// The model trained once for all tests of this file.
fn model_dir() -> &'static Path {
    common::smart_home().path()
}

fn parser() -> &'static Parser {
    static P: OnceLock<Parser> = OnceLock::new();
    P.get_or_init(|| Parser::load(model_dir()).unwrap())
}

fn now() -> chrono::DateTime<chrono_tz::Tz> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 12, 4, 9, 0, 0)
        .unwrap()
}

/// An entity as (kind, value, start, end).
type Found = (String, String, usize, usize);

/// (kind, value, start, end) of each entity.
fn entities(r: &nlu::ParseResult) -> Vec<Found> {
    r.entities
        .iter()
        .map(|e| (e.entity.to_string(), e.value.clone(), e.start, e.end))
        .collect()
}

fn e(kind: &str, value: &str, start: usize, end: usize) -> Found {
    (kind.into(), value.into(), start, end)
}

#[test]
fn the_model_knows_its_own_intents_and_entity_types() {
    let p = parser();
    let names: Vec<&str> = p.intents().iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "out_of_scope",
            "set_temperature",
            "turn_off_light",
            "turn_on_light",
            "weather"
        ]
    );
    let kinds: Vec<String> = p
        .entity_spec()
        .kinds()
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(
        kinds,
        ["time", "brightness", "city", "duration", "number", "room"]
    );
    assert!(!p.entity_spec().catalog);
    let temp = p.intent(&"set_temperature".into()).unwrap();
    assert_eq!(temp.label(), "set the temperature");
    assert_eq!(temp.bare_number, Some(nlu::EntityKind::NUMBER));
    assert!(temp.entities, "annotated examples");
    assert!(!p.intent(&"out_of_scope".into()).unwrap().entities);
}

/// Each text is understood as its intent, with exactly these entities.
fn check(cases: Vec<(&str, &str, Vec<Found>)>) {
    for (text, intent, want) in cases {
        let r = parser().parse_at(text, now()).unwrap();
        assert_eq!(r.intent.name, intent, "{text}: {r:?}");
        assert_eq!(r.outcome, Outcome::Understood, "{text}: {r:?}");
        assert_eq!(entities(&r), want, "{text}");
    }
}

#[test]
fn english_requests() {
    let cases: Vec<(&str, &str, Vec<_>)> = vec![
        (
            "please switch on the lights in the lounge",
            "turn_on_light",
            vec![e("room", "living_room", 35, 41)],
        ),
        // one typo in a lookup value
        (
            "turn the kitchn light off",
            "turn_off_light",
            vec![e("room", "kitchen", 9, 15)],
        ),
        // the regex entity wins over the number inside it
        (
            "dim the bedroom lights to 40%",
            "turn_on_light",
            vec![e("room", "bedroom", 8, 15), e("brightness", "40%", 26, 29)],
        ),
        (
            "make the study 22 degrees",
            "set_temperature",
            vec![e("room", "study", 9, 14), e("number", "22", 15, 17)],
        ),
        (
            "will it rain in Beijing tomorrow?",
            "weather",
            vec![
                e("city", "Beijing", 16, 23),
                e("time", "2026-12-05T00:00:00+08:00", 24, 32),
            ],
        ),
    ];
    check(cases);
}

#[test]
fn chinese_requests() {
    let cases: Vec<(&str, &str, Vec<_>)> = vec![
        (
            "打开客厅的灯",
            "turn_on_light",
            vec![e("room", "living_room", 2, 4)],
        ),
        (
            "把车库的灯关掉",
            "turn_off_light",
            vec![e("room", "garage", 1, 3)],
        ),
        (
            "把卧室的温度调到二十度",
            "set_temperature",
            vec![e("room", "bedroom", 1, 3), e("number", "20", 8, 10)],
        ),
        (
            "上海明天天气怎么样",
            "weather",
            vec![
                e("city", "Shanghai", 0, 2),
                e("time", "2026-12-05T00:00:00+08:00", 2, 4),
            ],
        ),
    ];
    check(cases);
}

/// Cities that no example names: the trained tagger finds them from context, and a city of
/// the lookup table (built from the annotations) keeps its normalized value.
#[test]
fn the_tagger_finds_cities_it_was_never_shown() {
    let p = parser();
    let tagger = p.tagger().expect("annotated cities train a tagger");
    assert_eq!(tagger.types(), ["city"]);
    // only `weather` examples annotate cities: the tagger runs for its texts only
    assert!(tagger.tags_intent(&"weather".into()));
    assert!(!tagger.tags_intent(&"turn_on_light".into()));
    let cases: Vec<(&str, Vec<(Found, nlu::Extractor)>)> = vec![
        (
            "is it going to rain in Lisbon tomorrow",
            vec![
                (e("city", "Lisbon", 23, 29), nlu::Extractor::Tagger),
                (
                    e("time", "2026-12-05T00:00:00+08:00", 30, 38),
                    nlu::Extractor::Time,
                ),
            ],
        ),
        (
            "how warm is it in Buenos Aires",
            vec![(e("city", "Buenos Aires", 18, 30), nlu::Extractor::Tagger)],
        ),
        // a lookup value the tagger also finds: the lookup's normalized value
        (
            "weather in london",
            vec![(e("city", "London", 11, 17), nlu::Extractor::Gazetteer)],
        ),
        (
            "南京明天会下雨吗",
            vec![
                (e("city", "南京", 0, 2), nlu::Extractor::Tagger),
                (
                    e("time", "2026-12-05T00:00:00+08:00", 2, 4),
                    nlu::Extractor::Time,
                ),
            ],
        ),
        (
            "查一下西安的天气",
            vec![(e("city", "西安", 3, 5), nlu::Extractor::Tagger)],
        ),
    ];
    for (text, want) in cases {
        let r = p.parse_at(text, now()).unwrap();
        assert_eq!(r.intent.name, "weather", "{text}");
        let got: Vec<(Found, nlu::Extractor)> = r
            .entities
            .iter()
            .map(|x| {
                (
                    (x.entity.to_string(), x.value.clone(), x.start, x.end),
                    x.extractor,
                )
            })
            .collect();
        assert_eq!(got, want, "{text}");
    }
    // no city where none is named
    let r = p.parse_at("turn on the kitchen light", now()).unwrap();
    assert!(
        r.entities.iter().all(|x| x.entity != "city"),
        "{:?}",
        r.entities
    );
}

/// The early stage has a tagger of its own for the same type, and whichever stage answers,
/// the cities are the full model's.
#[test]
fn the_early_stage_tags_cities_as_the_full_model_does() {
    let p = parser();
    let early = p
        .classifier()
        .early_exit()
        .and_then(|e| e.tagger.as_ref())
        .expect("the early stage has a tagger");
    assert_eq!(early.meta.types, ["city"]);
    assert!(model_dir().join("early-tagger.onnx").is_file());
    assert!(
        (0.6..=0.999).contains(&early.threshold),
        "{}",
        early.threshold
    );
    let full = Parser::load_with(
        model_dir(),
        nlu::ParserOptions {
            cascade: false,
            time_zone: chrono_tz::Asia::Shanghai,
            ..Default::default()
        },
    )
    .unwrap();
    let mut stages = Vec::new();
    for text in [
        "is it going to rain in Lisbon tomorrow",
        "how warm is it in Buenos Aires",
        "weather in london",
        "will it snow in Oslo",
        "南京明天会下雨吗",
        "查一下西安的天气",
        "成都冷不冷",
    ] {
        let (c, stage) = p.parse_staged_at(text, now()).unwrap();
        let f = full.parse_at(text, now()).unwrap();
        assert_eq!(
            (c.intent.name.as_str(), entities(&c)),
            (f.intent.name.as_str(), entities(&f)),
            "{text} ({stage})"
        );
        stages.push((text, stage));
    }
    // a city found by the early tagger, with no run of the later layers
    assert!(
        stages.contains(&(
            "is it going to rain in Lisbon tomorrow",
            nlu::classifier::cascade::Stage::Early
        )),
        "{stages:?}"
    );
}

#[test]
fn a_bare_number_is_read_by_the_intent_and_unknown_requests_are_rejected() {
    let p = parser();
    let r = p.parse_at("set the heating to 23", now()).unwrap();
    assert_eq!(r.intent.name, "set_temperature");
    assert_eq!(entities(&r), vec![e("number", "23", 19, 21)]);
    for text in ["book me a table for two", "帮我叫一辆出租车"] {
        let r = p.parse_at(text, now()).unwrap();
        assert_eq!(r.outcome, Outcome::OutOfScope, "{text}: {r:?}");
        assert_eq!(r.intent.name, nlu::IntentName::OUT_OF_SCOPE);
    }
    // no job catalog, no operations entities: "production", "build #4812" and "v2.1.0" mean
    // nothing here (the ChatOps model reads an environment, an execution id and a version)
    let r = p
        .parse_at(
            "turn on the lights in production, build #4812, v2.1.0",
            now(),
        )
        .unwrap();
    assert_eq!(entities(&r), vec![]);
}

#[test]
fn the_cli_trains_parses_and_evaluates_any_data_set() {
    let nlu = env!("CARGO_BIN_EXE_nlu");
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("home");
    // `--no-early`: the cascade without its early head (whose tagger is half of a training's
    // time; the library's tests train the default)
    let out = std::process::Command::new(nlu)
        .args(["train", "--no-early", "--data"])
        .arg(data_dir())
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("trained 5 intents (out_of_scope, set_temperature, turn_off_light, turn_on_light, weather)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("entity types: time, brightness, city, duration, number, room (builtins: number, time, duration; lookup tables: 2; regexes: 1)"),
        "{stdout}"
    );
    assert!(stdout.contains("entity tagger: city ("), "{stdout}");
    assert!(stdout.contains("tags the texts of weather)"), "{stdout}");
    assert!(
        stdout.contains("cascade, sparse head: exit at "),
        "{stdout}"
    );
    assert!(!stdout.contains("early head"), "{stdout}");
    assert!(model.join("sparse-head.onnx").is_file());
    assert!(!model.join("early-head.onnx").exists());
    assert!(!model.join("early-tagger.onnx").exists());
    let out = std::process::Command::new(nlu)
        .args(["parse", "--model"])
        .arg(&model)
        .args([
            "--now",
            "2026-12-04T09:00:00+08:00",
            "switch off the hall lights",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["intent"]["name"], "turn_off_light", "{v}");
    assert_eq!(v["outcome"], "understood");
    assert_eq!(v["entities"][0]["entity"], "room");
    assert_eq!(v["entities"][0]["value"], "hallway");
    assert_eq!(v["entities"][0]["text"], "hall");
    assert_eq!(v["entities"][0]["extractor"], "gazetteer");

    // eval: cases of another model's intents are refused, naming the line
    let cases = tmp.path().join("cases.jsonl");
    std::fs::write(
        &cases,
        "{\"text\": \"lights on in the garage\", \"intent\": \"turn_on_light\", \"entities\": [{\"entity\": \"room\", \"value\": \"garage\"}], \"lang\": \"en\"}\n\
         {\"text\": \"关掉书房的灯\", \"intent\": \"turn_off_light\", \"entities\": [{\"entity\": \"room\", \"value\": \"study\"}], \"lang\": \"zh\"}\n",
    )
    .unwrap();
    let out = std::process::Command::new(nlu)
        .args(["eval", "--json", "--model"])
        .arg(&model)
        .arg("--cases")
        .arg(&cases)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["overall"]["intent_accuracy"], 1.0, "{v}");
    assert_eq!(v["overall"]["entities"]["f1"], 1.0, "{v}");
    std::fs::write(
        &cases,
        "{\"text\": \"cancel 4812\", \"intent\": \"cancel_job\"}\n",
    )
    .unwrap();
    let out = std::process::Command::new(nlu)
        .args(["eval", "--model"])
        .arg(&model)
        .arg("--cases")
        .arg(&cases)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cases.jsonl:1:")
            && err.contains("intent `cancel_job` is not one of the model's intents"),
        "{err}"
    );
}

/// The smart-home model trained on its English examples only, with or without the
/// dictionary translations `nlu train` adds to intents that lack a language.
fn english_only(translate: bool) -> (tempfile::TempDir, nlu::train::TrainedModel) {
    let data = tempfile::tempdir().unwrap();
    std::fs::copy(data_dir().join("en.yml"), data.path().join("en.yml")).unwrap();
    let config = std::fs::read_to_string(data_dir().join("nlu.toml")).unwrap();
    std::fs::write(
        data.path().join("nlu.toml"),
        format!("translate = {translate}\n{config}"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    // no cascade: these tests are about what the full model learns (and the cascade's early
    // tagger is half of a training's time)
    let options = nlu::train::TrainOptions {
        progress: false,
        cascade: false,
        ..Default::default()
    };
    let model =
        nlu::train::train_dir(data.path(), out.path(), &common::encoder_dir(), &options).unwrap();
    (out, model)
}

/// Trained on English examples only, the model also learns from their word-by-word Chinese
/// translations ("turn off the light" → "关灯" is what the encoder alone got wrong).
#[test]
fn english_examples_are_translated_into_chinese_for_training() {
    let (dir, model) = english_only(true);
    // every English example that the lexicon changes, once each
    assert_eq!(model.summary.translated, 82);
    assert_eq!(model.summary.examples, 164);
    let p = Parser::load(dir.path()).unwrap();
    for (text, intent) in [
        ("关灯", "turn_off_light"),
        ("开灯", "turn_on_light"),
        ("把卧室的灯关掉", "turn_off_light"),
        ("今天会下雨吗", "weather"),
    ] {
        let r = p.parse_at(text, now()).unwrap();
        assert_eq!(
            (r.intent.name.as_str(), r.outcome),
            (intent, Outcome::Understood),
            "{text}: {r:?}"
        );
    }
    // without the translations, the short command is not understood
    let (dir, model) = english_only(false);
    assert_eq!(model.summary.translated, 0);
    let r = Parser::load(dir.path())
        .unwrap()
        .parse_at("关灯", now())
        .unwrap();
    assert!(
        r.intent.name != "turn_off_light" || r.outcome != Outcome::Understood,
        "{r:?}"
    );
}
