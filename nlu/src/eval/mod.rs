//! Evaluation: the contract's case format and metrics.
//!
//! Scoring follows `nlu-contract.md`: intent accuracy (an `out_of_scope` case is right when
//! the outcome is `out_of_scope`), macro F1 over intents, out-of-scope recall and precision,
//! entity precision/recall/F1 over (kind, value) pairs on the cases of the seven job intents,
//! each overall and per language; plus the share of in-scope cases sent to out-of-scope,
//! the expected calibration error, and the most confused intent pairs.

pub mod benchmark;
pub mod datasets;
pub mod disjoint;
pub mod slots;

use crate::error::{NluError, Result};
use crate::result::{EntityKind, IntentName, Outcome, ParseResult};
use crate::train::calibrate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// An expected entity of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedEntity {
    pub entity: EntityKind,
    /// The normalized value; for `time`, `*` (or absent) scores presence only.
    #[serde(default)]
    pub value: Option<String>,
}

/// One evaluation case (a line of the JSONL file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub text: String,
    pub intent: IntentName,
    #[serde(default)]
    pub entities: Vec<ExpectedEntity>,
    #[serde(default)]
    pub lang: Option<String>,
    /// Reference time (RFC 3339) for resolving time expressions.
    #[serde(default)]
    pub now: Option<String>,
    /// The line of the file it was read from (0 when not read from a file).
    #[serde(skip)]
    pub line: usize,
}

/// Reads a JSONL file of cases; blank lines are skipped; errors name the line.
pub fn read_cases(path: &Path) -> Result<Vec<Case>> {
    let bytes = std::fs::read(path).map_err(|e| NluError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let err = |reason: String| NluError::Cases {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let line = std::str::from_utf8(line).map_err(|e| err(format!("not UTF-8: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut case: Case = serde_json::from_str(line).map_err(|e| err(e.to_string()))?;
        case.line = i + 1;
        if let Some(now) = &case.now {
            chrono::DateTime::parse_from_rfc3339(now)
                .map_err(|e| err(format!("`now` {now:?} is not an RFC 3339 time: {e}")))?;
        }
        out.push(case);
    }
    if out.is_empty() {
        return Err(NluError::Cases {
            path: path.to_path_buf(),
            line: 0,
            reason: "no cases".into(),
        });
    }
    Ok(out)
}

/// Checks that every case expects one of `known` intents (a model's labels) or
/// `out_of_scope`; the error names the first case that does not, by its line.
pub fn check_intents(path: &Path, cases: &[Case], known: &[IntentName]) -> Result<()> {
    for c in cases {
        if !c.intent.is_out_of_scope() && !known.contains(&c.intent) {
            let names: Vec<&str> = known.iter().map(|k| k.as_str()).collect();
            return Err(NluError::Cases {
                path: path.to_path_buf(),
                line: c.line,
                reason: format!(
                    "intent `{}` is not one of the model's intents ({}); fix the case or evaluate the model it was written for",
                    c.intent,
                    names.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Parses every case (on all cores): at the case's own `now` when it has one, else at
/// `default_now`, else at the current time.
pub fn parse_cases(
    parser: &crate::Parser,
    cases: &[Case],
    default_now: Option<chrono::DateTime<chrono_tz::Tz>>,
) -> Result<Vec<ParseResult>> {
    Ok(parse_cases_staged(parser, cases, default_now)?
        .into_iter()
        .map(|(r, _)| r)
        .collect())
}

/// [`parse_cases`], with the stage of the cascade that answered each case.
pub fn parse_cases_staged(
    parser: &crate::Parser,
    cases: &[Case],
    default_now: Option<chrono::DateTime<chrono_tz::Tz>>,
) -> Result<Vec<(ParseResult, crate::classifier::cascade::Stage)>> {
    crate::parallel::parallel_map(cases, |c| {
        let now = match &c.now {
            Some(n) => chrono::DateTime::parse_from_rfc3339(n)
                .map_err(|e| NluError::Cases {
                    path: std::path::PathBuf::from("(case)"),
                    line: 0,
                    reason: format!("`now` of {:?} is not RFC 3339: {e}", c.text),
                })?
                .with_timezone(&parser.time_zone()),
            None => {
                default_now.unwrap_or_else(|| chrono::Utc::now().with_timezone(&parser.time_zone()))
            }
        };
        parser.parse_staged_at(&c.text, now)
    })
}

/// Precision, recall and F1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Prf {
    pub precision: f32,
    pub recall: f32,
    pub f1: f32,
    pub support: usize,
}

impl Prf {
    pub(crate) fn from_counts(tp: usize, fp: usize, fn_: usize) -> Prf {
        let p = if tp + fp == 0 {
            1.0
        } else {
            tp as f32 / (tp + fp) as f32
        };
        let r = if tp + fn_ == 0 {
            1.0
        } else {
            tp as f32 / (tp + fn_) as f32
        };
        let f1 = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        Prf {
            precision: p,
            recall: r,
            f1,
            support: tp + fn_,
        }
    }
}

/// Metrics over a group of cases (all, or one language).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub cases: usize,
    pub intent_accuracy: f32,
    pub macro_f1: f32,
    pub out_of_scope: Prf,
    /// Share of in-scope cases whose outcome was `out_of_scope`.
    pub in_scope_rejected: f32,
    /// Share of cases whose outcome was `clarify`.
    pub clarify_rate: f32,
    pub entities: Prf,
    /// Entity precision, recall and F1 per kind; a parameter per name (`param:replicas`).
    pub entities_per_kind: BTreeMap<String, Prf>,
    pub expected_calibration_error: f32,
    pub per_intent: BTreeMap<String, Prf>,
}

/// A case the parser got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    pub text: String,
    pub lang: Option<String>,
    pub expected: IntentName,
    pub got: IntentName,
    pub outcome: Outcome,
    pub confidence: f32,
    pub missing_entities: Vec<String>,
    pub extra_entities: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub overall: Metrics,
    pub per_language: BTreeMap<String, Metrics>,
    /// (expected, got, count), most frequent first.
    pub confusions: Vec<(IntentName, IntentName, usize)>,
    pub misses: Vec<Miss>,
    pub reliability: Vec<calibrate::Bin>,
    /// Share of the cases that name a language whose detected `lang` matches it, among those
    /// whose text has letters (None when no such case names one).
    pub lang_accuracy: Option<f32>,
    /// How many cases each stage of the cascade answered (`sparse`, `full`; see
    /// [`Report::record_stages`]); empty when not recorded.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stages: BTreeMap<String, usize>,
    /// The metrics of the cases each stage answered.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_stage: BTreeMap<String, Metrics>,
}

/// The intent a result reports for scoring: `out_of_scope` whenever the outcome says so.
fn reported(r: &ParseResult) -> IntentName {
    if r.outcome == Outcome::OutOfScope {
        IntentName::OUT_OF_SCOPE
    } else {
        r.intent.name.clone()
    }
}

/// The per-kind key of an expected or reported entity: its kind, and for a parameter its
/// name too (`param:domain` for `param` `domain=shop.example.com`).
fn kind_key(kind: &EntityKind, value: Option<&str>) -> String {
    match value.and_then(|v| v.split_once('=')) {
        Some((name, _)) if *kind == EntityKind::PARAM => format!("{kind}:{}", name.trim()),
        _ => kind.to_string(),
    }
}

/// The per-kind key of a `kind=value` string of [`entity_pairs`].
fn pair_key(pair: &str) -> String {
    let (kind, value) = pair.split_once('=').unwrap_or((pair, ""));
    kind_key(&EntityKind::from(kind), Some(value))
}

/// Matches a case's expected entities with a result's: the per-kind keys of the matched
/// ones, and the missing and the extra ones as `kind=value`.
fn entity_pairs(case: &Case, result: &ParseResult) -> (Vec<String>, Vec<String>, Vec<String>) {
    let expected: Vec<(EntityKind, Option<String>)> = case
        .entities
        .iter()
        .map(|e| {
            // a time's value is scored only when the case gives the reference time
            let v = match (e.entity == EntityKind::TIME, e.value.as_deref()) {
                (true, Some(v)) if case.now.is_some() && v != "*" => Some(v.to_string()),
                (true, _) => None,
                (false, v) => v.map(str::to_string),
            };
            (e.entity.clone(), v)
        })
        .collect();
    let mut got: Vec<(EntityKind, String)> = result
        .entities
        .iter()
        .map(|e| (e.entity.clone(), e.value.clone()))
        .collect();
    let mut tp = Vec::new();
    let mut missing = Vec::new();
    for (kind, value) in &expected {
        let pos = got
            .iter()
            .position(|(k, v)| k == kind && value.as_ref().is_none_or(|want| want == v));
        match pos {
            Some(p) => {
                let (k, v) = got.remove(p);
                tp.push(kind_key(&k, Some(&v)));
            }
            None => missing.push(format!("{kind}={}", value.as_deref().unwrap_or("*"))),
        }
    }
    let extra = got.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    (tp, missing, extra)
}

/// One prediction over string labels, as scored by [`intent_metrics`]: the contract's
/// cases and the public benchmarks share this scoring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored<'a> {
    /// The gold label.
    pub expected: &'a str,
    /// The reported label (the out-of-scope label whenever the outcome is `out_of_scope`).
    pub got: &'a str,
    pub outcome: Outcome,
    /// Confidence of the reported outcome.
    pub confidence: f32,
}

/// Intent metrics over a list of [`Scored`] predictions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntentMetrics {
    pub cases: usize,
    pub intent_accuracy: f32,
    pub macro_f1: f32,
    /// Precision and recall of the out-of-scope label.
    pub out_of_scope: Prf,
    /// Share of in-scope items whose outcome was `out_of_scope`.
    pub in_scope_rejected: f32,
    /// Share of items whose outcome was `clarify`.
    pub clarify_rate: f32,
    pub expected_calibration_error: f32,
    pub per_intent: BTreeMap<String, Prf>,
}

/// Accuracy, macro F1, out-of-scope precision/recall, rejection and clarification rates and
/// calibration error of `items`; `oos_label` names the out-of-scope label.
pub fn intent_metrics(items: &[Scored<'_>], oos_label: &str) -> IntentMetrics {
    let n = items.len();
    let mut right = 0;
    let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let (mut in_scope, mut rejected, mut clarify) = (0, 0, 0);
    let mut conf = Vec::with_capacity(n);
    let mut correct = Vec::with_capacity(n);
    for s in items {
        let ok = s.got == s.expected;
        right += usize::from(ok);
        conf.push(s.confidence);
        correct.push(ok);
        let e = counts.entry(s.expected).or_default();
        if ok {
            e.0 += 1;
        } else {
            e.2 += 1;
            counts.entry(s.got).or_default().1 += 1;
        }
        if s.expected != oos_label {
            in_scope += 1;
            rejected += usize::from(s.outcome == Outcome::OutOfScope);
        }
        clarify += usize::from(s.outcome == Outcome::Clarify);
    }
    let per_intent: BTreeMap<String, Prf> = counts
        .into_iter()
        .map(|(k, (tp, fp, fn_))| (k.to_string(), Prf::from_counts(tp, fp, fn_)))
        .collect();
    let with_support: Vec<&Prf> = per_intent.values().filter(|p| p.support > 0).collect();
    let macro_f1 =
        with_support.iter().map(|p| p.f1).sum::<f32>() / with_support.len().max(1) as f32;
    IntentMetrics {
        cases: n,
        intent_accuracy: right as f32 / n.max(1) as f32,
        macro_f1,
        out_of_scope: per_intent.get(oos_label).copied().unwrap_or_default(),
        in_scope_rejected: rejected as f32 / in_scope.max(1) as f32,
        clarify_rate: clarify as f32 / n.max(1) as f32,
        expected_calibration_error: calibrate::expected_calibration_error(&conf, &correct, 15),
        per_intent,
    }
}

/// (expected, got, count) of the wrong predictions, most frequent first.
pub fn confusion_pairs<T: Ord + Clone>(
    pairs: impl IntoIterator<Item = (T, T)>,
) -> Vec<(T, T, usize)> {
    let mut confusion: BTreeMap<(T, T), usize> = BTreeMap::new();
    for (a, b) in pairs {
        if a != b {
            *confusion.entry((a, b)).or_default() += 1;
        }
    }
    let mut out: Vec<(T, T, usize)> = confusion.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.2));
    out
}

fn metrics(cases: &[&Case], results: &[&ParseResult], entity_intents: &[IntentName]) -> Metrics {
    let got: Vec<IntentName> = results.iter().map(|r| reported(r)).collect();
    let scored: Vec<Scored<'_>> = cases
        .iter()
        .zip(results)
        .zip(&got)
        .map(|((case, r), got)| Scored {
            expected: case.intent.as_str(),
            got: got.as_str(),
            outcome: r.outcome,
            confidence: r.intent.confidence,
        })
        .collect();
    let m = intent_metrics(&scored, IntentName::OUT_OF_SCOPE.as_str());
    let (mut ent_tp, mut ent_fp, mut ent_fn) = (0, 0, 0);
    // kind -> (tp, fp, fn)
    let mut per_kind: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (case, r) in cases.iter().zip(results) {
        if entity_intents.contains(&case.intent) {
            let (tp, missing, extra) = entity_pairs(case, r);
            ent_tp += tp.len();
            ent_fn += missing.len();
            ent_fp += extra.len();
            for k in tp {
                per_kind.entry(k).or_default().0 += 1;
            }
            for e in &extra {
                per_kind.entry(pair_key(e)).or_default().1 += 1;
            }
            for m in &missing {
                per_kind.entry(pair_key(m)).or_default().2 += 1;
            }
        }
    }
    Metrics {
        cases: m.cases,
        intent_accuracy: m.intent_accuracy,
        macro_f1: m.macro_f1,
        out_of_scope: m.out_of_scope,
        in_scope_rejected: m.in_scope_rejected,
        clarify_rate: m.clarify_rate,
        entities: Prf::from_counts(ent_tp, ent_fp, ent_fn),
        entities_per_kind: per_kind
            .into_iter()
            .map(|(k, (tp, fp, fn_))| (k, Prf::from_counts(tp, fp, fn_)))
            .collect(),
        expected_calibration_error: m.expected_calibration_error,
        per_intent: m.per_intent,
    }
}

/// Scores parse results against their cases. Entities are scored on the cases whose expected
/// intent is one of `entity_intents` (the intents that take entities: for a parser,
/// [`crate::Parser::entity_intents`]; for the ChatOps model, the seven job intents).
pub fn evaluate(cases: &[Case], results: &[ParseResult], entity_intents: &[IntentName]) -> Report {
    let all_c: Vec<&Case> = cases.iter().collect();
    let all_r: Vec<&ParseResult> = results.iter().collect();
    let overall = metrics(&all_c, &all_r, entity_intents);
    let mut per_language = BTreeMap::new();
    let mut langs: Vec<String> = cases.iter().filter_map(|c| c.lang.clone()).collect();
    langs.sort();
    langs.dedup();
    for lang in langs {
        let idx: Vec<usize> = (0..cases.len())
            .filter(|&i| cases[i].lang.as_deref() == Some(lang.as_str()))
            .collect();
        let c: Vec<&Case> = idx.iter().map(|&i| &cases[i]).collect();
        let r: Vec<&ParseResult> = idx.iter().map(|&i| &results[i]).collect();
        per_language.insert(lang, metrics(&c, &r, entity_intents));
    }
    let mut misses = Vec::new();
    for (case, r) in cases.iter().zip(results) {
        let got = reported(r);
        let (_, missing, extra) = if entity_intents.contains(&case.intent) {
            entity_pairs(case, r)
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        if got != case.intent || !missing.is_empty() || !extra.is_empty() {
            misses.push(Miss {
                text: case.text.clone(),
                lang: case.lang.clone(),
                expected: case.intent.clone(),
                got,
                outcome: r.outcome,
                confidence: r.intent.confidence,
                missing_entities: missing,
                extra_entities: extra,
            });
        }
    }
    let confusions = confusion_pairs(
        cases
            .iter()
            .zip(results)
            .map(|(c, r)| (c.intent.clone(), reported(r))),
    );
    let conf: Vec<f32> = results.iter().map(|r| r.intent.confidence).collect();
    let correct: Vec<bool> = cases
        .iter()
        .zip(results)
        .map(|(c, r)| reported(r) == c.intent)
        .collect();
    // texts without letters (emoji, numbers) have no language to detect
    let named: Vec<bool> = cases
        .iter()
        .zip(results)
        .filter(|(c, _)| crate::Lang::detect_opt(&c.text).is_some())
        .filter_map(|(c, r)| c.lang.as_deref().map(|l| l == r.lang.as_str()))
        .collect();
    let lang_accuracy = (!named.is_empty())
        .then(|| named.iter().filter(|&&ok| ok).count() as f32 / named.len() as f32);
    Report {
        overall,
        per_language,
        confusions,
        misses,
        reliability: calibrate::reliability(&conf, &correct, 10),
        lang_accuracy,
        stages: BTreeMap::new(),
        per_stage: BTreeMap::new(),
    }
}

impl Report {
    /// Records which stage of the cascade answered each case (`stages[i]` for `cases[i]`,
    /// whose result is `results[i]`): how many each answered, and the metrics of those cases.
    pub fn record_stages(
        &mut self,
        cases: &[Case],
        results: &[ParseResult],
        stages: &[crate::classifier::cascade::Stage],
        entity_intents: &[IntentName],
    ) {
        self.stages.clear();
        self.per_stage.clear();
        for stage in crate::classifier::cascade::Stage::ALL {
            let idx: Vec<usize> = (0..stages.len().min(cases.len()).min(results.len()))
                .filter(|&i| stages[i] == stage)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let c: Vec<&Case> = idx.iter().map(|&i| &cases[i]).collect();
            let r: Vec<&ParseResult> = idx.iter().map(|&i| &results[i]).collect();
            self.stages.insert(stage.name().to_string(), idx.len());
            self.per_stage
                .insert(stage.name().to_string(), metrics(&c, &r, entity_intents));
        }
    }

    /// A readable text report.
    pub fn to_text(&self, max_misses: usize) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let row = |s: &mut String, name: &str, m: &Metrics| {
            let _ = writeln!(
                s,
                "{name:<8} {:>6} {:>9.1}% {:>9.3} {:>8.1}% {:>8.1}% {:>9.1}% {:>8.1}% {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
                m.cases,
                100.0 * m.intent_accuracy,
                m.macro_f1,
                100.0 * m.out_of_scope.recall,
                100.0 * m.out_of_scope.precision,
                100.0 * m.in_scope_rejected,
                100.0 * m.clarify_rate,
                m.entities.precision,
                m.entities.recall,
                m.entities.f1,
                m.expected_calibration_error,
            );
        };
        let _ = writeln!(
            s,
            "{:<8} {:>6} {:>10} {:>9} {:>9} {:>9} {:>10} {:>9} {:>7} {:>7} {:>7} {:>7}",
            "",
            "cases",
            "accuracy",
            "macro-F1",
            "OOS-rec",
            "OOS-prec",
            "rejected",
            "clarify",
            "ent-P",
            "ent-R",
            "ent-F1",
            "ECE"
        );
        row(&mut s, "all", &self.overall);
        for (lang, m) in &self.per_language {
            row(&mut s, lang, m);
        }
        if let Some(a) = self.lang_accuracy {
            let _ = writeln!(s, "\nlanguage detected right: {:.1}%", 100.0 * a);
        }
        if !self.stages.is_empty() {
            let total: usize = self.stages.values().sum();
            let parts: Vec<String> = self
                .stages
                .iter()
                .map(|(k, n)| {
                    let acc = self
                        .per_stage
                        .get(k)
                        .map(|m| format!(", accuracy {:.1}%", 100.0 * m.intent_accuracy))
                        .unwrap_or_default();
                    format!(
                        "{k} {n} ({:.1}%{acc})",
                        100.0 * *n as f32 / total.max(1) as f32
                    )
                })
                .collect();
            let _ = writeln!(s, "answered by: {}", parts.join(", "));
        }
        if !self.confusions.is_empty() {
            let _ = writeln!(s, "\nmost confused (expected -> got):");
            for (a, b, n) in self.confusions.iter().take(10) {
                let _ = writeln!(s, "  {n:>3}  {a} -> {b}");
            }
        }
        let wrong: Vec<&Miss> = self.misses.iter().filter(|m| m.expected != m.got).collect();
        if !wrong.is_empty() {
            let _ = writeln!(s, "\nmisclassified ({}):", wrong.len());
            for m in wrong.iter().take(max_misses) {
                let _ = writeln!(
                    s,
                    "  [{}] {:?}: expected {}, got {} ({:?}, {:.2})",
                    m.lang.as_deref().unwrap_or("-"),
                    m.text,
                    m.expected,
                    m.got,
                    m.outcome,
                    m.confidence
                );
            }
        }
        let ent: Vec<&Miss> = self
            .misses
            .iter()
            .filter(|m| !m.missing_entities.is_empty() || !m.extra_entities.is_empty())
            .collect();
        if !ent.is_empty() {
            let _ = writeln!(s, "\nentity errors ({}):", ent.len());
            for m in ent.iter().take(max_misses) {
                let _ = writeln!(
                    s,
                    "  [{}] {:?}: missing [{}] extra [{}]",
                    m.lang.as_deref().unwrap_or("-"),
                    m.text,
                    m.missing_entities.join(", "),
                    m.extra_entities.join(", ")
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Entity, Extractor, IntentScore};

    fn result(
        intent: IntentName,
        outcome: Outcome,
        entities: Vec<(EntityKind, &str)>,
    ) -> ParseResult {
        ParseResult {
            text: String::new(),
            intent: IntentScore {
                name: intent,
                confidence: 0.9,
            },
            intent_ranking: vec![],
            entities: entities
                .into_iter()
                .map(|(k, v)| Entity {
                    entity: k,
                    value: v.into(),
                    start: 0,
                    end: 0,
                    text: String::new(),
                    confidence: 1.0,
                    extractor: Extractor::Regex,
                })
                .collect(),
            outcome,
            clarification: None,
            lang: crate::Lang::En,
        }
    }

    fn case(line: &str) -> Case {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn scores_intents_entities_and_out_of_scope() {
        let cases = vec![
            case(
                r#"{"text":"a","intent":"deploy_app","entities":[{"entity":"app","value":"api"},{"entity":"time","value":"*"}],"lang":"en"}"#,
            ),
            case(r#"{"text":"b","intent":"out_of_scope","entities":[],"lang":"en"}"#),
            case(
                r#"{"text":"c","intent":"job_status","entities":[{"entity":"execution_id","value":"12"}],"lang":"zh"}"#,
            ),
            case(r#"{"text":"d","intent":"help","entities":[],"lang":"zh"}"#),
        ];
        let results = vec![
            result(
                IntentName::from("deploy_app"),
                Outcome::Understood,
                vec![
                    (EntityKind::APP, "api"),
                    (EntityKind::TIME, "2026-01-01T00:00:00Z"),
                    (EntityKind::COUNT, "3"),
                ],
            ),
            // low confidence fallback: intent field still says help, outcome out_of_scope
            result(IntentName::from("help"), Outcome::OutOfScope, vec![]),
            result(IntentName::from("job_status"), Outcome::Clarify, vec![]),
            result(IntentName::from("help"), Outcome::OutOfScope, vec![]),
        ];
        let job: Vec<IntentName> = ["deploy_app", "job_status"].map(IntentName::from).into();
        let r = evaluate(&cases, &results, &job);
        assert_eq!(r.overall.intent_accuracy, 0.75);
        assert_eq!(r.overall.out_of_scope.recall, 1.0);
        assert_eq!(r.overall.out_of_scope.precision, 0.5);
        assert!((r.overall.in_scope_rejected - 1.0 / 3.0).abs() < 1e-6);
        // entities: tp 2 (app, time), fp 1 (count), fn 1 (execution_id)
        assert!((r.overall.entities.precision - 2.0 / 3.0).abs() < 1e-6);
        assert!((r.overall.entities.recall - 2.0 / 3.0).abs() < 1e-6);
        let kinds: Vec<(&str, usize, f32, f32)> = r
            .overall
            .entities_per_kind
            .iter()
            .map(|(k, p)| (k.as_str(), p.support, p.precision, p.recall))
            .collect();
        assert_eq!(
            kinds,
            [
                ("app", 1, 1.0, 1.0),
                // nothing to find: recall 1 by convention, as nothing reported has precision 1
                ("count", 0, 0.0, 1.0),
                ("execution_id", 1, 1.0, 0.0),
                ("time", 1, 1.0, 1.0)
            ]
        );
        assert_eq!(r.per_language["en"].intent_accuracy, 1.0);
        assert_eq!(r.per_language["zh"].intent_accuracy, 0.5);
        assert_eq!(
            r.confusions,
            vec![(IntentName::from("help"), IntentName::OUT_OF_SCOPE, 1)]
        );
        assert!(r.to_text(10).contains("help -> out_of_scope"));
    }

    #[test]
    fn parameters_are_scored_per_name() {
        let cases = vec![case(
            r#"{"text":"a","intent":"run_job","entities":[{"entity":"param","value":"reason=the disk is full"},{"entity":"param","value":"domain=a.example.com"}]}"#,
        )];
        let results = vec![result(
            IntentName::from("run_job"),
            Outcome::Understood,
            vec![
                (EntityKind::PARAM, "reason=the disk"),
                (EntityKind::PARAM, "domain=a.example.com"),
            ],
        )];
        let r = evaluate(&cases, &results, &[IntentName::from("run_job")]);
        let k = &r.overall.entities_per_kind;
        assert_eq!(
            k.keys().collect::<Vec<_>>(),
            ["param:domain", "param:reason"]
        );
        assert_eq!(k["param:domain"].f1, 1.0);
        assert_eq!(
            (k["param:reason"].precision, k["param:reason"].recall),
            (0.0, 0.0)
        );
        assert_eq!(k["param:reason"].support, 1);
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.jsonl");
        std::fs::write(
            &p,
            "{\"text\":\"a\",\"intent\":\"help\"}\n\n{\"text\": 3}\n",
        )
        .unwrap();
        let e = read_cases(&p).unwrap_err().to_string();
        assert!(e.contains("c.jsonl:3:"), "{e}");
        std::fs::write(&p, "\n{\"text\":\"a\",\"intent\":\"fly\"}\n").unwrap();
        let cases = read_cases(&p).unwrap();
        let known = [IntentName::from("help")];
        let e = check_intents(&p, &cases, &known).unwrap_err().to_string();
        assert!(
            e.contains(":2:") && e.contains("`fly`") && e.contains("(help)"),
            "{e}"
        );
        std::fs::write(&p, b"{\"text\":\"\xff\",\"intent\":\"help\"}\n").unwrap();
        let e = read_cases(&p).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("UTF-8"), "{e}");
    }
}
