//! Head experiments on the ChatOps data without touching the held-out files: cross-lingual
//! transfer (train on one language's training data, score the other language's training
//! data and the dev file) and in-language out-of-fold accuracy, for several head settings.
//! Embeddings are cached under `.cache/embeddings`, so a rerun only refits.
//!
//! ```sh
//! cargo run -p nlu --example head_experiments -- [dev.jsonl] [CONFIG...]
//! ```
//! A CONFIG is `kind[:l2:dense_l2:low:high]`, e.g. `gated:1e-6:1e-4:0.4:0.8` (default: the
//! joint head, the dense head and the default gated head). `TRANSLATE=1` trains the
//! one-language models with the dictionary translations `nlu train` adds to intents that
//! lack a language (`SHOW_TRANSLATIONS=1` lists them; `TRANSLATE_ALL=1` trains every model
//! on them, not the dense-only one alone). `TRANSLATE_TEST=w` also scores the one-language
//! models by translate-test: each text's probabilities mixed with those of its dictionary
//! translation into the training language, the translation weighing `w`.

use nlu::classifier::encoder::Encoder;
use nlu::eval::benchmark::{default_cache_dir, EmbeddingCache};
use nlu::parser::decide_labels;
use nlu::result::Outcome;
use nlu::train::{self, Embedded, HeadKind, TrainOptions};
use std::path::{Path, PathBuf};

struct Set {
    name: String,
    texts: Vec<String>,
    labels: Vec<String>,
    lang: Vec<String>,
    emb: Embedded,
    /// False for a dictionary translation (trained as `nlu train` does: the dense-only
    /// model alone; TRANSLATE_ALL=1: every model, as an earlier variant did).
    written: Vec<bool>,
}

fn embed(encoder: &Encoder, name: &str, texts: Vec<String>) -> anyhow::Result<Embedded> {
    let cache = EmbeddingCache::new(default_cache_dir());
    let path = cache.path(name, encoder, &texts)?;
    let (n, dim) = (texts.len(), encoder.feature_dim());
    if let Some(e) =
        EmbeddingCache::load(&path, n, dim, encoder.exit_layer(), encoder.pooled_layer())
    {
        return Ok(e);
    }
    let e = train::embed_all(encoder, &texts, true)?;
    EmbeddingCache::save(&path, &e)?;
    Ok(e)
}

fn rasa_set(encoder: &Encoder, dir: &Path, lang: &str, translate: bool) -> anyhow::Result<Set> {
    let data = nlu::train::rasa::read_dir(dir)?;
    let mut texts: Vec<String> = data.examples.iter().map(|e| e.text.clone()).collect();
    let mut labels: Vec<String> = data.examples.iter().map(|e| e.intent.clone()).collect();
    let originals = texts.len();
    if translate {
        use nlu::train::translate::{translate_missing, Lexicon, Source};
        let lexicon = Lexicon::load(&encoder_root().join("models/lexicon-en-zh"))?;
        let sources: Vec<Source> = data
            .examples
            .iter()
            .enumerate()
            .map(|(i, e)| Source {
                text: &e.text,
                label: i,
            })
            .collect();
        for (t, i) in translate_missing(&lexicon, &sources) {
            if std::env::var("SHOW_TRANSLATIONS").is_ok() {
                println!("    {} -> {t}", data.examples[i].text);
            }
            texts.push(t);
            labels.push(data.examples[i].intent.clone());
        }
    }
    let emb = embed(encoder, &format!("train-{lang}"), texts.clone())?;
    let all = std::env::var("TRANSLATE_ALL").is_ok();
    Ok(Set {
        name: format!("training-data/{lang}"),
        lang: vec![lang.to_string(); texts.len()],
        written: (0..texts.len()).map(|i| all || i < originals).collect(),
        texts,
        labels,
        emb,
    })
}

fn encoder_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn jsonl_set(encoder: &Encoder, path: &Path) -> anyhow::Result<Set> {
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    let mut lang = Vec::new();
    for line in std::fs::read_to_string(path)?.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)?;
        texts.push(v["text"].as_str().unwrap_or_default().to_string());
        labels.push(v["intent"].as_str().unwrap_or_default().to_string());
        lang.push(v["lang"].as_str().unwrap_or("en").to_string());
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let emb = embed(encoder, &name, texts.clone())?;
    Ok(Set {
        written: vec![true; texts.len()],
        name: path.display().to_string(),
        texts,
        labels,
        lang,
        emb,
    })
}

fn concat(a: &Set, b: &Set) -> Set {
    let mut emb = a.emb.embeddings.clone();
    emb.append(ndarray::Axis(0), b.emb.embeddings.view())
        .expect("same width");
    Set {
        name: format!("{}+{}", a.name, b.name),
        texts: a.texts.iter().chain(&b.texts).cloned().collect(),
        labels: a.labels.iter().chain(&b.labels).cloned().collect(),
        lang: a.lang.iter().chain(&b.lang).cloned().collect(),
        written: a.written.iter().chain(&b.written).copied().collect(),
        emb: Embedded {
            embeddings: emb,
            sentence_dim: a.emb.sentence_dim,
            pooled_layer: a.emb.pooled_layer,
            tokens: a.emb.tokens.iter().chain(&b.emb.tokens).cloned().collect(),
            early: None,
        },
    }
}

/// Accuracy (out-of-scope right when rejected), in-scope rejected, per language.
fn score(model: &train::TrainedModel, set: &Set, show: usize) -> String {
    score_mixed(model, set, show, None)
}

/// [`score`], with each text's probabilities mixed, when `mix` gives them, with those of its
/// translation (a set row for row with `set`; translate-test), the translation weighing the
/// given share; a text the translation left as it was keeps its own.
fn score_mixed(
    model: &train::TrainedModel,
    set: &Set,
    show: usize,
    mix: Option<(&Set, f32)>,
) -> String {
    let oos = model.labels.iter().position(|l| l == "out_of_scope");
    let mut per: std::collections::BTreeMap<String, (usize, usize, usize, usize, usize)> =
        Default::default();
    let mut shown = 0;
    for i in 0..set.texts.len() {
        let emb = set.emb.embeddings.row(i).to_vec();
        let mut p = model.head.probabilities(&emb, &set.emb.tokens[i]);
        if let Some((t, w)) = mix.filter(|(t, _)| t.texts[i] != set.texts[i]) {
            let q = model
                .head
                .probabilities(&t.emb.embeddings.row(i).to_vec(), &t.emb.tokens[i]);
            for (a, b) in p.iter_mut().zip(&q) {
                *a = (1.0 - w) * *a + w * b;
            }
        }
        let d = decide_labels(&p, oos, model.thresholds);
        let got = match (d.outcome, d.label) {
            (Outcome::OutOfScope, _) | (_, None) => "out_of_scope",
            (_, Some(k)) => model.labels[k].as_str(),
        };
        let e = per.entry(set.lang[i].clone()).or_default();
        e.0 += 1;
        let top = d.ranking[0];
        if model.labels[top] == set.labels[i] {
            e.4 += 1;
        }
        if got == set.labels[i] {
            e.1 += 1;
        } else if shown < show {
            shown += 1;
            println!(
                "    miss [{}] {:?}: {} -> {} ({:.2})",
                set.lang[i], set.texts[i], set.labels[i], got, d.confidence
            );
        }
        if set.labels[i] != "out_of_scope" {
            e.2 += 1;
            if got == "out_of_scope" {
                e.3 += 1;
            }
        }
    }
    per.iter()
        .map(|(l, (n, r, ins, rej, top))| {
            format!(
                "{l}: {:.1}% of {n} (rejected {:.1}%, argmax {:.1}%)",
                100.0 * *r as f32 / *n as f32,
                100.0 * *rej as f32 / (*ins).max(1) as f32,
                100.0 * *top as f32 / *n as f32
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `set` with each text translated word by word into `to` (a text already in `to` as it is).
fn translate_set(encoder: &Encoder, set: &Set, to: nlu::Lang) -> anyhow::Result<Set> {
    let lexicon =
        nlu::train::translate::Lexicon::load(&encoder_root().join("models/lexicon-en-zh"))?;
    let texts: Vec<String> = set.texts.iter().map(|t| lexicon.translate(t, to)).collect();
    let name = format!("{}-to-{to}", set.name.replace('/', "_"));
    let emb = embed(encoder, &name, texts.clone())?;
    Ok(Set {
        name,
        texts,
        labels: set.labels.clone(),
        lang: set.lang.clone(),
        written: set.written.clone(),
        emb,
    })
}

fn fit(set: &Set, names: &[String], o: &TrainOptions) -> anyhow::Result<train::TrainedModel> {
    let labels: Vec<usize> = set
        .labels
        .iter()
        .map(|l| names.iter().position(|n| n == l).unwrap_or(0))
        .collect();
    Ok(train::fit_head_translated(
        &set.emb,
        &labels,
        names,
        o,
        Some(&set.written),
    )?)
}

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let show: usize = std::env::var("SHOW")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let dev_path = if args.first().is_some_and(|a| a.ends_with(".jsonl")) {
        Some(PathBuf::from(args.remove(0)))
    } else {
        None
    };
    if args.is_empty() {
        args = vec!["joint".into(), "dense".into(), "gated".into()];
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    if let Ok(ds) = std::env::var("BENCH") {
        // BENCH=clinc150|snips|banking77 [CLASS_ONLY=1]: the public benchmark per config
        use nlu::eval::benchmark::{run, BenchmarkOptions};
        use nlu::eval::datasets::{default_datasets_dir, Dataset, OosMode};
        let dataset: Dataset = ds.parse().map_err(anyhow::Error::msg)?;
        for cfg in &args {
            let parts: Vec<&str> = cfg.split(':').collect();
            let mut o = TrainOptions {
                progress: false,
                ..Default::default()
            };
            o.head = parts[0].parse::<HeadKind>().map_err(anyhow::Error::msg)?;
            let num = |i: usize, d: f32| parts.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
            o.l2 = num(1, o.l2);
            o.dense_l2 = num(2, o.dense_l2);
            o.gate_low = num(3, o.gate_low);
            o.gate_high = num(4, o.gate_high);
            let options = BenchmarkOptions {
                dataset,
                path: default_datasets_dir()
                    .map(|d| d.join(dataset.default_folder()))
                    .ok_or_else(|| anyhow::anyhow!("no datasets/"))?,
                oos_modes: if std::env::var("CLASS_ONLY").is_ok() {
                    vec![OosMode::Class]
                } else {
                    vec![OosMode::Class, OosMode::Threshold]
                },
                encoder: root.join("models/multilingual-e5-small"),
                out: None,
                train: o,
                folds_without_val: 5,
                cache: Some(default_cache_dir()),
            };
            let report = run(&options)?;
            println!("== {cfg}");
            for r in &report.runs {
                for p in &r.scores {
                    println!(
                        "  {:?} {}: accuracy {:.2}% in-scope {:.2}% oos recall {}",
                        r.oos_mode,
                        p.policy,
                        100.0 * p.accuracy,
                        100.0 * p.in_scope_accuracy,
                        p.out_of_scope
                            .map_or("-".to_string(), |o| format!("{:.1}%", 100.0 * o.recall))
                    );
                }
            }
        }
        return Ok(());
    }
    // POOLED=4|8|12: the head also reads that layer's pooled states (default: the training
    // default, DEFAULT_POOLED_LAYER); POOLED=0: the sentence embedding alone
    let pooled = match std::env::var("POOLED")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        Some(0) => None,
        Some(l) => Some(l),
        None => TrainOptions::default().pooled_layer,
    };
    let encoder = Encoder::load(&root.join("models/multilingual-e5-small"), 128, 1, 2)?
        .with_pooled_layer(pooled)?;
    let en = rasa_set(&encoder, &root.join("training-data/en"), "en", false)?;
    let zh = rasa_set(&encoder, &root.join("training-data/zh"), "zh", false)?;
    // TRANSLATE=1: the one-language models are trained with the dictionary translations that
    // `nlu train` adds to intents that lack a language
    let translate = std::env::var("TRANSLATE").is_ok();
    let en_train = rasa_set(&encoder, &root.join("training-data/en"), "en", translate)?;
    let zh_train = rasa_set(&encoder, &root.join("training-data/zh"), "zh", translate)?;
    let both = concat(&en, &zh);
    let dev = match &dev_path {
        Some(p) => Some(jsonl_set(&encoder, p)?),
        None => None,
    };
    let mut names: Vec<String> = both.labels.clone();
    names.sort();
    names.dedup();
    if std::env::var("GATESTATS").is_ok() {
        let q = |gate: &nlu::classifier::head::TokenGate, set: &Set, lang: &str| {
            let mut f: Vec<f32> = (0..set.texts.len())
                .filter(|&i| set.lang[i] == lang)
                .map(|i| gate.known_fraction(&set.emb.tokens[i]))
                .collect();
            f.sort_by(|a, b| a.total_cmp(b));
            let at = |p: f32| f[((f.len() - 1) as f32 * p) as usize];
            format!(
                "p10 {:.2} p25 {:.2} p50 {:.2} p75 {:.2} p90 {:.2}",
                at(0.1),
                at(0.25),
                at(0.5),
                at(0.75),
                at(0.9)
            )
        };
        let g = nlu::classifier::head::TokenGate::from_tokens(&en.emb.tokens, 0.0, 1.0);
        println!("en gate on zh train: {}", q(&g, &zh, "zh"));
        if let Some(d) = &dev {
            println!("en gate on dev en: {}", q(&g, d, "en"));
            println!("en gate on dev zh: {}", q(&g, d, "zh"));
        }
        let g = nlu::classifier::head::TokenGate::from_tokens(&zh.emb.tokens, 0.0, 1.0);
        println!("zh gate on en train: {}", q(&g, &en, "en"));
        if let Some(d) = &dev {
            println!("zh gate on dev zh: {}", q(&g, d, "zh"));
        }
        return Ok(());
    }
    if std::env::var("OOF").is_ok() {
        // manual 5-fold over both languages: each fold's model (with its own calibration)
        // scores the fifth it did not see; prints the misses by confusion pair
        let n = both.texts.len();
        let mut pairs: std::collections::BTreeMap<(String, String), Vec<String>> =
            Default::default();
        for f in 0..5 {
            let train_idx: Vec<usize> = (0..n).filter(|i| i % 5 != f).collect();
            let test_idx: Vec<usize> = (0..n).filter(|i| i % 5 == f).collect();
            let pick = |idx: &[usize]| Set {
                name: String::new(),
                texts: idx.iter().map(|&i| both.texts[i].clone()).collect(),
                labels: idx.iter().map(|&i| both.labels[i].clone()).collect(),
                lang: idx.iter().map(|&i| both.lang[i].clone()).collect(),
                written: idx.iter().map(|&i| both.written[i]).collect(),
                emb: Embedded {
                    embeddings: both.emb.embeddings.select(ndarray::Axis(0), idx),
                    sentence_dim: both.emb.sentence_dim,
                    pooled_layer: both.emb.pooled_layer,
                    tokens: idx.iter().map(|&i| both.emb.tokens[i].clone()).collect(),
                    early: None,
                },
            };
            let tr = pick(&train_idx);
            let te = pick(&test_idx);
            let o = TrainOptions {
                progress: false,
                ..Default::default()
            };
            let m = fit(&tr, &names, &o)?;
            let oos = m.labels.iter().position(|l| l == "out_of_scope");
            for i in 0..te.texts.len() {
                let emb = te.emb.embeddings.row(i).to_vec();
                let p = m.head.probabilities(&emb, &te.emb.tokens[i]);
                let d = decide_labels(&p, oos, m.thresholds);
                let got = match (d.outcome, d.label) {
                    (Outcome::OutOfScope, _) | (_, None) => "out_of_scope".to_string(),
                    (_, Some(k)) => m.labels[k].clone(),
                };
                if got != te.labels[i] {
                    pairs
                        .entry((te.labels[i].clone(), got))
                        .or_default()
                        .push(format!("[{}] {}", te.lang[i], te.texts[i]));
                }
            }
        }
        let mut v: Vec<_> = pairs.into_iter().collect();
        v.sort_by_key(|(_, t)| std::cmp::Reverse(t.len()));
        for ((a, b), t) in v {
            println!("{a} -> {b}: {}", t.len());
            for x in t {
                println!("    {x}");
            }
        }
        return Ok(());
    }
    if std::env::var("CENTROID").is_ok() {
        println!(
            "centroid en->zh {:.3}, zh->en {:.3}, both->dev {:.3}",
            centroid_accuracy(&en.emb, &en.labels, &zh.emb, &zh.labels, &names),
            centroid_accuracy(&zh.emb, &zh.labels, &en.emb, &en.labels, &names),
            dev.as_ref().map_or(0.0, |d| centroid_accuracy(
                &both.emb,
                &both.labels,
                &d.emb,
                &d.labels,
                &names
            )),
        );
    }
    for cfg in &args {
        let parts: Vec<&str> = cfg.split(':').collect();
        let mut o = TrainOptions {
            progress: false,
            ..Default::default()
        };
        o.head = parts[0].parse::<HeadKind>().map_err(anyhow::Error::msg)?;
        let num = |i: usize, d: f32| parts.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
        o.l2 = num(1, o.l2);
        o.dense_l2 = num(2, o.dense_l2);
        o.gate_low = num(3, o.gate_low);
        o.gate_high = num(4, o.gate_high);
        println!("== {cfg}");
        let m = fit(&en_train, &names, &o)?;
        println!("  en-only -> {}", score(&m, &zh, show));
        if std::env::var("SHIFT").is_ok() {
            let mean = |e: &Embedded| e.embeddings.mean_axis(ndarray::Axis(0)).expect("rows");
            let delta = mean(&zh.emb) - mean(&en.emb);
            let mut shifted = Set {
                name: "zh-shifted".into(),
                texts: zh.texts.clone(),
                labels: zh.labels.clone(),
                lang: zh.lang.clone(),
                written: zh.written.clone(),
                emb: zh.emb.clone(),
            };
            for mut r in shifted.emb.embeddings.outer_iter_mut() {
                r -= &delta;
                let n = r.dot(&r).sqrt().max(1e-9);
                r /= n;
            }
            println!("  en-only -> shifted {}", score(&m, &shifted, 0));
            // project the language direction out of every embedding, train and score again
            let u = &delta / delta.dot(&delta).sqrt();
            let project = |set: &Set| {
                let mut e = set.emb.clone();
                for mut r in e.embeddings.outer_iter_mut() {
                    let c = r.dot(&u);
                    r.scaled_add(-c, &u);
                }
                Set {
                    name: set.name.clone(),
                    texts: set.texts.clone(),
                    labels: set.labels.clone(),
                    lang: set.lang.clone(),
                    written: set.written.clone(),
                    emb: e,
                }
            };
            let (en_p, zh_p) = (project(&en), project(&zh));
            let m = fit(&en_p, &names, &o)?;
            println!("  en-only projected -> {}", score(&m, &zh_p, 0));
            if let Some(d) = &dev {
                println!("  en-only projected -> dev {}", score(&m, &project(d), 0));
            }
        }
        if let Some(d) = &dev {
            println!("  en-only -> dev {}", score(&m, d, show));
        }
        let translate_test: Option<f32> = std::env::var("TRANSLATE_TEST")
            .ok()
            .and_then(|v| v.parse().ok());
        // translate-test: the other language's texts, and the dev file, in the training one
        let translated = |who: &str, m: &train::TrainedModel, other: &Set, to: nlu::Lang| {
            let Some(w) = translate_test else {
                return Ok::<_, anyhow::Error>(());
            };
            for set in std::iter::once(other).chain(dev.as_ref()) {
                let t = translate_set(&encoder, set, to)?;
                let s = score_mixed(m, set, 0, Some((&t, w)));
                println!("  {who} -> {}, translate-test {w}: {s}", set.name);
            }
            Ok(())
        };
        translated("en-only", &m, &zh, nlu::Lang::En)?;
        let m = fit(&zh_train, &names, &o)?;
        println!("  zh-only -> {}", score(&m, &en, show));
        if let Some(d) = &dev {
            println!("  zh-only -> dev {}", score(&m, d, show));
        }
        translated("zh-only", &m, &en, nlu::Lang::Zh)?;
        let m = fit(&both, &names, &o)?;
        let s = &m.summary;
        println!(
            "  both: oof accuracy {:.1}%, in-scope rejected {:.1}%, oos recall {:.1}%, T {:.2}, fallback {:.3}",
            100.0 * s.oof_accuracy,
            100.0 * s.oof_in_scope_rejected,
            100.0 * s.oof_out_of_scope_recall,
            m.head.temperature,
            m.thresholds.fallback
        );
        if let Some(d) = &dev {
            println!("  both -> dev {}", score(&m, d, show));
        }
    }
    Ok(())
}

/// Argmax accuracy of a nearest-centroid classifier (cosine to each class's mean embedding)
/// trained on `train` and scored on `test`, per language.
#[allow(dead_code)]
pub fn centroid_accuracy(
    train: &Embedded,
    train_labels: &[String],
    test: &Embedded,
    test_labels: &[String],
    names: &[String],
) -> f32 {
    let dim = train.embeddings.ncols();
    let mut c = ndarray::Array2::<f32>::zeros((names.len(), dim));
    for (row, l) in train.embeddings.outer_iter().zip(train_labels) {
        let k = names.iter().position(|n| n == l).unwrap_or(0);
        let mut r = c.row_mut(k);
        r += &row;
    }
    for mut r in c.outer_iter_mut() {
        let n = r.dot(&r).sqrt().max(1e-9);
        r /= n;
    }
    let scores = test.embeddings.dot(&c.t());
    let mut right = 0;
    for (row, l) in scores.outer_iter().zip(test_labels) {
        let top = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|x| x.0)
            .unwrap_or(0);
        if &names[top] == l {
            right += 1;
        }
    }
    right as f32 / test_labels.len().max(1) as f32
}
