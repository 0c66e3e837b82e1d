//! Counts the heap allocations a `parse` makes through Rust's allocator (tokenizer, head
//! inputs, result), per stage, with a counting global allocator. ONNX Runtime allocates from
//! its own arena in C++ and is not counted. Prints a Markdown table (used by the report).
//!
//! `cargo bench -p nlu --bench alloc_count` (harness = false; no criterion).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CORPUS: &str = include_str!("corpus.txt");

fn measure<T>(f: impl FnOnce() -> T) -> (usize, usize) {
    let (a, b) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    std::hint::black_box(f());
    (
        ALLOCS.load(Ordering::Relaxed) - a,
        BYTES.load(Ordering::Relaxed) - b,
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let parser = nlu::Parser::load(&nlu::default_model_dir().expect("model")).expect("parser");
    let enc = parser.classifier().encoder();
    let texts: Vec<&str> = CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    for t in &texts {
        parser.parse(t).unwrap(); // warm: sessions and lazy state exist
    }
    let picks = [
        ("en_short", texts[0]),
        ("zh_short", texts[10]),
        ("en_long", texts[21]),
        ("zh_long", texts[31]),
    ];
    println!("| input | tokenize: allocations / KiB | encoder run (Rust side) | head (Rust side) | whole `parse` |");
    println!("|---|---|---|---|---|");
    for (name, text) in picks {
        let tok = measure(|| enc.tokenize(text).unwrap());
        let tokens = enc.tokenize(text).unwrap();
        let embed = measure(|| enc.embed_tokens(&tokens).unwrap());
        let emb = enc.embed_tokens(&tokens).unwrap();
        let head = measure(|| {
            parser
                .classifier()
                .head_probabilities(&emb, &tokens.ids)
                .unwrap()
        });
        let parse = measure(|| parser.parse(text).unwrap());
        let f = |(n, b): (usize, usize)| format!("{n} / {:.1}", b as f64 / 1024.0);
        println!(
            "| {name} ({} tokens) | {} | {} | {} | {} |",
            tokens.ids.len(),
            f(tok),
            f(embed),
            f(head),
            f(parse)
        );
    }
}
