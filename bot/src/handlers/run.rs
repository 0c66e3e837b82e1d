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
        what: ParamKind,
        values: Vec<String>,
    },
}

/// Catalog kinds of which a request naming two is ambiguous.
fn plural(k: ParamKind) -> Option<ParamKind> {
    matches!(k, ParamKind::App | ParamKind::Environment | ParamKind::Host).then_some(k)
}

/// Such a kind in the plural ("environments").
fn plural_words(k: ParamKind, lang: crate::i18n::Lang) -> String {
    match k {
        ParamKind::App => tr!(lang, "plural-apps"),
        ParamKind::Environment => tr!(lang, "plural-environments"),
        _ => tr!(lang, "plural-hosts"),
    }
}

/// Applies the hints to the draft's parameters (the job is known).
fn apply_hints(
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
fn extra_value(
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
            response.push(tr!(
                lang,
                "run-several-values",
                what = plural_words(what, lang),
                values = values.join(", "),
                job = &job.id
            ));
            response.push(ask_prompt(catalog, &job, &param, lang));
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
            response.push(ensure_stop(message, lang));
            let prompt = ask_prompt(catalog, &job, &param, lang);
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
        response.push(ask_prompt(catalog, &job, &p.name, lang));
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
            response.push(e.reply(lang));
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
    let lang = ctx.lang;
    let catalog = ctx.bot.platform.catalog();
    // apps and environments by their Chinese names too, in a Chinese question
    let params = if shown.is_empty() {
        crate::i18n::format::params(&shown, lang)
    } else {
        shown
            .iter()
            .map(|(k, v)| {
                let kind = job.parameters.iter().find(|p| &p.name == k).map(|p| p.kind);
                match kind {
                    Some(ParamKind::App | ParamKind::Environment) if lang != Lang::En => {
                        format!("{k}={}", values::shown_name(catalog, v, lang))
                    }
                    _ => crate::i18n::format::param(k, v),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = values::shown_name(catalog, &job.id, lang);
    let text = match draft.run_at.filter(|t| *t > ctx.now) {
        Some(t) => tr!(
            lang,
            "confirm-sensitive-at",
            job = name,
            at = crate::i18n::format::time(t, ctx.tz(), lang),
            params = params
        ),
        None => tr!(lang, "confirm-sensitive-now", job = name, params = params),
    };
    Response {
        buttons: confirm_buttons(job, &shown, lang),
        ..Response::text(text)
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
pub fn confirm_buttons(
    job: &Job,
    shown: &BTreeMap<String, String>,
    lang: crate::i18n::Lang,
) -> Vec<Button> {
    let yes_style = if environment_of(job, shown).is_some_and(is_production) {
        ButtonStyle::Danger
    } else {
        ButtonStyle::Primary
    };
    vec![
        Button::new(tr!(lang, "button-yes"), "!yes", yes_style),
        Button::new(tr!(lang, "button-no"), "!no", ButtonStyle::Default),
    ]
}

/// The buttons of an approval request: "Approve #N" (Danger in production, else Primary)
/// and "Reject".
pub fn approval_buttons(id: i64, production: bool, lang: crate::i18n::Lang) -> Vec<Button> {
    vec![
        Button::new(
            tr!(lang, "button-approve", id = id),
            format!("!approve {id}"),
            if production {
                ButtonStyle::Danger
            } else {
                ButtonStyle::Primary
            },
        ),
        Button::new(
            tr!(lang, "button-reject"),
            format!("!reject {id}"),
            ButtonStyle::Default,
        ),
    ]
}

fn ensure_stop(mut s: String, lang: crate::i18n::Lang) -> String {
    if !s.ends_with(['.', '?', '!', '。', '？', '！']) {
        s.push_str(&tr!(lang, "full-stop"));
    }
    s
}

/// The question for one parameter.
pub fn ask_prompt(catalog: &Catalog, job: &Job, name: &str, lang: crate::i18n::Lang) -> String {
    let Some(p) = job.parameters.iter().find(|p| p.name == name) else {
        return tr!(lang, "ask-unknown-param", name = name);
    };
    let choices = values::known_values(catalog, p);
    let kind = values::kind_words(p.kind, lang);
    // a range the schema sets (the implicit "0 or more" of counts goes unsaid)
    let what = if p.min_value.is_some() || p.max_value.is_some() {
        match (p.min(), p.max()) {
            (Some(lo), Some(hi)) => tr!(lang, "range-between", kind = kind, lo = lo, hi = hi),
            (Some(lo), None) => tr!(lang, "range-at-least", kind = kind, lo = lo),
            (None, Some(hi)) => tr!(lang, "range-at-most", kind = kind, hi = hi),
            (None, None) => kind,
        }
    } else {
        kind
    };
    let mut text = tr!(
        lang,
        "ask-needs",
        job = values::shown_name(catalog, &job.id, lang),
        name = &p.name,
        what = what
    );
    if choices.is_empty() {
        text.push_str(&tr!(lang, "ask-what"));
    } else {
        text.push_str(&tr!(lang, "ask-which"));
        for (i, c) in choices.iter().enumerate() {
            text.push_str(&format!(
                "\n  {}. {}",
                i + 1,
                values::shown_name(catalog, c, lang)
            ));
        }
    }
    if let Some(d) = &p.default {
        text.push('\n');
        text.push_str(&tr!(lang, "ask-default", value = d));
    }
    text.push('\n');
    text.push_str(&if choices.is_empty() {
        tr!(lang, "ask-cancel-hint")
    } else {
        tr!(lang, "ask-choose-hint")
    });
    text
}

fn save(ctx: &Ctx<'_>, dialog: Dialog, response: Response) -> Response {
    match ctx
        .bot
        .save_dialog(&ctx.msg.user, &ctx.msg.channel, &dialog, ctx.now)
    {
        Ok(()) => response,
        Err(e) => Response::text(UserError::internal(ctx.lang, e).reply(ctx.lang)),
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
        run_at: draft
            .run_at
            .filter(|t| *t > ctx.now + chrono::Duration::seconds(1)),
        requested_by: ctx.msg.user.clone(),
        channel: ctx.msg.channel.clone(),
    };
    let e = match ctx.bot.platform.execute(req).await {
        Ok(e) => e,
        Err(err) => {
            let e = UserError::platform(tr!(lang, "start-failed", job = &job.id), &err);
            if let Some(g) = ctx.bot.policy.guard() {
                g.record_result(
                    &ctx.actor(),
                    Some(&job.id),
                    None,
                    &format!("error {}: {err}", e.id),
                );
            }
            return Response::text(e.reply(lang));
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
        .filter(|(k, _)| !crate::policy::guard::is_secret_param(ctx.bot.config, &job.id, k))
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
        _ => crate::render::report(&e, None, ctx.tz(), lang),
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
    let Some(g) = ctx.bot.policy.guard() else {
        return Response::text(
            UserError::policy(tr!(lang, "approvals-not-set-up-for", reason = &need.reason))
                .reply(lang),
        );
    };
    match g.request_approval(&ctx.actor(), &job.id, &draft.params, draft.run_at, need) {
        Ok(row) => {
            let who = g
                .sec_approvers(&need.role, &row.requester)
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
