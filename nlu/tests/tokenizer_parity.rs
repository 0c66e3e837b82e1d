//! The encoder's tokenizer (the compact Unigram model, `nlu::classifier::unigram`) gives the
//! same token ids as the `tokenizers` crate's own `Tokenizer` on the committed
//! `tokenizer.json`: on the training data, the held-out sets, the bench corpus, awkward
//! strings and every third text of CLINC150, SNIPS and
//! Banking77 from the vendored `datasets/` (all 52,683 of them agreed when the compact model was written).

mod common;

use nlu::classifier::encoder::{Encoder, QUERY_PREFIX, TOKENIZER_FILE};
use nlu::eval::datasets::{default_datasets_dir, Dataset, OosMode};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

fn texts() -> Vec<String> {
    let root = common::repo_root();
    let mut out: Vec<String> = Vec::new();
    for lang in ["en", "zh"] {
        let data = nlu::train::rasa::read_dir(&root.join("training-data").join(lang)).unwrap();
        out.extend(data.examples.into_iter().map(|e| e.text));
    }
    for f in ["intents-heldout.jsonl", "entities-heldout.jsonl"] {
        let cases = nlu::eval::read_cases(&root.join("tests/data").join(f)).unwrap();
        out.extend(cases.into_iter().map(|c| c.text));
    }
    out.extend(nlu::bench::read_corpus(&root.join("benches/corpus.txt")).unwrap());
    let long = "deploy api 2.4.1 to prod and then restart the auth service ".repeat(40);
    out.extend(
        [
            "",
            " ",
            "   leading and   repeated   spaces  ",
            "tabs\tand\nnewlines\r\n",
            "emoji 🚀🔥 and arrows → ← ⇒",
            "Здравствуйте, мир",
            "こんにちは世界 カタカナ",
            "ｆｕｌｌ－ｗｉｄｔｈ　ＡＢＣ１２３",
            "café naïve façade Ångström",
            "把支付服务发布到生产，然后重启预发的认证服务。",
            "<s> </s> <unk> <pad> <mask> literal specials",
            "x",
            "ab\u{0}cd\u{7f}",
            "\u{2581}\u{2581}metaspace",
            "a\u{301}e\u{301}",
            "ﬁ ligature, ½, ², ℃, Ⅻ",
            &long,
        ]
        .map(String::from),
    );
    let dir = default_datasets_dir().expect("the vendored datasets/ folder is missing");
    for ds in Dataset::ALL {
        let path = dir.join(ds.default_folder());
        let s = ds
            .read(&path, OosMode::Class)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // every third text keeps the test short (all of them agreed when it was written)
        let all = s.train.into_iter().chain(s.val).chain(s.test);
        out.extend(all.step_by(3).map(|e| e.text));
    }
    out
}

#[test]
fn compact_unigram_matches_the_tokenizers_crate() {
    let dir = common::encoder_dir();
    let encoder = Encoder::load(&dir, 128, 1, 1).expect("encoder loads");
    let mut reference = Tokenizer::from_file(dir.join(TOKENIZER_FILE)).unwrap();
    reference
        .with_truncation(Some(TruncationParams {
            max_length: 128,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .unwrap();
    reference.with_padding(None);
    let texts = texts();
    assert!(texts.len() > 2000, "{} texts", texts.len());
    let mut differ = Vec::new();
    for t in &texts {
        let ours = encoder.tokenize(t).unwrap().ids;
        let theirs: Vec<i64> = reference
            .encode(format!("{QUERY_PREFIX}{t}"), true)
            .unwrap()
            .get_ids()
            .iter()
            .map(|&i| i64::from(i))
            .collect();
        if ours != theirs {
            differ.push((t.clone(), ours, theirs));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} texts tokenize differently, e.g. {:?}",
        differ.len(),
        texts.len(),
        &differ[..differ.len().min(3)]
    );
}
