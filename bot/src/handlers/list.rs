//! list_jobs: the job templates, optionally filtered by a job name or a word.

use super::{Ctx, Response};
use crate::i18n::Lang;
use crate::policy::Action;
use nlu::catalog::Job;
use nlu::{EntityKind, ParseResult};

/// One job in a line or two.
pub fn describe(job: &Job, name: &str, description: Option<&str>, lang: Lang) -> String {
    let params = job
        .parameters
        .iter()
        .map(|p| {
            let mut s = p.name.clone();
            let mut notes = vec![p.kind.as_str().to_string()];
            if p.required {
                notes.push(tr!(lang, "param-required"));
            }
            if !p.choices.is_empty() {
                notes.push(p.choices.join("|"));
            }
            if let Some(d) = &p.default {
                notes.push(tr!(lang, "param-default", value = d));
            }
            s.push_str(&format!(" ({})", notes.join(", ")));
            s
        })
        .collect::<Vec<_>>();
    let description = description
        .map(str::to_string)
        .unwrap_or_else(|| tr!(lang, "no-description"));
    let mut text = if job.sensitive {
        tr!(
            lang,
            "list-job-sensitive",
            job = name,
            description = description
        )
    } else {
        tr!(lang, "list-job", job = name, description = description)
    };
    if !params.is_empty() {
        text.push_str("\n    ");
        text.push_str(&tr!(lang, "list-parameters", params = params.join("; ")));
    }
    text
}

const STOP: &[&str] = &[
    "list",
    "show",
    "jobs",
    "job",
    "the",
    "all",
    "what",
    "which",
    "can",
    "i",
    "run",
    "me",
    "available",
    "are",
    "there",
    "templates",
    "do",
    "you",
    "have",
    "please",
    "my",
    "a",
    "an",
    "of",
    "for",
];

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    if let Some(r) = ctx.refused(&Action::ReadCatalog) {
        return r;
    }
    let catalog = ctx.bot.platform.catalog();
    let lang = ctx.lang;
    let named: Vec<&str> = parse
        .entities
        .iter()
        .filter(|e| e.entity == EntityKind::JOB)
        .map(|e| e.value.as_str())
        .collect();
    let words: Vec<String> = parse
        .text
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .map(|w| w.to_lowercase())
        .filter(|w| w.len() >= 3 && !STOP.contains(&w.as_str()))
        .collect();
    let mut jobs: Vec<&Job> = catalog
        .jobs
        .iter()
        .filter(|j| named.contains(&j.id.as_str()))
        .collect();
    if jobs.is_empty() && !words.is_empty() && !parse.text.starts_with('!') {
        jobs = catalog
            .jobs
            .iter()
            .filter(|j| {
                let hay = format!(
                    "{} {} {} {}",
                    j.id,
                    j.description,
                    ctx.bot
                        .config
                        .job_description(j, Lang::Zh)
                        .unwrap_or_default(),
                    j.aliases.join(" ")
                )
                .to_lowercase();
                words
                    .iter()
                    .any(|w| hay.contains(w.as_str()) || hay.contains(w.trim_end_matches('s')))
            })
            .collect();
    }
    jobs.retain(|j| ctx.may_run(&j.id));
    let (title, jobs) = if jobs.is_empty() {
        (
            tr!(lang, "list-title"),
            catalog
                .jobs
                .iter()
                .filter(|j| ctx.may_run(&j.id))
                .collect::<Vec<_>>(),
        )
    } else {
        (
            tr!(
                lang,
                "list-title-matching",
                count = jobs.len(),
                total = catalog.jobs.len()
            ),
            jobs,
        )
    };
    let mut text = title;
    if jobs.is_empty() {
        text.push_str(&tr!(lang, "list-none"));
        return Response::text(text);
    }
    for j in jobs {
        text.push('\n');
        let name = crate::values::shown_name(catalog, &j.id, lang);
        text.push_str(&describe(
            j,
            &name,
            ctx.bot.config.job_description(j, lang),
            lang,
        ));
    }
    text.push('\n');
    text.push_str(&tr!(lang, "list-hint"));
    Response::text(text)
}
