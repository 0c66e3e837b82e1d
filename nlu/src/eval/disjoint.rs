//! Held-out data that is really held out: finds evaluation cases that repeat a training
//! example, word for word or nearly.
//!
//! Both sides are normalised the same way before they are compared:
//! - lower case;
//! - every entity mention replaced by its kind (`<host>`, `<job>`, ...): the annotated spans of
//!   the training examples, and every surface text known for an entity (the training
//!   annotations' surfaces and values, the cases' expected values) wherever it occurs;
//! - every run of digits replaced by `0`;
//! - punctuation and symbols dropped, whitespace collapsed.
//!
//! Two texts whose normalised forms are equal are an exact overlap (similarity 1). Otherwise
//! the similarity is the Jaccard index of their sets of tokens and token pairs (words; each
//! CJK character is a token; the pairs make word order count), and a pair at or above the
//! `near` bar is a near-duplicate.
//!
//! ```
//! use nlu::eval::{disjoint, Case};
//! use nlu::train::rasa::TrainingData;
//!
//! let mut training = TrainingData::default();
//! nlu::train::rasa::parse_into(
//!     "nlu:\n- intent: run_job\n  examples: |\n    - run [backup-database](job) on [db-01](host)\n",
//!     std::path::Path::new("run_job.yml"),
//!     &mut training,
//! )?;
//! let cases: Vec<Case> = [
//!     r#"{"text": "Run backup-database on DB-02!", "intent": "run_job",
//!         "entities": [{"entity": "host", "value": "db-02"}]}"#,
//!     r#"{"text": "is the backup of db-02 done yet?", "intent": "job_status"}"#,
//! ]
//! .iter()
//! .map(|l| serde_json::from_str(l).unwrap())
//! .collect();
//! let overlaps = disjoint::find_overlaps(&training, &cases, disjoint::NEAR_DUPLICATE);
//! assert_eq!(overlaps.len(), 1);
//! assert_eq!(overlaps[0].case, 0);
//! assert_eq!(overlaps[0].similarity, 1.0);
//! # Ok::<(), nlu::NluError>(())
//! ```

use super::Case;
use crate::train::rasa::TrainingData;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// The default bar for a near-duplicate: token sets that share at least 80% of their union.
pub const NEAR_DUPLICATE: f32 = 0.8;

/// An evaluation case that repeats a training example.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    /// Index of the case in the slice given.
    pub case: usize,
    /// The case's text.
    pub case_text: String,
    /// The training example's text, and where it is.
    pub training_text: String,
    pub training_file: String,
    pub training_line: usize,
    /// 1.0 for an exact overlap after normalisation, else the token-set Jaccard index.
    pub similarity: f32,
}

/// Entity surfaces, longest first, with the kind that replaces them.
struct Surfaces(Vec<(Vec<char>, String)>);

impl Surfaces {
    fn collect(training: &TrainingData, cases: &[Case]) -> Self {
        let mut map: HashMap<String, String> = HashMap::new();
        let mut add = |surface: &str, kind: &str| {
            let s = surface.trim().to_lowercase();
            // a one-character surface (`3`, `a`) would replace parts of ordinary words
            if s.chars().count() >= 2 && s != "*" {
                map.entry(s).or_insert_with(|| kind.to_string());
            }
        };
        for ex in &training.examples {
            let chars: Vec<char> = ex.text.chars().collect();
            for a in &ex.entities {
                if let Some(span) = chars.get(a.start..a.end) {
                    add(&span.iter().collect::<String>(), &a.entity);
                }
                add(&a.value, &a.entity);
            }
        }
        for c in cases {
            for e in &c.entities {
                if let Some(v) = &e.value {
                    add(v, e.entity.as_str());
                }
            }
        }
        let mut v: Vec<(Vec<char>, String)> = map
            .into_iter()
            .map(|(s, k)| (s.chars().collect(), k))
            .collect();
        v.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Surfaces(v)
    }

    /// Replaces every known surface in `text` (already lower case) by `<kind>`, longest first,
    /// at word boundaries for surfaces that start or end with a letter or digit.
    fn replace(&self, text: &[char]) -> Vec<char> {
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        'outer: while i < text.len() {
            for (s, kind) in &self.0 {
                if text.len() - i >= s.len()
                    && text[i..i + s.len()] == s[..]
                    && boundary(text, i, s.len())
                {
                    out.push(' ');
                    out.push('<');
                    out.extend(kind.chars());
                    out.push('>');
                    out.push(' ');
                    i += s.len();
                    continue 'outer;
                }
            }
            out.push(text[i]);
            i += 1;
        }
        out
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xac00..=0xd7af | 0xf900..=0xfaff)
}

/// Punctuation and spacing, ASCII or CJK; other symbols (emoji) stay, as tokens of their own.
fn is_punctuation(c: char) -> bool {
    (c.is_ascii_punctuation() && !matches!(c, '<' | '>' | '_'))
        || c.is_whitespace()
        || c.is_control()
        || matches!(c as u32, 0x2000..=0x206f | 0x3000..=0x303f | 0xfe30..=0xfe4f | 0xff01..=0xff0f | 0xff1a..=0xff20 | 0xff3b..=0xff40 | 0xff5b..=0xff65)
}

/// A match of `len` chars at `i` does not cut a word in two.
fn boundary(text: &[char], i: usize, len: usize) -> bool {
    let cuts_before = i > 0 && is_word(text[i - 1]) && is_word(text[i]);
    let end = i + len;
    let cuts_after = end < text.len() && is_word(text[end - 1]) && is_word(text[end]);
    !cuts_before && !cuts_after
}

/// The normalised form of `text`, given the entity spans (char offsets) annotated in it.
fn normalise(text: &str, spans: &[(usize, usize, &str)], surfaces: &Surfaces) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut marked: Vec<char> = Vec::with_capacity(chars.len());
    let mut spans: Vec<_> = spans
        .iter()
        .filter(|(s, e, _)| s < e && *e <= chars.len())
        .collect();
    spans.sort();
    let mut i = 0;
    for (s, e, kind) in spans {
        if *s < i {
            continue;
        }
        marked.extend(&chars[i..*s]);
        marked.push('\u{1}');
        marked.extend(kind.chars());
        marked.push('\u{2}');
        i = *e;
    }
    marked.extend(&chars[i..]);
    let lower: Vec<char> = marked.into_iter().flat_map(char::to_lowercase).collect();
    let replaced = surfaces.replace(&lower);
    let mut out = String::with_capacity(replaced.len());
    let mut in_digits = false;
    for c in replaced {
        let c = match c {
            '\u{1}' => '<',
            '\u{2}' => '>',
            c => c,
        };
        if c.is_numeric() {
            if !in_digits {
                out.push('0');
            }
            in_digits = true;
            continue;
        }
        in_digits = false;
        if !is_punctuation(c) {
            if is_cjk(c) || !(c.is_alphanumeric() || matches!(c, '<' | '>' | '_')) {
                out.push(' ');
                out.push(c);
                out.push(' ');
            } else {
                out.push(c);
            }
        } else {
            out.push(' ');
        }
    }
    let tokens: Vec<&str> = out.split_whitespace().collect();
    tokens.join(" ")
}

/// The text's words and word pairs (so that the same words in another order count less).
fn token_set(normalised: &str) -> BTreeSet<String> {
    let words: Vec<&str> = normalised.split(' ').filter(|t| !t.is_empty()).collect();
    let pairs = words.windows(2).map(|w| format!("{} {}", w[0], w[1]));
    words.iter().map(|w| w.to_string()).chain(pairs).collect()
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(b).count();
    inter as f32 / (a.len() + b.len() - inter) as f32
}

/// The normalised form of each case and each training example, as compared by
/// [`find_overlaps`]; useful to see why two texts were matched.
pub fn normalised_forms(training: &TrainingData, cases: &[Case]) -> (Vec<String>, Vec<String>) {
    let surfaces = Surfaces::collect(training, cases);
    let cases = cases
        .iter()
        .map(|c| normalise(&c.text, &[], &surfaces))
        .collect();
    let examples = training
        .examples
        .iter()
        .map(|ex| {
            let spans: Vec<(usize, usize, &str)> = ex
                .entities
                .iter()
                .map(|a| (a.start, a.end, a.entity.as_str()))
                .collect();
            normalise(&ex.text, &spans, &surfaces)
        })
        .collect();
    (cases, examples)
}

/// Every case that equals a training example after normalisation, or whose token-set
/// similarity to one is at least `near` (pass a value above 1 to find exact overlaps only).
/// One entry per case (its closest training example), in case order.
pub fn find_overlaps(training: &TrainingData, cases: &[Case], near: f32) -> Vec<Overlap> {
    let (case_forms, example_forms) = normalised_forms(training, cases);
    let exact: HashMap<&str, usize> = example_forms
        .iter()
        .enumerate()
        .rev()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let example_sets: Vec<BTreeSet<String>> = example_forms.iter().map(|f| token_set(f)).collect();
    let mut out = Vec::new();
    for (ci, form) in case_forms.iter().enumerate() {
        let best = match exact.get(form.as_str()) {
            Some(&i) => Some((i, 1.0)),
            None if near <= 1.0 => {
                let set = token_set(form);
                example_sets
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i, jaccard(&set, s)))
                    .filter(|(_, sim)| *sim >= near)
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            }
            None => None,
        };
        if let Some((i, similarity)) = best {
            let ex = &training.examples[i];
            out.push(Overlap {
                case: ci,
                case_text: cases[ci].text.clone(),
                training_text: ex.text.clone(),
                training_file: ex.file.display().to_string(),
                training_line: ex.line,
                similarity,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::rasa::parse_into;
    use std::path::Path;

    fn training(yaml: &str) -> TrainingData {
        let mut d = TrainingData::default();
        parse_into(yaml, Path::new("t.yml"), &mut d).unwrap();
        d
    }

    fn case(text: &str, intent: &str) -> Case {
        serde_json::from_value(serde_json::json!({"text": text, "intent": intent})).unwrap()
    }

    const YAML: &str = "nlu:\n- intent: run_job\n  examples: |\n    - run [backup-database](job) on [db-01](host)\n    - kick off [log rotation]{\"entity\": \"job\", \"value\": \"rotate-logs\"} on [web-02](host) [tonight at 11pm](time)\n- intent: job_status\n  examples: |\n    - 部署到[生产]{\"entity\": \"environment\", \"value\": \"production\"}了吗\n    - what is the status of run 1042\n- intent: affirm\n  examples: |\n    - yes please\n    - ✅\n";

    #[test]
    fn normalises_case_punctuation_digits_and_entity_values() {
        let t = training(YAML);
        let cases = [
            serde_json::from_value(serde_json::json!({
                "text": "RUN backup-database on DB-07 !!",
                "intent": "run_job",
                "entities": [{"entity": "host", "value": "db-07"}]
            }))
            .unwrap(),
            case("kick off log rotation on web-9 tonight at 11pm", "run_job"),
            case("What is the status of run 77?", "job_status"),
            case("部署到生产了吗？", "job_status"),
            case("Yes, please.", "affirm"),
            case("👍", "affirm"),
        ];
        let o = find_overlaps(&t, &cases, 2.0);
        assert_eq!(
            o.iter().map(|o| o.case).collect::<Vec<_>>(),
            vec![0, 2, 3, 4],
            "{o:#?}"
        );
        assert!(o.iter().all(|o| o.similarity == 1.0));
        // one word more than a training example: 11 of 13 words and word pairs shared
        let near = [case(
            "please kick off log rotation on web-02 tonight at 11pm",
            "run_job",
        )];
        assert_eq!(find_overlaps(&t, &near, 2.0), vec![]);
        let o = find_overlaps(&t, &near, NEAR_DUPLICATE);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].similarity, 11.0 / 13.0);
        assert_eq!(
            o[0].training_text,
            "kick off log rotation on web-02 tonight at 11pm"
        );
        assert_eq!(o[0].training_line, 5);
    }

    #[test]
    fn distinct_texts_do_not_overlap() {
        let t = training(YAML);
        let cases = [
            case("take a backup of the orders database tonight", "run_job"),
            case("yes", "affirm"),
            case("生产环境的部署进行到哪一步了", "job_status"),
            case("rapid run of db-01", "run_job"),
            case("👌", "affirm"),
        ];
        assert_eq!(find_overlaps(&t, &cases, NEAR_DUPLICATE), vec![]);
    }

    #[test]
    fn surfaces_match_whole_words_only() {
        let t = training("nlu:\n- intent: run_job\n  examples: |\n    - restart [api](app)\n");
        let (cases, examples) = normalised_forms(&t, &[case("restart rapid api", "run_job")]);
        assert_eq!(examples, vec!["restart <app>"]);
        assert_eq!(cases, vec!["restart rapid <app>"]);
    }
}
