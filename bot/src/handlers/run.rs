//! run_job (and deploy_app through it): turns entities into a draft, asks for what is
//! missing one parameter at a time, asks for a yes on sensitive jobs, then executes.

use super::{entity, time_range, Ctx, Response};
use crate::dialog::{Dialog, Draft};
use crate::intent::Intent;
use crate::jobs::{ExecRequest, Status};
use crate::policy::{Action, ApprovalNeed, Decision, UserError};
use crate::values;
use crate::{Button, ButtonStyle};
use nlu::catalog::{Job, ParamKind};
use nlu::{Catalog, Entity, EntityKind, ParseResult};
use std::collections::BTreeMap;

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
            None => return Response::text(format!("I couldn't read the time `{t}`.")),
        }
    }
    if let Some(at) = draft.run_at {
        if at < ctx.now - chrono::Duration::seconds(60) {
            return Response::text(format!(
                "That time ({}) is in the past; tell me a time from now on, or leave it out to run now.",
                crate::render::time(at, ctx.tz())
            ));
        }
    }
    if let Some(at) = draft.run_at {
        if let Some(why) =
            crate::jobs::overdue::too_far_ahead(&ctx.bot.config.scheduler, at, ctx.now)
        {
            return Response::text(format!(
                "That time ({}) is {why}; pick an earlier time.",
                crate::render::time(at, ctx.tz())
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
        Some(s) => format!(
            "I don't know a job called `{name}`. Did you mean `{s}`? (yes, another job name, or cancel)"
        ),
        None => format!(
            "I don't know a job called `{name}`. Which job did you mean?\n{}",
            job_choices(catalog)
        ),
    };
    save(
        ctx,
        Dialog::Collecting {
            draft,
            param: None,
            suggestion,
        },
        Response::text(text),
    )
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

/// Entity values the draft will use once the job is known.
fn collect_hints(draft: &mut Draft, entities: &[Entity]) {
    for e in entities {
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

fn param_kind_for(k: &EntityKind) -> Option<ParamKind> {
    Some(match k.as_str() {
        "app" => ParamKind::App,
        "environment" => ParamKind::Environment,
        "host" => ParamKind::Host,
        "version" => ParamKind::Version,
        "count" => ParamKind::Integer,
        _ => return None,
    })
}

fn same_name(a: &str, b: &str) -> bool {
    let n = |s: &str| s.trim_start_matches('-').to_lowercase().replace('-', "_");
    n(a) == n(b)
}

/// Problems found while applying hints.
enum HintError {
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
        what: &'static str,
        values: Vec<String>,
    },
}

/// Catalog kinds of which a request naming two is ambiguous, in the plural.
fn plural(k: ParamKind) -> Option<&'static str> {
    match k {
        ParamKind::App => Some("applications"),
        ParamKind::Environment => Some("environments"),
        ParamKind::Host => Some("hosts"),
        _ => None,
    }
}

/// Applies the hints to the draft's parameters (the job is known).
fn apply_hints(draft: &mut Draft, job: &Job, catalog: &Catalog) -> Result<(), HintError> {
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
            return Err(HintError::UnknownParam(name));
        };
        match values::validate(catalog, p, &v) {
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
        if let Ok(v) = values::validate(catalog, p, value) {
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
fn extra_value(
    draft: &Draft,
    job: &Job,
    catalog: &Catalog,
    pk: ParamKind,
    value: &str,
) -> Option<(String, &'static str, String, Vec<String>)> {
    let what = plural(pk)?;
    let taken: Vec<&nlu::catalog::JobParameter> =
        job.parameters.iter().filter(|p| p.kind == pk).collect();
    let first = taken.first()?;
    let v = values::validate(catalog, first, value).ok()?;
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

/// Moves a draft on: asks for the job or the next missing parameter, asks for a confirmation,
/// or runs it. `notes` go before the reply.
pub async fn proceed(ctx: &Ctx<'_>, mut draft: Draft, notes: Vec<String>) -> Response {
    let catalog = ctx.bot.platform.catalog();
    let mut response = Response::default();
    for n in notes {
        response.push(n);
    }
    let Some(job) = draft.job.clone().and_then(|j| catalog.job(&j).cloned()) else {
        response.push(format!(
            "Which job should I run?\n{}\nAnswer with a number or a name (or cancel).",
            job_choices(catalog)
        ));
        return save(
            ctx,
            Dialog::Collecting {
                draft,
                param: None,
                suggestion: None,
            },
            response,
        );
    };
    match apply_hints(&mut draft, &job, catalog) {
        Ok(()) => {}
        Err(HintError::UnknownParam(name)) => {
            let names: Vec<&str> = job.parameters.iter().map(|p| p.name.as_str()).collect();
            let mut text = format!("{} has no parameter `{name}`", job.id);
            match values::suggest(&name, names.iter().copied()) {
                Some(s) => text.push_str(&format!(". Did you mean `{s}`?")),
                None if names.is_empty() => text.push_str(" (it takes none)."),
                None => text.push_str(&format!(" (its parameters: {}).", names.join(", "))),
            }
            clear(ctx);
            response.push(text);
            return response;
        }
        Err(HintError::Several {
            param,
            what,
            values,
        }) => {
            tracing::info!(job = %job.id, %param, ?values, "several values for one parameter: asking");
            draft.params.remove(&param);
            response.push(format!(
                "You named several {what} ({}), and one {} run is for one of them, so I'll ask. (For the others, send one more request each.)",
                values.join(", "),
                job.id
            ));
            response.push(ask_prompt(catalog, &job, &param));
            return save(
                ctx,
                Dialog::Collecting {
                    draft,
                    param: Some(param),
                    suggestion: None,
                },
                response,
            );
        }
        Err(HintError::Invalid { param, message }) => {
            response.push(ensure_stop(message));
            let prompt = ask_prompt(catalog, &job, &param);
            response.push(prompt);
            return save(
                ctx,
                Dialog::Collecting {
                    draft,
                    param: Some(param),
                    suggestion: None,
                },
                response,
            );
        }
    }
    if let Some(p) = job
        .parameters
        .iter()
        .find(|p| p.required && !draft.params.contains_key(&p.name))
    {
        response.push(ask_prompt(catalog, &job, &p.name));
        return save(
            ctx,
            Dialog::Collecting {
                draft,
                param: Some(p.name.clone()),
                suggestion: None,
            },
            response,
        );
    }
    if let Some(g) = ctx.bot.policy.guard() {
        // refuse before asking for a confirmation
        if let Some(e) = g.precheck(
            &ctx.actor(),
            &Action::Execute {
                job: &job.id,
                params: &draft.params,
                sensitive: job.sensitive,
                run_at: draft.run_at,
            },
        ) {
            clear(ctx);
            response.push(e.reply());
            return response;
        }
    }
    if job.sensitive {
        response.extend(confirm_question(ctx, &job, &draft));
        return save(ctx, Dialog::Confirming { draft }, response);
    }
    response.extend(execute(ctx, draft).await);
    response
}

/// The question that asks for a yes before a sensitive job runs, with its Yes and No buttons
/// (asked again, the same, when an answer is not a clear yes or no).
pub fn confirm_question(ctx: &Ctx<'_>, job: &Job, draft: &Draft) -> Response {
    let mut shown = draft.params.clone();
    for p in &job.parameters {
        if let (false, Some(d)) = (shown.contains_key(&p.name), &p.default) {
            shown.insert(p.name.clone(), d.clone());
        }
    }
    let when = match draft.run_at.filter(|t| *t > ctx.now) {
        Some(t) => format!(" at {}", crate::render::time(t, ctx.tz())),
        None => " now".into(),
    };
    Response {
        buttons: confirm_buttons(job, &shown),
        ..Response::text(format!(
            "{} is sensitive. Run it{when} with {}? (yes/no)",
            job.id,
            crate::render::params(&shown)
        ))
    }
}

/// The environment a run of `job` with `params` (defaults applied) is about, if any.
pub fn environment_of<'a>(job: &Job, params: &'a BTreeMap<String, String>) -> Option<&'a str> {
    job.parameters
        .iter()
        .find(|p| p.kind == ParamKind::Environment)
        .and_then(|p| params.get(&p.name))
        .map(String::as_str)
}

/// Whether an environment is production (where a wrong click matters most).
pub fn is_production(env: &str) -> bool {
    matches!(
        env.to_lowercase().as_str(),
        "production" | "prod" | "prd" | "live"
    )
}

/// The buttons of the confirmation of a sensitive job: Yes (Danger in production, else
/// Primary) and No.
pub fn confirm_buttons(job: &Job, shown: &BTreeMap<String, String>) -> Vec<Button> {
    let yes_style = if environment_of(job, shown).is_some_and(is_production) {
        ButtonStyle::Danger
    } else {
        ButtonStyle::Primary
    };
    vec![
        Button::new("Yes", "!yes", yes_style),
        Button::new("No", "!no", ButtonStyle::Default),
    ]
}

/// The buttons of an approval request: "Approve #N" (Danger in production, else Primary)
/// and "Reject".
pub fn approval_buttons(id: i64, production: bool) -> Vec<Button> {
    vec![
        Button::new(
            format!("Approve #{id}"),
            format!("!approve {id}"),
            if production {
                ButtonStyle::Danger
            } else {
                ButtonStyle::Primary
            },
        ),
        Button::new("Reject", format!("!reject {id}"), ButtonStyle::Default),
    ]
}

fn ensure_stop(mut s: String) -> String {
    if !s.ends_with(['.', '?', '!']) {
        s.push('.');
    }
    s
}

/// The question for one parameter.
pub fn ask_prompt(catalog: &Catalog, job: &Job, name: &str) -> String {
    let Some(p) = job.parameters.iter().find(|p| p.name == name) else {
        return format!("What should `{name}` be?");
    };
    let choices = values::known_values(catalog, p);
    let mut what = values::kind_words(p.kind).to_string();
    // a range the schema sets (the implicit "0 or more" of counts goes unsaid)
    if p.min_value.is_some() || p.max_value.is_some() {
        match (p.min(), p.max()) {
            (Some(lo), Some(hi)) => what.push_str(&format!(" from {lo} to {hi}")),
            (Some(lo), None) => what.push_str(&format!(", {lo} or more")),
            (None, Some(hi)) => what.push_str(&format!(", at most {hi}")),
            (None, None) => {}
        }
    }
    let mut text = format!("{} needs `{}` ({what}).", job.id, p.name);
    if choices.is_empty() {
        text.push_str(" What should it be?");
    } else {
        text.push_str(" Which one?");
        for (i, c) in choices.iter().enumerate() {
            text.push_str(&format!("\n  {}. {c}", i + 1));
        }
    }
    if let Some(d) = &p.default {
        text.push_str(&format!("\nDefault: {d} (say \"default\")."));
    }
    text.push_str(if choices.is_empty() {
        "\n(Say cancel to stop.)"
    } else {
        "\nAnswer with a number or a value (or cancel)."
    });
    text
}

fn save(ctx: &Ctx<'_>, dialog: Dialog, response: Response) -> Response {
    match ctx
        .bot
        .save_dialog(&ctx.msg.user, &ctx.msg.channel, &dialog, ctx.now)
    {
        Ok(()) => response,
        Err(e) => Response::text(UserError::internal(e).reply()),
    }
}

fn clear(ctx: &Ctx<'_>) {
    if let Err(e) = ctx.bot.store.delete_dialog(&ctx.msg.user, &ctx.msg.channel) {
        tracing::warn!("cannot delete a dialog: {e}");
    }
}

/// Runs a complete (and, if sensitive, confirmed) draft.
pub async fn execute(ctx: &Ctx<'_>, draft: Draft) -> Response {
    clear(ctx);
    let catalog = ctx.bot.platform.catalog();
    let Some(job) = draft.job.as_deref().and_then(|j| catalog.job(j)) else {
        return Response::text("That job no longer exists.");
    };
    let decision = ctx.bot.policy.check(
        &ctx.actor(),
        &Action::Execute {
            job: &job.id,
            params: &draft.params,
            sensitive: job.sensitive,
            run_at: draft.run_at,
        },
    );
    if let Decision::NeedsApproval(need) = &decision {
        return ask_approval(ctx, job, &draft, need);
    }
    if let Some(r) = Ctx::refusal(decision) {
        return r;
    }
    let req = ExecRequest {
        job: job.id.clone(),
        params: draft.params.clone(),
        run_at: draft
            .run_at
            .filter(|t| *t > ctx.now + chrono::Duration::seconds(1)),
        requested_by: ctx.msg.user.clone(),
        channel: ctx.msg.channel.clone(),
    };
    let e = match ctx.bot.platform.execute(req).await {
        Ok(e) => e,
        Err(err) => {
            let e = UserError::platform(format!("I couldn't start {}", job.id), &err);
            if let Some(g) = ctx.bot.policy.guard() {
                g.record_result(
                    &ctx.actor(),
                    Some(&job.id),
                    None,
                    &format!("error {}: {err}", e.id),
                );
            }
            return Response::text(e.reply());
        }
    };
    if let Some(g) = ctx.bot.policy.guard() {
        g.record_result(
            &ctx.actor(),
            Some(&job.id),
            Some(e.id),
            &format!("started, {}", e.status),
        );
    }
    // secret values are not counted (nor stored): help suggests the run without them
    let counted: std::collections::BTreeMap<String, String> = draft
        .params
        .iter()
        .filter(|(k, _)| !crate::policy::guard::is_secret_param(&ctx.bot.config, &job.id, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Err(err) = ctx.bot.store.record_usage(
        &ctx.msg.user,
        draft.intent.as_str(),
        Some(&job.id),
        &counted,
        ctx.now,
    ) {
        tracing::warn!("cannot count the usage: {err}");
    }
    let p = crate::render::params(&e.params);
    let text = match e.status {
        Status::Running => format!(
            "Started {} as #{} ({p}). I'll post the result here.",
            e.job, e.id
        ),
        Status::Scheduled
            if e.run_at > crate::clock::now() + chrono::Duration::milliseconds(500) =>
        {
            format!(
                "Scheduled {} as #{} for {} (in {}) with {p}. I'll post the result here.",
                e.job,
                e.id,
                crate::render::time(e.run_at, ctx.tz()),
                crate::render::duration(e.run_at - ctx.now)
            )
        }
        Status::Scheduled => format!(
            "Queued {} as #{} ({p}): it starts when a running {} ends. I'll post the result here.",
            e.job, e.id, e.job
        ),
        _ => crate::render::report(&e, None, ctx.tz()),
    };
    let mut r = Response::text(text);
    if !e.status.is_terminal() {
        r.track.push(e.id);
    }
    r
}

/// Files a request for approval and tells the requester who can approve it.
fn ask_approval(ctx: &Ctx<'_>, job: &Job, draft: &Draft, need: &ApprovalNeed) -> Response {
    let Some(g) = ctx.bot.policy.guard() else {
        return Response::text(
            UserError::policy(format!("{}; approvals are not set up here", need.reason)).reply(),
        );
    };
    match g.request_approval(&ctx.actor(), &job.id, &draft.params, draft.run_at, need) {
        Ok(row) => {
            let who = g
                .sec_approvers(&need.role, &row.requester)
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let mut with_defaults = draft.params.clone();
            for p in &job.parameters {
                if let (false, Some(d)) = (with_defaults.contains_key(&p.name), &p.default) {
                    with_defaults.insert(p.name.clone(), d.clone());
                }
            }
            let production = environment_of(job, &with_defaults).is_some_and(is_production);
            let mut r = Response::text(format!(
                "{} needs approval: {}. I filed approval request {}; someone with role `{}`{who} can say `!approve {}` (or `!reject {}`) within {}. The requester cannot approve it.",
                job.id,
                need.reason,
                row.id,
                need.role,
                row.id,
                row.id,
                crate::render::duration(row.expires_at - row.created_at)
            ));
            r.buttons = approval_buttons(row.id, production);
            r
        }
        Err(e) => Response::text(e.reply()),
    }
}
