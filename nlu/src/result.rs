//! The parse result: the JSON shape promised by `docs/nlu-contract.md`.
//!
//! Field names and enum spellings here are the public interface; the serde attributes make
//! the Rust names serialize exactly as the contract writes them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A name given by the training data: an intent's or an entity type's.
///
/// Cheap to clone (a static string or a shared one), compared and hashed by its text.
#[derive(Clone)]
enum Name {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Static(s) => s,
            Name::Shared(s) => s,
        }
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $ty(Name);

        impl $ty {
            /// A name known at compile time.
            pub const fn from_static(name: &'static str) -> Self {
                $ty(Name::Static(name))
            }

            /// The name as written in the training data, e.g. `run_job`.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl From<&str> for $ty {
            fn from(s: &str) -> Self {
                $ty(Name::Shared(Arc::from(s)))
            }
        }

        impl From<String> for $ty {
            fn from(s: String) -> Self {
                $ty(Name::Shared(Arc::from(s)))
            }
        }

        impl FromStr for $ty {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($ty::from(s))
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Eq for $ty {}

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state)
            }
        }

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                (self.rank(), self.as_str()).cmp(&(other.rank(), other.as_str()))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map($ty::from)
            }
        }
    };
}

name_type!(
    /// The name of an intent, as the training data names it (`run_job`, `turn_on_light`).
    ///
    /// The library knows one intent name itself, [`IntentName::OUT_OF_SCOPE`]: the intent of
    /// a text the model rejects. Applications compare names with their own constants or
    /// strings:
    ///
    /// ```
    /// use nlu::IntentName;
    /// let name = IntentName::from("turn_on_light");
    /// assert_eq!(name, "turn_on_light");
    /// assert_ne!(name, IntentName::OUT_OF_SCOPE);
    /// assert_eq!(serde_json::to_string(&name).unwrap(), "\"turn_on_light\"");
    /// ```
    IntentName
);

impl IntentName {
    /// The intent of a rejected text, and the label of a trained out-of-scope class.
    pub const OUT_OF_SCOPE: IntentName = IntentName::from_static("out_of_scope");

    /// Whether this is [`IntentName::OUT_OF_SCOPE`].
    pub fn is_out_of_scope(&self) -> bool {
        self.as_str() == Self::OUT_OF_SCOPE.as_str()
    }

    /// Names sort by their text.
    fn rank(&self) -> usize {
        0
    }
}

name_type!(
    /// The type of an entity, as the training data or a builtin extractor names it
    /// (`environment`, `room`, `time`).
    ///
    /// The constants name the types of the builtin extractors and of the job catalog:
    ///
    /// ```
    /// use nlu::EntityKind;
    /// assert_eq!(EntityKind::TIME, "time");
    /// assert_eq!(EntityKind::from("room").as_str(), "room");
    /// ```
    EntityKind
);

impl EntityKind {
    /// A job template of the catalog.
    pub const JOB: EntityKind = EntityKind::from_static("job");
    /// An application of the catalog.
    pub const APP: EntityKind = EntityKind::from_static("app");
    /// An environment of the catalog.
    pub const ENVIRONMENT: EntityKind = EntityKind::from_static("environment");
    /// A host of the catalog, or an IPv4 address.
    pub const HOST: EntityKind = EntityKind::from_static("host");
    /// A software version (`2.4.1`, `latest`).
    pub const VERSION: EntityKind = EntityKind::from_static("version");
    /// The digits of an execution id.
    pub const EXECUTION_ID: EntityKind = EntityKind::from_static("execution_id");
    /// A whole number of items ("last 5 runs").
    pub const COUNT: EntityKind = EntityKind::from_static("count");
    /// A run status (`running`, `succeeded`, `failed`, `cancelled`, `scheduled`).
    pub const STATUS: EntityKind = EntityKind::from_static("status");
    /// A time or a time range, resolved against the reference time.
    pub const TIME: EntityKind = EntityKind::from_static("time");
    /// A `name=value` parameter.
    pub const PARAM: EntityKind = EntityKind::from_static("param");
    /// A number, as a decimal string.
    pub const NUMBER: EntityKind = EntityKind::from_static("number");
    /// A length of time, in seconds.
    pub const DURATION: EntityKind = EntityKind::from_static("duration");
    /// A position ("the second", "第三"), as a whole number.
    pub const ORDINAL: EntityKind = EntityKind::from_static("ordinal");
    /// An e-mail address.
    pub const EMAIL: EntityKind = EntityKind::from_static("email");
    /// A web address.
    pub const URL: EntityKind = EntityKind::from_static("url");

    /// The kinds of the ChatOps contract, in its order: they sort first, in this order, and
    /// other kinds after them by name (so that equal candidates are ordered stably).
    const CONTRACT_ORDER: [EntityKind; 10] = [
        EntityKind::JOB,
        EntityKind::APP,
        EntityKind::ENVIRONMENT,
        EntityKind::HOST,
        EntityKind::VERSION,
        EntityKind::EXECUTION_ID,
        EntityKind::COUNT,
        EntityKind::STATUS,
        EntityKind::TIME,
        EntityKind::PARAM,
    ];

    fn rank(&self) -> usize {
        Self::CONTRACT_ORDER
            .iter()
            .position(|k| k.as_str() == self.as_str())
            .unwrap_or(Self::CONTRACT_ORDER.len())
    }

    /// The four kinds that a job catalog supplies.
    pub const CATALOG: [EntityKind; 4] = [
        EntityKind::JOB,
        EntityKind::APP,
        EntityKind::ENVIRONMENT,
        EntityKind::HOST,
    ];
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
    /// The entity tagger trained on annotated examples.
    Tagger,
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
    /// The language the text is written in ([`crate::lang::Lang::detect`]); replies follow it.
    #[serde(default)]
    pub lang: crate::Lang,
}
