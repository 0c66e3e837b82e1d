//! Criterion benchmark of entity extraction — TO BE COMPLETED BY THE INTEGRATOR.
//!
//! Entity extraction (`nlu::entities::EntityExtractor`, `extract(text, &ExtractContext)`) is
//! written on another branch. When it lands on main:
//! 1. uncomment the `[[bench]] name = "entities"` entry in nlu/Cargo.toml;
//! 2. make `extractor()` below build the extractor from the committed catalog;
//! 3. add an `entities` row to the criterion table in benches/report/make_report.py
//!    (groups are read from target/criterion by benches/report/criterion_estimates.py).
//!
//! The inputs are the same four corpus texts as `benches/pipeline.rs`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use nlu::entities::{EntityExtractor, ExtractContext};
use std::hint::black_box;

const CORPUS: &str = include_str!("corpus.txt");

fn inputs() -> Vec<(&'static str, &'static str)> {
    let c: Vec<&str> = CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    vec![
        ("en_short", c[0]),
        ("zh_short", c[10]),
        ("en_long", c[21]),
        ("zh_long", c[31]),
    ]
}

fn extractor() -> EntityExtractor {
    // INTEGRATOR: load the catalog the parser uses, e.g.
    // let catalog = nlu::catalog::Catalog::load(&path_to_catalog).unwrap();
    // EntityExtractor::new(&catalog)
    unimplemented!("build the EntityExtractor from the committed catalog")
}

fn entities(c: &mut Criterion) {
    let extractor = extractor();
    let ctx = ExtractContext::now_in(chrono_tz::UTC);
    let mut g = c.benchmark_group("entities");
    for (name, text) in inputs() {
        g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
            b.iter(|| extractor.extract(black_box(t), &ctx))
        });
    }
    g.finish();
}

criterion_group!(benches, entities);
criterion_main!(benches);
