//! The parser: runs the classifier and the entity extractors on a text and applies the
//! fallback policy, producing the contract's [`ParseResult`].

use crate::catalog::Catalog;
use crate::classifier::cascade::Stage;
use crate::classifier::{Classifier, RuntimeOptions};
use crate::entities::{EntityExtractor, ExtractContext, Extraction};
use crate::error::{NluError, Result};
use crate::model::{IntentSpec, Thresholds};
use crate::result::{
    Clarification, ClarifyOption, ClarifyReason, IntentName, IntentScore, Outcome, ParseResult,
};
use crate::tagger::{Tagger, TAGGER_FILE};
use arc_swap::ArcSwap;
use chrono::DateTime;
use chrono_tz::Tz;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Texts longer than this many characters are cut before classification (the encoder sees
/// at most its token window anyway); entities are still looked for in the whole text up to
/// [`MAX_ENTITY_CHARS`].
pub const MAX_CLASSIFY_CHARS: usize = 2_000;

/// Entity extraction looks at no more than this many characters.
pub const MAX_ENTITY_CHARS: usize = 10_000;

/// How a [`Parser`] is loaded.
#[derive(Debug, Clone)]
pub struct ParserOptions {
    /// Replace the thresholds stored with the model.
    pub thresholds: Option<Thresholds>,
    /// Threads and sessions of ONNX Runtime.
    pub runtime: RuntimeOptions,
    /// The catalog whose jobs, apps, environments and hosts are recognized (empty if none;
    /// replace it later with [`Parser::set_catalog`]).
    pub catalog: Option<Catalog>,
    /// The time zone in which [`Parser::parse`] resolves time expressions.
    pub time_zone: Tz,
    /// Let the sparse head answer the texts it is sure of without an encoder run (see
    /// [`crate::classifier::cascade`]; default on). Off, every text runs the full model, for
    /// comparison (`--full` on the command line).
    pub cascade: bool,
}

impl Default for ParserOptions {
    fn default() -> Self {
        ParserOptions {
            thresholds: None,
            runtime: RuntimeOptions::default(),
            catalog: None,
            time_zone: chrono_tz::UTC,
            cascade: true,
        }
    }
}

/// Parses free text into intents and entities.
///
/// Load it once and share it: it is `Send + Sync`, and concurrent callers each get their
/// own ONNX Runtime session from a small pool. The catalog can be replaced while other
/// threads parse ([`Parser::set_catalog`]): each parse uses one catalog, old or new.
///
/// ```no_run
/// let parser = nlu::Parser::load(&nlu::default_model_dir()?)?;
/// let result = parser.parse("deploy api 2.4.1 to staging")?;
/// assert_eq!(result.intent.name, "deploy_app");
/// println!("{}", serde_json::to_string(&result).unwrap());
/// # Ok::<(), nlu::NluError>(())
/// ```
#[derive(Debug)]
pub struct Parser {
    classifier: Classifier,
    tagger: Option<Tagger>,
    intents: Vec<IntentSpec>,
    thresholds: Thresholds,
    extractor: ArcSwap<EntityExtractor>,
    time_zone: Tz,
    cascade: bool,
}

impl Parser {
    /// Loads a model directory with default options.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with(dir, ParserOptions::default())
    }

    /// Loads a model directory.
    pub fn load_with(dir: &Path, options: ParserOptions) -> Result<Self> {
        let classifier = Classifier::load(dir, options.runtime)?;
        let tagger = match &classifier.meta().tagger {
            Some(meta) => {
                if !classifier.encoder().has_token_states() {
                    return Err(NluError::ModelDir {
                        path: dir.to_path_buf(),
                        reason: "the model has an entity tagger but its encoder gives no token \
                                 states; rebuild the encoder with scripts/encoder/build.sh"
                            .into(),
                    });
                }
                Some(Tagger::load(
                    &dir.join(TAGGER_FILE),
                    meta,
                    options.runtime.max_sessions,
                )?)
            }
            None => None,
        };
        let intents = classifier.meta().intent_specs();
        let thresholds = options.thresholds.unwrap_or(classifier.meta().thresholds);
        let catalog = options.catalog.unwrap_or_default();
        let extractor =
            EntityExtractor::from_spec(&classifier.meta().entities, &catalog).map_err(|e| {
                NluError::ModelDir {
                    path: dir.to_path_buf(),
                    reason: e.to_string(),
                }
            })?;
        Ok(Parser {
            classifier,
            tagger,
            intents,
            thresholds,
            extractor: ArcSwap::from_pointee(extractor),
            time_zone: options.time_zone,
            cascade: options.cascade,
        })
    }

    /// Replaces the catalog: names added to it are recognized from the next parse on, with
    /// no retraining. Safe while other threads parse.
    pub fn set_catalog(&self, catalog: &Catalog) {
        let next = self.extractor.load().with_catalog(catalog);
        self.extractor.store(Arc::new(next));
    }

    /// The model's intents with their settings, in the classifier's label order.
    pub fn intents(&self) -> &[IntentSpec] {
        &self.intents
    }

    /// The settings of one intent.
    pub fn intent(&self, name: &IntentName) -> Option<&IntentSpec> {
        self.intents.iter().find(|i| i.name == *name)
    }

    /// The intents whose texts carry entities (in the ChatOps model, the seven job intents):
    /// the evaluation scores entities on their cases.
    pub fn entity_intents(&self) -> Vec<IntentName> {
        self.intents
            .iter()
            .filter(|i| i.entities)
            .map(|i| i.name.clone())
            .collect()
    }

    /// The model's entity types.
    pub fn entity_spec(&self) -> &crate::entities::EntitySpec {
        &self.classifier.meta().entities
    }

    /// The time zone of [`Parser::parse`].
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The classifier (encoder and head).
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// The entity tagger, when the model has one.
    pub fn tagger(&self) -> Option<&Tagger> {
        self.tagger.as_ref()
    }

    /// Parses one text, resolving times against the current time in the parser's zone.
    pub fn parse(&self, text: &str) -> Result<ParseResult> {
        self.parse_at(text, chrono::Utc::now().with_timezone(&self.time_zone))
    }

    /// Parses one text, resolving times against `now`.
    pub fn parse_at(&self, text: &str, now: DateTime<Tz>) -> Result<ParseResult> {
        self.parse_staged_at(text, now).map(|(r, _)| r)
    }

    /// Parses one text and says which stage of the cascade answered (for benchmarks and
    /// diagnostics; the result is [`Parser::parse`]'s).
    pub fn parse_staged(&self, text: &str) -> Result<(ParseResult, Stage)> {
        self.parse_staged_at(text, chrono::Utc::now().with_timezone(&self.time_zone))
    }

    /// Whether the cascade is on (the model has a sparse head and the options allow it).
    pub fn cascade(&self) -> bool {
        self.cascade && self.classifier.cascade().is_some()
    }

    /// [`Parser::parse_at`], with the stage that answered. An empty text runs no model and
    /// counts as the sparse stage's.
    pub fn parse_staged_at(&self, text: &str, now: DateTime<Tz>) -> Result<(ParseResult, Stage)> {
        let clean = sanitize(text, MAX_CLASSIFY_CHARS);
        if clean.trim().is_empty() {
            return Ok((empty_result(text), Stage::Sparse));
        }
        let states = self.tagger.is_some();
        let c = if self.cascade {
            // for an intent whose entities the tagger finds, the sparse head answers only for
            // a text without spans for it: the tagger reads the encoder's token states
            let tagged = |k: usize| {
                matches!((&self.tagger, self.intents.get(k)),
                    (Some(t), Some(spec)) if t.tags_intent(&spec.name))
            };
            self.classifier
                .classify_cascade(&clean, states, self.thresholds, &tagged)?
        } else {
            self.classifier.classify_with(&clean, states)?
        };
        if !c.is_readable() {
            return Ok((empty_result(text), c.stage));
        }
        let mut result = decide(&self.intents, self.thresholds, text, &c.probabilities);
        let tagged = match (&self.tagger, c.tagged, &c.token_states) {
            (Some(tagger), Some(early), _) if tagger.tags_intent(&result.intent.name) => early,
            (Some(tagger), None, Some(states)) if tagger.tags_intent(&result.intent.name) => {
                tagger.tag(&clean, &c.spans, states.view())?
            }
            _ => Vec::new(),
        };
        let scope: String = text.chars().take(MAX_ENTITY_CHARS).collect();
        let spec = self.intent(&result.intent.name);
        let ctx = ExtractContext {
            now,
            intent: Some(result.intent.name.clone()),
            bare_number: spec.and_then(|s| s.bare_number.clone()),
        };
        let extraction = self.extractor.load().extract_with(&scope, &ctx, &tagged);
        apply_entities(&mut result, extraction, spec.is_some_and(|s| s.entities));
        Ok((result, c.stage))
    }

    /// Parses several texts on all cores; the results are the same as parsing each alone.
    pub fn parse_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<ParseResult>> {
        crate::parallel::parallel_map(texts, |t| self.parse(t.as_ref()))
    }

    /// [`Parser::parse_batch`], with the stage of the cascade that answered each text.
    pub fn parse_batch_staged<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
    ) -> Result<Vec<(ParseResult, Stage)>> {
        crate::parallel::parallel_map(texts, |t| self.parse_staged(t.as_ref()))
    }
}

/// Puts the extracted entities into the result; an ambiguous name in a text of an intent
/// that takes entities turns an `understood` outcome into `clarify`, offering the candidates.
fn apply_entities(result: &mut ParseResult, extraction: Extraction, takes_entities: bool) {
    result.entities = extraction.entities;
    let Some(amb) = extraction.ambiguities.first() else {
        return;
    };
    if result.outcome != Outcome::Understood || !takes_entities {
        return;
    }
    result.outcome = Outcome::Clarify;
    result.clarification = Some(Clarification {
        reason: ClarifyReason::AmbiguousEntity,
        options: amb
            .candidates
            .iter()
            .map(|c| ClarifyOption {
                intent: result.intent.name.clone(),
                label: format!("{} ({})", c.value, c.entity),
                entity: Some(c.clone()),
            })
            .collect(),
    });
}

/// The fallback policy over any label set, by label index: what [`decide`] applies to the
/// contract's intents, and the benchmarks to public datasets' labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Label indices, most probable first (ties keep label order).
    pub ranking: Vec<usize>,
    /// The label the decision reports: the out-of-scope label when `outcome` is
    /// [`Outcome::OutOfScope`] and the model has one, else the top label.
    pub label: Option<usize>,
    pub outcome: Outcome,
    /// Confidence of the outcome: the top probability, or for a fallback rejection
    /// `1 - top` (the chance that the best guess is wrong).
    pub confidence: f32,
    /// For [`Outcome::Clarify`]: the in-scope labels within the margin of the top, at most 3.
    pub options: Vec<usize>,
}

/// Applies the fallback policy to calibrated probabilities: `out_of_scope` when the
/// out-of-scope label `oos` wins or the top probability is under the fallback threshold,
/// `clarify` when the top two in-scope labels are closer than the ambiguity margin, else
/// `understood`. With `oos = None`, a rejection reports no label (`label: None`).
pub fn decide_labels(probs: &[f32], oos: Option<usize>, thresholds: Thresholds) -> Decision {
    let mut ranking: Vec<usize> = (0..probs.len()).collect();
    ranking.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    let top = ranking[0];
    let p_top = probs[top];
    let in_scope = |i: &&usize| Some(**i) != oos;
    if Some(top) == oos {
        return Decision {
            ranking,
            label: oos,
            outcome: Outcome::OutOfScope,
            confidence: p_top,
            options: Vec::new(),
        };
    }
    if p_top < thresholds.fallback {
        return Decision {
            ranking,
            label: oos,
            outcome: Outcome::OutOfScope,
            confidence: 1.0 - p_top,
            options: Vec::new(),
        };
    }
    let second = ranking.iter().skip(1).find(in_scope).copied();
    if second.is_some_and(|s| p_top - probs[s] < thresholds.ambiguity_margin) {
        let options: Vec<usize> = ranking
            .iter()
            .filter(in_scope)
            .filter(|&&i| p_top - probs[i] < thresholds.ambiguity_margin)
            .take(3)
            .copied()
            .collect();
        return Decision {
            ranking,
            label: Some(top),
            outcome: Outcome::Clarify,
            confidence: p_top,
            options,
        };
    }
    Decision {
        ranking,
        label: Some(top),
        outcome: Outcome::Understood,
        confidence: p_top,
        options: Vec::new(),
    }
}

/// Turns calibrated probabilities (one per intent of `intents`) into the contract's result:
/// `out_of_scope` when that class wins or the top probability is under the fallback
/// threshold, `clarify` when the top two in-scope intents are closer than the ambiguity
/// margin, else `understood` (see [`decide_labels`]).
pub fn decide(
    intents: &[IntentSpec],
    thresholds: Thresholds,
    text: &str,
    probs: &[f32],
) -> ParseResult {
    let oos = intents.iter().position(|i| i.name.is_out_of_scope());
    let d = decide_labels(probs, oos, thresholds);
    let ranking: Vec<IntentScore> = d
        .ranking
        .iter()
        .map(|&i| IntentScore {
            name: intents[i].name.clone(),
            confidence: probs[i],
        })
        .collect();
    let intent = IntentScore {
        name: d
            .label
            .map_or(IntentName::OUT_OF_SCOPE, |i| intents[i].name.clone()),
        confidence: d.confidence,
    };
    let clarification = (d.outcome == Outcome::Clarify).then(|| Clarification {
        reason: ClarifyReason::AmbiguousIntent,
        options: d
            .options
            .iter()
            .map(|&i| ClarifyOption {
                intent: intents[i].name.clone(),
                label: intents[i].label(),
                entity: None,
            })
            .collect(),
    });
    ParseResult {
        text: text.to_string(),
        intent,
        intent_ranking: ranking,
        entities: Vec::new(),
        outcome: d.outcome,
        clarification,
        lang: crate::Lang::detect(text),
    }
}

/// The result for a text with nothing to classify.
fn empty_result(text: &str) -> ParseResult {
    let intent = IntentScore {
        name: IntentName::OUT_OF_SCOPE,
        confidence: 1.0,
    };
    ParseResult {
        text: text.to_string(),
        intent: intent.clone(),
        intent_ranking: vec![intent],
        entities: Vec::new(),
        outcome: Outcome::OutOfScope,
        clarification: None,
        lang: crate::Lang::detect(text),
    }
}

/// Replaces control characters with spaces and cuts the text to `max_chars` characters.
pub fn sanitize(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The model directory used when none is given: `$NLU_MODEL`, else `models/ops-intents`
/// in the current directory, the executable's directory or one of their parents, else the
/// one beside this crate's sources.
pub fn default_model_dir() -> Result<PathBuf> {
    find_project_file("NLU_MODEL", Path::new("models/ops-intents/model.json"))
        .map(|p| p.parent().map(Path::to_path_buf).unwrap_or(p))
}

/// The encoder directory used when none is given: `$NLU_ENCODER`, else
/// `models/multilingual-e5-small` found like the model directory.
pub fn default_encoder_dir() -> Result<PathBuf> {
    find_project_file(
        "NLU_ENCODER",
        Path::new("models/multilingual-e5-small/encoder.onnx"),
    )
    .map(|p| {
        if p.is_file() {
            p.parent().map(Path::to_path_buf).unwrap_or(p)
        } else {
            p
        }
    })
}

/// The catalog used when none is given: `$NLU_CATALOG`, else `config/catalog.toml` found
/// like the model directory.
pub fn default_catalog_path() -> Result<PathBuf> {
    find_project_file("NLU_CATALOG", Path::new("config/catalog.toml"))
}

/// Looks for `relative` (a file) from an environment variable or the usual roots.
pub(crate) fn find_project_file(var: &str, relative: &Path) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Ok(PathBuf::from(p));
    }
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(d) = exe.parent() {
            roots.push(d.to_path_buf());
        }
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
        .iter()
        .flat_map(|r| r.ancestors())
        .map(|d| d.join(relative))
        .find(|p| p.is_file())
        .ok_or_else(|| NluError::ModelDir {
            path: relative.to_path_buf(),
            reason: format!("not found from the current directory or the executable; set {var}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_controls_and_cuts() {
        assert_eq!(sanitize("a\u{0}b\tc\u{7f}", 100), "a b c ");
        assert_eq!(sanitize("部署到生产", 2), "部署");
    }

    fn intents() -> Vec<IntentSpec> {
        let mut v: Vec<IntentSpec> = ["run_job", "job_status", "help", "out_of_scope"]
            .into_iter()
            .map(|n| IntentSpec::new(n.into()))
            .collect();
        v[1].label = Some("check the status of a run".into());
        v
    }
    const T: Thresholds = Thresholds {
        fallback: 0.5,
        ambiguity_margin: 0.1,
    };

    #[test]
    fn confident_top_is_understood() {
        let r = decide(&intents(), T, "x", &[0.9, 0.05, 0.03, 0.02]);
        assert_eq!(r.outcome, Outcome::Understood);
        assert_eq!(r.intent.name, IntentName::from("run_job"));
        assert_eq!(r.intent_ranking[1].name, IntentName::from("job_status"));
        assert!(r.clarification.is_none());
    }

    #[test]
    fn close_top_two_ask_to_clarify() {
        let r = decide(&intents(), T, "x", &[0.52, 0.45, 0.02, 0.01]);
        assert_eq!(r.outcome, Outcome::Clarify);
        let c = r.clarification.unwrap();
        assert_eq!(c.reason, ClarifyReason::AmbiguousIntent);
        let opts: Vec<_> = c.options.iter().map(|o| o.intent.as_str()).collect();
        assert_eq!(opts, vec!["run_job", "job_status"]);
        assert_eq!(
            c.options[0].label, "run job",
            "default: the name with spaces"
        );
        assert_eq!(c.options[1].label, "check the status of a run");
    }

    #[test]
    fn low_confidence_falls_back() {
        let r = decide(&intents(), T, "x", &[0.4, 0.2, 0.2, 0.2]);
        assert_eq!(r.outcome, Outcome::OutOfScope);
        assert_eq!(r.intent.name, IntentName::OUT_OF_SCOPE);
        assert!((r.intent.confidence - 0.6).abs() < 1e-6);
        assert_eq!(r.intent_ranking[0].name, IntentName::from("run_job"));
    }

    #[test]
    fn out_of_scope_class_wins() {
        let r = decide(&intents(), T, "x", &[0.1, 0.1, 0.1, 0.7]);
        assert_eq!(r.outcome, Outcome::OutOfScope);
        assert!((r.intent.confidence - 0.7).abs() < 1e-6);
        // an out-of-scope runner-up never makes a clarification
        let r = decide(&intents(), T, "x", &[0.5, 0.02, 0.02, 0.46]);
        assert_eq!(r.outcome, Outcome::Understood);
    }

    #[test]
    fn generic_labels_without_out_of_scope_class() {
        let d = decide_labels(&[0.2, 0.7, 0.1], None, T);
        assert_eq!((d.label, d.outcome), (Some(1), Outcome::Understood));
        assert_eq!(d.ranking, vec![1, 0, 2]);
        let d = decide_labels(&[0.3, 0.4, 0.3], None, T);
        assert_eq!((d.label, d.outcome), (None, Outcome::OutOfScope));
        assert!((d.confidence - 0.6).abs() < 1e-6);
        let d = decide_labels(&[0.47, 0.53, 0.0], None, T);
        assert_eq!(d.outcome, Outcome::Clarify);
        assert_eq!(d.options, vec![1, 0]);
    }

    #[test]
    fn empty_text_is_out_of_scope() {
        let r = empty_result("  ");
        assert_eq!(r.outcome, Outcome::OutOfScope);
        assert_eq!(r.intent.name, IntentName::OUT_OF_SCOPE);
    }
}
