//! Criterion benchmark of entity extraction: the project's catalog on the four corpus texts
//! of `benches/pipeline.rs`, and a catalog of 10,000 entries (2,500 each of jobs, apps,
//! environments and hosts) to show that matching stays fast as the catalog grows.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use nlu::{Catalog, EntityExtractor, ExtractContext};
use std::hint::black_box;

const CORPUS: &str = include_str!("corpus.txt");
const CATALOG: &str = include_str!("../config/catalog.toml");

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

/// The reference catalog plus generated entries up to 10,000 names.
fn large_catalog() -> Catalog {
    let mut toml = String::from(CATALOG);
    for i in 0..2_500 {
        toml.push_str(&format!(
            "\n[[jobs]]\nid = \"task-{i:05}-sync\"\n[[apps]]\nid = \"service{i:05}\"\n[[environments]]\nid = \"region-{i:05}\"\n[[hosts]]\nid = \"node-{i:05}\"\n"
        ));
    }
    Catalog::from_toml_str(&toml, "generated").expect("generated catalog is valid")
}

fn entities(c: &mut Criterion) {
    let ctx = ExtractContext::now_in(chrono_tz::UTC);
    let small = EntityExtractor::new(
        &Catalog::from_toml_str(CATALOG, "config/catalog.toml").expect("catalog"),
    );
    let large = EntityExtractor::new(&large_catalog());
    let mut g = c.benchmark_group("entities");
    for (name, text) in inputs() {
        g.bench_with_input(BenchmarkId::new("catalog", name), text, |b, t| {
            b.iter(|| small.extract(black_box(t), &ctx))
        });
        g.bench_with_input(BenchmarkId::new("catalog_10k", name), text, |b, t| {
            b.iter(|| large.extract(black_box(t), &ctx))
        });
    }
    g.finish();
}

criterion_group!(benches, entities);
criterion_main!(benches);
