//! Entity extraction: catalog gazetteers, regular expressions, numbers and time expressions,
//! and the overlap rules that turn their candidates into the contract's entities.
//!
//! An [`EntityExtractor`] is built once per model spec ([`EntitySpec`]) and [`Catalog`], and is immutable (`Send + Sync`): to
//! follow a catalog change, build a new one and swap it in (e.g. with
//! `arc_swap::ArcSwap<EntityExtractor>`), while other threads keep extracting with the old one.
//!
//! ```
//! use nlu::{Catalog, EntityExtractor, ExtractContext};
//! let catalog = Catalog::from_toml_str(r#"
//!     [[environments]]
//!     id = "production"
//!     aliases = ["prod"]
//!     [[jobs]]
//!     id = "backup-database"
//! "#, "inline").unwrap();
//! let ex = EntityExtractor::new(&catalog);
//! let out = ex.extract("run backup-database in prod", &ExtractContext::now_in(chrono_tz::UTC));
//! assert_eq!(out.entities[0].value, "backup-database");
//! assert_eq!(out.entities[1].value, "production");
//! ```
//!
//! All offsets are character offsets (Unicode scalar values) of the original text, end
//! exclusive. Internally the text is normalized one character to one character (lower case,
//! full-width ASCII to ASCII) so that offsets carry over unchanged.

mod gazetteer;
mod general;
mod numbers;
mod overlap;
mod patterns;
pub mod spec;
mod time;

use crate::catalog::Catalog;
use crate::error::{NluError, Result};
use crate::result::{Entity, EntityKind, Extractor, IntentName};
use chrono::DateTime;
use chrono_tz::Tz;
use regex::Regex;
use std::collections::HashMap;

pub use numbers::{parse_en_number, parse_number, parse_zh_number};
pub use spec::{Builtin, EntitySpec, Lookup, LookupEntry, RegexEntity, Synonym};

/// What the extractor needs besides the text.
#[derive(Debug, Clone)]
pub struct ExtractContext {
    /// The reference time (and time zone) against which time expressions are resolved.
    pub now: DateTime<Tz>,
    /// The classifier's top intent, if known.
    pub intent: Option<IntentName>,
    /// The kind of a bare number ("cancel 4812"), when the intent says what numbers mean (in
    /// the ChatOps model, `execution_id` for status, watch and cancel).
    pub bare_number: Option<EntityKind>,
}

impl ExtractContext {
    /// A context at a given reference time, without an intent.
    pub fn new(now: DateTime<Tz>) -> Self {
        ExtractContext {
            now,
            intent: None,
            bare_number: None,
        }
    }

    /// A context at the current time in the given zone.
    pub fn now_in(zone: Tz) -> Self {
        Self::new(chrono::Utc::now().with_timezone(&zone))
    }

    /// Sets the classifier's intent.
    pub fn with_intent(mut self, intent: IntentName) -> Self {
        self.intent = Some(intent);
        self
    }

    /// Reads bare numbers as `kind`.
    pub fn with_bare_number(mut self, kind: EntityKind) -> Self {
        self.bare_number = Some(kind);
        self
    }
}

/// The entities found in one text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    /// Entities sorted by start; spans never overlap.
    pub entities: Vec<Entity>,
    /// Spans that matched several catalog entries equally well; no entity is reported for them.
    pub ambiguities: Vec<Ambiguity>,
}

/// A span that matched several catalog entries equally well: the parser should ask.
#[derive(Debug, Clone, PartialEq)]
pub struct Ambiguity {
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// The candidates, best first (equal scores; ordered by kind then id).
    pub candidates: Vec<Entity>,
}

/// Extracts entities from text; built once per model spec and catalog.
///
/// The sources, and how they claim a span when their matches overlap (higher tiers first,
/// then the longer span, then the higher confidence, then the leftmost):
///
/// | tier | sources |
/// | --- | --- |
/// | structured | the model's regular expressions; times, versions, parameters (explicit, and the tagger's free-text ones), addresses, execution ids, e-mail and web addresses |
/// | names | catalog and lookup-table names (exact, or a catalog job's phrase); statuses; durations and ordinals |
/// | trained | the other spans of the entity tagger ([`Self::extract_with`]) |
/// | guesses | names with typos, partial job names, a bare number read by the intent |
/// | numbers | counts and plain numbers |
///
/// A span that two names of the same tier match equally well is an [`Ambiguity`], whatever
/// their sources.
#[derive(Debug)]
pub struct EntityExtractor {
    gazetteer: gazetteer::Gazetteer,
    lookups: Vec<Lookup>,
    builtins: Vec<Builtin>,
    regexes: Vec<(EntityKind, Regex)>,
    /// Lower-cased text -> value.
    synonyms: HashMap<String, String>,
    /// The kinds the synonyms apply to: those of the lookup tables and regular expressions.
    synonym_kinds: Vec<EntityKind>,
    /// Tagged types reported as `param` entities ([`EntitySpec::params`]).
    params: Vec<EntityKind>,
}

impl EntityExtractor {
    /// The catalog's names and the builtins of operations chat (the ChatOps model's
    /// entities, [`Builtin::OPERATIONS`]).
    pub fn new(catalog: &Catalog) -> Self {
        // The legacy spec has no regular expressions, so it cannot fail.
        Self::build(&EntitySpec::legacy(), catalog, Vec::new())
    }

    /// A model's entity types (builtins, lookup tables, regular expressions, synonyms) and
    /// the catalog's names. Fails on a regular expression that does not compile.
    pub fn from_spec(spec: &EntitySpec, catalog: &Catalog) -> Result<Self> {
        let mut regexes = Vec::new();
        for r in &spec.regexes {
            for p in &r.patterns {
                let re = regex::RegexBuilder::new(p)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| {
                        NluError::Training(format!(
                            "the regex of entity `{}` does not compile: {e}; fix its pattern `{p}`",
                            r.entity
                        ))
                    })?;
                regexes.push((r.entity.clone(), re));
            }
        }
        Ok(Self::build(spec, catalog, regexes))
    }

    fn build(spec: &EntitySpec, catalog: &Catalog, regexes: Vec<(EntityKind, Regex)>) -> Self {
        let mut synonyms = HashMap::new();
        for s in &spec.synonyms {
            for t in &s.texts {
                synonyms.insert(lower(t), s.value.clone());
            }
        }
        EntityExtractor {
            gazetteer: gazetteer::Gazetteer::with_lookups(catalog, &spec.lookups),
            lookups: spec.lookups.clone(),
            builtins: spec.builtins.clone(),
            regexes,
            synonyms,
            synonym_kinds: spec
                .lookups
                .iter()
                .map(|l| l.entity.clone())
                .chain(spec.regexes.iter().map(|r| r.entity.clone()))
                .collect(),
            params: spec.params.clone(),
        }
    }

    /// The same extractor over another catalog.
    pub fn with_catalog(&self, catalog: &Catalog) -> Self {
        EntityExtractor {
            gazetteer: gazetteer::Gazetteer::with_lookups(catalog, &self.lookups),
            lookups: self.lookups.clone(),
            builtins: self.builtins.clone(),
            regexes: self.regexes.clone(),
            synonyms: self.synonyms.clone(),
            synonym_kinds: self.synonym_kinds.clone(),
            params: self.params.clone(),
        }
    }

    /// Finds the entities of `text`.
    pub fn extract(&self, text: &str, ctx: &ExtractContext) -> Extraction {
        self.extract_with(text, ctx, &[])
    }

    /// Finds the entities of `text`, with the spans the trained tagger found in it
    /// ([`crate::tagger::Tagger::tag`]) as one more source.
    ///
    /// A tagged span that a lookup or catalog name of the same type overlaps gives way to
    /// that name, which takes the tagger's rank if its own was lower (a typo match the
    /// tagger agrees with): the name's value is the normalized one. Otherwise a tagged span
    /// ranks below catalog names, times and other structured tokens and above guesses and
    /// counts; synonyms apply to its value. A span of a free-text parameter type
    /// ([`EntitySpec::params`]) is reported as a `param` entity, `name=value`, and ranks
    /// with the structured tokens: the text it quotes holds no other entity, and an explicit
    /// `name="value"` around it wins by length. But a parameter is part of a request: a
    /// free-text span that leaves fewer than [`MIN_REQUEST_WORDS`] words of the text outside
    /// it has taken in the request itself ("ugh, #5120 was launched with the wrong branch,
    /// cancel it") and is dropped, so that the request's own entities stay.
    pub fn extract_with(
        &self,
        text: &str,
        ctx: &ExtractContext,
        tagged: &[crate::tagger::Tagged],
    ) -> Extraction {
        let t = Text::new(text);
        let mut cands = Vec::new();
        self.gazetteer.find(&t, &mut cands);
        patterns::find(&t, ctx, &self.builtins, &mut cands);
        general::find(&t, &self.builtins, &mut cands);
        if self.builtins.contains(&Builtin::Time) {
            time::find(&t, ctx.now, &mut cands);
        }
        for (kind, re) in &self.regexes {
            for m in re.find_iter(t.orig) {
                if m.start() == m.end() {
                    continue;
                }
                let (s, e) = (char_index(t.orig, m.start()), char_index(t.orig, m.end()));
                cands.push(Cand::new(
                    kind.clone(),
                    m.as_str(),
                    s,
                    e,
                    1.0,
                    Extractor::Regex,
                    tier::STRUCTURED,
                ));
            }
        }
        for span in tagged {
            let agree = cands.iter_mut().filter(|c| {
                c.extractor == Extractor::Gazetteer
                    && c.kind == span.entity
                    && c.start < span.end
                    && span.start < c.end
            });
            let mut agreed = false;
            for c in agree {
                c.tier = c.tier.max(tier::TRAINED);
                agreed = true;
            }
            let param = self.params.contains(&span.entity);
            if param && words_outside(&t.chars, span.start, span.end) < MIN_REQUEST_WORDS {
                continue;
            }
            if !agreed && span.end <= t.len() {
                let text = t.slice(span.start, span.end);
                // a free-text parameter quotes the user: what it contains is not a request's
                // entity ("because the backup on db-02 hangs")
                let (kind, value, rank) = if param {
                    (
                        EntityKind::PARAM,
                        format!("{}={text}", span.entity),
                        tier::STRUCTURED,
                    )
                } else {
                    (span.entity.clone(), text.to_string(), tier::TRAINED)
                };
                cands.push(Cand::new(
                    kind,
                    value,
                    span.start,
                    span.end,
                    span.confidence,
                    Extractor::Tagger,
                    rank,
                ));
            }
        }
        let mut out = overlap::resolve(&t, cands);
        if !self.synonyms.is_empty() {
            for e in &mut out.entities {
                let tagged = e.extractor == Extractor::Tagger && e.entity != EntityKind::PARAM;
                if !self.synonym_kinds.contains(&e.entity) && !tagged {
                    continue;
                }
                let by_text = self.synonyms.get(&lower(&e.text));
                if let Some(v) = by_text.or_else(|| self.synonyms.get(&lower(&e.value))) {
                    e.value = v.clone();
                }
            }
        }
        out
    }
}

/// The fewest words that a text must hold outside a tagged free-text parameter for the span
/// to be kept ([`EntityExtractor::extract_with`]): a verb and its object, or "停 7120".
pub const MIN_REQUEST_WORDS: usize = 2;

/// How many words of `chars` lie outside `start..end`: runs of Latin-script word characters
/// (letters, digits; "#5120" is one), and each CJK character.
fn words_outside(chars: &[char], start: usize, end: usize) -> usize {
    let mut words = 0;
    let mut in_word = false;
    for (i, &c) in chars.iter().enumerate() {
        let outside = !(start..end).contains(&i);
        let latin = outside && is_latin_word(c);
        if (latin && !in_word) || (outside && is_cjk(c)) {
            words += 1;
        }
        in_word = latin;
    }
    words
}

fn lower(s: &str) -> String {
    s.trim().chars().map(normalize_char).collect()
}

/// The char index of a byte offset of `s` (a char boundary).
fn char_index(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

// ---------------------------------------------------------------------------------------------
// Shared internals

/// How strongly a candidate claims its span; higher tiers win overlaps before length does.
pub(crate) mod tier {
    /// Numbers read as counts: anything else that covers them wins.
    pub const COUNT: u8 = 0;
    /// Guesses: typo and partial catalog matches, bare numbers as execution ids.
    pub const GUESS: u8 = 1;
    /// Spans of the trained entity tagger.
    pub const TRAINED: u8 = 2;
    /// Catalog names (exact or by phrase) and statuses.
    pub const NAME: u8 = 3;
    /// Structured tokens: times, versions, parameters, addresses, execution ids.
    pub const STRUCTURED: u8 = 4;
}

/// A candidate entity before overlap resolution.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    pub kind: EntityKind,
    pub value: String,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
    pub extractor: Extractor,
    pub tier: u8,
    /// Other (kind, value) pairs that matched this span equally well: an ambiguity.
    pub alts: Vec<(EntityKind, String)>,
    /// For phrases with filler words: the char ranges of the phrase's own words. Other
    /// entities may sit in the gaps; the span then shrinks to the first segment.
    pub segments: Option<Vec<(usize, usize)>>,
}

impl Cand {
    pub fn new(
        kind: EntityKind,
        value: impl Into<String>,
        start: usize,
        end: usize,
        confidence: f32,
        extractor: Extractor,
        tier: u8,
    ) -> Self {
        Cand {
            kind,
            value: value.into(),
            start,
            end,
            confidence,
            extractor,
            tier,
            alts: Vec::new(),
            segments: None,
        }
    }
}

/// The input text with a normalized copy whose characters line up one to one with it.
pub(crate) struct Text<'a> {
    pub orig: &'a str,
    /// Lower-cased, full-width ASCII folded; same number of characters as `orig`.
    pub norm: String,
    /// Characters of `norm`.
    pub chars: Vec<char>,
    /// Byte offset in `orig` of each character, plus the length at the end.
    orig_bytes: Vec<usize>,
    /// Byte offset in `norm` of each character, plus the length at the end.
    norm_bytes: Vec<usize>,
}

pub(crate) fn normalize_char(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{2018}' | '\u{2019}' => '\'',
        '\u{201C}' | '\u{201D}' => '"',
        '\u{3002}' => '.',
        '\u{3001}' => ',',
        _ => c,
    };
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    }
}

impl<'a> Text<'a> {
    pub fn new(orig: &'a str) -> Self {
        let mut norm = String::with_capacity(orig.len());
        let mut chars = Vec::with_capacity(orig.len());
        let mut orig_bytes = Vec::with_capacity(orig.len() + 1);
        let mut norm_bytes = Vec::with_capacity(orig.len() + 1);
        for (b, c) in orig.char_indices() {
            orig_bytes.push(b);
            norm_bytes.push(norm.len());
            let n = normalize_char(c);
            norm.push(n);
            chars.push(n);
        }
        orig_bytes.push(orig.len());
        norm_bytes.push(norm.len());
        Text {
            orig,
            norm,
            chars,
            orig_bytes,
            norm_bytes,
        }
    }

    /// Number of characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Char index of a byte offset of `norm` (which must be a char boundary).
    pub fn char_at(&self, norm_byte: usize) -> usize {
        match self.norm_bytes.binary_search(&norm_byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Byte offset in `norm` of a char index.
    pub fn norm_byte(&self, ch: usize) -> usize {
        self.norm_bytes[ch.min(self.chars.len())]
    }

    /// The original text of a char range.
    pub fn slice(&self, start: usize, end: usize) -> &'a str {
        &self.orig[self.orig_bytes[start]..self.orig_bytes[end]]
    }

    /// The normalized text of a char range.
    pub fn norm_slice(&self, start: usize, end: usize) -> &str {
        &self.norm[self.norm_bytes[start]..self.norm_bytes[end]]
    }

    /// Char range of a byte range of `norm`.
    pub fn chars_of(&self, start_byte: usize, end_byte: usize) -> (usize, usize) {
        (self.char_at(start_byte), self.char_at(end_byte))
    }

    /// The character before a char index, if any.
    pub fn before(&self, ch: usize) -> Option<char> {
        ch.checked_sub(1).map(|i| self.chars[i])
    }

    /// The character at a char index, if any.
    pub fn at(&self, ch: usize) -> Option<char> {
        self.chars.get(ch).copied()
    }

    /// Whether the characters `s..e` (not empty) stand as words of their own, as every
    /// dictionary match must (catalog names, lookup tables, the tagger's lexicon): an edge
    /// that is a Latin letter or digit may not touch another one, nor a `-`, `.` or `/` that
    /// touches one, so that `web` is not found in `web-01` nor `example.com` in
    /// `api.example.com`. An edge in Chinese may touch anything.
    pub fn stands_alone(&self, s: usize, e: usize) -> bool {
        let latin = |c: Option<char>| c.is_some_and(is_latin_word);
        let left = !latin(self.at(s))
            || match self.before(s) {
                Some('-' | '.' | '/') => !latin(self.before(s - 1)),
                c => !latin(c),
            };
        let right = !latin(e.checked_sub(1).and_then(|i| self.at(i)))
            || match self.at(e) {
                Some('-' | '.' | '/') => !latin(self.at(e + 1)),
                c => !latin(c),
            };
        left && right
    }

    /// The word (Latin letters/digits) that ends right before `ch`, skipping spaces.
    pub fn prev_word(&self, ch: usize) -> Option<&str> {
        let mut e = ch;
        while e > 0 && self.chars[e - 1] == ' ' {
            e -= 1;
        }
        let mut s = e;
        while s > 0 && is_latin_word(self.chars[s - 1]) {
            s -= 1;
        }
        (s < e).then(|| self.norm_slice(s, e))
    }

    /// The word that starts after `ch`, skipping spaces.
    pub fn next_word(&self, ch: usize) -> Option<&str> {
        let mut s = ch;
        while s < self.len() && self.chars[s] == ' ' {
            s += 1;
        }
        let mut e = s;
        while e < self.len() && is_latin_word(self.chars[e]) {
            e += 1;
        }
        (s < e).then(|| self.norm_slice(s, e))
    }
}

/// CJK ideographs and kana: scripts written without spaces.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF | 0xAC00..=0xD7AF)
}

/// A character that belongs to a Latin-script word (letters, digits, underscore).
pub(crate) fn is_latin_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (c.is_alphanumeric() && !c.is_ascii() && !is_cjk(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_match_stands_alone_unless_a_latin_edge_touches_a_word() {
        let alone = |text: &str, s: usize, e: usize| Text::new(text).stands_alone(s, e);
        // "web" in ...
        assert!(alone("restart web now", 8, 11));
        assert!(alone("web", 0, 3));
        assert!(alone("restart web.", 8, 11));
        assert!(alone("(web)", 1, 4));
        assert!(!alone("restart webs", 8, 11));
        assert!(!alone("restart web-01", 8, 11));
        assert!(!alone("restart my-web", 11, 14));
        assert!(!alone("api.example.com", 4, 15));
        assert!(alone("see example.com/", 4, 15));
        assert!(!alone("see example.com/x", 4, 15));
        // a Chinese edge touches anything; a Latin one still may not
        assert!(alone("重启生产环境", 2, 4));
        assert!(alone("重启web服务", 2, 5));
        assert!(alone("x生产", 1, 3));
        assert!(!alone("重启 web01", 3, 6));
    }

    #[test]
    fn words_outside_a_span_count_latin_words_and_cjk_characters() {
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        let t = chars("ugh, #5120 was launched, cancel it");
        assert_eq!(words_outside(&t, 5, t.len()), 1);
        assert_eq!(words_outside(&t, 0, 0), 6);
        // a word cut by the span's edge counts once on each side it shows
        assert_eq!(words_outside(&t, 7, 8), 7);
        let z = chars("取消 5120，因为磁盘满了");
        assert_eq!(words_outside(&z, 8, z.len()), 3);
        assert_eq!(words_outside(&z, 0, z.len()), 0);
    }

    #[test]
    fn tagged_spans_rank_below_names_and_take_synonyms() {
        let catalog = Catalog::from_toml_str("[[apps]]\nid = \"api\"\n", "inline").unwrap();
        let spec = EntitySpec {
            builtins: Vec::new(),
            synonyms: vec![Synonym {
                value: "memory leak".into(),
                texts: vec!["mem leak".into()],
            }],
            ..Default::default()
        };
        let ex = EntityExtractor::from_spec(&spec, &catalog).unwrap();
        let tagged = |start, end| crate::tagger::Tagged {
            entity: EntityKind::from("reason"),
            start,
            end,
            confidence: 0.9,
        };
        let text = "restart api because of a mem leak";
        let ctx = ExtractContext::now_in(chrono_tz::UTC);
        // "api" tagged as a reason: the catalog's app name wins the span
        let out = ex.extract_with(text, &ctx, &[tagged(8, 11), tagged(25, 33)]);
        let got: Vec<(&str, &str, usize, usize, Extractor)> = out
            .entities
            .iter()
            .map(|e| {
                (
                    e.entity.as_str(),
                    e.value.as_str(),
                    e.start,
                    e.end,
                    e.extractor,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("app", "api", 8, 11, Extractor::Gazetteer),
                ("reason", "memory leak", 25, 33, Extractor::Tagger),
            ]
        );
        assert_eq!(out.entities[1].text, "mem leak");
        assert_eq!(out.entities[1].confidence, 0.9);
        // a span past the text is dropped, not a panic
        let out = ex.extract_with("api", &ctx, &[tagged(2, 40)]);
        assert_eq!(out.entities.len(), 1);
    }

    #[test]
    fn tagged_free_text_parameters_are_params_that_hold_their_words() {
        let catalog = Catalog::from_toml_str(
            "[[jobs]]\nid = \"backup-database\"\naliases = [\"backup\"]\n[[hosts]]\nid = \"db-02\"\n",
            "inline",
        )
        .unwrap();
        let spec = EntitySpec {
            builtins: vec![Builtin::ExecutionId, Builtin::Param, Builtin::Time],
            params: vec![EntityKind::from("reason")],
            ..Default::default()
        };
        let ex = EntityExtractor::from_spec(&spec, &catalog).unwrap();
        let reason = |start, end| crate::tagger::Tagged {
            entity: EntityKind::from("reason"),
            start,
            end,
            confidence: 0.8,
        };
        let ctx = ExtractContext::now_in(chrono_tz::UTC);
        let pairs = |out: Extraction| -> Vec<(String, String, usize, usize, Extractor)> {
            out.entities
                .into_iter()
                .map(|e| (e.entity.to_string(), e.value, e.start, e.end, e.extractor))
                .collect()
        };
        // the job, host and time inside the reason are the reason's words, not entities
        let text = "cancel #4812 because the backup on db-02 runs until tomorrow";
        assert_eq!(
            pairs(ex.extract_with(text, &ctx, &[reason(21, 60)])),
            vec![
                (
                    "execution_id".into(),
                    "4812".into(),
                    7,
                    12,
                    Extractor::Regex
                ),
                (
                    "param".into(),
                    "reason=the backup on db-02 runs until tomorrow".into(),
                    21,
                    60,
                    Extractor::Tagger
                ),
            ]
        );
        // a reason that takes in the whole request is not a parameter of it: the execution id
        // and the job stay (texts written for this test, not from the held-out files)
        let text = "argh, #6230 started the backup twice, kill it";
        assert_eq!(
            pairs(ex.extract_with(text, &ctx, &[reason(6, 45)])),
            vec![
                (
                    "execution_id".into(),
                    "6230".into(),
                    6,
                    11,
                    Extractor::Regex
                ),
                (
                    "job".into(),
                    "backup-database".into(),
                    24,
                    30,
                    Extractor::Gazetteer
                ),
            ]
        );
        // a few words around it are a request: "stop #7120 because" keeps its reason, in
        // Chinese too
        let text = "停 #7120，因为数据已经同步完了";
        let got = pairs(ex.extract_with(text, &ctx, &[reason(10, 18)]));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].1, "reason=数据已经同步完了");
        // an explicit reason="..." around the tagged words wins, with its own value
        let text = "cancel #4812 reason=\"wrong host\"";
        assert_eq!(
            pairs(ex.extract_with(text, &ctx, &[reason(21, 31)]))[1],
            (
                "param".into(),
                "reason=wrong host".into(),
                13,
                32,
                Extractor::Regex
            )
        );
    }

    #[test]
    fn text_maps_chars_one_to_one() {
        let t = Text::new("部署 API 到😀ＰＲＯＤ");
        assert_eq!(t.len(), "部署 API 到😀ＰＲＯＤ".chars().count());
        assert_eq!(t.norm, "部署 api 到😀prod");
        let b = t.norm.find("prod").unwrap();
        let (s, e) = t.chars_of(b, b + 4);
        assert_eq!((s, e), (9, 13));
        assert_eq!(t.slice(s, e), "ＰＲＯＤ");
        assert_eq!(t.prev_word(7), Some("api"));
        assert_eq!(t.next_word(2), Some("api"));
    }

    #[test]
    fn latin_and_cjk_classes() {
        assert!(is_cjk('部'));
        assert!(!is_latin_word('部'));
        assert!(is_latin_word('é'));
        assert!(is_latin_word('7'));
        assert!(!is_latin_word('-'));
    }
}
