//! Criterion benchmarks of the parsing pipeline, stage by stage and whole:
//!
//! - `tokenize`: the tokenizer (with the `query: ` prefix), short and long, English and Chinese;
//! - `encoder`: one encoder run on pre-tokenized ids;
//! - `head`: the trained head (ONNX) on an embedding;
//! - `sparse_head`: the cascade's sparse head (ONNX) on a text's token ids, tokenizer included;
//! - `parse`: the whole `Parser::parse` with the full model (`--full`);
//! - `parse_cascade`: the whole `Parser::parse` through the cascade (the default), which the
//!   sparse head answers for some of the inputs;
//! - `parse_batch`: 32 mixed texts through `Parser::parse_batch` (the cascade on);
//! - `overhead`: `Parser::parse` with the full model beside a bare ONNX Runtime session of `encoder.onnx` run on
//!   the same tokens; the ratio of the two is the pipeline's own overhead
//!   (`benches/report/criterion_ratio.py` reads it from `target/criterion`).
//!
//! Entity extraction has its own bench (`benches/entities.rs`), added with the extractor.
//!
//! Full run: `cargo bench -p nlu --bench pipeline`. Quick (CI): `benches/ci-quick.sh`.
//! Needs the committed models and ONNX Runtime (`scripts/install-onnxruntime.sh`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nlu::bench::BareEncoder;
use nlu::{Parser, ParserOptions, RuntimeOptions};
use std::hint::black_box;

const CORPUS: &str = include_str!("corpus.txt");

/// The corpus texts: 0..10 short English, 10..20 short Chinese, 20..30 long English,
/// 30..40 long Chinese.
fn corpus() -> Vec<&'static str> {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect()
}

/// The four representative inputs: (name, text).
fn inputs() -> Vec<(&'static str, &'static str)> {
    let c = corpus();
    vec![
        ("en_short", c[0]),
        ("zh_short", c[10]),
        ("en_long", c[21]),
        ("zh_long", c[31]),
    ]
}

/// The committed model with the catalog; `cascade: false` runs the full model on every text.
fn load_parser(cascade: bool) -> Parser {
    let dir = nlu::default_model_dir().expect("models/ops-intents");
    Parser::load_with(
        &dir,
        ParserOptions {
            runtime: RuntimeOptions {
                intra_threads: 1,
                max_sessions: std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
            // the whole parse, entities included
            catalog: Some(
                nlu::Catalog::load(&nlu::default_catalog_path().expect("config/catalog.toml"))
                    .expect("catalog"),
            ),
            cascade,
            ..Default::default()
        },
    )
    .expect("load the parser (run scripts/install-onnxruntime.sh first)")
}

fn stages(c: &mut Criterion) {
    let parser = load_parser(false);
    let cascade = load_parser(true);
    let classifier = parser.classifier();
    let encoder = classifier.encoder();

    let mut g = c.benchmark_group("tokenize");
    for (name, text) in inputs() {
        g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
            b.iter(|| encoder.tokenize(black_box(t)).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("encoder");
    for (name, text) in inputs() {
        let tokens = encoder.tokenize(text).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(name), &tokens, |b, t| {
            b.iter(|| encoder.embed_tokens(black_box(t)).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("head");
    for (name, text) in inputs() {
        let tokens = encoder.tokenize(text).unwrap();
        let embedding = encoder.embed_tokens(&tokens).unwrap();
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                classifier
                    .head_probabilities(black_box(&embedding), black_box(&tokens.ids))
                    .unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sparse_head");
    for (name, text) in inputs() {
        g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
            b.iter(|| classifier.sparse_scores(black_box(t)).unwrap())
        });
    }
    g.finish();

    for (group, p) in [("parse", &parser), ("parse_cascade", &cascade)] {
        let mut g = c.benchmark_group(group);
        for (name, text) in inputs() {
            g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
                b.iter(|| p.parse(black_box(t)).unwrap())
            });
        }
        g.finish();
    }

    let batch: Vec<&str> = corpus().into_iter().take(32).collect();
    let mut g = c.benchmark_group("parse_batch");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(10);
    g.bench_function("mixed_32", |b| {
        b.iter(|| cascade.parse_batch(black_box(&batch)).unwrap())
    });
    g.finish();

    // The whole parse against a bare ONNX Runtime run of the encoder on the same tokens.
    let mut bare = BareEncoder::load(encoder.dir()).expect("bare encoder session");
    let mut g = c.benchmark_group("overhead");
    for (name, text) in inputs() {
        let ids = encoder.tokenize(text).unwrap().ids;
        g.bench_with_input(BenchmarkId::new("parse", name), text, |b, t| {
            b.iter(|| parser.parse(black_box(t)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("bare_ort", name), &ids, |b, ids| {
            b.iter(|| bare.run(black_box(ids)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
