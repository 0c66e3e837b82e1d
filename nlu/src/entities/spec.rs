//! A model's entity types: which builtin extractors run, and the lookup tables, regular
//! expressions and synonyms read from its training data.
//!
//! The spec is stored in the model directory (`model.json`, field `entities`) and turned into
//! an [`super::EntityExtractor`] by the parser, together with the job catalog when one is set.
//!
//! ```
//! use nlu::entities::{Builtin, EntitySpec, Lookup, LookupEntry};
//! use nlu::{EntityExtractor, ExtractContext};
//! let spec = EntitySpec {
//!     builtins: vec![Builtin::Number],
//!     lookups: vec![Lookup {
//!         entity: "room".into(),
//!         entries: vec![LookupEntry { value: "living_room".into(), texts: vec!["living room".into(), "客厅".into()] }],
//!     }],
//!     ..Default::default()
//! };
//! let ex = EntityExtractor::from_spec(&spec, &nlu::Catalog::default())?;
//! let out = ex.extract("dim the livng room to 30", &ExtractContext::now_in(chrono_tz::UTC));
//! assert_eq!(out.entities[0].value, "living_room"); // one typo tolerated
//! assert_eq!(out.entities[1].value, "30");
//! # Ok::<(), nlu::NluError>(())
//! ```

use crate::result::EntityKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The builtin extractors a model can choose (in `nlu.toml`: `builtins = ["time", ...]`).
///
/// The first six are general; the others are those of operations chat, which the ChatOps
/// model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// Dates, times and ranges in English and Chinese ("tonight at 11pm", "明天早上8点"),
    /// resolved against the reference time: kind `time`.
    Time,
    /// Numbers in digits or words ("42", "3.5", "twenty", "三十五"): kind `number`.
    Number,
    /// Lengths of time ("for 10 minutes", "an hour and a half", "半小时"), in seconds: kind
    /// `duration`.
    Duration,
    /// Positions ("the second", "3rd", "第三个"): kind `ordinal`.
    Ordinal,
    /// E-mail addresses: kind `email`.
    Email,
    /// Web addresses (`http(s)://…`, `www.…`): kind `url`.
    Url,
    /// Software versions (`2.4.1`, `v3`, `@latest`): kind `version`.
    Version,
    /// Execution ids (`#4812`, "run 4812", "任务4812"): kind `execution_id`.
    ExecutionId,
    /// Counts of items ("last 5 runs", "五次"): kind `count`.
    Count,
    /// Run statuses ("failed", "失败的"): kind `status`.
    Status,
    /// `key=value` and `--key value` parameters: kind `param`.
    Param,
    /// IPv4 addresses: kind `host`.
    Ipv4,
}

impl Builtin {
    /// Every builtin, in declaration order.
    pub const ALL: [Builtin; 12] = [
        Builtin::Time,
        Builtin::Number,
        Builtin::Duration,
        Builtin::Ordinal,
        Builtin::Email,
        Builtin::Url,
        Builtin::Version,
        Builtin::ExecutionId,
        Builtin::Count,
        Builtin::Status,
        Builtin::Param,
        Builtin::Ipv4,
    ];

    /// The builtins of a model whose training data does not choose: the general ones.
    pub const GENERAL: [Builtin; 6] = [
        Builtin::Time,
        Builtin::Number,
        Builtin::Duration,
        Builtin::Ordinal,
        Builtin::Email,
        Builtin::Url,
    ];

    /// The builtins of the ChatOps model: times and the entities of operations chat.
    pub const OPERATIONS: [Builtin; 7] = [
        Builtin::Time,
        Builtin::Version,
        Builtin::ExecutionId,
        Builtin::Count,
        Builtin::Status,
        Builtin::Param,
        Builtin::Ipv4,
    ];

    /// The name used in `nlu.toml` and `model.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Builtin::Time => "time",
            Builtin::Number => "number",
            Builtin::Duration => "duration",
            Builtin::Ordinal => "ordinal",
            Builtin::Email => "email",
            Builtin::Url => "url",
            Builtin::Version => "version",
            Builtin::ExecutionId => "execution_id",
            Builtin::Count => "count",
            Builtin::Status => "status",
            Builtin::Param => "param",
            Builtin::Ipv4 => "ipv4",
        }
    }

    /// The entity kind this builtin reports.
    pub fn kind(self) -> EntityKind {
        match self {
            Builtin::Time => EntityKind::TIME,
            Builtin::Number => EntityKind::NUMBER,
            Builtin::Duration => EntityKind::DURATION,
            Builtin::Ordinal => EntityKind::ORDINAL,
            Builtin::Email => EntityKind::EMAIL,
            Builtin::Url => EntityKind::URL,
            Builtin::Version => EntityKind::VERSION,
            Builtin::ExecutionId => EntityKind::EXECUTION_ID,
            Builtin::Count => EntityKind::COUNT,
            Builtin::Status => EntityKind::STATUS,
            Builtin::Param => EntityKind::PARAM,
            Builtin::Ipv4 => EntityKind::HOST,
        }
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned for a builtin name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown builtin extractor `{0}`; the builtins are: time, number, duration, ordinal, email, url, version, execution_id, count, status, param, ipv4")]
pub struct UnknownBuiltin(pub String);

impl FromStr for Builtin {
    type Err = UnknownBuiltin;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Builtin::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| UnknownBuiltin(s.to_string()))
    }
}

/// One value of a lookup table and the texts that name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupEntry {
    /// The normalized value reported, e.g. `living_room`.
    pub value: String,
    /// Texts that mean it besides the value itself, e.g. "living room", "lounge", "客厅".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub texts: Vec<String>,
}

/// A table of known values of one entity type, matched like catalog names: exactly, on word
/// boundaries in Latin script and as substrings in Chinese, and with a few typos in longer
/// Latin names (one edit from 5 characters, two from 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    /// The entity type, e.g. `room`.
    pub entity: EntityKind,
    pub entries: Vec<LookupEntry>,
}

/// Regular expressions that extract one entity type, as Rasa's `RegexEntityExtractor` does:
/// every match (case-insensitive) is an entity whose value is the matched text (mapped by
/// the synonyms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegexEntity {
    /// The entity type, e.g. `zip_code`.
    pub entity: EntityKind,
    /// Patterns in the syntax of the `regex` crate.
    pub patterns: Vec<String>,
}

/// Texts that stand for one value: an extracted value equal to one of `texts` (ignoring
/// case) is reported as `value`, as Rasa's `EntitySynonymMapper` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synonym {
    pub value: String,
    pub texts: Vec<String>,
}

/// What a model extracts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitySpec {
    /// The builtin extractors that run.
    pub builtins: Vec<Builtin>,
    /// Whether the model expects a job catalog (jobs, apps, environments, hosts): tools load
    /// the default catalog only for such models. Any parser recognizes the names of a catalog
    /// it is given.
    #[serde(default)]
    pub catalog: bool,
    /// Lookup tables: from `lookup:` blocks, and the annotated examples of entity types that
    /// no builtin and no catalog supplies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<Lookup>,
    /// From `regex:` blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regexes: Vec<RegexEntity>,
    /// From `synonym:` blocks and annotations whose value differs from their text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<Synonym>,
    /// Types of the tagger whose spans are free-text job parameters, reported as `param`
    /// entities: `name=value` (from `params = [...]` in `nlu.toml`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<EntityKind>,
}

impl Default for EntitySpec {
    /// The general builtins, nothing else.
    fn default() -> Self {
        EntitySpec {
            builtins: Builtin::GENERAL.to_vec(),
            catalog: false,
            lookups: Vec::new(),
            regexes: Vec::new(),
            synonyms: Vec::new(),
            params: Vec::new(),
        }
    }
}

impl EntitySpec {
    /// The builtins of operations chat with a catalog, and nothing else: what a model saved
    /// before entity specs existed extracts (the ChatOps model's entities).
    pub fn legacy() -> Self {
        EntitySpec {
            builtins: Builtin::OPERATIONS.to_vec(),
            catalog: true,
            ..Default::default()
        }
    }

    /// Whether a builtin runs.
    pub fn has(&self, b: Builtin) -> bool {
        self.builtins.contains(&b)
    }

    /// The entity types this spec can report besides the catalog's: those of its builtins,
    /// lookup tables and regular expressions, sorted.
    pub fn kinds(&self) -> Vec<EntityKind> {
        let mut v: Vec<EntityKind> = self
            .builtins
            .iter()
            .map(|b| b.kind())
            .chain(self.lookups.iter().map(|l| l.entity.clone()))
            .chain(self.regexes.iter().map(|r| r.entity.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names_round_trip() {
        for b in Builtin::ALL {
            assert_eq!(b.as_str().parse::<Builtin>(), Ok(b));
            assert_eq!(serde_json::to_string(&b).unwrap(), format!("\"{b}\""));
        }
        let e = "weather".parse::<Builtin>().unwrap_err();
        assert!(e.to_string().contains("`weather`"), "{e}");
        assert!(e.to_string().contains("duration"), "{e}");
    }

    #[test]
    fn kinds_lists_every_source_once() {
        let spec = EntitySpec {
            builtins: vec![Builtin::Time, Builtin::Ipv4],
            catalog: false,
            lookups: vec![Lookup {
                entity: "room".into(),
                entries: vec![],
            }],
            regexes: vec![RegexEntity {
                entity: "room".into(),
                patterns: vec![],
            }],
            synonyms: vec![],
            params: vec![],
        };
        let k: Vec<String> = spec.kinds().iter().map(|k| k.to_string()).collect();
        // the contract's kinds first, in its order, then the others by name
        assert_eq!(k, ["host", "time", "room"]);
    }
}
