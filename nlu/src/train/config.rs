//! `nlu.toml`: the settings of a training-data directory besides its examples, and how the
//! model's intents and entity types are derived from both.
//!
//! ```toml
//! # Builtin extractors (default: time, number, duration, ordinal, email, url).
//! builtins = ["time", "number", "duration"]
//! # Whether job, app, environment and host come from a job catalog at run time (default
//! # false): their annotations then make no lookup table.
//! catalog = false
//!
//! [intents.turn_on_light]
//! label = "turn on a light"       # the option's text in a clarification question
//! [intents.set_timer]
//! bare_number = "number"          # a lone number in such a text is this kind
//! entities = true                 # ask about ambiguous names (default: has annotations)
//! ```
//!
//! `tagger = ["city"]` names the entity types the trained entity tagger learns from the
//! annotated examples (default: every annotated type that no builtin, catalog, `lookup:` or
//! `regex:` block supplies, i.e. the open-class ones; `tagger = []` trains none). Such a type
//! keeps the lookup table of its annotations too: a name in it normalizes the value of a
//! tagged span it overlaps.
//!
//! `params = ["domain", "reason"]` names tagged types that are free-text job parameters: a
//! span of one is reported as a `param` entity, `name=value` (`domain=shop.example.com` for
//! "renew the certs of \[shop.example.com\](domain)"), as an explicit `domain=...` would be.
//! Such a type makes no lookup table: its values are open text, not names.
//!
//! `out_of_scope_share = 0.1` says how common out-of-scope messages are in the traffic the
//! model will see, when that differs from their share of the examples (out-of-scope examples
//! are usually many, to cover what the model must reject): the prior of the `out_of_scope`
//! intent is chosen for that share (default: the examples' share).
//!
//! `translate = false` turns off the dictionary translation of examples: by default an
//! intent whose examples are all (or nearly all) in English is also trained on a word-by-word
//! Chinese translation of them, and the other way round ([`crate::train::translate`]).
//!
//! The file is optional. Entity types come from the data:
//! - `lookup:` blocks are lookup tables; a `synonym:` whose value is an entry of a table
//!   adds its texts to that entry;
//! - annotated examples (`[kitchen](room)`) of a type that no builtin and no catalog supplies
//!   add their text and value to that type's lookup table;
//! - `regex:` blocks extract the type named by the block;
//! - `synonym:` blocks, and annotations whose value differs from their text, map extracted
//!   values of the lookup and regex types.

use super::rasa::TrainingData;
use crate::entities::{
    Builtin, EntityExtractor, EntitySpec, Lookup, LookupEntry, RegexEntity, Synonym,
};
use crate::error::{NluError, Result};
use crate::model::IntentSpec;
use crate::result::{EntityKind, IntentName};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File name of the settings inside a training-data directory.
pub const CONFIG_FILE: &str = "nlu.toml";

/// The contents of `nlu.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Builtin extractors by name; `None`: the general ones.
    pub builtins: Option<Vec<String>>,
    /// Whether the catalog supplies job, app, environment and host.
    #[serde(default)]
    pub catalog: bool,
    /// Settings per intent.
    #[serde(default)]
    pub intents: BTreeMap<String, IntentConfig>,
    /// The entity types the tagger learns; `None`: the annotated ones nothing else supplies.
    pub tagger: Option<Vec<String>>,
    /// Tagged types reported as `param` entities (`name=value`).
    #[serde(default)]
    pub params: Vec<String>,
    /// The share of out-of-scope messages expected in real traffic (0 to 1), for the
    /// out-of-scope prior; `None`: as in the training data.
    pub out_of_scope_share: Option<f32>,
    /// Whether intents whose examples are (almost) all in one language are trained on a
    /// dictionary translation of them too ([`crate::train::translate`]); `None`: yes.
    pub translate: Option<bool>,
    /// Where it was read from, for messages.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// The settings of one intent in `nlu.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentConfig {
    pub label: Option<String>,
    pub entities: Option<bool>,
    pub bare_number: Option<String>,
}

impl DataConfig {
    /// Reads `nlu.toml` of a training-data directory; no file gives the defaults.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(NluError::TrainingData {
                    path,
                    line: None,
                    reason: format!("cannot read: {e}"),
                })
            }
        };
        Self::parse(&text, &path)
    }

    /// Parses the text of an `nlu.toml`.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut c: DataConfig = toml::from_str(text).map_err(|e| NluError::TrainingData {
            path: path.to_path_buf(),
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            reason: e.message().to_string(),
        })?;
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    fn error(&self, reason: String) -> NluError {
        NluError::TrainingData {
            path: self
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from(CONFIG_FILE)),
            line: None,
            reason,
        }
    }

    /// The builtins chosen.
    pub fn builtins(&self) -> Result<Vec<Builtin>> {
        match &self.builtins {
            None => Ok(Builtin::GENERAL.to_vec()),
            Some(names) => names
                .iter()
                .map(|n| n.parse::<Builtin>().map_err(|e| self.error(e.to_string())))
                .collect(),
        }
    }
}

/// Derives the settings of each label (in `labels` order) and the entity spec from the data
/// and its `nlu.toml`; checks that the spec's regular expressions compile.
pub fn model_spec(
    data: &TrainingData,
    config: &DataConfig,
    labels: &[String],
) -> Result<(Vec<IntentSpec>, EntitySpec)> {
    for name in config.intents.keys() {
        if !labels.contains(name) {
            return Err(config.error(format!(
                "[intents.{name}] names an intent that has no training examples; the intents are {}",
                labels.join(", ")
            )));
        }
    }
    if let Some(share) = config.out_of_scope_share {
        if !(share > 0.0 && share < 1.0) {
            return Err(config.error(format!(
                "out_of_scope_share = {share} is not a share; give one between 0 and 1 (0.1 for \
                 one message in ten)"
            )));
        }
        if !labels.iter().any(|l| l == "out_of_scope") {
            return Err(config.error(
                "out_of_scope_share is set but no example is of the `out_of_scope` intent; add \
                 examples of what the model should reject, or take the setting out"
                    .to_string(),
            ));
        }
    }
    let intents = labels
        .iter()
        .map(|l| {
            let c = config.intents.get(l).cloned().unwrap_or_default();
            let annotated = data
                .examples
                .iter()
                .any(|e| e.intent == *l && !e.entities.is_empty());
            IntentSpec {
                name: IntentName::from(l.as_str()),
                label: c.label,
                entities: c.entities.unwrap_or(annotated),
                bare_number: c.bare_number.map(EntityKind::from),
            }
        })
        .collect();
    let builtins = config.builtins()?;
    let taken = |kind: &str| -> Option<String> {
        if let Some(b) = builtins.iter().find(|b| b.kind() == kind) {
            return Some(format!("the builtin `{b}`"));
        }
        (config.catalog && EntityKind::CATALOG.iter().any(|k| k == kind))
            .then(|| "the job catalog (catalog = true)".to_string())
    };
    for (block, name) in data
        .lookups
        .iter()
        .map(|l| ("lookup", &l.0))
        .chain(data.regexes.iter().map(|r| ("regex", &r.0)))
    {
        if let Some(source) = taken(name) {
            return Err(config.error(format!(
                "the `{block}: {name}` block names an entity type that {source} supplies; \
                 remove the block, or leave the type to the block by taking it out of nlu.toml"
            )));
        }
    }
    let mut spec = entity_spec(data, builtins, config.catalog);
    if !config.params.is_empty() {
        let tagged = tagger_types(data, config)?;
        for name in &config.params {
            if !tagged.iter().any(|t| t == name.as_str()) {
                return Err(config.error(format!(
                    "params = [...] names `{name}`, which the tagger does not learn; annotate \
                     it as [text]({name}) in some examples (and list it in `tagger` if that is \
                     set)"
                )));
            }
        }
        spec.params = config
            .params
            .iter()
            .map(|p| EntityKind::from(p.as_str()))
            .collect();
        spec.params.sort();
        spec.params.dedup();
        spec.lookups.retain(|l| !spec.params.contains(&l.entity));
    }
    EntityExtractor::from_spec(&spec, &crate::Catalog::default())
        .map_err(|e| config.error(e.to_string()))?;
    Ok((intents, spec))
}

/// The entity types the tagger learns from `data` (see the module's documentation), sorted.
/// A type named in `tagger = [...]` that no example annotates is an error.
pub fn tagger_types(data: &TrainingData, config: &DataConfig) -> Result<Vec<EntityKind>> {
    let mut annotated: Vec<&str> = data
        .examples
        .iter()
        .flat_map(|e| e.entities.iter().map(|a| a.entity.as_str()))
        .collect();
    annotated.sort();
    annotated.dedup();
    let mut types: Vec<String> = match &config.tagger {
        Some(names) => {
            for n in names {
                if !annotated.contains(&n.as_str()) {
                    return Err(config.error(format!(
                        "tagger = [...] names `{n}`, which no example annotates; annotate it \
                         as [text]({n}) in some examples, or take it out"
                    )));
                }
            }
            names.clone()
        }
        None => {
            let builtins = config.builtins()?;
            annotated
                .into_iter()
                .filter(|kind| {
                    let supplied = builtins.iter().any(|b| b.kind() == *kind)
                        || (config.catalog && EntityKind::CATALOG.iter().any(|k| k == kind))
                        || data.regexes.iter().any(|(n, _)| n == kind)
                        || data.lookups.iter().any(|(n, _)| n == kind);
                    !supplied
                })
                .map(str::to_string)
                .collect()
        }
    };
    types.sort();
    types.dedup();
    Ok(types.into_iter().map(EntityKind::from).collect())
}

/// The entity spec of some training data.
pub fn entity_spec(data: &TrainingData, builtins: Vec<Builtin>, catalog: bool) -> EntitySpec {
    let regex_kinds: Vec<&str> = data.regexes.iter().map(|(n, _)| n.as_str()).collect();
    let supplied = |kind: &str| {
        builtins.iter().any(|b| b.kind() == kind)
            || (catalog && EntityKind::CATALOG.iter().any(|k| k == kind))
            || regex_kinds.contains(&kind)
    };
    // kind -> value -> texts
    let mut tables: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (name, entries) in &data.lookups {
        let t = tables.entry(name.clone()).or_default();
        for e in entries {
            t.entry(e.clone()).or_default();
        }
    }
    let mut synonyms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (value, texts) in &data.synonyms {
        synonyms
            .entry(value.clone())
            .or_default()
            .extend(texts.iter().cloned());
    }
    for ex in &data.examples {
        for a in &ex.entities {
            if supplied(&a.entity) {
                continue;
            }
            let text: String = ex
                .text
                .chars()
                .skip(a.start)
                .take(a.end - a.start)
                .collect();
            let texts = tables
                .entry(a.entity.clone())
                .or_default()
                .entry(a.value.clone())
                .or_default();
            if text != a.value {
                texts.push(text.clone());
                synonyms.entry(a.value.clone()).or_default().push(text);
            }
        }
    }
    // a synonym of a table's value adds its texts to that entry
    for table in tables.values_mut() {
        for (value, texts) in table.iter_mut() {
            if let Some(more) = synonyms.get(value) {
                texts.extend(more.iter().cloned());
            }
            dedup_texts(texts, value);
        }
    }
    let lookups = tables
        .into_iter()
        .map(|(entity, entries)| Lookup {
            entity: EntityKind::from(entity),
            entries: entries
                .into_iter()
                .map(|(value, texts)| LookupEntry { value, texts })
                .collect(),
        })
        .collect();
    let regexes = data
        .regexes
        .iter()
        .map(|(name, patterns)| RegexEntity {
            entity: EntityKind::from(name.as_str()),
            patterns: patterns.clone(),
        })
        .collect();
    let synonyms = synonyms
        .into_iter()
        .map(|(value, mut texts)| {
            dedup_texts(&mut texts, &value);
            Synonym { value, texts }
        })
        .filter(|s| !s.texts.is_empty())
        .collect();
    EntitySpec {
        builtins,
        catalog,
        lookups,
        regexes,
        synonyms,
        params: Vec::new(),
    }
}

/// Sorts and dedups texts (ignoring case), dropping the value itself.
fn dedup_texts(texts: &mut Vec<String>, value: &str) {
    texts.retain(|t| !t.trim().is_empty() && !t.eq_ignore_ascii_case(value));
    texts.sort_by_key(|t| t.to_lowercase());
    texts.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::rasa;

    fn data(yaml: &str) -> TrainingData {
        let mut d = TrainingData::default();
        rasa::parse_into(yaml, Path::new("t.yml"), &mut d).unwrap();
        d
    }

    const HOME: &str = r#"
version: "3.1"
nlu:
- intent: turn_on_light
  examples: |
    - turn on the light in the [kitchen](room)
    - switch on the [lounge]{"entity": "room", "value": "living_room"} lamp
    - lights on in [room 12](room_no)
- intent: weather
  examples: |
    - what's the weather
- lookup: room
  examples: |
    - kitchen
    - living_room
- synonym: living_room
  examples: |
    - living room
    - 客厅
- regex: room_no
  examples: |
    - room \d+
"#;

    #[test]
    fn entity_types_come_from_lookups_annotations_regexes_and_synonyms() {
        let spec = entity_spec(&data(HOME), vec![Builtin::Number], false);
        assert_eq!(spec.builtins, [Builtin::Number]);
        assert_eq!(spec.lookups.len(), 1, "{spec:?}");
        let room = &spec.lookups[0];
        assert_eq!(room.entity, "room");
        assert_eq!(
            room.entries,
            vec![
                LookupEntry {
                    value: "kitchen".into(),
                    texts: vec![]
                },
                LookupEntry {
                    value: "living_room".into(),
                    texts: vec!["living room".into(), "lounge".into(), "客厅".into()]
                },
            ]
        );
        // the regex type makes no lookup table of its annotations
        assert_eq!(spec.regexes[0].entity, "room_no");
        assert_eq!(spec.regexes[0].patterns, [r"room \d+"]);
        assert_eq!(
            spec.synonyms,
            vec![Synonym {
                value: "living_room".into(),
                texts: vec!["living room".into(), "lounge".into(), "客厅".into()]
            }]
        );
    }

    #[test]
    fn the_tagger_learns_the_open_class_types_or_those_named() {
        let mut d = data(HOME);
        d.examples[0].entities.push(crate::train::rasa::Annotation {
            entity: "city".into(),
            value: "Paris".into(),
            start: 0,
            end: 4,
        });
        d.examples[0].entities.push(crate::train::rasa::Annotation {
            entity: "time".into(),
            value: "noon".into(),
            start: 5,
            end: 8,
        });
        let p = Path::new("data/nlu.toml");
        // room has a lookup block, room_no a regex, time a builtin: only city is open
        let cfg = DataConfig::parse("builtins = [\"time\"]\n", p).unwrap();
        assert_eq!(tagger_types(&d, &cfg).unwrap(), [EntityKind::from("city")]);
        let cfg = DataConfig::parse("tagger = []\n", p).unwrap();
        assert!(tagger_types(&d, &cfg).unwrap().is_empty());
        let cfg = DataConfig::parse("tagger = [\"room\", \"city\"]\n", p).unwrap();
        assert_eq!(
            tagger_types(&d, &cfg).unwrap(),
            [EntityKind::from("city"), EntityKind::from("room")]
        );
        let cfg = DataConfig::parse("tagger = [\"song\"]\n", p).unwrap();
        let e = tagger_types(&d, &cfg).unwrap_err().to_string();
        assert!(
            e.contains("data/nlu.toml") && e.contains("`song`") && e.contains("annotate"),
            "{e}"
        );
    }

    #[test]
    fn free_text_parameters_are_tagged_types_without_lookup_tables() {
        let d = data(
            r#"
nlu:
- intent: run_job
  examples: |
    - renew the certs of [shop.example.com](domain)
    - restart it because [the disk is full](reason)
- intent: out_of_scope
  examples: |
    - what's the weather
"#,
        );
        let labels = ["out_of_scope".to_string(), "run_job".to_string()];
        let p = Path::new("data/nlu.toml");
        let cfg =
            DataConfig::parse("params = [\"reason\"]\nout_of_scope_share = 0.1\n", p).unwrap();
        let (_, spec) = model_spec(&d, &cfg, &labels).unwrap();
        assert_eq!(spec.params, [EntityKind::from("reason")]);
        // reason makes no lookup table; domain, not a parameter, keeps its own
        let tables: Vec<&str> = spec.lookups.iter().map(|l| l.entity.as_str()).collect();
        assert_eq!(tables, ["domain"]);
        // a parameter type the tagger does not learn
        let cfg = DataConfig::parse("params = [\"message\"]\n", p).unwrap();
        let e = model_spec(&d, &cfg, &labels).unwrap_err().to_string();
        assert!(e.contains("`message`") && e.contains("annotate"), "{e}");
        let cfg = DataConfig::parse("tagger = [\"domain\"]\nparams = [\"reason\"]\n", p).unwrap();
        let e = model_spec(&d, &cfg, &labels).unwrap_err().to_string();
        assert!(e.contains("`reason`") && e.contains("tagger"), "{e}");
        // a share must be one, and needs out-of-scope examples
        let cfg = DataConfig::parse("out_of_scope_share = 1.5\n", p).unwrap();
        let e = model_spec(&d, &cfg, &labels).unwrap_err().to_string();
        assert!(e.contains("between 0 and 1"), "{e}");
        let cfg = DataConfig::parse("out_of_scope_share = 0.1\n", p).unwrap();
        let e = model_spec(&d, &cfg, &labels[1..]).unwrap_err().to_string();
        assert!(e.contains("`out_of_scope`"), "{e}");
    }

    #[test]
    fn catalog_and_builtin_types_make_no_lookup_table() {
        let d = data(
            r#"
nlu:
- intent: deploy_app
  examples: |
    - deploy [api](app) at [noon](time) to [prod]{"entity": "environment", "value": "production"}
"#,
        );
        assert!(entity_spec(&d, vec![Builtin::Time], true)
            .lookups
            .is_empty());
        let own = entity_spec(&d, vec![Builtin::Time], false);
        let kinds: Vec<&str> = own.lookups.iter().map(|l| l.entity.as_str()).collect();
        assert_eq!(kinds, ["app", "environment"]);
    }

    #[test]
    fn intent_settings_default_from_the_data() {
        let d = data(HOME);
        let labels = vec!["turn_on_light".to_string(), "weather".to_string()];
        let cfg = DataConfig::parse(
            "builtins = [\"number\"]\n[intents.weather]\nlabel = \"ask about the weather\"\nbare_number = \"number\"\n",
            Path::new("nlu.toml"),
        )
        .unwrap();
        let (intents, spec) = model_spec(&d, &cfg, &labels).unwrap();
        assert_eq!(intents[0].name, "turn_on_light");
        assert!(intents[0].entities, "annotated examples");
        assert_eq!(intents[0].label, None);
        assert!(!intents[1].entities);
        assert_eq!(intents[1].label.as_deref(), Some("ask about the weather"));
        assert_eq!(intents[1].bare_number, Some(EntityKind::NUMBER));
        assert_eq!(spec.builtins, [Builtin::Number]);
    }

    #[test]
    fn config_errors_name_the_file_and_the_problem() {
        let d = data(HOME);
        let labels = vec!["turn_on_light".to_string(), "weather".to_string()];
        let p = Path::new("data/nlu.toml");
        let e = DataConfig::parse("builtins = [\"weather\"]\n", p)
            .unwrap()
            .builtins()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("data/nlu.toml") && e.contains("`weather`"),
            "{e}"
        );
        let e = model_spec(
            &d,
            &DataConfig::parse("[intents.turn_off_light]\nlabel = \"x\"\n", p).unwrap(),
            &labels,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("turn_off_light") && e.contains("no training examples"),
            "{e}"
        );
        let e = DataConfig::parse("builtin = []\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("data/nlu.toml") && e.contains("builtin"), "{e}");
        let mut taken = d.clone();
        taken
            .regexes
            .push(("execution_id".into(), vec![r"\d+".into()]));
        let cfg = DataConfig::parse("builtins = [\"execution_id\"]\n", p).unwrap();
        let e = model_spec(&taken, &cfg, &labels).unwrap_err().to_string();
        assert!(
            e.contains("`regex: execution_id`") && e.contains("the builtin `execution_id`"),
            "{e}"
        );
        let mut taken = d.clone();
        taken.lookups.push(("host".into(), vec!["db-01".into()]));
        let cfg = DataConfig::parse("catalog = true\n", p).unwrap();
        let e = model_spec(&taken, &cfg, &labels).unwrap_err().to_string();
        assert!(
            e.contains("`lookup: host`") && e.contains("job catalog"),
            "{e}"
        );
        let mut bad = d.clone();
        bad.regexes.push(("zip".into(), vec!["(".into()]));
        let e = model_spec(&bad, &DataConfig::default(), &labels)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`zip`") && e.contains("does not compile"), "{e}");
    }
}
