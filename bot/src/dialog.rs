//! Multi-turn sessions, one per user and channel, persisted in the store: collecting missing
//! parameters one at a time, confirming sensitive jobs, and answering a clarification.
//!
//! The logic here is pure (state + answer -> step). The router ([`crate::router`]) loads the
//! state, acts on the step, and is the only one that saves or drops it: handlers say what
//! should become of it with a [`DialogChange`] in their response.

use crate::i18n::Lang;
use crate::intent::Intent;
use crate::values;
use chrono::{DateTime, Utc};
use nlu::{Catalog, ClarifyOption, EntityKind, Outcome, ParseResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A run being put together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// `run_job` or `deploy_app`.
    pub intent: Intent,
    pub job: Option<String>,
    pub params: BTreeMap<String, String>,
    pub run_at: Option<DateTime<Utc>>,
    /// Entity values seen before the job was known: (kind, value), applied once it is.
    #[serde(default)]
    pub hints: Vec<(EntityKind, String)>,
    /// `name=value` parameters the entity tagger read from free text ("renew the certs for
    /// shop.example.com", "because the disk is full"): applied when the job has such a
    /// parameter, never an error when it has not.
    #[serde(default)]
    pub implied: Vec<String>,
    /// Why the user wants the run, in their words ("because the disk is full", or
    /// `reason="..."` for a job without a `reason` parameter): shown in the confirmation and
    /// recorded in the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Draft {
    pub fn new(intent: Intent) -> Self {
        Draft {
            intent,
            job: None,
            params: BTreeMap::new(),
            run_at: None,
            hints: Vec::new(),
            implied: Vec::new(),
            reason: None,
        }
    }
}

/// What a reply does to the user's open question; the router carries it out.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DialogChange {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Wait for an answer to this question (replacing any open one).
    Ask(Dialog),
    /// Drop the open question: it was answered, cancelled or superseded.
    Close,
}

/// Where a conversation stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Dialog {
    /// Waiting for the value of `param` (`None`: for the job itself).
    Collecting {
        draft: Draft,
        param: Option<String>,
        /// A "did you mean" the user can accept with yes.
        #[serde(default)]
        suggestion: Option<String>,
    },
    /// Waiting for yes or no before a sensitive job runs.
    Confirming { draft: Draft },
    /// Waiting for the choice of one of the options.
    Clarifying {
        options: Vec<ClarifyOption>,
        parse: ParseResult,
    },
}

impl Dialog {
    /// What the open question is about, for "Dropped the open question about …": the job,
    /// else what is asked.
    pub fn subject(&self, lang: Lang) -> String {
        match self {
            Dialog::Collecting { draft, .. } | Dialog::Confirming { draft } => match &draft.job {
                Some(j) => j.clone(),
                None => tr!(lang, "topic-which-job"),
            },
            Dialog::Clarifying { .. } => tr!(lang, "topic-what-you-meant"),
        }
    }

    /// A few words about what is pending (for the expiry note).
    pub fn topic(&self, lang: Lang) -> String {
        match self {
            Dialog::Collecting { draft, .. } | Dialog::Confirming { draft } => match &draft.job {
                Some(j) => tr!(lang, "topic-running", job = j),
                None => tr!(lang, "topic-which-job"),
            },
            Dialog::Clarifying { .. } => tr!(lang, "topic-what-you-meant"),
        }
    }
}

/// What to do with an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The draft moved on: continue it (ask the next thing, confirm or run).
    Continue(Draft),
    /// Confirmed: run it.
    Confirmed(Draft),
    /// The answer did not fit: say this and keep asking the same thing.
    Retry { message: String, dialog: Dialog },
    /// The user gave up.
    Abandon(String),
    /// A clarification was answered: handle this parse as understood.
    Clarified(ParseResult),
    /// Not an answer but a new request: drop the dialog and handle the message.
    NotAnAnswer,
}

const CANCEL_WORDS: &[&str] = &[
    "cancel",
    "stop",
    "abort",
    "quit",
    "never mind",
    "nevermind",
    "forget it",
    "no",
    "nope",
    "n",
    "取消",
    "算了",
    "不用了",
    "不要了",
    "不",
    "否",
];
const YES_WORDS: &[&str] = &[
    "yes", "y", "yeah", "yep", "sure", "ok", "okay", "go", "go ahead", "do it", "confirm",
    "run it", "是", "是的", "好", "好的", "确认", "确定", "可以", "行", "对",
];

fn clean(text: &str) -> String {
    text.trim()
        .trim_end_matches(['.', '!', '?', '。', '！', '？'])
        .trim()
        .to_lowercase()
}

pub fn is_cancel(text: &str) -> bool {
    CANCEL_WORDS.contains(&clean(text).as_str())
}

pub fn is_yes(text: &str) -> bool {
    YES_WORDS.contains(&clean(text).as_str())
}

/// The confidence the parser must have that a free-text answer is a yes before a sensitive
/// job runs on it. Plain yeses ("sure, do it", "go for it", "好的，执行吧") score 0.99 and more;
/// text the model cannot read (emoji, Russian or Japanese "no") comes out as a weak affirm
/// near 0.46, and a half-sure one ("oui", 0.72) is asked again rather than taken.
pub const AFFIRM_CONFIDENCE: f32 = 0.9;

/// Whether the letters of `text` are all in a script the parser reads (Latin or Chinese
/// characters); digits, punctuation and spaces do not count.
fn readable_script(text: &str) -> bool {
    text.chars().filter(|c| c.is_alphabetic()).all(|c| {
        c.is_ascii_alphabetic()
            || ('\u{00C0}'..='\u{024F}').contains(&c)
            || ('\u{3400}'..='\u{4DBF}').contains(&c)
            || ('\u{4E00}'..='\u{9FFF}').contains(&c)
            || ('\u{F900}'..='\u{FAFF}').contains(&c)
    })
}

/// A yes good enough to run a sensitive job: an exact yes-word (also what the Yes button and
/// `!yes` send), or a free-text answer the parser understood as `affirm` with at least
/// [`AFFIRM_CONFIDENCE`], written in a script it reads. Anything else is not a yes.
pub fn confident_yes(text: &str, parse: Option<&ParseResult>) -> bool {
    is_yes(text)
        || (parsed(parse, Intent::Affirm)
            && parse.is_some_and(|p| p.intent.confidence >= AFFIRM_CONFIDENCE)
            && readable_script(text))
}

fn parsed(parse: Option<&ParseResult>, intent: Intent) -> bool {
    parse.is_some_and(|p| p.outcome == Outcome::Understood && p.intent.name == intent)
}

/// The user backs out of the question: a cancel word, a "no", or "cancel it" / "kill it"
/// (a cancellation that names no run refers to the request being asked about, not to a run).
fn backs_out(text: &str, parse: Option<&ParseResult>) -> bool {
    is_cancel(text)
        || parsed(parse, Intent::Deny)
        || (parsed(parse, Intent::CancelJob)
            && parse.is_some_and(|p| {
                p.entities
                    .iter()
                    .all(|e| e.entity != EntityKind::EXECUTION_ID)
            }))
}

/// How sure the parser must be that a message is a request of its own (rather than an
/// answer) before it may end the open question.
pub const NEW_REQUEST_CONFIDENCE: f32 = 0.8;

/// A confident new request (not an answer) in the parse.
fn new_request(parse: Option<&ParseResult>, text: &str) -> bool {
    parse.is_some_and(|p| {
        p.outcome == Outcome::Understood
            && Intent::of(&p.intent.name).is_job_intent()
            && p.intent.confidence >= NEW_REQUEST_CONFIDENCE
            && text.split_whitespace().count() >= 2
    }) || text.trim_start().starts_with('!')
}

/// A confident, complete new request that is more than an answer to the open question about
/// `draft`: a request of another kind ("status of 1001"), a run that names another job
/// ("rotate logs on web-01" while backup-database waits for its host), or a deploy while a
/// run is put together. A run of the same job, or one that names no job ("run it on
/// db-02"), answers with its values; backing out ("cancel it") is no new request.
fn replaces(draft: &Draft, parse: Option<&ParseResult>, text: &str, catalog: &Catalog) -> bool {
    let Some(p) = parse else { return false };
    if !new_request(parse, text) || backs_out(text, parse) {
        return false;
    }
    match Intent::of(&p.intent.name) {
        Intent::RunJob => p
            .entities
            .iter()
            .find(|e| e.entity == EntityKind::JOB)
            .and_then(|e| values::resolve_job(catalog, &e.value))
            .is_some_and(|j| draft.job.as_deref() != Some(j.id.as_str())),
        Intent::DeployApp => draft.intent != Intent::DeployApp,
        _ => true,
    }
}

/// The numbered choices offered for a parameter (or for the job).
pub fn choices_for(catalog: &Catalog, draft: &Draft, param: Option<&str>) -> Vec<String> {
    match param {
        None => catalog.jobs.iter().map(|j| j.id.clone()).collect(),
        Some(name) => draft
            .job
            .as_deref()
            .and_then(|j| catalog.job(j))
            .and_then(|j| j.parameters.iter().find(|p| p.name == name))
            .map(|p| values::known_values(catalog, p))
            .unwrap_or_default(),
    }
}

/// Handles an answer. `parse` is the parser's reading of the text, when there is a parser.
pub fn answer(
    dialog: &Dialog,
    text: &str,
    parse: Option<&ParseResult>,
    catalog: &Catalog,
    lang: Lang,
) -> Step {
    match dialog {
        Dialog::Collecting {
            draft,
            param,
            suggestion,
        } => collect(
            draft,
            param.as_deref(),
            suggestion.as_deref(),
            text,
            parse,
            catalog,
            lang,
        ),
        Dialog::Confirming { draft } => {
            if confident_yes(text, parse) {
                Step::Confirmed(draft.clone())
            } else if backs_out(text, parse) {
                Step::Abandon(wont_run(draft, lang))
            } else if new_request(parse, text) {
                Step::NotAnAnswer
            } else {
                Step::Retry {
                    message: match draft.job.as_deref() {
                        Some(job) => tr!(lang, "not-a-yes", job = job),
                        None => tr!(lang, "not-a-yes-no-job"),
                    },
                    dialog: dialog.clone(),
                }
            }
        }
        Dialog::Clarifying {
            options,
            parse: original,
        } => {
            let t = clean(text);
            let picked = t
                .trim_start_matches('#')
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| options.get(i))
                .or_else(|| {
                    options.iter().find(|o| {
                        clean(&o.label) == t
                            || o.intent.as_str() == t
                            || o.entity
                                .as_ref()
                                .is_some_and(|e| e.value.to_lowercase() == t)
                    })
                });
            if let Some(o) = picked {
                let mut r = original.clone();
                r.intent.name = o.intent.clone();
                r.intent.confidence = 1.0;
                r.outcome = Outcome::Understood;
                r.clarification = None;
                if let Some(e) = &o.entity {
                    r.entities.retain(|x| !(x.start < e.end && e.start < x.end));
                    r.entities.push(e.clone());
                    r.entities.sort_by_key(|x| x.start);
                }
                Step::Clarified(r)
            } else if backs_out(text, parse) {
                Step::Abandon(tr!(lang, "never-mind"))
            } else if new_request(parse, text) {
                Step::NotAnAnswer
            } else {
                Step::Retry {
                    message: tr!(lang, "answer-with-number", count = options.len()),
                    dialog: dialog.clone(),
                }
            }
        }
    }
}

/// "OK, I won't run backup-database."
fn wont_run(draft: &Draft, lang: Lang) -> String {
    match draft.job.as_deref() {
        Some(job) => tr!(lang, "wont-run", job = job),
        None => tr!(lang, "wont-run-it"),
    }
}

fn collect(
    draft: &Draft,
    param: Option<&str>,
    suggestion: Option<&str>,
    text: &str,
    parse: Option<&ParseResult>,
    catalog: &Catalog,
    lang: Lang,
) -> Step {
    let raw = text.trim();
    let retry = |message: String, suggestion: Option<String>| Step::Retry {
        message,
        dialog: Dialog::Collecting {
            draft: draft.clone(),
            param: param.map(str::to_string),
            suggestion,
        },
    };
    let choices = choices_for(catalog, draft, param);
    // a number picks from the offered list (except for integer parameters)
    let by_number = |raw: &str| -> Option<String> {
        let n: usize = raw.trim_start_matches('#').parse().ok()?;
        choices.get(n.checked_sub(1)?).cloned()
    };
    match param {
        None => {
            let pick = values::resolve_job(catalog, raw)
                .map(|j| j.id.clone())
                .or_else(|| by_number(raw))
                .or_else(|| suggestion.filter(|_| is_yes(raw)).map(str::to_string))
                .or_else(|| {
                    parse.and_then(|p| {
                        p.entities
                            .iter()
                            .find(|e| e.entity == EntityKind::JOB)
                            .map(|e| e.value.clone())
                    })
                });
            if let Some(job) = pick {
                let mut d = draft.clone();
                d.job = Some(job);
                return Step::Continue(d);
            }
            if backs_out(raw, parse) {
                return Step::Abandon(tr!(lang, "never-mind"));
            }
            if new_request(parse, raw) {
                return Step::NotAnAnswer;
            }
            match values::suggest_job(catalog, raw) {
                Some(s) => retry(
                    tr!(
                        lang,
                        "answer-unknown-job-suggest",
                        name = raw,
                        suggestion = &s
                    ),
                    Some(s),
                ),
                None => retry(tr!(lang, "unknown-job", name = raw), None),
            }
        }
        Some(name) => {
            // a complete new request is not taken as the value, even when it holds one
            if replaces(draft, parse, raw, catalog) {
                return Step::NotAnAnswer;
            }
            let Some(p) = draft
                .job
                .as_deref()
                .and_then(|j| catalog.job(j))
                .and_then(|j| j.parameters.iter().find(|p| p.name == name))
            else {
                return Step::Abandon(tr!(lang, "job-changed"));
            };
            let is_int = p.kind == nlu::catalog::ParamKind::Integer;
            let candidate = if !is_int { by_number(raw) } else { None };
            let candidate = candidate.or_else(|| {
                if let (Some(d), true) = (
                    &p.default,
                    matches!(clean(raw).as_str(), "default" | "默认" | ""),
                ) {
                    Some(d.clone())
                } else {
                    suggestion.filter(|_| is_yes(raw)).map(str::to_string)
                }
            });
            let attempt = match candidate {
                Some(v) => values::validate(catalog, p, &v, lang),
                None => values::validate(catalog, p, raw, lang),
            };
            match attempt {
                Ok(v) => {
                    let mut d = draft.clone();
                    d.params.insert(name.to_string(), v);
                    Step::Continue(d)
                }
                Err(msg) => {
                    if backs_out(raw, parse) {
                        return Step::Abandon(wont_run(draft, lang));
                    }
                    // the parser may find the value inside a sentence ("use db-01 please")
                    let kind = match p.kind {
                        nlu::catalog::ParamKind::App => Some(EntityKind::APP),
                        nlu::catalog::ParamKind::Environment => Some(EntityKind::ENVIRONMENT),
                        nlu::catalog::ParamKind::Host => Some(EntityKind::HOST),
                        nlu::catalog::ParamKind::Version => Some(EntityKind::VERSION),
                        nlu::catalog::ParamKind::Integer => Some(EntityKind::COUNT),
                        _ => None,
                    };
                    if let (Some(k), Some(pr)) = (kind, parse) {
                        if let Some(e) = pr.entities.iter().find(|e| e.entity == k) {
                            if let Ok(v) = values::validate(catalog, p, &e.value, lang) {
                                let mut d = draft.clone();
                                d.params.insert(name.to_string(), v);
                                return Step::Continue(d);
                            }
                        }
                    }
                    if new_request(parse, raw) {
                        return Step::NotAnAnswer;
                    }
                    let sugg = values::suggestion_for(catalog, p, raw);
                    let msg = if msg.ends_with(['.', '?', '!', '。', '？', '！']) {
                        msg
                    } else {
                        format!("{msg}{}", tr!(lang, "full-stop"))
                    };
                    retry(msg, sugg)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::from_toml_str(
            r#"
[[hosts]]
id = "db-01"
[[hosts]]
id = "db-02"
[[jobs]]
id = "backup-database"
  [[jobs.parameters]]
  name = "target"
  kind = "host"
  required = true
  [[jobs.parameters]]
  name = "keep"
  kind = "integer"
  required = true
  default = 7
"#,
            "t",
        )
        .unwrap()
    }

    fn collecting(param: Option<&str>) -> Dialog {
        let mut d = Draft::new(Intent::RunJob);
        if param.is_some() {
            d.job = Some("backup-database".into());
        }
        Dialog::Collecting {
            draft: d,
            param: param.map(str::to_string),
            suggestion: None,
        }
    }

    fn continued(s: Step) -> Draft {
        match s {
            Step::Continue(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn collects_a_host_by_name_number_or_typo() {
        let c = catalog();
        let d = collecting(Some("target"));
        assert_eq!(
            continued(answer(&d, "db-02", None, &c, Lang::En)).params["target"],
            "db-02"
        );
        assert_eq!(
            continued(answer(&d, "1", None, &c, Lang::En)).params["target"],
            "db-01"
        );
        let s = answer(&d, "db-3", None, &c, Lang::En);
        let Step::Retry { message, dialog } = s else {
            panic!()
        };
        assert!(
            message.contains("Did you mean `db-01`?") || message.contains("Did you mean `db-02`?"),
            "{message}"
        );
        // yes accepts the suggestion
        let d2 = continued(answer(&dialog, "yes", None, &c, Lang::En));
        assert!(d2.params["target"].starts_with("db-0"));
        assert!(matches!(
            answer(&d, "cancel", None, &c, Lang::En),
            Step::Abandon(_)
        ));
    }

    #[test]
    fn integers_defaults_and_jobs() {
        let c = catalog();
        let d = collecting(Some("keep"));
        assert_eq!(
            continued(answer(&d, "3", None, &c, Lang::En)).params["keep"],
            "3"
        );
        assert_eq!(
            continued(answer(&d, "default", None, &c, Lang::En)).params["keep"],
            "7"
        );
        let Step::Retry { message, .. } = answer(&d, "lots", None, &c, Lang::En) else {
            panic!()
        };
        assert!(message.contains("whole number"), "{message}");
        let j = collecting(None);
        assert_eq!(
            continued(answer(&j, "1", None, &c, Lang::En))
                .job
                .as_deref(),
            Some("backup-database")
        );
        let Step::Retry { message, dialog } = answer(&j, "bakup-databse", None, &c, Lang::En)
        else {
            panic!()
        };
        assert!(
            message.contains("Did you mean `backup-database`?"),
            "{message}"
        );
        assert_eq!(
            continued(answer(&dialog, "y", None, &c, Lang::En))
                .job
                .as_deref(),
            Some("backup-database")
        );
    }

    #[test]
    fn confirmation() {
        let c = catalog();
        let d = Dialog::Confirming {
            draft: Draft::new(Intent::RunJob),
        };
        assert!(matches!(
            answer(&d, "yes", None, &c, Lang::En),
            Step::Confirmed(_)
        ));
        assert!(matches!(
            answer(&d, "确认", None, &c, Lang::En),
            Step::Confirmed(_)
        ));
        assert!(matches!(
            answer(&d, "no", None, &c, Lang::En),
            Step::Abandon(_)
        ));
        assert!(matches!(
            answer(&d, "maybe", None, &c, Lang::En),
            Step::Retry { .. }
        ));
        // an affirm is a yes only when the parser is sure and can read the text
        let mut affirm = crate::router::parse_command("!yes", Utc::now())
            .unwrap()
            .unwrap();
        assert!(matches!(
            answer(&d, "go for it", Some(&affirm), &c, Lang::En),
            Step::Confirmed(_)
        ));
        assert!(matches!(
            answer(&d, "нет", Some(&affirm), &c, Lang::En),
            Step::Retry { .. }
        ));
        affirm.intent.confidence = 0.46;
        assert!(matches!(
            answer(&d, "go for it", Some(&affirm), &c, Lang::En),
            Step::Retry { .. }
        ));
        assert!(matches!(
            answer(&d, "!status 1", None, &c, Lang::En),
            Step::NotAnAnswer
        ));
        // "kill it" / "cancel it" (a cancellation naming no run) backs out of the question;
        // a cancellation of a named run is a new request
        let cancel_run = crate::router::parse_command("!cancel 12", Utc::now())
            .unwrap()
            .unwrap();
        let mut cancel_it = cancel_run.clone();
        cancel_it.entities.clear();
        assert!(matches!(
            answer(&d, "kill it", Some(&cancel_it), &c, Lang::En),
            Step::Abandon(_)
        ));
        assert!(matches!(
            answer(&d, "kill run 12", Some(&cancel_run), &c, Lang::En),
            Step::NotAnAnswer
        ));
    }

    #[test]
    fn clarification_by_number_or_label() {
        let c = catalog();
        let parse = crate::router::parse_command("!status 1001", Utc::now())
            .unwrap()
            .unwrap();
        let options = vec![
            ClarifyOption {
                intent: Intent::JobStatus.name(),
                label: "check the status of a run".into(),
                entity: None,
            },
            ClarifyOption {
                intent: Intent::WatchJob.name(),
                label: "follow a run until it ends".into(),
                entity: None,
            },
        ];
        let d = Dialog::Clarifying { options, parse };
        let Step::Clarified(r) = answer(&d, "2", None, &c, Lang::En) else {
            panic!()
        };
        assert_eq!(r.intent.name, Intent::WatchJob);
        let Step::Clarified(r) = answer(&d, "Check the status of a run", None, &c, Lang::En) else {
            panic!()
        };
        assert_eq!(r.intent.name, Intent::JobStatus);
        assert!(matches!(
            answer(&d, "7", None, &c, Lang::En),
            Step::Retry { .. }
        ));
        assert!(matches!(
            answer(&d, "never mind", None, &c, Lang::En),
            Step::Abandon(_)
        ));
    }

    #[test]
    fn state_roundtrips_through_json() {
        let d = collecting(Some("target"));
        let s = serde_json::to_string(&d).unwrap();
        assert!(s.contains("\"state\":\"collecting\""), "{s}");
        assert_eq!(serde_json::from_str::<Dialog>(&s).unwrap(), d);
    }
}
