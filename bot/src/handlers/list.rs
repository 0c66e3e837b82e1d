//! list_jobs: the job templates, optionally filtered by a job name or a word.

use super::{Ctx, Response};
use crate::policy::Action;
use nlu::catalog::Job;
use nlu::{EntityKind, ParseResult};

/// One job in a line or two.
pub fn describe(job: &Job) -> String {
    let params = job
        .parameters
        .iter()
        .map(|p| {
            let mut s = p.name.clone();
            let mut notes = vec![p.kind.as_str().to_string()];
            if p.required {
                notes.push("required".into());
            }
            if !p.choices.is_empty() {
                notes.push(p.choices.join("|"));
            }
            if let Some(d) = &p.default {
                notes.push(format!("default {d}"));
            }
            s.push_str(&format!(" ({})", notes.join(", ")));
            s
        })
        .collect::<Vec<_>>();
    format!(
        "- {}{}: {}{}",
        job.id,
        if job.sensitive {
            " [needs confirmation]"
        } else {
            ""
        },
        if job.description.is_empty() {
            "no description"
        } else {
            &job.description
        },
        if params.is_empty() {
            String::new()
        } else {
            format!("\n    parameters: {}", params.join("; "))
        }
    )
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
                let hay =
                    format!("{} {} {}", j.id, j.description, j.aliases.join(" ")).to_lowercase();
                words
                    .iter()
                    .any(|w| hay.contains(w.as_str()) || hay.contains(w.trim_end_matches('s')))
            })
            .collect();
    }
    jobs.retain(|j| ctx.may_run(&j.id));
    let (title, jobs) = if jobs.is_empty() {
        (
            "Jobs you can run:".to_string(),
            catalog
                .jobs
                .iter()
                .filter(|j| ctx.may_run(&j.id))
                .collect::<Vec<_>>(),
        )
    } else {
        (
            format!("Matching jobs ({} of {}):", jobs.len(), catalog.jobs.len()),
            jobs,
        )
    };
    let mut text = title;
    if jobs.is_empty() {
        text.push_str(" none. Ask the ops leads for a role that may run jobs.");
        return Response::text(text);
    }
    for j in jobs {
        text.push('\n');
        text.push_str(&describe(j));
    }
    text.push_str("\nSay for example \"run backup-database on db-01\" or use !run JOB name=value.");
    Response::text(text)
}
