//! Checking parameter values against their kind and the catalog, with "did you mean" for
//! typos. Returns the canonical value (`production` for "prod") or a message for the user.

use crate::i18n::Lang;
use nlu::catalog::{Job, JobParameter, NamedItem, ParamKind};
use nlu::Catalog;

use crate::util::words::{norm, suggest};

/// Finds a catalog entry by id or alias (case-insensitive).
pub fn resolve_named<'a>(items: &'a [NamedItem], raw: &str) -> Option<&'a str> {
    let r = norm(raw);
    items
        .iter()
        .find(|i| norm(&i.id) == r || i.aliases.iter().any(|a| norm(a) == r))
        .map(|i| i.id.as_str())
}

fn suggest_named(items: &[NamedItem], raw: &str) -> Option<String> {
    let names: Vec<(&str, &str)> = items
        .iter()
        .flat_map(|i| {
            std::iter::once((i.id.as_str(), i.id.as_str()))
                .chain(i.aliases.iter().map(move |a| (a.as_str(), i.id.as_str())))
        })
        .collect();
    let best = suggest(raw, names.iter().map(|n| n.0))?;
    names.iter().find(|n| n.0 == best).map(|n| n.1.to_string())
}

/// A job by id or alias.
pub fn resolve_job<'a>(catalog: &'a Catalog, raw: &str) -> Option<&'a Job> {
    let r = norm(raw);
    catalog
        .jobs
        .iter()
        .find(|j| norm(&j.id) == r || j.aliases.iter().any(|a| norm(a) == r))
}

/// The job whose id or alias is closest to `raw`.
pub fn suggest_job(catalog: &Catalog, raw: &str) -> Option<String> {
    let items: Vec<NamedItem> = catalog
        .jobs
        .iter()
        .map(|j| NamedItem {
            id: j.id.clone(),
            aliases: j.aliases.clone(),
        })
        .collect();
    suggest_named(&items, raw)
}

/// The catalog entries a parameter of this kind can take (empty for free kinds).
pub fn known_values(catalog: &Catalog, p: &JobParameter) -> Vec<String> {
    if !p.choices.is_empty() {
        return p.choices.clone();
    }
    let items = match p.kind {
        ParamKind::App => &catalog.apps,
        ParamKind::Environment => &catalog.environments,
        ParamKind::Host => &catalog.hosts,
        _ => return Vec::new(),
    };
    items.iter().map(|i| i.id.clone()).collect()
}

/// How a catalog name (a job's, an app's or an environment's id) reads in a reply: as it is
/// in English; in Chinese with its Chinese alias first, `生产环境 (production)`, when the
/// catalog has one (the one with the most Chinese characters, the first of those).
///
/// ```
/// use bot::{i18n::Lang, values::shown_name};
/// let c = nlu::Catalog::from_toml_str(
///     "[[environments]]\nid = \"production\"\naliases = [\"prod\", \"生产\", \"生产环境\"]\n",
///     "t",
/// )
/// .unwrap();
/// assert_eq!(shown_name(&c, "production", Lang::Zh), "生产环境 (production)");
/// assert_eq!(shown_name(&c, "production", Lang::En), "production");
/// assert_eq!(shown_name(&c, "db-01", Lang::Zh), "db-01");
/// ```
pub fn shown_name(catalog: &Catalog, id: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return id.to_string();
    }
    let aliases = catalog
        .jobs
        .iter()
        .find(|j| j.id == id)
        .map(|j| &j.aliases)
        .or_else(|| {
            catalog
                .apps
                .iter()
                .chain(&catalog.environments)
                .find(|i| i.id == id)
                .map(|i| &i.aliases)
        });
    let han = |s: &str| {
        s.chars()
            .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
            .count()
    };
    let best = aliases.and_then(|a| {
        a.iter()
            .filter(|a| han(a) > 0)
            .fold(None::<&String>, |best, a| match best {
                Some(b) if han(b) >= han(a) => Some(b),
                _ => Some(a),
            })
    });
    match best {
        Some(alias) => format!("{alias} ({id})"),
        None => id.to_string(),
    }
}

/// A kind in words.
pub fn kind_words(k: ParamKind, lang: Lang) -> String {
    // the messages are `kind-<name>` (`kind-app`); a test checks that each has one
    crate::i18n::text(lang, &format!("kind-{}", k.as_str()), None)
}

fn is_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// The "did you mean" for a value that [`validate`] refuses: the nearest catalog entry of the
/// parameter's kind, or the nearest choice.
pub fn suggestion_for(catalog: &Catalog, p: &JobParameter, raw: &str) -> Option<String> {
    let v = raw.trim();
    if !p.choices.is_empty() {
        return suggest(v, p.choices.iter().map(String::as_str));
    }
    let items = match p.kind {
        ParamKind::App => &catalog.apps,
        ParamKind::Environment => &catalog.environments,
        ParamKind::Host => &catalog.hosts,
        _ => return None,
    };
    suggest_named(items, v)
}

/// Checks a value for a parameter; `Ok` holds the canonical value.
pub fn validate(
    catalog: &Catalog,
    p: &JobParameter,
    raw: &str,
    lang: Lang,
) -> Result<String, String> {
    let v = raw.trim();
    let name = p.name.as_str();
    if v.is_empty() {
        return Err(tr!(lang, "invalid-empty", name = name));
    }
    let canonical = match p.kind {
        ParamKind::App | ParamKind::Environment | ParamKind::Host => {
            let items = match p.kind {
                ParamKind::App => &catalog.apps,
                ParamKind::Environment => &catalog.environments,
                _ => &catalog.hosts,
            };
            match resolve_named(items, v) {
                Some(id) => id.to_string(),
                None if p.kind == ParamKind::Host && is_ipv4(v) => v.to_string(),
                None if items.is_empty() => v.to_string(),
                None => {
                    let what = match p.kind {
                        ParamKind::App => tr!(lang, "unknown-app"),
                        ParamKind::Environment => tr!(lang, "unknown-environment"),
                        _ => tr!(lang, "unknown-host"),
                    };
                    return Err(match suggest_named(items, v) {
                        Some(s) => tr!(
                            lang,
                            "invalid-unknown-suggest",
                            value = v,
                            what = what,
                            suggestion = s
                        ),
                        None => tr!(
                            lang,
                            "invalid-unknown",
                            value = v,
                            what = what,
                            known = items
                                .iter()
                                .map(|i| i.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        ParamKind::Integer => {
            let n = match v.parse::<i64>() {
                Ok(n) => n,
                Err(_) => {
                    match nlu::entities::parse_number(v).and_then(|n| i64::try_from(n).ok()) {
                        Some(n) => n,
                        None => return Err(tr!(lang, "invalid-integer", name = name, value = v)),
                    }
                }
            };
            // the schema's range: at least 0 unless it says otherwise (`min`, `max`)
            if p.range_error(n).is_some() {
                return Err(match (p.min(), p.max()) {
                    (Some(lo), Some(hi)) => {
                        tr!(
                            lang,
                            "invalid-between",
                            name = name,
                            lo = lo,
                            hi = hi,
                            value = v
                        )
                    }
                    (Some(lo), None) => {
                        tr!(lang, "invalid-at-least", name = name, lo = lo, value = v)
                    }
                    (None, Some(hi)) => {
                        tr!(lang, "invalid-at-most", name = name, hi = hi, value = v)
                    }
                    (None, None) => tr!(lang, "invalid-integer", name = name, value = v),
                });
            }
            n.to_string()
        }
        ParamKind::Boolean => match v.to_lowercase().as_str() {
            "true" | "yes" | "y" | "on" | "1" | "是" => "true".into(),
            "false" | "no" | "n" | "off" | "0" | "否" => "false".into(),
            _ => return Err(tr!(lang, "invalid-boolean", name = name, value = v)),
        },
        ParamKind::Version => {
            let s = v
                .strip_prefix(['v', 'V'])
                .filter(|s| s.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or(v);
            if s.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+_".contains(c))
            {
                s.to_string()
            } else {
                return Err(tr!(lang, "invalid-version", value = v));
            }
        }
        ParamKind::Duration => match crate::config::parse_duration(v) {
            Some(_) => v.to_string(),
            None => return Err(tr!(lang, "invalid-duration", name = name, value = v)),
        },
        ParamKind::Time => match chrono::DateTime::parse_from_rfc3339(v) {
            Ok(_) => v.to_string(),
            Err(_) => return Err(tr!(lang, "invalid-time", name = name, value = v)),
        },
        ParamKind::String => v.to_string(),
    };
    if !p.choices.is_empty() {
        if let Some(c) = p
            .choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(&canonical))
        {
            return Ok(c.clone());
        }
        let choices = p.choices.join(", ");
        return Err(match suggest(v, p.choices.iter().map(String::as_str)) {
            Some(s) => tr!(
                lang,
                "invalid-choice-suggest",
                value = v,
                name = name,
                choices = choices,
                suggestion = s
            ),
            None => tr!(
                lang,
                "invalid-choice",
                value = v,
                name = name,
                choices = choices
            ),
        });
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_words_in_every_language() {
        for lang in Lang::ALL {
            for k in ParamKind::ALL {
                let w = kind_words(k, lang);
                assert!(
                    !w.starts_with("kind-") && !w.is_empty(),
                    "{k:?} in {lang}: {w}"
                );
            }
        }
    }

    fn validate_en(c: &Catalog, p: &JobParameter, raw: &str) -> Result<String, String> {
        validate(c, p, raw, Lang::En)
    }

    fn catalog() -> Catalog {
        Catalog::from_toml_str(
            r#"
[[environments]]
id = "production"
aliases = ["prod"]
[[environments]]
id = "staging"
[[hosts]]
id = "db-01"
[[jobs]]
id = "backup-database"
aliases = ["db backup"]
  [[jobs.parameters]]
  name = "target"
  kind = "host"
  [[jobs.parameters]]
  name = "keep"
  kind = "integer"
  [[jobs.parameters]]
  name = "compression"
  kind = "string"
  choices = ["zstd", "gzip"]
  [[jobs.parameters]]
  name = "env"
  kind = "environment"
"#,
            "t",
        )
        .unwrap()
    }

    #[test]
    fn validates_by_kind() {
        let c = catalog();
        let j = c.job("backup-database").unwrap();
        let p = |n: &str| j.parameters.iter().find(|p| p.name == n).unwrap();
        assert_eq!(validate_en(&c, p("env"), "PROD"), Ok("production".into()));
        let e = validate_en(&c, p("env"), "prodution").unwrap_err();
        assert!(e.contains("Did you mean `production`?"), "{e}");
        assert_eq!(
            validate_en(&c, p("target"), "10.0.0.1"),
            Ok("10.0.0.1".into())
        );
        assert!(validate_en(&c, p("target"), "zz-99")
            .unwrap_err()
            .contains("known: db-01"));
        assert_eq!(validate_en(&c, p("keep"), "12"), Ok("12".into()));
        assert_eq!(validate_en(&c, p("keep"), "五"), Ok("5".into()));
        assert!(validate_en(&c, p("keep"), "abc")
            .unwrap_err()
            .contains("whole number"));
        assert_eq!(validate_en(&c, p("compression"), "GZIP"), Ok("gzip".into()));
        assert!(validate_en(&c, p("compression"), "gzp")
            .unwrap_err()
            .contains("Did you mean `gzip`?"));
        assert_eq!(
            validate(&c, p("env"), "prodution", Lang::Zh).unwrap_err(),
            "`prodution` 不是已知的环境。你是指 `production` 吗？"
        );
        assert_eq!(
            validate(&c, p("keep"), "abc", Lang::Zh).unwrap_err(),
            "`keep` 必须是整数，`abc` 不是"
        );
    }

    #[test]
    fn jobs_and_suggestions() {
        let c = catalog();
        assert_eq!(
            resolve_job(&c, "DB backup").map(|j| j.id.as_str()),
            Some("backup-database")
        );
        assert_eq!(
            suggest_job(&c, "bakup-database").as_deref(),
            Some("backup-database")
        );
        assert_eq!(
            suggest_job(&c, "backup").as_deref(),
            Some("backup-database")
        );
        assert_eq!(suggest_job(&c, "frobnicate"), None);
        assert_eq!(
            suggest("tgt", ["target", "keep"]).as_deref(),
            Some("target")
        );
    }
}
