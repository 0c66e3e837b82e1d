//! run_job (and deploy_app through it): turns entities into a draft, asks for what is
//! missing one parameter at a time, asks for a yes on sensitive jobs, then executes.

use super::{entity, time_range, Ctx, Response};
use crate::dialog::{Dialog, Draft};
use crate::domain::chat::{Button, ButtonStyle};
use crate::i18n::Lang;
use crate::intent::Intent;
use crate::jobs::{ExecRequest, Status};
use crate::policy::{Action, ApprovalNeed, Decision, UserError};
use crate::values;
use nlu::catalog::{Job, ParamKind};
use nlu::{Catalog, Entity, EntityKind, ParseResult};
use std::collections::BTreeMap;

mod hints;
mod questions;

use hints::{apply_hints, collect_hints, plural_words, HintError};
use questions::ensure_stop;
pub use questions::{
    approval_buttons, ask_prompt, confirm_buttons, confirm_question, environment_of, is_production,
};

/// Words that are never a job name.
const STOP: &[&str] = &[
    "run", "runs", "the", "a", "an", "job", "please", "now", "on", "for", "with", "start", "kick",
    "off", "trigger", "execute", "launch", "can", "you", "me", "to", "in", "at", "of", "and",
    "tonight", "today", "tomorrow", "again", "pls", "go", "do", "it", "this", "that", "my",
];

/// Starts a run from a parse (`job` is preset for deploy_app).
pub async fn start(
    ctx: &Ctx<'_>,
    parse: &ParseResult,
    intent: Intent,
    job: Option<String>,
) -> Response {
    let catalog = ctx.bot.platform.catalog();
    let mut draft = Draft::new(intent);
    draft.job = job;
    if draft.job.is_none() {
        if let Some(name) = entity(parse, EntityKind::JOB) {
            match values::resolve_job(catalog, name) {
                Some(j) => draft.job = Some(j.id.clone()),
                None => {
                    // an exact command named a job that does not exist
                    collect_hints(&mut draft, &parse.entities);
                    return unknown_job(ctx, draft, name);
                }
            }
        } else if let Some(word) = unknown_job_word(catalog, parse) {
            collect_hints(&mut draft, &parse.entities);
            return unknown_job(ctx, draft, &word);
        }
    }
    if let Some(t) = entity(parse, EntityKind::TIME) {
        match time_range(t) {
            Some((start, _)) => draft.run_at = Some(start),
            None => return Response::text(tr!(ctx.lang, "bad-time", time = t)),
        }
    }
    if let Some(at) = draft.run_at {
        if at < ctx.now - chrono::Duration::seconds(60) {
            return Response::text(tr!(
                ctx.lang,
                "time-in-past",
                at = crate::i18n::format::time(at, ctx.tz(), ctx.lang)
            ));
        }
    }
    if let Some(at) = draft.run_at {
        if let Some(why) =
            crate::jobs::overdue::too_far_ahead(&ctx.bot.config.scheduler, at, ctx.now, ctx.lang)
        {
            return Response::text(tr!(
                ctx.lang,
                "time-too-far",
                at = crate::i18n::format::time(at, ctx.tz(), ctx.lang),
                why = why
            ));
        }
    }
    collect_hints(&mut draft, &parse.entities);
    proceed(ctx, draft, Vec::new()).await
}

/// A word of the text that looks like a job name but is none.
fn unknown_job_word(catalog: &Catalog, parse: &ParseResult) -> Option<String> {
    let covered = |start: usize, end: usize| {
        parse
            .entities
            .iter()
            .any(|e| e.start < end && start < e.end)
    };
    let chars: Vec<char> = parse.text.chars().collect();
    let mut i = 0;
    let mut candidates = Vec::new();
    while i < chars.len() {
        if chars[i].is_alphanumeric() {
            let s = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '-' || chars[i] == '_')
            {
                i += 1;
            }
            let w: String = chars[s..i].iter().collect();
            let lw = w.to_lowercase();
            if !covered(s, i) && lw.len() >= 3 && lw.is_ascii() && !STOP.contains(&lw.as_str()) {
                candidates.push(w);
            }
        } else {
            i += 1;
        }
    }
    candidates
        .iter()
        .find(|w| values::suggest_job(catalog, w).is_some())
        .or_else(|| candidates.iter().find(|w| w.contains('-')))
        .cloned()
}

fn unknown_job(ctx: &Ctx<'_>, draft: Draft, name: &str) -> Response {
    let catalog = ctx.bot.platform.catalog();
    let suggestion = values::suggest_job(catalog, name);
    let text = match &suggestion {
        Some(s) => tr!(
            ctx.lang,
            "run-unknown-job-suggest",
            name = name,
            suggestion = s
        ),
        None => tr!(
            ctx.lang,
            "run-unknown-job-choose",
            name = name,
            choices = job_choices(catalog)
        ),
    };
    Response::text(text).asking(Dialog::Collecting {
        draft,
        param: None,
        suggestion,
    })
}

fn job_choices(catalog: &Catalog) -> String {
    catalog
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| format!("  {}. {}", i + 1, j.id))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Moves a draft on: asks for the job or the next missing parameter, asks for a confirmation,
/// or runs it. `notes` go before the reply.
pub async fn proceed(ctx: &Ctx<'_>, mut draft: Draft, notes: Vec<String>) -> Response {
    let catalog = ctx.bot.platform.catalog();
    let lang = ctx.lang;
    let mut response = Response::default();
    for n in notes {
        response.push(n);
    }
    let Some(job) = draft.job.clone().and_then(|j| catalog.job(&j).cloned()) else {
        response.push(tr!(lang, "run-which-job", choices = job_choices(catalog)));
        return response.asking(Dialog::Collecting {
            draft,
            param: None,
            suggestion: None,
        });
    };
    match apply_hints(&mut draft, &job, catalog, lang) {
        Ok(()) => {}
        Err(HintError::UnknownParam(name)) => {
            let names: Vec<&str> = job.parameters.iter().map(|p| p.name.as_str()).collect();
            let text = match crate::util::words::suggest(&name, names.iter().copied()) {
                Some(s) => tr!(
                    lang,
                    "run-no-such-param-suggest",
                    job = &job.id,
                    name = &name,
                    suggestion = s
                ),
                None if names.is_empty() => {
                    tr!(lang, "run-no-such-param-none", job = &job.id, name = &name)
                }
                None => tr!(
                    lang,
                    "run-no-such-param",
                    job = &job.id,
                    name = &name,
                    params = names.join(", ")
                ),
            };
            response.push(text);
            return response.closing();
        }
        Err(HintError::Several {
            param,
            what,
            values,
        }) => {
            tracing::info!(job = %job.id, %param, ?values, "several values for one parameter: asking");
            draft.params.remove(&param);
            response.push(tr!(
                lang,
                "run-several-values",
                what = plural_words(what, lang),
                values = values.join(", "),
                job = &job.id
            ));
            return ask_for(ctx, &job, draft, param, response);
        }
        Err(HintError::Invalid { param, message }) => {
            response.push(ensure_stop(message, lang));
            return ask_for(ctx, &job, draft, param, response);
        }
    }
    if let Some(p) = job
        .parameters
        .iter()
        .find(|p| p.required && !draft.params.contains_key(&p.name))
    {
        let param = p.name.clone();
        return ask_for(ctx, &job, draft, param, response);
    }
    // refuse before asking for a confirmation
    let action = Action::Execute {
        job: &job.id,
        params: &draft.params,
        sensitive: job.sensitive,
        run_at: draft.run_at,
        reason: draft.reason.as_deref(),
    };
    if let Some(e) = ctx.bot.policy.precheck(&ctx.actor(), &action) {
        response.push(e.reply(lang));
        return response.closing();
    }
    if job.sensitive {
        response.extend(confirm_question(ctx, &job, &draft));
        return response.asking(Dialog::Confirming { draft });
    }
    response.extend(execute(ctx, draft).await);
    response
}

/// Asks for parameter `param` of `job` (after what `response` already says) and waits for
/// the answer.
fn ask_for(
    ctx: &Ctx<'_>,
    job: &Job,
    draft: Draft,
    param: String,
    mut response: Response,
) -> Response {
    let catalog = ctx.bot.platform.catalog();
    response.push(ask_prompt(catalog, job, &param, ctx.lang));
    let dialog = Dialog::Collecting {
        draft,
        param: Some(param),
        suggestion: None,
    };
    response.asking(dialog)
}

/// Runs a complete (and, if sensitive, confirmed) draft.
pub async fn execute(ctx: &Ctx<'_>, draft: Draft) -> Response {
    run_draft(ctx, draft).await.closing()
}

async fn run_draft(ctx: &Ctx<'_>, draft: Draft) -> Response {
    let lang = ctx.lang;
    let catalog = ctx.bot.platform.catalog();
    let Some(job) = draft.job.as_deref().and_then(|j| catalog.job(j)) else {
        return Response::text(tr!(lang, "job-gone"));
    };
    let decision = ctx.bot.policy.check(
        &ctx.actor(),
        &Action::Execute {
            job: &job.id,
            params: &draft.params,
            sensitive: job.sensitive,
            run_at: draft.run_at,
            reason: draft.reason.as_deref(),
        },
    );
    if let Decision::NeedsApproval(need) = &decision {
        return ask_approval(ctx, job, &draft, need);
    }
    if let Some(r) = Ctx::refusal(decision, lang) {
        return r;
    }
    let req = ExecRequest {
        job: job.id.clone(),
        params: draft.params.clone(),
        run_at: draft.run_at,
        requested_by: ctx.msg.user.clone(),
        channel: ctx.msg.channel.clone(),
    };
    let e = match ctx.execute(&ctx.actor(), req).await {
        Ok(e) => e,
        Err(reply) => return reply,
    };
    ctx.bot.policy.record_result(
        &ctx.actor(),
        Some(&job.id),
        Some(e.id),
        &format!("started, {}", e.status),
    );
    // secret values are not counted (nor stored): help suggests the run without them
    let counted: std::collections::BTreeMap<String, String> = draft
        .params
        .iter()
        .filter(|(k, _)| !crate::policy::guard::is_secret_param(ctx.bot.config, &job.id, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Err(err) = ctx.bot.store.usage().record(
        &ctx.msg.user,
        draft.intent.as_str(),
        Some(&job.id),
        &counted,
        ctx.now,
    ) {
        tracing::warn!("cannot count the usage: {err}");
    }
    let p = crate::i18n::format::params(&e.params, lang);
    let name = values::shown_name(catalog, &e.job, lang);
    let text = match e.status {
        Status::Running => tr!(lang, "run-started", job = &name, id = e.id, params = p),
        Status::Scheduled
            if e.run_at > crate::clock::now() + chrono::Duration::milliseconds(500) =>
        {
            tr!(
                lang,
                "run-scheduled",
                job = &name,
                id = e.id,
                at = crate::i18n::format::time(e.run_at, ctx.tz(), lang),
                wait = crate::i18n::format::duration(e.run_at - ctx.now),
                params = p
            )
        }
        Status::Scheduled => tr!(lang, "run-queued", job = &name, id = e.id, params = p),
        _ => crate::render::report(&e, None, ctx.tz(), lang, ctx.now),
    };
    // the channel sees why it runs
    let text = match &draft.reason {
        Some(r) => format!("{text}\n{}", tr!(lang, "reason-line", reason = r.as_str())),
        None => text,
    };
    let mut r = Response::text(text);
    if !e.status.is_terminal() {
        r.track.push(e.id);
    }
    r
}

/// Files a request for approval and tells the requester who can approve it.
fn ask_approval(ctx: &Ctx<'_>, job: &Job, draft: &Draft, need: &ApprovalNeed) -> Response {
    let lang = ctx.lang;
    let policy = ctx.bot.policy;
    if !policy.handles_approvals() {
        return Response::text(
            UserError::policy(tr!(lang, "approvals-not-set-up-for", reason = &need.reason))
                .reply(lang),
        );
    }
    let ask = crate::policy::ApprovalAsk {
        job: &job.id,
        params: &draft.params,
        run_at: draft.run_at,
        need,
        justification: draft.reason.as_deref(),
    };
    match policy.request_approval(&ctx.actor(), &ask) {
        Ok(filed) => {
            let row = filed.request;
            let who = filed
                .approvers
                .map(|p| tr!(lang, "approvers-named", people = p))
                .unwrap_or_default();
            let mut with_defaults = draft.params.clone();
            for p in &job.parameters {
                if let (false, Some(d)) = (with_defaults.contains_key(&p.name), &p.default) {
                    with_defaults.insert(p.name.clone(), d.clone());
                }
            }
            let production = environment_of(job, &with_defaults).is_some_and(is_production);
            let mut r = Response::text(tr!(
                lang,
                "approval-filed",
                job = &job.id,
                reason = &need.reason,
                id = row.id,
                role = &need.role,
                who = who,
                within = crate::i18n::format::duration(row.expires_at - row.created_at)
            ));
            r.buttons = approval_buttons(row.id, production, lang);
            r
        }
        Err(e) => Response::text(e.reply(lang)),
    }
}
