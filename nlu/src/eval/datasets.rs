//! Readers for public intent-classification benchmarks, in the layouts they are published in:
//!
//! - **CLINC150** (Larson et al., 2019): `data_full.json`, an object whose keys `train`,
//!   `val`, `test`, `oos_train`, `oos_val`, `oos_test` each hold a list of `[text, intent]`
//!   pairs; out-of-scope queries carry the intent `oos`.
//! - **SNIPS** in the Joint-BERT / Slot-Gated split (Goo et al., 2018): directories `train/`,
//!   `dev/`, `test/`, each with `seq.in` (one utterance a line), `label` (its intent) and,
//!   when present, `seq.out` (a BIO slot tag per word), read into [`Labeled::slots`].
//! - **Banking77** (Casanueva et al., 2020): `train.csv` and `test.csv` with the header
//!   `text,category`. It has no validation split; [`Splits::val`] is empty, and training
//!   calibrates on out-of-fold predictions instead.
//!
//! Every reader returns [`Splits`] of labeled texts. Out-of-scope items are labeled
//! [`OUT_OF_SCOPE`], the label the trainer and [`crate::parser::decide_labels`] treat as the
//! out-of-scope class. Malformed input is an [`NluError::Dataset`] naming the file and line.

use crate::error::{NluError, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The label of out-of-scope items (CLINC150's `oos`).
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// One text with its gold label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labeled {
    pub text: String,
    pub label: String,
    /// Gold entity spans (slots), for datasets that have them.
    pub slots: Vec<Slot>,
}

/// A gold or predicted entity span: its type and character range (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    pub entity: String,
    pub start: usize,
    pub end: usize,
}

impl Labeled {
    fn new(text: impl Into<String>, label: impl Into<String>) -> Self {
        Labeled {
            text: text.into(),
            label: label.into(),
            slots: Vec::new(),
        }
    }
}

/// The slots of a whitespace-tokenized text from one BIO tag per word (`B-x`, `I-x`, `O`),
/// as character spans of `text`; an `I-x` that follows no `x` starts a span, as conlleval
/// reads it.
pub fn bio_slots(text: &str, tags: &[&str]) -> std::result::Result<Vec<Slot>, String> {
    let mut words = Vec::new();
    let mut pos = 0;
    let mut start = None;
    for (i, c) in text.chars().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
        pos = i + 1;
    }
    if let Some(s) = start {
        words.push((s, pos));
    }
    if words.len() != tags.len() {
        return Err(format!(
            "{} words but {} slot tags",
            words.len(),
            tags.len()
        ));
    }
    let mut slots: Vec<Slot> = Vec::new();
    let mut open = false;
    for (&(s, e), tag) in words.iter().zip(tags) {
        let (prefix, kind) = match tag.split_once('-') {
            Some((p, k)) if (p == "B" || p == "I") && !k.is_empty() => (p, k),
            _ if *tag == "O" => {
                open = false;
                continue;
            }
            _ => return Err(format!("`{tag}` is not a BIO tag")),
        };
        let continues = prefix == "I" && open && slots.last().is_some_and(|l| l.entity == kind);
        if continues {
            if let Some(l) = slots.last_mut() {
                l.end = e;
            }
        } else {
            slots.push(Slot {
                entity: kind.to_string(),
                start: s,
                end: e,
            });
        }
        open = true;
    }
    Ok(slots)
}

/// The standard splits of a dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Splits {
    pub train: Vec<Labeled>,
    /// Validation split, for calibration and thresholds; empty when the dataset has none.
    pub val: Vec<Labeled>,
    pub test: Vec<Labeled>,
}

impl Splits {
    /// The distinct labels of the training split, sorted, with [`OUT_OF_SCOPE`] last if present.
    pub fn train_labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = self.train.iter().map(|e| e.label.clone()).collect();
        labels.sort_by(|a, b| (a == OUT_OF_SCOPE, a).cmp(&(b == OUT_OF_SCOPE, b)));
        labels.dedup();
        labels
    }

    /// Every text of the train, validation and test splits, in that order.
    pub fn texts(&self) -> Vec<String> {
        self.train
            .iter()
            .chain(&self.val)
            .chain(&self.test)
            .map(|e| e.text.clone())
            .collect()
    }
}

/// A public benchmark this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    Clinc150,
    Snips,
    Banking77,
}

impl Dataset {
    pub const ALL: [Dataset; 3] = [Dataset::Clinc150, Dataset::Snips, Dataset::Banking77];

    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Clinc150 => "clinc150",
            Dataset::Snips => "snips",
            Dataset::Banking77 => "banking77",
        }
    }

    /// The folder name under the vendored `datasets/`.
    pub fn default_folder(self) -> &'static str {
        match self {
            Dataset::Clinc150 => "clinc150",
            Dataset::Snips => "snips_jointbert",
            Dataset::Banking77 => "banking77",
        }
    }

    /// Reads the dataset from its folder (for CLINC150, the folder holding `data_full.json`
    /// or the file itself).
    pub fn read(self, path: &Path, oos: OosMode) -> Result<Splits> {
        match self {
            Dataset::Clinc150 => {
                let file = if path.is_dir() {
                    path.join("data_full.json")
                } else {
                    path.to_path_buf()
                };
                read_clinc150(&file, oos)
            }
            Dataset::Snips => read_snips(path),
            Dataset::Banking77 => read_banking77(path),
        }
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dataset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "clinc150" | "clinc" => Ok(Dataset::Clinc150),
            "snips" => Ok(Dataset::Snips),
            "banking77" | "banking" => Ok(Dataset::Banking77),
            _ => Err(format!(
                "unknown dataset `{s}`; expected clinc150, snips or banking77"
            )),
        }
    }
}

/// How CLINC150's out-of-scope queries are used for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OosMode {
    /// `oos_train` is a 151st class (Larson et al.'s "oos-train").
    Class,
    /// Train on the 150 in-scope intents only and reject by a confidence threshold chosen
    /// on the validation split ("oos-threshold").
    Threshold,
}

impl OosMode {
    pub fn as_str(self) -> &'static str {
        match self {
            OosMode::Class => "class",
            OosMode::Threshold => "threshold",
        }
    }
}

impl std::fmt::Display for OosMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OosMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "class" => Ok(OosMode::Class),
            "threshold" => Ok(OosMode::Threshold),
            _ => Err(format!(
                "unknown out-of-scope mode `{s}`; expected class or threshold"
            )),
        }
    }
}

fn error(path: &Path, line: Option<usize>, reason: impl Into<String>) -> NluError {
    NluError::Dataset {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| NluError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        error(path, Some(line), "not valid UTF-8")
    })
}

/// Reads CLINC150's `data_full.json` (or another variant with the same keys).
///
/// `OosMode::Class`: train = `train` + `oos_train`, val = `val` + `oos_val`.
/// `OosMode::Threshold`: train = `train` only, val = `val` + `oos_val` (the out-of-scope
/// validation queries serve to choose the threshold). Test is `test` + `oos_test` in both.
pub fn read_clinc150(path: &Path, mode: OosMode) -> Result<Splits> {
    #[derive(Deserialize)]
    struct Raw {
        train: Vec<(String, String)>,
        val: Vec<(String, String)>,
        test: Vec<(String, String)>,
        oos_train: Vec<(String, String)>,
        oos_val: Vec<(String, String)>,
        oos_test: Vec<(String, String)>,
    }
    let text = read_text(path)?;
    let raw: Raw = serde_json::from_str(&text).map_err(|e| {
        error(
            path,
            Some(e.line()),
            format!("{e} (expected an object of [text, intent] lists)"),
        )
    })?;
    let convert = |items: Vec<(String, String)>, key: &str, oos: bool| -> Result<Vec<Labeled>> {
        items
            .into_iter()
            .enumerate()
            .map(|(i, (text, label))| {
                if text.trim().is_empty() || label.trim().is_empty() {
                    return Err(error(
                        path,
                        None,
                        format!("`{key}` item {i} has an empty text or intent"),
                    ));
                }
                if (label == "oos") != oos {
                    return Err(error(
                        path,
                        None,
                        format!("`{key}` item {i} has intent `{label}`"),
                    ));
                }
                let label = if oos { OUT_OF_SCOPE.to_string() } else { label };
                Ok(Labeled {
                    text,
                    label,
                    slots: Vec::new(),
                })
            })
            .collect()
    };
    let mut train = convert(raw.train, "train", false)?;
    let mut val = convert(raw.val, "val", false)?;
    let mut test = convert(raw.test, "test", false)?;
    if mode == OosMode::Class {
        train.extend(convert(raw.oos_train, "oos_train", true)?);
    }
    val.extend(convert(raw.oos_val, "oos_val", true)?);
    test.extend(convert(raw.oos_test, "oos_test", true)?);
    Ok(Splits { train, val, test })
}

/// Reads one SNIPS split directory (`seq.in` and `label`, line by line).
fn read_snips_split(dir: &Path) -> Result<Vec<Labeled>> {
    let texts_path = dir.join("seq.in");
    let labels_path = dir.join("label");
    let texts = read_text(&texts_path)?;
    let labels = read_text(&labels_path)?;
    let texts: Vec<&str> = texts.lines().collect();
    let labels: Vec<&str> = labels.lines().collect();
    // slot tags are optional
    let tags_path = dir.join("seq.out");
    let tags_text = if tags_path.is_file() {
        Some(read_text(&tags_path)?)
    } else {
        None
    };
    let tags: Option<Vec<&str>> = tags_text.as_deref().map(|t| t.lines().collect());
    if let Some(tags) = &tags {
        if tags.len() != texts.len() {
            return Err(error(
                &tags_path,
                Some(tags.len().min(texts.len()) + 1),
                format!(
                    "seq.in has {} lines but seq.out has {}",
                    texts.len(),
                    tags.len()
                ),
            ));
        }
    }
    if texts.len() != labels.len() {
        let line = texts.len().min(labels.len()) + 1;
        let shorter = if texts.len() < labels.len() {
            &texts_path
        } else {
            &labels_path
        };
        return Err(error(
            shorter,
            Some(line),
            format!(
                "seq.in has {} lines but label has {}",
                texts.len(),
                labels.len()
            ),
        ));
    }
    texts
        .iter()
        .zip(&labels)
        .enumerate()
        .map(|(i, (t, l))| {
            let (t, l) = (t.trim(), l.trim());
            if t.is_empty() {
                return Err(error(&texts_path, Some(i + 1), "empty utterance"));
            }
            if l.is_empty() || l.contains(char::is_whitespace) {
                return Err(error(
                    &labels_path,
                    Some(i + 1),
                    format!("`{l}` is not an intent label"),
                ));
            }
            let mut item = Labeled::new(t, l);
            if let Some(tags) = &tags {
                let line = tags.get(i).copied().unwrap_or("");
                let words: Vec<&str> = line.split_whitespace().collect();
                item.slots = bio_slots(t, &words)
                    .map_err(|reason| error(&tags_path, Some(i + 1), reason))?;
            }
            Ok(item)
        })
        .collect()
}

/// Reads SNIPS in the Joint-BERT layout: `train/`, `dev/` (validation) and `test/`.
pub fn read_snips(dir: &Path) -> Result<Splits> {
    Ok(Splits {
        train: read_snips_split(&dir.join("train"))?,
        val: read_snips_split(&dir.join("dev"))?,
        test: read_snips_split(&dir.join("test"))?,
    })
}

/// Parses CSV text (RFC 4180: quoted fields, `""` escapes, quoted line breaks) into records,
/// each with the line it starts on.
fn parse_csv(path: &Path, text: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut in_quotes = false;
    let mut quoted = false; // the current field was quoted
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                in_quotes = true;
                quoted = true;
                at_field_start = false;
            }
            '"' => return Err(error(path, Some(line), "a quote inside an unquoted field")),
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
                quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                if !(fields.len() == 1 && fields[0].is_empty() && !quoted) {
                    records.push((start_line, std::mem::take(&mut fields)));
                }
                fields.clear();
                line += 1;
                start_line = line;
                at_field_start = true;
                quoted = false;
            }
            _ => {
                if quoted {
                    return Err(error(
                        path,
                        Some(line),
                        "text after the closing quote of a field",
                    ));
                }
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if in_quotes {
        return Err(error(path, Some(start_line), "unterminated quoted field"));
    }
    if !field.is_empty() || !fields.is_empty() || quoted {
        fields.push(field);
        records.push((start_line, fields));
    }
    Ok(records)
}

/// Reads one Banking77 CSV (`text,category`).
fn read_banking77_csv(path: &Path) -> Result<Vec<Labeled>> {
    let text = read_text(path)?;
    let records = parse_csv(path, text.strip_prefix('\u{feff}').unwrap_or(&text))?;
    let mut iter = records.into_iter();
    match iter.next() {
        Some((_, header)) if header == ["text", "category"] => {}
        Some((line, header)) => {
            return Err(error(
                path,
                Some(line),
                format!("header is {header:?}, expected [\"text\", \"category\"]"),
            ))
        }
        None => return Err(error(path, None, "empty file")),
    }
    iter.map(|(line, fields)| match fields.as_slice() {
        [t, c] if !t.trim().is_empty() && !c.trim().is_empty() => {
            Ok(Labeled::new(t.trim(), c.trim()))
        }
        [_, _] => Err(error(path, Some(line), "empty text or category")),
        _ => Err(error(
            path,
            Some(line),
            format!("{} fields, expected 2 (text,category)", fields.len()),
        )),
    })
    .collect()
}

/// Reads Banking77's `train.csv` and `test.csv` from `dir`. There is no validation split.
pub fn read_banking77(dir: &Path) -> Result<Splits> {
    Ok(Splits {
        train: read_banking77_csv(&dir.join("train.csv"))?,
        val: Vec::new(),
        test: read_banking77_csv(&dir.join("test.csv"))?,
    })
}

/// The repository's vendored `datasets/` folder (the one holding `clinc150/`, `snips_jointbert/`
/// and `banking77/`), found from the current directory or this crate's sources;
/// `$NLU_DATASETS` overrides.
pub fn default_datasets_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NLU_DATASETS") {
        return Some(PathBuf::from(p));
    }
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
        .iter()
        .flat_map(|r| r.ancestors())
        .map(|d| d.join("datasets"))
        .find(|p| p.join("clinc150").is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }

    const CLINC: &str = r#"{
  "train": [["what is my balance", "balance"], ["play a song", "play_music"]],
  "val": [["balance please", "balance"]],
  "test": [["how much money do i have", "balance"]],
  "oos_train": [["how tall is everest", "oos"]],
  "oos_val": [["who won the game", "oos"]],
  "oos_test": [["what is love", "oos"], ["tell me a secret", "oos"]]
}"#;

    #[test]
    fn clinc150_both_modes() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "data_full.json", CLINC.as_bytes());
        let s = read_clinc150(&p, OosMode::Class).unwrap();
        assert_eq!(s.train.len(), 3);
        assert_eq!(
            s.train[2],
            Labeled::new("how tall is everest", OUT_OF_SCOPE)
        );
        assert_eq!(s.val.len(), 2);
        assert_eq!(s.test.len(), 3);
        assert_eq!(s.train_labels(), ["balance", "play_music", OUT_OF_SCOPE]);
        let s = Dataset::Clinc150
            .read(dir.path(), OosMode::Threshold)
            .unwrap();
        assert_eq!(s.train.len(), 2);
        assert_eq!(s.train_labels(), ["balance", "play_music"]);
        assert_eq!(s.val.last().unwrap().label, OUT_OF_SCOPE);
        assert_eq!(s.test.len(), 3);
    }

    #[test]
    fn clinc150_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let bad = CLINC.replace(r#"["play a song", "play_music"]"#, r#"["play a song"]"#);
        let p = write(dir.path(), "data_full.json", bad.as_bytes());
        let e = read_clinc150(&p, OosMode::Class).unwrap_err().to_string();
        assert!(e.contains("data_full.json:2:"), "{e}");
        let bad = CLINC.replace(r#""oos_test""#, r#""oos_tests""#);
        let p = write(dir.path(), "data_full.json", bad.as_bytes());
        let e = read_clinc150(&p, OosMode::Class).unwrap_err().to_string();
        assert!(e.contains("oos_test"), "{e}");
        let bad = CLINC.replace(
            r#"["who won the game", "oos"]"#,
            r#"["who won the game", "sports"]"#,
        );
        let p = write(dir.path(), "data_full.json", bad.as_bytes());
        let e = read_clinc150(&p, OosMode::Class).unwrap_err().to_string();
        assert!(e.contains("oos_val") && e.contains("sports"), "{e}");
        let e = read_clinc150(&dir.path().join("missing.json"), OosMode::Class)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.json"), "{e}");
    }

    #[test]
    fn snips_splits_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        for split in ["train", "dev", "test"] {
            write(
                dir.path(),
                &format!("{split}/seq.in"),
                b"play some jazz\nwill it rain tomorrow  \n",
            );
            write(
                dir.path(),
                &format!("{split}/label"),
                b"PlayMusic\nGetWeather\n",
            );
        }
        let s = read_snips(dir.path()).unwrap();
        assert_eq!(s.train.len(), 2);
        assert!(s.train[0].slots.is_empty(), "no seq.out: no slots");
        assert_eq!(
            s.val[1],
            Labeled::new("will it rain tomorrow", "GetWeather")
        );
        assert_eq!(s.train_labels(), ["GetWeather", "PlayMusic"]);

        write(dir.path(), "dev/label", b"PlayMusic\n");
        let e = read_snips(dir.path()).unwrap_err().to_string();
        assert!(e.contains("dev/label:2:") && e.contains("2 lines"), "{e}");
        write(dir.path(), "dev/label", b"PlayMusic\nGet Weather\n");
        let e = read_snips(dir.path()).unwrap_err().to_string();
        assert!(e.contains("dev/label:2:"), "{e}");
        write(dir.path(), "dev/label", b"PlayMusic\nGetWeather\n");
        // slot tags, checked against the words
        write(
            dir.path(),
            "dev/seq.out",
            b"O O B-genre\nO O O B-timeRange I-timeRange\n",
        );
        let e = read_snips(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("dev/seq.out:2:") && e.contains("4 words but 5"),
            "{e}"
        );
        write(
            dir.path(),
            "dev/seq.out",
            b"O O B-genre\nO O O B-timeRange\n",
        );
        let s = read_snips(dir.path()).unwrap();
        let slot = |entity: &str, start, end| Slot {
            entity: entity.into(),
            start,
            end,
        };
        assert_eq!(s.val[0].slots, vec![slot("genre", 10, 14)]);
        assert_eq!(s.val[1].slots, vec![slot("timeRange", 13, 21)]);
        write(
            dir.path(),
            "dev/seq.out",
            b"O O X-genre\nO O O B-timeRange\n",
        );
        let e = read_snips(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("dev/seq.out:1:") && e.contains("not a BIO tag"),
            "{e}"
        );
        std::fs::remove_file(dir.path().join("dev/seq.out")).unwrap();
        write(dir.path(), "test/seq.in", b"play\n\xff\n");
        let e = read_snips(dir.path()).unwrap_err().to_string();
        assert!(e.contains("test/seq.in:2:") && e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn banking77_csv_quotes_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "train.csv",
            b"text,category\nI am still waiting on my card?,card_arrival\n\"Is it lost, or \"\"late\"\"?\",card_arrival\r\n\"two\nlines\",card_linking\n",
        );
        write(
            dir.path(),
            "test.csv",
            b"text,category\nwhere is my card,card_arrival",
        );
        let s = read_banking77(dir.path()).unwrap();
        assert_eq!(s.train.len(), 3);
        assert_eq!(s.train[1].text, "Is it lost, or \"late\"?");
        assert_eq!(s.train[2], Labeled::new("two\nlines", "card_linking"));
        assert!(s.val.is_empty());
        assert_eq!(
            s.test,
            vec![Labeled::new("where is my card", "card_arrival")]
        );

        write(
            dir.path(),
            "test.csv",
            b"text,category\nfine,card_arrival\nno label here\n",
        );
        let e = read_banking77(dir.path()).unwrap_err().to_string();
        assert!(e.contains("test.csv:3:") && e.contains("1 fields"), "{e}");
        write(dir.path(), "test.csv", b"text,category\n\"open quote,x\n");
        let e = read_banking77(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("test.csv:2:") && e.contains("unterminated"),
            "{e}"
        );
        write(dir.path(), "test.csv", b"utterance,intent\na,b\n");
        let e = read_banking77(dir.path()).unwrap_err().to_string();
        assert!(e.contains("test.csv:1:") && e.contains("header"), "{e}");
        write(dir.path(), "test.csv", b"text,category\na b\"c,x\n");
        let e = read_banking77(dir.path()).unwrap_err().to_string();
        assert!(e.contains("test.csv:2:"), "{e}");
    }

    #[test]
    fn names_parse() {
        assert_eq!("snips".parse::<Dataset>().unwrap(), Dataset::Snips);
        assert!("imdb".parse::<Dataset>().is_err());
        assert_eq!("threshold".parse::<OosMode>().unwrap(), OosMode::Threshold);
    }
}
