//! Word-by-word translation of training examples into a language an intent has (almost) no
//! examples in, so that an intent written in English is understood in Chinese and the other
//! way round.
//!
//! The multilingual encoder carries some of an intent across languages by itself, but its
//! alignment of short operator phrases is loose: trained on English only, the ChatOps head
//! scored 71% on the Chinese training examples. A dictionary translation of each example as
//! well ("cancel run 4812" → "取消跑 4812"), as code-switching augmentation does for
//! cross-lingual transfer, shows the model the other language's words for the intent. The
//! translations are crude (one sense per word, English word order), so they are used
//! sparingly:
//! - only for intents that lack a language ([`missing_languages`]): an intent with examples
//!   in both keeps exactly its examples, and so does the ChatOps model;
//! - they train the dense-only model alone, the one that reads the sentence embedding and
//!   scores texts whose words the training data does not hold
//!   ([`crate::train::fit_head_translated`]); the n-gram models, the calibration and the
//!   thresholds stay those of the examples as written, so in-language accuracy is unchanged.
//!
//! Measured on data that was not tuned on is in `models/lexicon-en-zh/MODEL_CARD.md`.
//!
//! The lexicon (`models/lexicon-en-zh`, built from CC-CEDICT and jieba's word frequencies by
//! `scripts/lexicon/build.sh`) has one translation per English word or phrase of up to three
//! words, and one per Chinese word; an empty translation drops the word (articles, particles).
//! English is translated phrase by phrase, longest first, with plurals and verb forms looked
//! up by their stem; Chinese is segmented by longest match against the lexicon. Text the
//! lexicon does not hold (identifiers, numbers, names) is copied as it is. Annotated entities
//! are translated like the rest: a job written "backup" in English is "备份" in Chinese, and
//! identifiers (`backup-database`, `db-01`, `#4812`) stay as they are anyway. (Keeping the
//! annotated spans in English cost 5 points of the transfer to Chinese: 73.3% against 78.5%.)
//!
//! ```
//! use nlu::train::translate::Lexicon;
//! use nlu::Lang;
//! let lexicon = Lexicon::from_tsv("cancel\t取消\nrun\t跑\nthe\t\n", "取消\tcancel\n任务\ttask\n")?;
//! assert_eq!(lexicon.translate("cancel the run 4812", Lang::Zh), "取消跑 4812");
//! assert_eq!(lexicon.translate("取消任务 4812", Lang::En), "cancel task 4812");
//! # Ok::<(), nlu::NluError>(())
//! ```

use crate::error::{NluError, Result};
use crate::lang::{is_han, Lang};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The lexicon's directory name, beside the encoder's in `models/`.
pub const LEXICON_DIR: &str = "lexicon-en-zh";

/// The longest English phrase the lexicon holds, in words.
const MAX_PHRASE_WORDS: usize = 3;

/// An intent is translated into a language when that language has fewer than this share of
/// the intent's examples in the other.
pub const TRANSLATE_BELOW_SHARE: f32 = 0.2;

/// A word-level English-Chinese lexicon.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    en_zh: HashMap<String, String>,
    zh_en: HashMap<String, String>,
    /// The longest Chinese key, in characters.
    longest_zh: usize,
}

/// One piece of a text to translate: a word to look up, or text to copy.
#[derive(Debug, Clone, PartialEq)]
enum Piece<'a> {
    Word(&'a str),
    Copy(&'a str),
}

impl Lexicon {
    /// Reads `en-zh.tsv` and `zh-en.tsv` from a lexicon directory.
    pub fn load(dir: &Path) -> Result<Lexicon> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| NluError::TrainingData {
                path: path.clone(),
                line: None,
                reason: format!(
                    "cannot read the translation lexicon: {e} (rebuild it with \
                     scripts/lexicon/build.sh, or set `translate = false` in nlu.toml)"
                ),
            })
        };
        Self::from_tsv(&read("en-zh.tsv")?, &read("zh-en.tsv")?).map_err(|e| match e {
            NluError::TrainingData { path, line, reason } => NluError::TrainingData {
                path: dir.join(path),
                line,
                reason,
            },
            e => e,
        })
    }

    /// The lexicon beside an encoder directory (`models/lexicon-en-zh` for
    /// `models/multilingual-e5-small`), if it is there.
    pub fn beside_encoder(encoder_dir: &Path) -> Option<PathBuf> {
        let dir = encoder_dir.parent()?.join(LEXICON_DIR);
        dir.join("en-zh.tsv").is_file().then_some(dir)
    }

    /// A lexicon from the text of its two files: `source<TAB>translation` lines.
    pub fn from_tsv(en_zh: &str, zh_en: &str) -> Result<Lexicon> {
        fn parse(text: &str, file: &str) -> Result<HashMap<String, String>> {
            let mut map = HashMap::new();
            for (i, line) in text.lines().enumerate() {
                if line.is_empty() {
                    continue;
                }
                let (key, value) = line
                    .split_once('\t')
                    .ok_or_else(|| NluError::TrainingData {
                        path: PathBuf::from(file),
                        line: Some(i + 1),
                        reason: "expected `source<TAB>translation`".into(),
                    })?;
                map.insert(key.to_lowercase(), value.trim().to_string());
            }
            Ok(map)
        }
        let zh_en = parse(zh_en, "zh-en.tsv")?;
        let longest_zh = zh_en.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        Ok(Lexicon {
            en_zh: parse(en_zh, "en-zh.tsv")?,
            zh_en,
            longest_zh,
        })
    }

    /// `text` translated word by word into `to`. A text already in `to` comes back as it is.
    pub fn translate(&self, text: &str, to: Lang) -> String {
        let mut pieces = Vec::new();
        split_words(text, &mut pieces);
        let mut out: Vec<&str> = Vec::with_capacity(pieces.len());
        match to {
            Lang::Zh => {
                let mut i = 0;
                while i < pieces.len() {
                    let (found, used) = self.english_phrase(&pieces[i..]);
                    match found {
                        Some(t) => {
                            out.push(t);
                            i += used;
                        }
                        None => {
                            out.push(piece_text(&pieces[i]));
                            i += 1;
                        }
                    }
                }
            }
            Lang::En => {
                for p in &pieces {
                    match p {
                        Piece::Copy(t) => out.push(t),
                        Piece::Word(w) => self.chinese_words(w, &mut out),
                    }
                }
            }
        }
        join(&out)
    }

    /// The translation of the longest English phrase at the start of `pieces`, and how many
    /// pieces it spans.
    fn english_phrase<'s>(&'s self, pieces: &[Piece]) -> (Option<&'s str>, usize) {
        let words: Vec<&str> = pieces
            .iter()
            .take(MAX_PHRASE_WORDS)
            .map_while(|p| match p {
                Piece::Word(w) if !w.chars().any(is_han) => Some(*w),
                _ => None,
            })
            .collect();
        for n in (1..=words.len()).rev() {
            let phrase = words[..n].join(" ").to_lowercase();
            let found = if n == 1 {
                stems(&phrase).find_map(|s| self.en_zh.get(&s))
            } else {
                self.en_zh.get(&phrase)
            };
            if let Some(t) = found {
                return (Some(t.as_str()), n);
            }
        }
        (None, 1)
    }

    /// Translations of the Chinese words of `run`, segmented by longest match; characters
    /// outside the lexicon, and non-Chinese text, are copied.
    fn chinese_words<'s>(&'s self, run: &'s str, out: &mut Vec<&'s str>) {
        let chars: Vec<(usize, char)> = run.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let start = chars[i].0;
            let byte_at = |j: usize| chars.get(j).map_or(run.len(), |c| c.0);
            if !is_han(chars[i].1) {
                let mut j = i + 1;
                while j < chars.len() && !is_han(chars[j].1) {
                    j += 1;
                }
                out.push(run[start..byte_at(j)].trim());
                i = j;
                continue;
            }
            let longest = (1..=self.longest_zh.min(chars.len() - i))
                .rev()
                .find_map(|n| {
                    let end = byte_at(i + n);
                    let word = &run[start..end];
                    let all_han = chars[i..i + n].iter().all(|c| is_han(c.1));
                    all_han
                        .then(|| self.zh_en.get(word))
                        .flatten()
                        .map(|t| (t.as_str(), n))
                });
            match longest {
                Some((t, n)) => {
                    out.push(t);
                    i += n;
                }
                None => {
                    out.push(&run[start..byte_at(i + 1)]);
                    i += 1;
                }
            }
        }
    }
}

fn piece_text<'a>(p: &Piece<'a>) -> &'a str {
    match p {
        Piece::Word(w) | Piece::Copy(w) => w,
    }
}

/// Splits `text` into words (runs of letters and apostrophes, or of Chinese characters) and
/// text to copy: identifiers and numbers (`db-01`, `#4812`, `2.4.1`) and punctuation.
fn split_words<'a>(text: &'a str, out: &mut Vec<Piece<'a>>) {
    for chunk in text.split_whitespace() {
        // leading and trailing punctuation apart from the word
        let core_start = chunk
            .char_indices()
            .find(|&(_, c)| c.is_alphanumeric())
            .map_or(chunk.len(), |(i, _)| i);
        let core_end = chunk
            .char_indices()
            .rev()
            .find(|&(_, c)| c.is_alphanumeric())
            .map_or(core_start, |(i, c)| i + c.len_utf8());
        if core_start > 0 {
            out.push(Piece::Copy(&chunk[..core_start]));
        }
        let core = &chunk[core_start..core_end];
        if !core.is_empty() {
            split_core(core, out);
        }
        if core_end < chunk.len() && core_end >= core_start {
            out.push(Piece::Copy(&chunk[core_end..]));
        }
    }
}

/// A whitespace-free core: Chinese runs and Latin words are words, anything with digits or
/// joiners (`db-01`, `api.example.com`) is copied; Chinese and Latin are split apart
/// ("跑backup" → "跑", "backup").
fn split_core<'a>(core: &'a str, out: &mut Vec<Piece<'a>>) {
    let mut start = 0;
    let mut han = None;
    for (i, c) in core.char_indices() {
        let h = is_han(c);
        if han.is_some_and(|prev| prev != h) {
            push_part(&core[start..i], han == Some(true), out);
            start = i;
        }
        han = Some(h);
    }
    push_part(&core[start..], han == Some(true), out);
}

fn push_part<'a>(part: &'a str, han: bool, out: &mut Vec<Piece<'a>>) {
    if part.is_empty() {
        return;
    }
    let word = han || part.chars().all(|c| c.is_alphabetic() || c == '\'');
    out.push(if word {
        Piece::Word(part)
    } else {
        Piece::Copy(part)
    });
}

/// `word` and the stems it may be an inflection of ("jobs" → "job", "running" → "run").
fn stems(word: &str) -> impl Iterator<Item = String> + '_ {
    const SUFFIXES: [(&str, &str); 9] = [
        ("ies", "y"),
        ("es", ""),
        ("s", ""),
        ("ing", ""),
        ("ing", "e"),
        ("ed", ""),
        ("ed", "e"),
        ("d", ""),
        ("'s", ""),
    ];
    std::iter::once(word.to_string()).chain(SUFFIXES.iter().filter_map(move |(suf, rep)| {
        let stem = word.strip_suffix(suf)?;
        if stem.chars().count() < 3 {
            return None;
        }
        // "running" → "runn" → "run"
        let stem = match stem.as_bytes() {
            [.., a, b] if a == b && suf.starts_with('i') && rep.is_empty() => {
                &stem[..stem.len() - 1]
            }
            _ => stem,
        };
        Some(format!("{stem}{rep}"))
    }))
}

/// Joins translated pieces: no space between Chinese, none before closing punctuation.
fn join(parts: &[&str]) -> String {
    let mut s = String::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        let first = p.chars().next().unwrap_or(' ');
        let last = s.chars().last();
        let closing = matches!(
            first,
            ',' | '.' | '!' | '?' | ';' | ':' | ')' | '，' | '。' | '！' | '？' | '、'
        );
        let glue = last.is_some_and(|l| {
            let both_han = is_han(l) && is_han(first);
            let opening = matches!(l, '(' | '#' | '@');
            !(both_han || closing || opening)
        });
        if glue {
            s.push(' ');
        }
        s.push_str(p);
    }
    s
}

/// One example to translate: its text and its intent's index.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub text: &'a str,
    pub label: usize,
}

/// For each example, the language to translate it into, if its intent lacks that language:
/// when the intent's examples in one language number fewer than [`TRANSLATE_BELOW_SHARE`]
/// of those in the other, each example in the other is translated.
pub fn missing_languages(examples: &[Source]) -> Vec<Option<Lang>> {
    let mut counts: HashMap<usize, [usize; 2]> = HashMap::new();
    let langs: Vec<Option<Lang>> = examples.iter().map(|e| Lang::detect_opt(e.text)).collect();
    for (e, lang) in examples.iter().zip(&langs) {
        if let Some(l) = lang {
            counts.entry(e.label).or_default()[*l as usize] += 1;
        }
    }
    examples
        .iter()
        .zip(&langs)
        .map(|(e, lang)| {
            let from = (*lang)?;
            let to = match from {
                Lang::En => Lang::Zh,
                Lang::Zh => Lang::En,
            };
            let c = counts.get(&e.label).copied().unwrap_or_default();
            ((c[to as usize] as f32) < TRANSLATE_BELOW_SHARE * c[from as usize] as f32)
                .then_some(to)
        })
        .collect()
}

/// Translations of the examples of intents that lack a language ([`missing_languages`]),
/// each labelled with its intent; a translation that the lexicon leaves in the source
/// language, or that repeats an example or another translation, is left out.
pub fn translate_missing(lexicon: &Lexicon, examples: &[Source]) -> Vec<(String, usize)> {
    let mut seen: std::collections::HashSet<String> =
        examples.iter().map(|e| e.text.to_lowercase()).collect();
    let mut out = Vec::new();
    for (e, to) in examples.iter().zip(missing_languages(examples)) {
        let Some(to) = to else { continue };
        let t = lexicon.translate(e.text, to);
        if Lang::detect_opt(&t) == Some(to) && seen.insert(t.to_lowercase()) {
            out.push((t, e.label));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        Lexicon::from_tsv(
            "cancel\t取消\nrun\t跑\njob\t任务\nthe\t\nstatus\t状态\nwhat\t什么\nis\t是\n\
             look up\t查\nbackup\t备份\nplease\t请\n",
            "取消\tcancel\n任务\ttask\n备份\tbackup\n的\t\n状态\tstate\n查看\tcheck\n查\tlook up\n",
        )
        .unwrap()
    }

    #[test]
    fn english_is_translated_phrase_by_phrase_with_stems() {
        let l = lexicon();
        assert_eq!(l.translate("Cancel the jobs", Lang::Zh), "取消任务");
        assert_eq!(
            l.translate("look up the status of 4812", Lang::Zh),
            "查状态 of 4812"
        );
        assert_eq!(l.translate("running backups", Lang::Zh), "跑备份");
        // identifiers and punctuation are copied
        assert_eq!(
            l.translate("please run backup-database on db-01!", Lang::Zh),
            "请跑 backup-database on db-01!"
        );
        assert_eq!(
            l.translate("cancel #4812, please", Lang::Zh),
            "取消 #4812, 请"
        );
    }

    #[test]
    fn chinese_is_segmented_by_longest_match() {
        let l = lexicon();
        assert_eq!(
            l.translate("查看任务 4812 的状态", Lang::En),
            "check task 4812 state"
        );
        assert_eq!(l.translate("取消backup", Lang::En), "cancel backup");
        // characters outside the lexicon are copied
        assert_eq!(l.translate("把备份取消掉", Lang::En), "把 backup cancel 掉");
    }

    #[test]
    fn malformed_lexicon_lines_are_refused_with_their_line() {
        let err = Lexicon::from_tsv("cancel\t取消\nno tab here\n", "").unwrap_err();
        assert!(err.to_string().contains("en-zh.tsv:2"), "{err}");
        assert!(err.to_string().contains("source<TAB>translation"), "{err}");
    }

    #[test]
    fn only_intents_that_lack_a_language_are_translated() {
        let l = lexicon();
        let ex = |text, label| Source { text, label };
        let examples = [
            // intent 0: English only
            ex("cancel the job", 0),
            ex("cancel job", 0),
            ex("xyz", 0),
            // intent 1: both languages
            ex("status of the backup", 1),
            ex("备份的状态", 1),
        ];
        let to: Vec<Option<Lang>> = missing_languages(&examples);
        assert_eq!(
            to,
            [Some(Lang::Zh), Some(Lang::Zh), Some(Lang::Zh), None, None]
        );
        let out = translate_missing(&l, &examples);
        // "cancel job" translates to the same text as "cancel the job"; "xyz" stays English
        assert_eq!(out, vec![("取消任务".to_string(), 0)]);
    }
}
