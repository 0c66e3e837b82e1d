//! The job catalog: job templates with their parameter schemas, and the applications,
//! environments and hosts they act on. The parser builds its gazetteers from it and the bot
//! uses the same type for its configuration.
//!
//! Every entry has an `id` and optional `aliases`; the file format is the one of
//! `config/catalog.toml` (the reference catalog, kept identical in content):
//!
//! ```toml
//! [[environments]]
//! id = "production"
//! aliases = ["prod", "生产"]
//!
//! [[jobs]]
//! id = "backup-database"
//! aliases = ["db backup"]
//! description = "Take a backup"
//! sensitive = false
//!   [[jobs.parameters]]
//!   name = "target"
//!   kind = "host"
//!   required = true
//!   [[jobs.parameters]]
//!   name = "keep_days"
//!   kind = "integer"
//!   min = 1                   # integers are counts: 0 or more unless `min` says otherwise
//!   max = 365                 # optional
//! ```
//!
//! Unknown keys are ignored (the bot's configuration adds run specifications to jobs).
//! [`Catalog::from_toml_str`] checks what serde cannot: ids present and unique within their
//! kind, aliases that do not collide with another entry of the same kind, known parameter
//! kinds, defaults that are among the choices and inside the range, and ranges that hold
//! (`min` <= `max`, on integer parameters only). Errors name the file and the 1-based line.

// Load errors carry the file, line and names for a helpful message; they happen once, at load.
#![allow(clippy::result_large_err)]

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// The whole catalog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    #[serde(default)]
    pub jobs: Vec<Job>,
    #[serde(default)]
    pub apps: Vec<NamedItem>,
    #[serde(default)]
    pub environments: Vec<NamedItem>,
    #[serde(default)]
    pub hosts: Vec<NamedItem>,
}

/// An application, environment or host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedItem {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A job template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub description: String,
    /// Sensitive jobs need a confirmation (and maybe an approval) before they run.
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub parameters: Vec<JobParameter>,
}

/// One parameter of a job template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobParameter {
    pub name: String,
    pub kind: ParamKind,
    #[serde(default)]
    pub required: bool,
    /// The default, as a string (`default = 7` in TOML reads as `"7"`).
    #[serde(default, deserialize_with = "de_opt_scalar")]
    pub default: Option<String>,
    #[serde(default)]
    pub choices: Vec<String>,
    /// The smallest value of an `integer` parameter (`min = 1`); when absent, 0: integers
    /// are counts (replicas, days), and a negative one is a slip. See [`JobParameter::min`].
    #[serde(default, rename = "min", skip_serializing_if = "Option::is_none")]
    pub min_value: Option<i64>,
    /// The largest value of an `integer` parameter (`max = 50`); no limit when absent.
    #[serde(default, rename = "max", skip_serializing_if = "Option::is_none")]
    pub max_value: Option<i64>,
}

/// What a parameter holds; entity kinds of the same name fill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    App,
    Environment,
    Host,
    Version,
    String,
    Integer,
    Boolean,
    /// A duration such as `30m` or `2h`.
    Duration,
    /// A time, as the `time` entity resolves it.
    Time,
}

impl ParamKind {
    pub const ALL: [ParamKind; 9] = [
        ParamKind::App,
        ParamKind::Environment,
        ParamKind::Host,
        ParamKind::Version,
        ParamKind::String,
        ParamKind::Integer,
        ParamKind::Boolean,
        ParamKind::Duration,
        ParamKind::Time,
    ];

    /// The spelling used in catalog files, e.g. `environment`.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::App => "app",
            ParamKind::Environment => "environment",
            ParamKind::Host => "host",
            ParamKind::Version => "version",
            ParamKind::String => "string",
            ParamKind::Integer => "integer",
            ParamKind::Boolean => "boolean",
            ParamKind::Duration => "duration",
            ParamKind::Time => "time",
        }
    }

    /// Parses the catalog spelling.
    pub fn parse(s: &str) -> Option<ParamKind> {
        ParamKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which list of the catalog an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Jobs,
    Apps,
    Environments,
    Hosts,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Jobs => "jobs",
            Section::Apps => "apps",
            Section::Environments => "environments",
            Section::Hosts => "hosts",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a catalog could not be loaded. Every message names the file and a 1-based line.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}: cannot read the catalog: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: invalid catalog: {message}; fix the TOML at this line")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}:{line}: an entry of [[{section}]] has no `id`; add `id = \"...\"` to it")]
    MissingId {
        file: String,
        line: usize,
        section: String,
    },
    #[error("{file}:{line}: empty {what} in [[{section}]]; remove it or give it a name")]
    EmptyName {
        file: String,
        line: usize,
        section: Section,
        what: &'static str,
    },
    #[error(
        "{file}:{line}: duplicate id `{id}` in [[{section}]] (first defined at line {first_line}); give each entry its own id"
    )]
    DuplicateId {
        file: String,
        line: usize,
        section: Section,
        id: String,
        first_line: usize,
    },
    #[error(
        "{file}:{line}: name `{name}` of `{id}` in [[{section}]] collides with `{other_id}` (line {other_line}); names must be unique (case-insensitive) within [[{section}]]: rename or remove one"
    )]
    AliasCollision {
        file: String,
        line: usize,
        section: Section,
        name: String,
        id: String,
        other_id: String,
        other_line: usize,
    },
    #[error(
        "{file}:{line}: parameter `{param}` of job `{job}` has unknown kind `{kind}`; use one of: {expected}"
    )]
    UnknownParamKind {
        file: String,
        line: usize,
        job: String,
        param: String,
        kind: String,
        expected: String,
    },
    #[error("{file}:{line}: job `{job}` declares parameter `{param}` twice; keep one")]
    DuplicateParameter {
        file: String,
        line: usize,
        job: String,
        param: String,
    },
    #[error(
        "{file}:{line}: default `{default}` of parameter `{param}` of job `{job}` is not one of its choices ({choices}); change the default or add it to `choices`"
    )]
    DefaultNotInChoices {
        file: String,
        line: usize,
        job: String,
        param: String,
        default: String,
        choices: String,
    },
    #[error(
        "{file}:{line}: default `{default}` of parameter `{param}` of job `{job}` is not a valid {kind}; fix the default"
    )]
    InvalidDefault {
        file: String,
        line: usize,
        job: String,
        param: String,
        default: String,
        kind: ParamKind,
    },
    #[error("{file}:{line}: parameter `{param}` of job `{job}`: {message}")]
    BadRange {
        file: String,
        line: usize,
        job: String,
        param: String,
        message: String,
    },
}

impl CatalogError {
    /// The 1-based line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            CatalogError::Io { .. } => None,
            CatalogError::Syntax { line, .. }
            | CatalogError::MissingId { line, .. }
            | CatalogError::EmptyName { line, .. }
            | CatalogError::DuplicateId { line, .. }
            | CatalogError::AliasCollision { line, .. }
            | CatalogError::UnknownParamKind { line, .. }
            | CatalogError::DuplicateParameter { line, .. }
            | CatalogError::DefaultNotInChoices { line, .. }
            | CatalogError::InvalidDefault { line, .. }
            | CatalogError::BadRange { line, .. } => Some(*line),
        }
    }
}

impl Catalog {
    /// Parses and validates a catalog; `origin` (usually the file name) appears in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| syntax_error(text, origin, &e))?;
        raw.validate_and_convert(text, origin)
    }

    /// Reads, parses and validates a catalog file.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            file: file.clone(),
            source,
        })?;
        Catalog::from_toml_str(&text, &file)
    }

    /// The job with this id.
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id == id)
    }

    /// The application with this id.
    pub fn app(&self, id: &str) -> Option<&NamedItem> {
        self.apps.iter().find(|a| a.id == id)
    }

    /// The environment with this id.
    pub fn environment(&self, id: &str) -> Option<&NamedItem> {
        self.environments.iter().find(|a| a.id == id)
    }

    /// The host with this id.
    pub fn host(&self, id: &str) -> Option<&NamedItem> {
        self.hosts.iter().find(|a| a.id == id)
    }

    /// The entries of one section as (id, aliases) pairs.
    pub fn names(&self, section: Section) -> Vec<(&str, &[String])> {
        match section {
            Section::Jobs => self
                .jobs
                .iter()
                .map(|j| (j.id.as_str(), j.aliases.as_slice()))
                .collect(),
            Section::Apps => named(&self.apps),
            Section::Environments => named(&self.environments),
            Section::Hosts => named(&self.hosts),
        }
    }
}

fn named(items: &[NamedItem]) -> Vec<(&str, &[String])> {
    items
        .iter()
        .map(|i| (i.id.as_str(), i.aliases.as_slice()))
        .collect()
}

impl JobParameter {
    /// Whether `value` is acceptable for this parameter's kind, range and choices.
    pub fn accepts(&self, value: &str) -> bool {
        if !self.choices.is_empty() && !self.choices.iter().any(|c| c == value) {
            return false;
        }
        match self.kind {
            ParamKind::Integer => value
                .parse::<i64>()
                .is_ok_and(|n| self.range_error(n).is_none()),
            ParamKind::Boolean => matches!(value, "true" | "false"),
            _ => true,
        }
    }

    /// The smallest value an `integer` parameter takes: its `min`, else 0.
    pub fn min(&self) -> Option<i64> {
        match self.kind {
            ParamKind::Integer => Some(self.min_value.unwrap_or(0)),
            _ => None,
        }
    }

    /// The largest value an `integer` parameter takes (its `max`), if limited.
    pub fn max(&self) -> Option<i64> {
        match self.kind {
            ParamKind::Integer => self.max_value,
            _ => None,
        }
    }

    /// Why `n` is out of this parameter's range ("must be at least 0"), if it is.
    pub fn range_error(&self, n: i64) -> Option<String> {
        match (self.min(), self.max()) {
            (Some(lo), Some(hi)) if n < lo || n > hi => {
                Some(format!("must be between {lo} and {hi}"))
            }
            (Some(lo), None) if n < lo => Some(format!("must be at least {lo}")),
            (None, Some(hi)) if n > hi => Some(format!("must be at most {hi}")),
            _ => None,
        }
    }
}

/// Accepts a string, an integer, a float or a boolean and keeps it as a string.
fn de_opt_scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        I(i64),
        F(f64),
        B(bool),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|s| match s {
        Scalar::S(s) => s,
        Scalar::I(i) => i.to_string(),
        Scalar::F(f) => f.to_string(),
        Scalar::B(b) => b.to_string(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Loading with positions

#[derive(Deserialize)]
struct RawCatalog {
    #[serde(default)]
    jobs: Vec<RawJob>,
    #[serde(default)]
    apps: Vec<RawItem>,
    #[serde(default)]
    environments: Vec<RawItem>,
    #[serde(default)]
    hosts: Vec<RawItem>,
}

#[derive(Deserialize)]
struct RawItem {
    id: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
struct RawJob {
    id: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    parameters: Vec<RawParam>,
}

#[derive(Deserialize)]
struct RawParam {
    name: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    default: Option<Spanned<toml::Value>>,
    #[serde(default)]
    choices: Vec<Spanned<String>>,
    #[serde(default)]
    min: Option<Spanned<i64>>,
    #[serde(default)]
    max: Option<Spanned<i64>>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn column_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    let line_start = text.as_bytes()[..end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    text.get(line_start..end)
        .map_or(1, |s| s.chars().count() + 1)
}

/// The `[[section]]` header in force at a byte offset.
fn section_at(text: &str, offset: usize) -> Option<String> {
    let end = offset.min(text.len());
    // Include the rest of the current line: a header's own span starts at its bracket.
    let end = text[end..].find('\n').map_or(text.len(), |p| end + p);
    text[..end].lines().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix("[[")
            .and_then(|r| r.strip_suffix("]]"))
            .map(|s| s.trim().to_string())
    })
}

fn syntax_error(text: &str, origin: &str, e: &toml::de::Error) -> CatalogError {
    let offset = e.span().map_or(0, |s| s.start);
    let line = line_of(text, offset);
    let message = e.message().trim().to_string();
    if message.contains("missing field `id`") {
        return CatalogError::MissingId {
            file: origin.to_string(),
            line,
            section: section_at(text, offset).unwrap_or_else(|| "?".into()),
        };
    }
    CatalogError::Syntax {
        file: origin.to_string(),
        line,
        column: column_of(text, offset),
        message,
    }
}

/// Lower-cased, trimmed, whitespace-collapsed form used to compare names.
pub(crate) fn normalize_name(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

struct Checker<'a> {
    file: &'a str,
    /// Byte offsets where lines start, for line numbers in O(log n).
    line_starts: Vec<usize>,
}

impl<'a> Checker<'a> {
    fn new(text: &str, file: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|b| b.1 == b'\n')
                    .map(|b| b.0 + 1),
            )
            .collect();
        Checker { file, line_starts }
    }

    fn line_at(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    fn line(&self, s: &Spanned<String>) -> usize {
        self.line_at(s.span().start)
    }

    /// Checks ids and aliases of one section.
    fn check_names<'s>(
        &self,
        section: Section,
        entries: impl Iterator<Item = (&'s Spanned<String>, &'s [Spanned<String>])>,
    ) -> Result<(), CatalogError> {
        // normalized id -> line
        let mut ids: HashMap<String, usize> = HashMap::new();
        // normalized name -> (owner id, line)
        let mut names: HashMap<String, (String, usize)> = HashMap::new();
        let entries: Vec<_> = entries.collect();
        for (id, _) in &entries {
            let key = normalize_name(id.get_ref());
            if key.is_empty() {
                return Err(CatalogError::EmptyName {
                    file: self.file.into(),
                    line: self.line(id),
                    section,
                    what: "id",
                });
            }
            if let Some(&first_line) = ids.get(&key) {
                return Err(CatalogError::DuplicateId {
                    file: self.file.into(),
                    line: self.line(id),
                    section,
                    id: id.get_ref().clone(),
                    first_line,
                });
            }
            ids.insert(key.clone(), self.line(id));
            names.insert(key, (id.get_ref().clone(), self.line(id)));
        }
        for (id, aliases) in &entries {
            for alias in aliases.iter() {
                let key = normalize_name(alias.get_ref());
                if key.is_empty() {
                    return Err(CatalogError::EmptyName {
                        file: self.file.into(),
                        line: self.line(alias),
                        section,
                        what: "alias",
                    });
                }
                match names.get(&key) {
                    Some((owner, _)) if owner == id.get_ref() => {} // repeats its own id or alias
                    Some((owner, other_line)) => {
                        return Err(CatalogError::AliasCollision {
                            file: self.file.into(),
                            line: self.line(alias),
                            section,
                            name: alias.get_ref().clone(),
                            id: id.get_ref().clone(),
                            other_id: owner.clone(),
                            other_line: *other_line,
                        });
                    }
                    None => {
                        names.insert(key, (id.get_ref().clone(), self.line(alias)));
                    }
                }
            }
        }
        Ok(())
    }
}

impl RawCatalog {
    fn validate_and_convert(self, text: &str, file: &str) -> Result<Catalog, CatalogError> {
        let ck = Checker::new(text, file);
        ck.check_names(
            Section::Jobs,
            self.jobs.iter().map(|j| (&j.id, j.aliases.as_slice())),
        )?;
        for (section, items) in [
            (Section::Apps, &self.apps),
            (Section::Environments, &self.environments),
            (Section::Hosts, &self.hosts),
        ] {
            ck.check_names(section, items.iter().map(|i| (&i.id, i.aliases.as_slice())))?;
        }

        let mut jobs = Vec::with_capacity(self.jobs.len());
        for job in self.jobs {
            let job_id = job.id.get_ref().clone();
            let mut parameters: Vec<JobParameter> = Vec::with_capacity(job.parameters.len());
            for p in job.parameters {
                let name = p.name.get_ref().clone();
                let line = ck.line(&p.name);
                if name.trim().is_empty() {
                    return Err(CatalogError::EmptyName {
                        file: file.into(),
                        line,
                        section: Section::Jobs,
                        what: "parameter name",
                    });
                }
                if parameters.iter().any(|q| q.name == name) {
                    return Err(CatalogError::DuplicateParameter {
                        file: file.into(),
                        line,
                        job: job_id.clone(),
                        param: name,
                    });
                }
                let kind = ParamKind::parse(p.kind.get_ref()).ok_or_else(|| {
                    CatalogError::UnknownParamKind {
                        file: file.into(),
                        line: ck.line(&p.kind),
                        job: job_id.clone(),
                        param: name.clone(),
                        kind: p.kind.get_ref().clone(),
                        expected: ParamKind::ALL.map(|k| k.as_str()).join(", "),
                    }
                })?;
                let choices: Vec<String> = p.choices.iter().map(|c| c.get_ref().clone()).collect();
                let bad_range = |at: usize, message: String| CatalogError::BadRange {
                    file: file.into(),
                    line: ck.line_at(at),
                    job: job_id.clone(),
                    param: name.clone(),
                    message,
                };
                for bound in [&p.min, &p.max].into_iter().flatten() {
                    if kind != ParamKind::Integer {
                        return Err(bad_range(
                            bound.span().start,
                            format!("`min` and `max` apply to integer parameters, not to a {kind}; remove them"),
                        ));
                    }
                }
                if let (Some(lo), Some(hi)) = (&p.min, &p.max) {
                    if lo.get_ref() > hi.get_ref() {
                        return Err(bad_range(
                            lo.span().start,
                            format!(
                                "`min` ({}) is larger than `max` ({}); swap or fix them",
                                lo.get_ref(),
                                hi.get_ref()
                            ),
                        ));
                    }
                }
                let default = match &p.default {
                    None => None,
                    Some(v) => {
                        let dline = ck.line_at(v.span().start);
                        let s = match v.get_ref() {
                            toml::Value::String(s) => s.clone(),
                            toml::Value::Integer(i) => i.to_string(),
                            toml::Value::Float(f) => f.to_string(),
                            toml::Value::Boolean(b) => b.to_string(),
                            other => {
                                return Err(CatalogError::Syntax {
                                    file: file.into(),
                                    line: dline,
                                    column: column_of(text, v.span().start),
                                    message: format!(
                                        "the default of parameter `{name}` must be a string, number or boolean, not {}",
                                        other.type_str()
                                    ),
                                })
                            }
                        };
                        if !choices.is_empty() && !choices.contains(&s) {
                            return Err(CatalogError::DefaultNotInChoices {
                                file: file.into(),
                                line: dline,
                                job: job_id.clone(),
                                param: name.clone(),
                                default: s,
                                choices: choices.join(", "),
                            });
                        }
                        let valid = match kind {
                            ParamKind::Integer => s.parse::<i64>().is_ok(),
                            ParamKind::Boolean => matches!(s.as_str(), "true" | "false"),
                            _ => true,
                        };
                        if !valid {
                            return Err(CatalogError::InvalidDefault {
                                file: file.into(),
                                line: dline,
                                job: job_id.clone(),
                                param: name.clone(),
                                default: s,
                                kind,
                            });
                        }
                        Some(s)
                    }
                };
                let param = JobParameter {
                    name: name.clone(),
                    kind,
                    required: p.required,
                    default,
                    choices,
                    min_value: p.min.as_ref().map(|v| *v.get_ref()),
                    max_value: p.max.as_ref().map(|v| *v.get_ref()),
                };
                // a default outside the range could never be given explicitly
                if let (Some(d), Some(v)) = (&param.default, &p.default) {
                    if let Some(why) = d.parse::<i64>().ok().and_then(|n| param.range_error(n)) {
                        return Err(bad_range(
                            v.span().start,
                            format!("its default `{d}` {why}; fix the default or the range"),
                        ));
                    }
                }
                parameters.push(param);
            }
            jobs.push(Job {
                id: job_id,
                aliases: job.aliases.into_iter().map(Spanned::into_inner).collect(),
                description: job.description,
                sensitive: job.sensitive,
                parameters,
            });
        }
        let conv = |items: Vec<RawItem>| -> Vec<NamedItem> {
            items
                .into_iter()
                .map(|i| NamedItem {
                    id: i.id.into_inner(),
                    aliases: i.aliases.into_iter().map(Spanned::into_inner).collect(),
                })
                .collect()
        };
        Ok(Catalog {
            jobs,
            apps: conv(self.apps),
            environments: conv(self.environments),
            hosts: conv(self.hosts),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
[[environments]]
id = "production"
aliases = ["prod", "生产"]

[[apps]]
id = "api"

[[hosts]]
id = "db-01"

[[jobs]]
id = "backup-database"
aliases = ["db backup"]
description = "Back up"
run = { command = "backup.sh" }
  [[jobs.parameters]]
  name = "compression"
  kind = "string"
  default = "zstd"
  choices = ["zstd", "gzip"]
  [[jobs.parameters]]
  name = "keep"
  kind = "integer"
  default = 7
"#;

    #[test]
    fn loads_small_catalog_and_ignores_unknown_keys() {
        let c = Catalog::from_toml_str(SMALL, "small.toml").unwrap();
        assert_eq!(c.jobs.len(), 1);
        let j = c.job("backup-database").unwrap();
        assert!(!j.sensitive);
        assert_eq!(j.parameters[0].default.as_deref(), Some("zstd"));
        assert_eq!(j.parameters[1].default.as_deref(), Some("7"));
        assert_eq!(j.parameters[1].kind, ParamKind::Integer);
        assert_eq!(c.environment("production").unwrap().aliases.len(), 2);
        assert!(c.app("api").is_some());
        assert!(c.host("db-01").is_some());
        assert!(c.job("nope").is_none());
    }

    #[test]
    fn serde_roundtrip_through_toml() {
        let c = Catalog::from_toml_str(SMALL, "small.toml").unwrap();
        let text = toml::to_string(&c).unwrap();
        let back: Catalog = toml::from_str(&text).unwrap();
        assert_eq!(c, back);
    }

    #[test]
    fn line_and_section_helpers() {
        let t = "a\nb\n[[jobs]]\nx = 1\n";
        assert_eq!(line_of(t, 0), 1);
        let ck = Checker::new(t, "f");
        for off in 0..t.len() {
            assert_eq!(ck.line_at(off), line_of(t, off), "{off}");
        }
        assert_eq!(line_of(t, 2), 2);
        assert_eq!(section_at(t, t.find("x").unwrap()).as_deref(), Some("jobs"));
        assert_eq!(column_of(t, t.find("x").unwrap()), 1);
    }

    #[test]
    fn syntax_error_has_line() {
        let e = Catalog::from_toml_str("[[apps]]\nid = \"a\"\naliases = [\"x\"\n", "f.toml")
            .unwrap_err();
        assert!(matches!(e, CatalogError::Syntax { .. }), "{e}");
        assert!(e.to_string().starts_with("f.toml:"), "{e}");
    }

    #[test]
    fn missing_id_names_the_section() {
        let e = Catalog::from_toml_str(
            "[[apps]]\nid = \"a\"\n\n[[hosts]]\naliases = [\"x\"]\n",
            "f.toml",
        )
        .unwrap_err();
        match &e {
            CatalogError::MissingId { section, .. } => assert_eq!(section, "hosts"),
            other => panic!("{other}"),
        }
    }
}
