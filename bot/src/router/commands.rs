//! Exact commands (`!run backup-database target=db-01`), read into the same [`ParseResult`]
//! the parser gives, with confidence 1.0.
//!
//! Commands (values may be quoted with `'` or `"`; a quoted value is taken literally):
//!
//! | command | intent |
//! | --- | --- |
//! | `!run JOB [name=value ...] [at=TIME]` | run_job (`at` is RFC 3339 or `+30s`, `+5m`, `+2h`) |
//! | `!deploy APP ENVIRONMENT [VERSION] [at=TIME]` | deploy_app |
//! | `!status [ID or JOB]` | job_status |
//! | `!watch ID` | watch_job |
//! | `!cancel ID` | cancel_job |
//! | `!jobs` / `!list` | list_jobs |
//! | `!history [JOB] [job=J] [status=S] [count=N] [since=T] [until=T]` | job_history |
//! | `!help [TOPIC]` | help (a topic: deploy, schedule, cancel, history, watch, status or a job) |
//! | `!yes` / `!no` | affirm / deny |
//!
//! In `!run` and `!deploy` each key comes once ([`CommandError::RepeatedKey`] otherwise):
//! a value given twice is more likely a slip than a wish for the last one.

use crate::intent::Intent;
use chrono::{DateTime, SecondsFormat, Utc};
use nlu::{Entity, EntityKind, Extractor, IntentScore, Outcome, ParseResult};

/// Why a command line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command `!{0}`; try !help")]
    Unknown(String),
    #[error("usage: {}", .0.syntax(crate::i18n::Lang::En))]
    Usage(Usage),
    #[error("unbalanced quote in the command")]
    Quote,
    #[error("`{0}` is not a time; use RFC 3339 (2026-03-03T23:00:00+01:00) or +30s, +5m, +2h")]
    BadTime(String),
    #[error("`{0}` is not an execution id (a number such as 1001)")]
    BadId(String),
    #[error("`{0}` is given more than once; give each parameter once, with the value you mean")]
    RepeatedKey(String),
}

/// The keys of one command (`name=value`, `at=`, and the names positional values stand
/// for), so that a key given twice is an error instead of the last value winning.
#[derive(Default)]
struct Keys(Vec<String>);

impl Keys {
    /// Records `key`; an error when it was seen already (the same parameter spelled
    /// `keep_days` or `keep-days` counts as one).
    fn add(&mut self, key: &str) -> Result<(), CommandError> {
        let norm = key.trim().to_lowercase().replace('-', "_");
        if self.0.contains(&norm) {
            return Err(CommandError::RepeatedKey(key.trim().to_string()));
        }
        self.0.push(norm);
        Ok(())
    }
}

/// A command whose arguments did not fit: its usage is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Run,
    Deploy,
    Id,
    History,
}

impl Usage {
    /// The command's syntax, its placeholders in `lang` (`!run JOB [name=value ...]`).
    pub fn syntax(self, lang: crate::i18n::Lang) -> String {
        match self {
            Usage::Run => tr!(lang, "usage-run"),
            Usage::Deploy => tr!(lang, "usage-deploy"),
            Usage::Id => tr!(lang, "usage-id"),
            Usage::History => tr!(lang, "usage-history"),
        }
    }
}

const RUN_USAGE: Usage = Usage::Run;
const DEPLOY_USAGE: Usage = Usage::Deploy;
const ID_USAGE: Usage = Usage::Id;

/// Reads `at=` values: RFC 3339, or `+N[s|m|h|d]` from now.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CommandError> {
    if let Some(rel) = s.strip_prefix('+') {
        let d =
            crate::config::parse_duration(rel).ok_or_else(|| CommandError::BadTime(s.into()))?;
        let d = chrono::Duration::from_std(d).map_err(|_| CommandError::BadTime(s.into()))?;
        return now
            .checked_add_signed(d)
            .ok_or_else(|| CommandError::BadTime(s.into()));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| CommandError::BadTime(s.into()))
}

fn ent(kind: EntityKind, value: impl Into<String>, text: &str) -> Entity {
    Entity {
        entity: kind,
        value: value.into(),
        start: 0,
        end: text.chars().count(),
        text: text.to_string(),
        confidence: 1.0,
        extractor: Extractor::Command,
    }
}

fn result(text: &str, intent: Intent, entities: Vec<Entity>) -> ParseResult {
    let score = IntentScore {
        name: intent.name(),
        confidence: 1.0,
    };
    ParseResult {
        text: text.to_string(),
        intent: score.clone(),
        intent_ranking: vec![score],
        entities,
        outcome: Outcome::Understood,
        clarification: None,
        lang: nlu::Lang::detect(text),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn id_entity(w: &str) -> Result<Entity, CommandError> {
    let digits = w.trim_start_matches('#');
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(ent(EntityKind::EXECUTION_ID, digits, w))
    } else {
        Err(CommandError::BadId(w.into()))
    }
}

/// Reads an exact command. `None` when the text is not one (no leading `!`).
pub fn parse_command(text: &str, now: DateTime<Utc>) -> Option<Result<ParseResult, CommandError>> {
    let body = text.trim().strip_prefix('!')?;
    Some(parse_body(text, body, now))
}

fn parse_body(text: &str, body: &str, now: DateTime<Utc>) -> Result<ParseResult, CommandError> {
    let words = crate::util::words::split_words(body).map_err(|_| CommandError::Quote)?;
    let Some((cmd, args)) = words.split_first() else {
        return Err(CommandError::Unknown(String::new()));
    };
    let cmd = cmd.to_lowercase();
    let mut entities = Vec::new();
    match cmd.as_str() {
        "run" => {
            let (job, rest) = args.split_first().ok_or(CommandError::Usage(RUN_USAGE))?;
            entities.push(ent(EntityKind::JOB, job.clone(), job));
            let mut keys = Keys::default();
            for a in rest {
                if let Some((k, _)) = a.split_once('=') {
                    keys.add(k)?;
                }
                match a.split_once('=') {
                    Some(("at", v)) => {
                        entities.push(ent(EntityKind::TIME, rfc3339(parse_time(v, now)?), a))
                    }
                    Some((k, _)) if !k.is_empty() => {
                        entities.push(ent(EntityKind::PARAM, a.clone(), a))
                    }
                    _ => return Err(CommandError::Usage(RUN_USAGE)),
                }
            }
            Ok(result(text, Intent::RunJob, entities))
        }
        "deploy" => {
            let mut positional = Vec::new();
            let mut keys = Keys::default();
            for a in args {
                if let Some((k, _)) = a.split_once('=') {
                    keys.add(k)?;
                }
                match a.split_once('=') {
                    Some(("at", v)) => {
                        entities.push(ent(EntityKind::TIME, rfc3339(parse_time(v, now)?), a))
                    }
                    Some((k, _)) if !k.is_empty() => {
                        entities.push(ent(EntityKind::PARAM, a.clone(), a))
                    }
                    _ => positional.push(a),
                }
            }
            if positional.len() > 3 {
                return Err(CommandError::Usage(DEPLOY_USAGE));
            }
            for (i, v) in positional.into_iter().enumerate() {
                let name = ["app", "environment", "version"][i];
                keys.add(name)?;
                entities.push(ent(EntityKind::PARAM, format!("{name}={v}"), v));
            }
            Ok(result(text, Intent::DeployApp, entities))
        }
        "status" | "watch" | "cancel" => {
            let intent = match cmd.as_str() {
                "status" => Intent::JobStatus,
                "watch" => Intent::WatchJob,
                _ => Intent::CancelJob,
            };
            match args {
                [] if intent == Intent::JobStatus => {}
                [w] => match id_entity(w) {
                    Ok(e) => entities.push(e),
                    Err(_) if intent == Intent::JobStatus => {
                        entities.push(ent(EntityKind::JOB, w.clone(), w))
                    }
                    Err(e) => return Err(e),
                },
                _ => return Err(CommandError::Usage(ID_USAGE)),
            }
            Ok(result(text, intent, entities))
        }
        "jobs" | "list" => Ok(result(text, Intent::ListJobs, entities)),
        "history" => {
            for a in args {
                match a.split_once('=') {
                    Some(("job", v)) => entities.push(ent(EntityKind::JOB, v, a)),
                    Some(("status", v)) => entities.push(ent(EntityKind::STATUS, v, a)),
                    Some(("count", v)) => entities.push(ent(EntityKind::COUNT, v, a)),
                    Some(("since", v)) => entities.push(ent(
                        EntityKind::TIME,
                        format!(
                            "{}/{}",
                            rfc3339(parse_time(v, now)?),
                            rfc3339(now + chrono::Duration::days(1))
                        ),
                        a,
                    )),
                    Some(("until", v)) => entities.push(ent(
                        EntityKind::TIME,
                        format!("1970-01-01T00:00:00Z/{}", rfc3339(parse_time(v, now)?)),
                        a,
                    )),
                    None if a.chars().all(|c| c.is_ascii_digit()) => {
                        entities.push(ent(EntityKind::COUNT, a.clone(), a))
                    }
                    None => entities.push(ent(EntityKind::JOB, a.clone(), a)),
                    Some(_) => return Err(CommandError::Usage(Usage::History)),
                }
            }
            Ok(result(text, Intent::JobHistory, entities))
        }
        "help" | "h" | "?" => Ok(result(text, Intent::Help, entities)),
        "yes" | "y" | "confirm" => Ok(result(text, Intent::Affirm, entities)),
        "no" | "n" | "deny" => Ok(result(text, Intent::Deny, entities)),
        other => Err(CommandError::Unknown(other.to_string())),
    }
}

/// The command names offered as suggestions (and for did-you-mean).
pub const COMMANDS: &[&str] = &[
    "run",
    "deploy",
    "status",
    "watch",
    "cancel",
    "jobs",
    "list",
    "history",
    "help",
    "yes",
    "no",
    "confirm",
    "deny",
    "approve",
    "reject",
    "approvals",
    "lang",
];

/// Commands close to a mistyped or partial one, best first: those it begins (`stat` ->
/// `status`) and those a typo or two away (`histroy` -> `history`).
pub fn suggest_command(typed: &str) -> Vec<&'static str> {
    let t = typed.to_lowercase();
    if t.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(f64, &'static str)> = COMMANDS
        .iter()
        .filter_map(|c| {
            let prefix = c.starts_with(t.as_str()) && t.len() < c.len();
            let sim = strsim::normalized_damerau_levenshtein(&t, c);
            let score = if prefix { sim.max(0.8) } else { sim };
            (score >= 0.6).then_some((score, *c))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    // one clearly better candidate is the answer
    if scored.len() >= 2 && scored[0].0 - scored[1].0 >= 0.2 {
        scored.truncate(1);
    }
    scored.into_iter().map(|(_, c)| c).collect()
}

/// What to suggest for an unknown command, as full command lines (`!status 1001`), best
/// first: one clear candidate, several close ones, or none. `text` is the whole line.
pub fn command_suggestions(text: &str, cmd: &str) -> Vec<String> {
    let rest = text
        .trim()
        .strip_prefix('!')
        .and_then(|b| b.trim_start().split_once(char::is_whitespace))
        .map(|(_, r)| format!(" {}", r.trim()))
        .unwrap_or_default();
    suggest_command(cmd)
        .into_iter()
        .map(|c| format!("`!{c}{rest}`"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> ParseResult {
        parse_command(text, Utc::now()).unwrap().unwrap()
    }

    fn values(r: &ParseResult) -> Vec<(EntityKind, String)> {
        r.entities
            .iter()
            .map(|e| (e.entity.clone(), e.value.clone()))
            .collect()
    }

    #[test]
    fn suggestions_for_mistyped_commands() {
        assert_eq!(suggest_command("stat"), ["status"]);
        assert_eq!(suggest_command("rn"), ["run"]);
        assert_eq!(suggest_command("histroy"), ["history"]);
        assert_eq!(suggest_command("de"), ["deny", "deploy"]);
        assert!(suggest_command("frobnicate").is_empty());
        assert_eq!(
            command_suggestions("!stat 1001", "stat"),
            ["`!status 1001`"]
        );
        assert_eq!(
            command_suggestions("!de api", "de"),
            ["`!deny api`", "`!deploy api`"]
        );
        assert!(command_suggestions("!frobnicate x", "frobnicate").is_empty());
    }

    #[test]
    fn not_a_command() {
        assert!(parse_command("run backup", Utc::now()).is_none());
    }

    #[test]
    fn run_with_params_and_quotes() {
        let r = p("!run backup-database target=db-01 note='x; rm -rf /' msg=\"a \\\"b\\\"\"");
        assert_eq!(r.intent.name, Intent::RunJob);
        assert_eq!(r.intent.confidence, 1.0);
        assert_eq!(r.outcome, Outcome::Understood);
        assert_eq!(
            values(&r),
            vec![
                (EntityKind::JOB, "backup-database".into()),
                (EntityKind::PARAM, "target=db-01".into()),
                (EntityKind::PARAM, "note=x; rm -rf /".into()),
                (EntityKind::PARAM, "msg=a \"b\"".into()),
            ]
        );
        assert!(r.entities.iter().all(|e| e.extractor == Extractor::Command));
    }

    #[test]
    fn run_at_times() {
        let now = DateTime::parse_from_rfc3339("2026-03-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let r = parse_command("!run x at=+5s", now).unwrap().unwrap();
        assert_eq!(r.entities[1].value, "2026-03-03T10:00:05Z");
        let r = parse_command("!run x at=2026-03-03T23:00:00+01:00", now)
            .unwrap()
            .unwrap();
        assert_eq!(r.entities[1].value, "2026-03-03T22:00:00Z");
        assert_eq!(
            parse_command("!run x at=tonight", now)
                .unwrap()
                .unwrap_err(),
            CommandError::BadTime("tonight".into())
        );
    }

    #[test]
    fn ids_and_others() {
        let r = p("!status 4812");
        assert_eq!(values(&r), vec![(EntityKind::EXECUTION_ID, "4812".into())]);
        let r = p("!status backup-database");
        assert_eq!(
            values(&r),
            vec![(EntityKind::JOB, "backup-database".into())]
        );
        assert_eq!(p("!cancel #4812").intent.name, Intent::CancelJob);
        assert!(matches!(
            parse_command("!cancel abc", Utc::now()),
            Some(Err(CommandError::BadId(_)))
        ));
        assert_eq!(p("!watch 1").intent.name, Intent::WatchJob);
        assert_eq!(p("!jobs").intent.name, Intent::ListJobs);
        assert_eq!(p("!HELP").intent.name, Intent::Help);
        assert_eq!(p("!yes").intent.name, Intent::Affirm);
        let r = p("!deploy api production 2.4.1");
        assert_eq!(r.intent.name, Intent::DeployApp);
        assert_eq!(r.entities[2].value, "version=2.4.1");
        let r = p("!history backup-database status=failed 5");
        assert_eq!(
            values(&r),
            vec![
                (EntityKind::JOB, "backup-database".into()),
                (EntityKind::STATUS, "failed".into()),
                (EntityKind::COUNT, "5".into()),
            ]
        );
        assert!(matches!(
            parse_command("!frobnicate", Utc::now()),
            Some(Err(CommandError::Unknown(_)))
        ));
        assert!(matches!(
            parse_command("!run", Utc::now()),
            Some(Err(CommandError::Usage(_)))
        ));
        assert!(matches!(
            parse_command("!run x 'open", Utc::now()),
            Some(Err(CommandError::Quote))
        ));
    }
}
