//! The parse result: the JSON shape promised by `docs/nlu-contract.md`.
//!
//! Field names and enum spellings here are the public interface; the serde attributes make
//! the Rust names serialize exactly as the contract writes them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The twelve intents of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentName {
    RunJob,
    DeployApp,
    JobStatus,
    WatchJob,
    CancelJob,
    ListJobs,
    JobHistory,
    Help,
    Affirm,
    Deny,
    Smalltalk,
    OutOfScope,
}

impl IntentName {
    /// Every intent, in the contract's order.
    pub const ALL: [IntentName; 12] = [
        IntentName::RunJob,
        IntentName::DeployApp,
        IntentName::JobStatus,
        IntentName::WatchJob,
        IntentName::CancelJob,
        IntentName::ListJobs,
        IntentName::JobHistory,
        IntentName::Help,
        IntentName::Affirm,
        IntentName::Deny,
        IntentName::Smalltalk,
        IntentName::OutOfScope,
    ];

    /// The contract's spelling, e.g. `run_job`.
    pub fn as_str(self) -> &'static str {
        match self {
            IntentName::RunJob => "run_job",
            IntentName::DeployApp => "deploy_app",
            IntentName::JobStatus => "job_status",
            IntentName::WatchJob => "watch_job",
            IntentName::CancelJob => "cancel_job",
            IntentName::ListJobs => "list_jobs",
            IntentName::JobHistory => "job_history",
            IntentName::Help => "help",
            IntentName::Affirm => "affirm",
            IntentName::Deny => "deny",
            IntentName::Smalltalk => "smalltalk",
            IntentName::OutOfScope => "out_of_scope",
        }
    }

    /// A short phrase for clarification questions ("Did you mean to …?").
    pub fn label(self) -> &'static str {
        match self {
            IntentName::RunJob => "run a job",
            IntentName::DeployApp => "deploy an application",
            IntentName::JobStatus => "check the status of a run",
            IntentName::WatchJob => "follow a run until it ends",
            IntentName::CancelJob => "cancel a run",
            IntentName::ListJobs => "list the jobs you can run",
            IntentName::JobHistory => "see past runs",
            IntentName::Help => "get help",
            IntentName::Affirm => "say yes",
            IntentName::Deny => "say no",
            IntentName::Smalltalk => "chat",
            IntentName::OutOfScope => "something else",
        }
    }

    /// The seven intents about jobs, on whose cases entity scores are counted.
    pub fn is_job_intent(self) -> bool {
        matches!(
            self,
            IntentName::RunJob
                | IntentName::DeployApp
                | IntentName::JobStatus
                | IntentName::WatchJob
                | IntentName::CancelJob
                | IntentName::ListJobs
                | IntentName::JobHistory
        )
    }

    /// Intents about one execution, where a bare number is read as an execution id.
    pub fn is_about_execution(self) -> bool {
        matches!(
            self,
            IntentName::JobStatus | IntentName::WatchJob | IntentName::CancelJob
        )
    }
}

impl fmt::Display for IntentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when a string is not one of the contract's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`; expected one of: {expected}")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    pub expected: String,
}

impl FromStr for IntentName {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IntentName::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "intent",
                name: s.to_string(),
                expected: IntentName::ALL.map(|i| i.as_str()).join(", "),
            })
    }
}

/// The kinds of entity of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Job,
    App,
    Environment,
    Host,
    Version,
    ExecutionId,
    Count,
    Status,
    Time,
    Param,
}

impl EntityKind {
    /// Every kind, in the contract's order.
    pub const ALL: [EntityKind; 10] = [
        EntityKind::Job,
        EntityKind::App,
        EntityKind::Environment,
        EntityKind::Host,
        EntityKind::Version,
        EntityKind::ExecutionId,
        EntityKind::Count,
        EntityKind::Status,
        EntityKind::Time,
        EntityKind::Param,
    ];

    /// The contract's spelling, e.g. `execution_id`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Job => "job",
            EntityKind::App => "app",
            EntityKind::Environment => "environment",
            EntityKind::Host => "host",
            EntityKind::Version => "version",
            EntityKind::ExecutionId => "execution_id",
            EntityKind::Count => "count",
            EntityKind::Status => "status",
            EntityKind::Time => "time",
            EntityKind::Param => "param",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntityKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "entity kind",
                name: s.to_string(),
                expected: EntityKind::ALL.map(|k| k.as_str()).join(", "),
            })
    }
}

/// Which extractor produced an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extractor {
    /// Catalog ids and aliases (exact, typo-tolerant or partial).
    Gazetteer,
    /// Regular expressions: ids, versions, parameters, addresses, counts, statuses.
    Regex,
    /// Time expressions resolved against the reference time.
    Time,
    /// An exact command (`!run …`) that bypassed the classifier.
    Command,
}

/// One entity found in the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The kind, e.g. `environment`.
    pub entity: EntityKind,
    /// The normalized value, e.g. `production` for "prod".
    pub value: String,
    /// Start of the span, in characters (Unicode scalar values) of the original text.
    pub start: usize,
    /// End of the span (exclusive), in characters.
    pub end: usize,
    /// The text of the span as written.
    pub text: String,
    /// How sure the extractor is (1.0 for exact matches, lower for typos and partial matches).
    pub confidence: f32,
    /// Which extractor produced it.
    pub extractor: Extractor,
}

/// An intent with its calibrated probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentScore {
    pub name: IntentName,
    pub confidence: f32,
}

/// What the parser concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The top intent is confident and clear.
    Understood,
    /// The top intents are too close to call, or an entity is ambiguous: ask.
    Clarify,
    /// The text is outside what the bot can do, or the parser is not confident enough.
    OutOfScope,
}

/// Why a clarification is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClarifyReason {
    /// Two intents scored within the ambiguity margin.
    AmbiguousIntent,
    /// A name matched two catalog entries equally well.
    AmbiguousEntity,
}

/// One option offered to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClarifyOption {
    /// The intent this option stands for.
    pub intent: IntentName,
    /// A short human-readable label.
    pub label: String,
    /// For an entity ambiguity, the entity this option picks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<Entity>,
}

/// The options to offer when the outcome is [`Outcome::Clarify`], best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clarification {
    pub reason: ClarifyReason,
    pub options: Vec<ClarifyOption>,
}

/// The result of parsing one text, serialized as the contract's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParseResult {
    /// The text as given.
    pub text: String,
    /// The reported intent: the top one, or `out_of_scope` when the outcome says so.
    pub intent: IntentScore,
    /// Every intent, best first, with calibrated probabilities.
    pub intent_ranking: Vec<IntentScore>,
    /// Entities, ordered by their start offset.
    pub entities: Vec<Entity>,
    pub outcome: Outcome,
    pub clarification: Option<Clarification>,
}
