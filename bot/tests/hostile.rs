//! Hostile input: arbitrary text through the command router, the word splitter, the
//! sanitizer, the entity extractor and the whole bot (without the language model) must never
//! panic.

mod common;

use bot::config::Config;
use bot::Message;
use common::fixtures::{guard, in_process_bot};
use proptest::prelude::*;

fn demo_config() -> Config {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
    Config::load(&root).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn router_never_panics(s in "\\PC*", t in "![a-z]{0,9} [ -~]{0,60}") {
        let now = chrono::Utc::now();
        let _ = bot::router::parse_command(&s, now);
        let _ = bot::router::parse_command(&format!("!{s}"), now);
        let _ = bot::router::parse_command(&t, now);
        let _ = bot::util::words::split_words(&s);
        let clean = bot::policy::sanitize(&s);
        prop_assert!(!clean.chars().any(|c| c.is_control()));
    }

    #[test]
    fn extractor_never_panics(s in "\\PC{0,120}", raw in proptest::collection::vec(any::<char>(), 0..80)) {
        thread_local! {
            static EX: nlu::EntityExtractor = nlu::EntityExtractor::new(&demo_config().catalog);
        }
        let raw: String = raw.into_iter().collect();
        let tz: chrono_tz::Tz = chrono_tz::UTC;
        let ctx = nlu::ExtractContext::new(chrono::Utc::now().with_timezone(&tz));
        EX.with(|ex| {
            let _ = ex.extract(&s, &ctx);
            let _ = ex.extract(&raw, &ctx);
        });
    }
}

#[test]
fn the_bot_survives_random_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config();
    config.database = dir.path().join("db.sqlite");
    let bot = in_process_bot(config, dir.path(), guard);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    });
    // commands that do not start jobs, with arbitrary arguments
    let strategy = "(!(status|history|cancel|watch|approve|reject|approvals|help|jobs|yes|no|frob) )?\\PC{0,80}";
    runner
        .run(&strategy, |text| {
            let r = rt.block_on(bot.handle(&Message {
                user: "fuzz".into(),
                channel: "terminal".into(),
                text,
                thread: None,
            }));
            for t in r.texts {
                prop_assert!(!t.contains("panicked"));
            }
            Ok(())
        })
        .unwrap();
}
