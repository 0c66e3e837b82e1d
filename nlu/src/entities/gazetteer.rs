//! Catalog gazetteers: jobs, apps, environments and hosts by id and alias.
//!
//! - **Exact** (confidence 1.0): every id and alias, lower-cased, found with one Aho-Corasick
//!   automaton. Names in Latin script must sit on word boundaries (`restart` does not match in
//!   "restarted", `scale` not in "scale-service", `web` not in "web-01"); names in Chinese
//!   match as substrings. Multi-word Latin names also match with their separators swapped
//!   (`backup database`, `health check`), or joined (`healthcheck`, 0.95).
//! - **Phrases** (0.9): the words of a multi-word id or alias in order, with up to two filler
//!   words between them and a few synonyms ("rotate the logs", "flush the api cache",
//!   "renew the certs", "clean up disk"). Names with a generic word (`app`, `job`, `service`,
//!   `run`) make no phrase, so "deploy the app" is not the job `deploy-app`.
//! - **Typos** (0.8–0.9): n-grams of up to three words against the names with the same first
//!   letter, by optimal-string-alignment distance: none for names under 5 characters, one edit
//!   up to 8, two beyond. Digits must agree ("web-04" is not a typo of "web-01"), and inflected
//!   forms ("restarts", "migrated") are not typos.
//! - **Partial** (0.6): a distinctive word of a job id ("backup" in "is the backup done?"), or
//!   a two-character half of a Chinese job alias that belongs to a single job ("备份").
//! - Names that match several entries equally well become ambiguities (asked, not guessed).
//! - The environment names that are also common English words (`test`, `testing`, `live`,
//!   `stage`) need a context: a preposition before them ("to live", "in the test") or a noun
//!   after them ("test environment"), or Chinese text around them.

use super::{is_cjk, is_latin_word, tier, Cand, Lookup, Text};
use crate::catalog::{normalize_name, Catalog};
use crate::result::{EntityKind, Extractor};
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::{HashMap, HashSet};

/// Words that never make a phrase or a partial match on their own.
const GENERIC: &[&str] = &[
    "app", "apps", "job", "jobs", "service", "services", "run", "runs", "the", "a", "an", "of",
    "to", "in", "on", "for", "and", "task", "server", "data", "logs", "log", "cache", "config",
    "database", "disk", "check", "deploy", "files", "file", "host", "status",
];

/// Words that keep a name from making a phrase: too generic to stand for the job.
const PHRASE_BLOCKERS: &[&str] = &[
    "app", "apps", "job", "jobs", "service", "services", "run", "runs", "task",
];

/// Common English words never read as typos of a catalog name.
const NOT_TYPOS: &[&str] = &[
    "status",
    "state",
    "stale",
    "started",
    "start",
    "stop",
    "latest",
    "staging",
    "testing",
    "please",
    "schedule",
    "scheduled",
    "service",
    "services",
    "about",
    "there",
    "where",
    "which",
    "would",
    "could",
    "should",
    "these",
    "those",
    "check",
    "cancel",
    "cancelled",
    "success",
    "failed",
    "failure",
    "running",
    "deploy",
    "deployed",
    "release",
    "restore",
    "stores",
    "score",
    "scare",
    "scalar",
    "delete",
    "update",
    "yesterday",
    "today",
    "tomorrow",
    "minutes",
    "hours",
    "replicas",
    "version",
    "history",
    "backup",
    "backups",
    "search",
];

/// Words that never start or end a multi-word typo.
const FUNCTION_WORDS: &[&str] = &[
    "in", "on", "to", "the", "of", "for", "at", "a", "an", "and", "with", "from", "my", "me",
    "please", "is", "it", "run", "then",
];

/// Environment names that are also everyday English words: they need a context.
const GUARDED_ENV: &[&str] = &["test", "testing", "live", "stage"];
const ENV_PREPOSITIONS: &[&str] = &[
    "in", "to", "on", "into", "onto", "from", "for", "at", "of", "against", "with",
];
const ENV_NOUNS: &[&str] = &[
    "env",
    "envs",
    "environment",
    "environments",
    "server",
    "servers",
    "cluster",
    "clusters",
    "stack",
    "box",
    "boxes",
    "instance",
    "instances",
];

/// Groups of interchangeable words inside phrases.
const SYNONYMS: &[&[&str]] = &[
    &["clear", "flush", "purge", "wipe"],
    &["logs", "log", "logfiles"],
    &["certs", "cert", "certificates", "certificate", "tls"],
    &["db", "database", "databases", "dbs"],
    &["config", "configs", "configuration", "settings"],
    &["disk", "disks"],
    &["cache", "caches"],
    &["migration", "migrations"],
    &["backup", "backups"],
    &["renew", "refresh"],
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Guard {
    None,
    EnvContext,
}

#[derive(Debug, Clone)]
struct PatEntry {
    entry: u32,
    confidence: f32,
    tier: u8,
    guard: Guard,
}

#[derive(Debug)]
struct Entry {
    kind: EntityKind,
    id: String,
}

#[derive(Debug)]
struct FuzzyName {
    name: String,
    len: usize,
    digits: String,
    entry: u32,
}

#[derive(Debug)]
struct Phrase {
    /// Alternatives for each word.
    words: Vec<Vec<String>>,
    entry: u32,
}

/// The gazetteers of one catalog.
#[derive(Debug)]
pub(crate) struct Gazetteer {
    entries: Vec<Entry>,
    ac: Option<AhoCorasick>,
    pats: Vec<Vec<PatEntry>>,
    names: HashSet<String>,
    fuzzy: HashMap<(char, usize), Vec<u32>>,
    fuzzy_names: Vec<FuzzyName>,
    phrases: Vec<Phrase>,
    phrase_index: HashMap<String, Vec<u32>>,
}

fn norm(s: &str) -> String {
    normalize_name(s)
        .chars()
        .map(super::normalize_char)
        .collect()
}

fn is_latin_name(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_alphanumeric()) && !s.chars().any(is_cjk)
}

/// Splits a Latin name into words on spaces, hyphens and underscores.
fn words_of(s: &str) -> Vec<&str> {
    s.split([' ', '-', '_']).filter(|w| !w.is_empty()).collect()
}

fn synonyms(w: &str) -> Vec<String> {
    let mut out = vec![w.to_string()];
    for group in SYNONYMS {
        if group.contains(&w) {
            out.extend(group.iter().map(|s| s.to_string()));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn max_edits(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// A Latin word of the text, possibly hyphenated ("web-01", "backup-database").
#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    /// Whether the token follows the previous one with only spaces between.
    joined: bool,
}

fn tokenize(t: &Text) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let n = t.len();
    let mut i = 0;
    let mut last_end = 0;
    while i < n {
        if !is_latin_word(t.chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n {
            let joiner = matches!(t.chars[i], '-' | '.')
                && i + 1 < n
                && is_latin_word(t.chars[i + 1])
                && i > start;
            if is_latin_word(t.chars[i]) || joiner {
                i += 1;
            } else {
                break;
            }
        }
        let joined = !out.is_empty() && t.chars[last_end..start].iter().all(|&c| c == ' ');
        out.push(Token {
            start,
            end: i,
            joined,
        });
        last_end = i;
    }
    out
}

/// One source of names: its kind, its rules, and its entries (id and aliases).
type Section<'a> = (EntityKind, Rules, Vec<(&'a str, &'a [String])>);

/// Which rules a source's names follow besides exact and typo matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// Catalog jobs: phrases and partial names too.
    Jobs,
    /// Catalog environments: everyday words need a context.
    Environments,
    /// Other catalog sections and lookup tables.
    Plain,
}

impl Gazetteer {
    /// The catalog's names.
    #[cfg(test)]
    pub fn new(catalog: &Catalog) -> Self {
        Self::with_lookups(catalog, &[])
    }

    /// The catalog's names and the lookup tables' values.
    pub fn with_lookups(catalog: &Catalog, lookups: &[Lookup]) -> Self {
        let mut entries = Vec::new();
        let mut pat_map: HashMap<String, Vec<PatEntry>> = HashMap::new();
        let mut phrases = Vec::new();
        let catalog_sections = [
            (EntityKind::JOB, Rules::Jobs, crate::catalog::Section::Jobs),
            (EntityKind::APP, Rules::Plain, crate::catalog::Section::Apps),
            (
                EntityKind::ENVIRONMENT,
                Rules::Environments,
                crate::catalog::Section::Environments,
            ),
            (
                EntityKind::HOST,
                Rules::Plain,
                crate::catalog::Section::Hosts,
            ),
        ];
        let mut sections: Vec<Section<'_>> = catalog_sections
            .into_iter()
            .map(|(k, r, s)| (k, r, catalog.names(s)))
            .collect();
        for l in lookups {
            sections.push((
                l.entity.clone(),
                Rules::Plain,
                l.entries
                    .iter()
                    .map(|e| (e.value.as_str(), e.texts.as_slice()))
                    .collect(),
            ));
        }
        let add = |map: &mut HashMap<String, Vec<PatEntry>>, key: String, pe: PatEntry| {
            if key.is_empty() {
                return;
            }
            let v = map.entry(key).or_default();
            if let Some(old) = v.iter_mut().find(|o| o.entry == pe.entry) {
                if pe.tier > old.tier || (pe.tier == old.tier && pe.confidence > old.confidence) {
                    *old = pe;
                }
            } else {
                v.push(pe);
            }
        };
        // Partial keys: word -> jobs.
        let mut partial: HashMap<String, Vec<u32>> = HashMap::new();
        let mut zh_halves: HashMap<String, Vec<u32>> = HashMap::new();
        for (kind, rules, items) in sections {
            for (id, aliases) in items {
                let e = entries.len() as u32;
                entries.push(Entry {
                    kind: kind.clone(),
                    id: id.to_string(),
                });
                for name in std::iter::once(id).chain(aliases.iter().map(String::as_str)) {
                    let n = norm(name);
                    let guard = if rules == Rules::Environments && GUARDED_ENV.contains(&n.as_str())
                    {
                        Guard::EnvContext
                    } else {
                        Guard::None
                    };
                    let pe = |confidence: f32| PatEntry {
                        entry: e,
                        confidence,
                        tier: tier::NAME,
                        guard,
                    };
                    add(&mut pat_map, n.clone(), pe(1.0));
                    if is_latin_name(&n) {
                        let ws = words_of(&n);
                        if ws.len() > 1 {
                            add(&mut pat_map, ws.join(" "), pe(1.0));
                            add(&mut pat_map, ws.join("-"), pe(1.0));
                            let joined = ws.concat();
                            if joined.len() >= 6 && ws.iter().all(|w| w.len() >= 2) {
                                add(&mut pat_map, joined, pe(0.95));
                            }
                            let pw: Vec<&str> = ws
                                .iter()
                                .copied()
                                .filter(|w| !matches!(*w, "the" | "a" | "an"))
                                .collect();
                            if rules == Rules::Jobs
                                && (2..=4).contains(&pw.len())
                                && !pw.iter().any(|w| PHRASE_BLOCKERS.contains(w))
                            {
                                phrases.push(Phrase {
                                    words: pw.iter().map(|w| synonyms(w)).collect(),
                                    entry: e,
                                });
                            }
                        }
                        if rules == Rules::Jobs && n == id.to_lowercase() {
                            for w in &ws {
                                if w.len() >= 4
                                    && !GENERIC.contains(w)
                                    && !w.chars().any(|c| c.is_ascii_digit())
                                {
                                    for key in partial_keys(w) {
                                        let v = partial.entry(key).or_default();
                                        if !v.contains(&e) {
                                            v.push(e);
                                        }
                                    }
                                }
                            }
                        }
                    } else if rules == Rules::Jobs {
                        let cs: Vec<char> = n.chars().collect();
                        if cs.len() >= 4 && cs.iter().all(|c| is_cjk(*c)) {
                            for half in [&cs[..2], &cs[cs.len() - 2..]] {
                                let h: String = half.iter().collect();
                                let v = zh_halves.entry(h).or_default();
                                if !v.contains(&e) {
                                    v.push(e);
                                }
                            }
                        }
                    }
                }
            }
        }
        let names: HashSet<String> = pat_map.keys().cloned().collect();
        for (key, jobs) in partial {
            if jobs.len() <= 4 && !names.contains(&key) {
                for e in jobs {
                    add(
                        &mut pat_map,
                        key.clone(),
                        PatEntry {
                            entry: e,
                            confidence: 0.6,
                            tier: tier::GUESS,
                            guard: Guard::None,
                        },
                    );
                }
            }
        }
        for (key, jobs) in zh_halves {
            // Only halves that name one job, and are not names themselves.
            if jobs.len() == 1 && !names.contains(&key) && !ZH_NOT_PARTIAL.contains(&key.as_str()) {
                add(
                    &mut pat_map,
                    key,
                    PatEntry {
                        entry: jobs[0],
                        confidence: 0.6,
                        tier: tier::GUESS,
                        guard: Guard::None,
                    },
                );
            }
        }
        // Fuzzy index over exact Latin names of at least 5 characters.
        let mut fuzzy: HashMap<(char, usize), Vec<u32>> = HashMap::new();
        let mut fuzzy_names = Vec::new();
        for (name, pes) in &pat_map {
            let len = name.chars().count();
            if !is_latin_name(name) || max_edits(len) == 0 {
                continue;
            }
            for pe in pes
                .iter()
                .filter(|p| p.tier == tier::NAME && p.guard == Guard::None)
            {
                let first = name.chars().next().unwrap_or(' ');
                let idx = fuzzy_names.len() as u32;
                fuzzy_names.push(FuzzyName {
                    name: name.clone(),
                    len,
                    digits: digits(name),
                    entry: pe.entry,
                });
                fuzzy.entry((first, len)).or_default().push(idx);
            }
        }
        let mut phrase_index: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, p) in phrases.iter().enumerate() {
            for w in &p.words[0] {
                phrase_index.entry(w.clone()).or_default().push(i as u32);
            }
        }
        let mut keys: Vec<String> = pat_map.keys().cloned().collect();
        keys.sort();
        let pats: Vec<Vec<PatEntry>> = keys.iter().map(|k| pat_map[k].clone()).collect();
        let ac = (!keys.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&keys)
                .expect("gazetteer automaton")
        });
        Gazetteer {
            entries,
            ac,
            pats,
            names,
            fuzzy,
            fuzzy_names,
            phrases,
            phrase_index,
        }
    }

    fn cand(&self, entries: &[(u32, f32)], start: usize, end: usize, tier: u8) -> Option<Cand> {
        let best = entries.iter().map(|e| e.1).fold(f32::MIN, f32::max);
        let mut top: Vec<(EntityKind, String)> = entries
            .iter()
            .filter(|e| e.1 >= best - 1e-6)
            .map(|e| {
                let en = &self.entries[e.0 as usize];
                (en.kind.clone(), en.id.clone())
            })
            .collect();
        top.sort();
        top.dedup();
        let (kind, value) = top.first()?.clone();
        let mut c = Cand::new(kind, value, start, end, best, Extractor::Gazetteer, tier);
        c.alts = top.into_iter().skip(1).collect();
        Some(c)
    }

    pub fn find(&self, t: &Text, out: &mut Vec<Cand>) {
        let Some(ac) = &self.ac else { return };
        // Exact names and partial keys.
        for m in ac.find_overlapping_iter(t.norm.as_str()) {
            let (s, e) = t.chars_of(m.start(), m.end());
            if s >= e {
                continue;
            }
            if !t.stands_alone(s, e) {
                continue;
            }
            let pes = &self.pats[m.pattern().as_usize()];
            for tier in [tier::NAME, tier::GUESS] {
                let ok: Vec<(u32, f32)> = pes
                    .iter()
                    .filter(|p| p.tier == tier)
                    .filter(|p| p.guard == Guard::None || env_context_ok(t, s, e))
                    .map(|p| (p.entry, p.confidence))
                    .collect();
                if let Some(c) = self.cand(&ok, s, e, tier) {
                    out.push(c);
                    break;
                }
            }
        }
        let tokens = tokenize(t);
        self.find_phrases(t, &tokens, out);
        self.find_typos(t, &tokens, out);
    }

    fn token_matches(
        &self,
        t: &Text,
        tokens: &[Token],
        i: usize,
        alts: &[String],
    ) -> Option<usize> {
        let tok = t.norm_slice(tokens[i].start, tokens[i].end);
        if alts.iter().any(|a| a == tok) {
            return Some(1);
        }
        if i + 1 < tokens.len() && tokens[i + 1].joined {
            let next = t.norm_slice(tokens[i + 1].start, tokens[i + 1].end);
            if alts.iter().any(|a| {
                a.len() == tok.len() + next.len() && a.starts_with(tok) && a.ends_with(next)
            }) {
                return Some(2);
            }
        }
        None
    }

    fn find_phrases(&self, t: &Text, tokens: &[Token], out: &mut Vec<Cand>) {
        for i in 0..tokens.len() {
            let tok = t.norm_slice(tokens[i].start, tokens[i].end);
            let mut keys = vec![tok.to_string()];
            if i + 1 < tokens.len() && tokens[i + 1].joined {
                keys.push(format!(
                    "{tok}{}",
                    t.norm_slice(tokens[i + 1].start, tokens[i + 1].end)
                ));
            }
            let mut seen = HashSet::new();
            for key in keys {
                let Some(list) = self.phrase_index.get(&key) else {
                    continue;
                };
                for &pi in list {
                    if !seen.insert(pi) {
                        continue;
                    }
                    let p = &self.phrases[pi as usize];
                    if let Some(c) = self.match_phrase(t, tokens, i, p) {
                        out.push(c);
                    }
                }
            }
        }
    }

    fn match_phrase(&self, t: &Text, tokens: &[Token], i: usize, p: &Phrase) -> Option<Cand> {
        let n0 = self.token_matches(t, tokens, i, &p.words[0])?;
        let mut segments = vec![(tokens[i].start, tokens[i + n0 - 1].end)];
        let mut next = i + n0;
        let mut gaps = false;
        for alts in &p.words[1..] {
            let mut found = None;
            for skip in 0..=2 {
                let j = next + skip;
                if j >= tokens.len() || !tokens[j].joined {
                    break;
                }
                if let Some(n) = self.token_matches(t, tokens, j, alts) {
                    found = Some((j, n, skip));
                    break;
                }
            }
            let (j, n, skip) = found?;
            if skip > 0 {
                gaps = true;
                segments.push((tokens[j].start, tokens[j + n - 1].end));
            } else {
                segments.last_mut()?.1 = tokens[j + n - 1].end;
            }
            next = j + n;
        }
        let start = segments[0].0;
        let end = segments.last()?.1;
        let mut c = self.cand(&[(p.entry, 0.9)], start, end, tier::NAME)?;
        if gaps {
            c.segments = Some(segments);
        }
        Some(c)
    }

    fn find_typos(&self, t: &Text, tokens: &[Token], out: &mut Vec<Cand>) {
        for i in 0..tokens.len() {
            for n in 1..=3 {
                if i + n > tokens.len() || (n > 1 && !tokens[i + n - 1].joined) {
                    break;
                }
                let (s, e) = (tokens[i].start, tokens[i + n - 1].end);
                let edge_words = [
                    t.norm_slice(tokens[i].start, tokens[i].end),
                    t.norm_slice(tokens[i + n - 1].start, tokens[i + n - 1].end),
                ];
                if n > 1 && edge_words.iter().any(|w| FUNCTION_WORDS.contains(w)) {
                    continue;
                }
                let q = t.norm_slice(s, e);
                let qlen = e - s;
                if qlen < 5 || self.names.contains(q) || NOT_TYPOS.contains(&q) {
                    continue;
                }
                let Some(first) = q.chars().next() else {
                    continue;
                };
                let qd = digits(q);
                let mut best: Vec<(u32, usize, usize)> = Vec::new(); // entry, dist, name len
                for len in qlen.saturating_sub(2)..=qlen + 2 {
                    let Some(list) = self.fuzzy.get(&(first, len)) else {
                        continue;
                    };
                    let allowed = max_edits(len);
                    if qlen.abs_diff(len) > allowed {
                        continue;
                    }
                    for &fi in list {
                        let f = &self.fuzzy_names[fi as usize];
                        if f.digits != qd {
                            continue;
                        }
                        let Some(d) = typo_distance(q, &f.name, allowed) else {
                            continue;
                        };
                        if is_inflection(q, &f.name) {
                            continue;
                        }
                        best.push((f.entry, d, f.len));
                    }
                }
                let Some(min) = best.iter().map(|b| b.1).min() else {
                    continue;
                };
                let top: Vec<(u32, f32)> = best
                    .iter()
                    .filter(|b| b.1 == min)
                    .map(|b| {
                        let sim = 1.0 - b.1 as f32 / b.2.max(qlen) as f32;
                        (b.0, ((0.6 + 0.3 * sim) * 100.0).round() / 100.0)
                    })
                    .collect();
                // Equal distance means equally good, whatever the lengths.
                let conf = top.iter().map(|x| x.1).fold(f32::MIN, f32::max);
                let top: Vec<(u32, f32)> = top.into_iter().map(|x| (x.0, conf)).collect();
                if let Some(c) = self.cand(&top, s, e, tier::GUESS) {
                    out.push(c);
                }
            }
        }
    }
}

/// Chinese halves that are too common to stand for a job.
const ZH_NOT_PARTIAL: &[&str] = &["服务", "环境", "数据", "任务", "作业", "一下", "清理"];

fn partial_keys(w: &str) -> Vec<String> {
    let mut keys = vec![w.to_string(), format!("{w}s")];
    for particle in ["up", "back", "out", "down"] {
        if let Some(head) = w.strip_suffix(particle) {
            if head.len() >= 3 {
                keys.push(format!("{head} {particle}"));
            }
        }
    }
    keys
}

/// The edit distance of a typo, or `None` when `q` is not a typo of `name`. Multi-word names
/// compare word by word: same number of words, each word within its own tolerance (none up to
/// 3 letters, one up to 8, two beyond), so "deploy to" is not a typo of "deploy job".
fn typo_distance(q: &str, name: &str, allowed: usize) -> Option<usize> {
    let (qw, nw) = (words_of(q), words_of(name));
    let d = if qw.len() == 1 && nw.len() == 1 {
        strsim::osa_distance(q, name)
    } else {
        if qw.len() != nw.len() {
            return None;
        }
        let mut total = 0;
        for (a, b) in qw.iter().zip(&nw) {
            let d = strsim::osa_distance(a, b);
            let per_word = match b.chars().count() {
                0..=3 => 0,
                4..=8 => 1,
                _ => 2,
            };
            if d > per_word {
                return None;
            }
            total += d;
        }
        total
    };
    (d > 0 && d <= allowed).then_some(d)
}

/// "restarts", "migrated", "scaling": an inflected form of the name, not a typo.
fn is_inflection(q: &str, name: &str) -> bool {
    let stem = name.strip_suffix('e').unwrap_or(name);
    [name, stem].iter().any(|base| {
        q.strip_prefix(base)
            .is_some_and(|rest| matches!(rest, "s" | "es" | "d" | "ed" | "ing" | "er" | "ers"))
    })
}

/// Whether a guarded environment name ("test", "live") is used as an environment here.
fn env_context_ok(t: &Text, s: usize, e: usize) -> bool {
    if t.before(s).is_some_and(is_cjk) || t.at(e).is_some_and(is_cjk) {
        return true;
    }
    if let Some(next) = t.next_word(e) {
        if ENV_NOUNS.contains(&next) {
            return true;
        }
    }
    let mut p = s;
    for _ in 0..2 {
        match t.prev_word(p) {
            Some(w) if ENV_PREPOSITIONS.contains(&w) => return true,
            Some("the") => {
                // skip "the" and look once more
                let mut q = p;
                while q > 0 && t.chars[q - 1] == ' ' {
                    q -= 1;
                }
                p = q - 3;
            }
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        Catalog::from_toml_str(
            r#"
[[environments]]
id = "testing"
aliases = ["test", "qa", "测试"]
[[environments]]
id = "production"
aliases = ["prod", "live"]
[[apps]]
id = "web"
[[hosts]]
id = "web-01"
[[jobs]]
id = "scale-service"
aliases = ["scale"]
[[jobs]]
id = "backup-database"
aliases = ["数据库备份"]
[[jobs]]
id = "backup-files"
[[jobs]]
id = "rotate-logs"
"#,
            "t",
        )
        .unwrap()
    }

    fn find(g: &Gazetteer, s: &str) -> Vec<(EntityKind, String, usize, usize, usize)> {
        let t = Text::new(s);
        let mut out = Vec::new();
        g.find(&t, &mut out);
        out.into_iter()
            .map(|c| (c.kind, c.value, c.start, c.end, c.alts.len()))
            .collect()
    }

    #[test]
    fn word_boundaries() {
        let g = Gazetteer::new(&cat());
        let f = find(&g, "scale-service on web-01");
        assert!(f
            .iter()
            .any(|x| x.1 == "scale-service" && x.2 == 0 && x.3 == 13));
        assert!(!f.iter().any(|x| x.1 == "web"), "{f:?}");
        assert!(
            !f.iter().any(|x| x.3 == 5),
            "scale inside scale-service: {f:?}"
        );
        let f = find(&g, "rescaled");
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn guarded_environment_words() {
        let g = Gazetteer::new(&cat());
        assert!(find(&g, "let me test this").is_empty());
        assert!(find(&g, "deploy to test").iter().any(|x| x.1 == "testing"));
        assert!(find(&g, "in the live environment")
            .iter()
            .any(|x| x.1 == "production"));
        assert!(find(&g, "is it live").is_empty());
        assert!(find(&g, "部署到test").iter().any(|x| x.1 == "testing"));
    }

    #[test]
    fn typos_and_partials() {
        let g = Gazetteer::new(&cat());
        assert!(find(&g, "run rotate-lgos")
            .iter()
            .any(|x| x.1 == "rotate-logs"));
        let f = find(&g, "is the backup done");
        assert!(
            f.iter().any(|x| x.1 == "backup-database" && x.4 == 1),
            "{f:?}"
        );
        assert!(find(&g, "restarts of web-04")
            .iter()
            .all(|x| x.3 <= 8 || x.1 != "web-01"));
        assert!(is_inflection("restarts", "restart"));
        assert!(is_inflection("migrated", "migrate"));
        assert!(!is_inflection("rotate-lgos", "rotate-logs"));
    }

    #[test]
    fn chinese_substrings_and_halves() {
        let g = Gazetteer::new(&cat());
        let f = find(&g, "做一次数据库备份");
        assert!(f
            .iter()
            .any(|x| x.1 == "backup-database" && (x.2, x.3) == (3, 8)));
        assert!(find(&g, "备份一下")
            .iter()
            .any(|x| x.1 == "backup-database"));
    }
}
