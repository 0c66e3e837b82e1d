//! Where a parser's load time and memory go: resident memory (current and peak), wall time
//! and this thread's CPU time after each loading step.
//!
//! ```sh
//! cargo run --release -p nlu --example load_profile            # the parser's own steps
//! cargo run --release -p nlu --example load_profile -- --compare
//! ```
//! Steps: ONNX Runtime loaded; the tokenizer alone (compact Unigram model); the encoder
//! (tokenizer and first session); a second encoder session (two threads embedding at once);
//! the head; a whole `Parser::load` and its first parse, twice. With `--compare`, first the
//! same model through the `tokenizers` crate's own tokenizer and a session that ONNX Runtime
//! reads from the file, as the parser loaded them before (one copy of the weights per
//! session).
//!
//! CPU time comes from /proc/thread-self/schedstat: on a busy machine it is steadier than
//! wall time. Memory figures are cumulative; a step's cost is the difference to the line above.

use nlu::classifier::encoder::{Encoder, ENCODER_FILE, TOKENIZER_FILE};
use nlu::classifier::unigram::CompactUnigram;
use std::time::Instant;
use tokenizers::{
    DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper, TokenizerImpl,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Clock {
    wall: Instant,
    cpu_ms: f64,
}

fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e6)
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu_ms: cpu_ms(),
        }
    }

    /// Prints a step and restarts the clock.
    fn step(&mut self, name: &str) {
        let (rss, peak) = nlu::bench::resident_memory_mib().unwrap_or((f64::NAN, f64::NAN));
        println!(
            "{name:<34} {:>8.1} ms {:>8.1} ms CPU   RSS {rss:>6.1} MiB   peak {peak:>6.1} MiB",
            self.wall.elapsed().as_secs_f64() * 1e3,
            cpu_ms() - self.cpu_ms
        );
        *self = Clock::start();
    }
}

/// A session as ONNX Runtime creates it from the file (its own copy of every weight).
fn session_from_file(
    env: &ort::environment::Environment,
    path: &std::path::Path,
) -> ort::Result<ort::session::Session> {
    ort::session::Session::builder(env)?
        .with_intra_threads(1)?
        .with_inter_threads(1)?
        .commit_from_file(path)
}

fn main() -> Result<()> {
    let compare = std::env::args().any(|a| a == "--compare");
    let model = nlu::default_model_dir()?;
    let meta = nlu::model::ModelMeta::load(&model)?;
    let enc_dir = meta.encoder_dir(&model);
    let catalog = nlu::Catalog::load(&nlu::default_catalog_path()?)?;
    println!("{:<34} {:>11} {:>15}", "step", "wall", "this thread");
    let mut clock = Clock::start();
    clock.step("start");
    let env = nlu::runtime::init(None)?;
    clock.step("ONNX Runtime loaded");
    if compare {
        let tok = tokenizers::Tokenizer::from_file(enc_dir.join(TOKENIZER_FILE))?;
        clock.step("tokenizer (tokenizers crate)");
        let mut session = session_from_file(env, &enc_dir.join(ENCODER_FILE))?;
        clock.step("session read from the file");
        let mut second = session_from_file(env, &enc_dir.join(ENCODER_FILE))?;
        clock.step("a second one");
        let ids = ndarray::Array2::from_shape_vec((1, 3), vec![0i64, 1000, 2])?;
        let mask = ndarray::Array2::<i64>::ones((1, 3));
        for s in [&mut session, &mut second] {
            s.run(ort::inputs![
                "input_ids" => ort::value::TensorRef::from_array_view(&ids)?,
                "attention_mask" => ort::value::TensorRef::from_array_view(&mask)?
            ])?;
        }
        clock.step("one run each");
        drop((tok, session, second));
        clock.step("all dropped");
        println!();
    }
    let tok = TokenizerImpl::<
        CompactUnigram,
        NormalizerWrapper,
        PreTokenizerWrapper,
        PostProcessorWrapper,
        DecoderWrapper,
    >::from_file(enc_dir.join(TOKENIZER_FILE))?;
    clock.step("tokenizer (compact Unigram)");
    drop(tok);
    clock.step("dropped");
    let encoder = Encoder::load(&enc_dir, meta.max_tokens, 1, 2)?;
    clock.step("encoder: tokenizer + session");
    encoder.embed("warm up")?;
    clock.step("first embedding");
    std::thread::scope(|s| {
        let a = s.spawn(|| encoder.embed("deploy api 2.4.1 to prod"));
        let b = s.spawn(|| encoder.embed("把支付服务发布到生产"));
        a.join().expect("thread").and(b.join().expect("thread"))
    })?;
    clock.step("second session (2 threads)");
    let head = nlu::classifier::head::Head::load(
        &model.join(nlu::classifier::head::HEAD_FILE),
        meta.labels.len(),
        2,
    )?;
    clock.step("head");
    drop((head, encoder));
    clock.step("dropped");
    for i in 1..=2 {
        let parser = nlu::Parser::load_with(
            &model,
            nlu::ParserOptions {
                catalog: Some(catalog.clone()),
                ..Default::default()
            },
        )?;
        clock.step(&format!("Parser::load ({i})"));
        parser.parse("run backup-database on db-01 tonight at 11pm")?;
        clock.step("first parse");
    }
    Ok(())
}
