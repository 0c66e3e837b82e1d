//! What a request names besides the job (parameters, apps, environments, hosts, versions,
//! counts) applied to the draft's parameters once the job is known.

use super::*;

/// Entity values the draft will use once the job is known.
pub(super) fn collect_hints(draft: &mut Draft, entities: &[Entity]) {
    for e in entities {
        if e.entity == EntityKind::PARAM && e.extractor == nlu::Extractor::Tagger {
            draft.implied.push(e.value.clone());
            continue;
        }
        if [
            EntityKind::PARAM,
            EntityKind::APP,
            EntityKind::ENVIRONMENT,
            EntityKind::HOST,
            EntityKind::VERSION,
            EntityKind::COUNT,
        ]
        .contains(&e.entity)
        {
            draft.hints.push((e.entity.clone(), e.value.clone()));
        }
    }
}

/// The parameter name of a run's reason: a job without such a parameter records it as the
/// run's reason ([`Draft::reason`]).
pub(super) const REASON: &str = "reason";

pub(super) fn param_kind_for(k: &EntityKind) -> Option<ParamKind> {
    Some(match k.as_str() {
        "app" => ParamKind::App,
        "environment" => ParamKind::Environment,
        "host" => ParamKind::Host,
        "version" => ParamKind::Version,
        "count" => ParamKind::Integer,
        _ => return None,
    })
}

pub(super) fn same_name(a: &str, b: &str) -> bool {
    let n = |s: &str| s.trim_start_matches('-').to_lowercase().replace('-', "_");
    n(a) == n(b)
}

/// Problems found while applying hints.
pub(super) enum HintError {
    UnknownParam(String),
    Invalid {
        param: String,
        message: String,
    },
    /// More values of a kind than the job has parameters for ("deploy api in staging and
    /// production"): the run is for one, so the user is asked which instead of the first
    /// one being taken silently.
    Several {
        param: String,
        what: ParamKind,
        values: Vec<String>,
    },
}

/// Catalog kinds of which a request naming two is ambiguous.
pub(super) fn plural(k: ParamKind) -> Option<ParamKind> {
    matches!(k, ParamKind::App | ParamKind::Environment | ParamKind::Host).then_some(k)
}

/// Such a kind in the plural ("environments").
pub(super) fn plural_words(k: ParamKind, lang: crate::i18n::Lang) -> String {
    match k {
        ParamKind::App => tr!(lang, "plural-apps"),
        ParamKind::Environment => tr!(lang, "plural-environments"),
        _ => tr!(lang, "plural-hosts"),
    }
}

/// Applies the hints to the draft's parameters (the job is known).
pub(super) fn apply_hints(
    draft: &mut Draft,
    job: &Job,
    catalog: &Catalog,
    lang: crate::i18n::Lang,
) -> Result<(), HintError> {
    let hints = std::mem::take(&mut draft.hints);
    let mut invalid: Option<HintError> = None;
    // explicit name=value first
    for (kind, value) in hints.iter().filter(|h| h.0 == EntityKind::PARAM) {
        let _ = kind;
        let (name, v) = match value.split_once('=') {
            Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
            None => match value
                .trim_start_matches('-')
                .split_once(char::is_whitespace)
            {
                Some((n, v)) => (n.to_string(), v.trim().to_string()),
                None => continue,
            },
        };
        let v = v
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
            .map(str::to_string)
            .unwrap_or(v);
        let Some(p) = job.parameters.iter().find(|p| same_name(&p.name, &name)) else {
            if same_name(&name, REASON) {
                draft.reason = Some(v);
                continue;
            }
            return Err(HintError::UnknownParam(name));
        };
        match values::validate(catalog, p, &v, lang) {
            Ok(v) => {
                draft.params.insert(p.name.clone(), v);
            }
            Err(message) => {
                if invalid.is_none() {
                    invalid = Some(HintError::Invalid {
                        param: p.name.clone(),
                        message,
                    });
                }
            }
        }
    }
    // what the tagger read from free text: the job's parameter of that name if it has one
    // and the user named no value, the run's reason, or nothing
    for pair in std::mem::take(&mut draft.implied) {
        let Some((name, v)) = pair.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match job.parameters.iter().find(|p| same_name(&p.name, name)) {
            Some(p) if !draft.params.contains_key(&p.name) => {
                if let Ok(v) = values::validate(catalog, p, v, lang) {
                    draft.params.insert(p.name.clone(), v);
                }
            }
            Some(_) => {}
            None if same_name(name, REASON) && draft.reason.is_none() => {
                draft.reason = Some(v.to_string());
            }
            None => tracing::debug!(job = %job.id, %pair, "a parameter the job does not take"),
        }
    }
    let mut several: Option<HintError> = None;
    for (kind, value) in hints.iter().filter(|h| h.0 != EntityKind::PARAM) {
        let Some(pk) = param_kind_for(kind) else {
            continue;
        };
        let Some(p) = job
            .parameters
            .iter()
            .find(|p| p.kind == pk && !draft.params.contains_key(&p.name))
        else {
            // every parameter of this kind is taken: a different value is a second target
            if let Some((param, what, v, all)) = extra_value(draft, job, catalog, pk, value) {
                match &mut several {
                    Some(HintError::Several {
                        what: w, values, ..
                    }) if *w == what => {
                        if !values.contains(&v) {
                            values.push(v);
                        }
                    }
                    Some(_) => {}
                    None => {
                        several = Some(HintError::Several {
                            param,
                            what,
                            values: all,
                        })
                    }
                }
            }
            continue;
        };
        if let Ok(v) = values::validate(catalog, p, value, crate::i18n::Lang::En) {
            draft.params.insert(p.name.clone(), v);
        }
    }
    match several.or(invalid) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A hint of kind `pk` for which no parameter is left: when it names a catalog entry that
/// no parameter of that kind holds yet, returns (the parameter it competes for, the kind in
/// the plural, itself, all the values named so far).
pub(super) fn extra_value(
    draft: &Draft,
    job: &Job,
    catalog: &Catalog,
    pk: ParamKind,
    value: &str,
) -> Option<(String, ParamKind, String, Vec<String>)> {
    let what = plural(pk)?;
    let taken: Vec<&nlu::catalog::JobParameter> =
        job.parameters.iter().filter(|p| p.kind == pk).collect();
    let first = taken.first()?;
    let v = values::validate(catalog, first, value, crate::i18n::Lang::En).ok()?;
    let held: Vec<String> = taken
        .iter()
        .filter_map(|p| draft.params.get(&p.name).cloned())
        .collect();
    if held.contains(&v) {
        return None;
    }
    // the last parameter of the kind is the one to ask about
    let param = taken.last()?.name.clone();
    let mut all = held;
    all.push(v.clone());
    Some((param, what, v, all))
}
