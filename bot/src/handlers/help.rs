//! help: generated from the catalog, so it always matches what can be run, and personal: it
//! starts from what the user does most (usage counts in the store) with quick-command forms
//! of their frequent requests, then recommends what they have not tried. A topic ("how do I
//! deploy", `!help schedule`) gets contextual help instead.

use super::{entity, Ctx, Response};
use crate::i18n::Lang;
use crate::store::Usage;
use nlu::catalog::{Job, ParamKind};
use nlu::{Catalog, EntityKind, ParseResult};
use std::collections::BTreeMap;

/// How many quick commands the personal help lists.
const QUICK: usize = 5;

/// What a help request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    Job(String),
    Schedule,
    Cancel,
    History,
    Watch,
    Status,
}

const TOPIC_WORDS: &[(&[&str], Topic)] = &[
    (
        &[
            "schedule",
            "scheduled",
            "later",
            "tonight",
            "tomorrow",
            "定时",
            "计划",
            "稍后",
            "预约",
        ],
        Topic::Schedule,
    ),
    (
        &["cancel", "abort", "stop", "取消", "停止", "终止"],
        Topic::Cancel,
    ),
    (
        &[
            "history", "failed", "failures", "trend", "历史", "记录", "趋势",
        ],
        Topic::History,
    ),
    (
        &["watch", "notify", "follow", "关注", "通知", "提醒"],
        Topic::Watch,
    ),
    (&["status", "progress", "状态", "进度"], Topic::Status),
];

const DEPLOY_WORDS: &[&str] = &["deploy", "deployment", "release", "部署", "发布", "上线"];

/// Finds the topic of a help request: a general topic from keywords, else a job (named,
/// through an app or the deploy keywords, or by its id or an alias in the text).
pub fn topic(catalog: &Catalog, parse: &ParseResult) -> Option<Topic> {
    let text = parse.text.to_lowercase();
    let body = text
        .trim()
        .strip_prefix('!')
        .map(|b| {
            b.split_once(char::is_whitespace)
                .map(|(_, rest)| rest.to_string())
                .unwrap_or_default()
        })
        .unwrap_or_else(|| text.clone());
    let words: Vec<&str> = body
        .split(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let has = |k: &str| {
        if k.is_ascii() {
            words.contains(&k)
        } else {
            body.contains(k)
        }
    };
    for (keys, t) in TOPIC_WORDS {
        if keys.iter().any(|k| has(k)) {
            return Some(t.clone());
        }
    }
    if let Some(j) =
        entity(parse, EntityKind::JOB).and_then(|j| crate::values::resolve_job(catalog, j))
    {
        return Some(Topic::Job(j.id.clone()));
    }
    let deploy = catalog.job("deploy-app").map(|j| j.id.clone());
    if DEPLOY_WORDS.iter().any(|k| has(k)) || entity(parse, EntityKind::APP).is_some() {
        if let Some(d) = deploy {
            return Some(Topic::Job(d));
        }
    }
    for w in &words {
        if let Some(j) = crate::values::resolve_job(catalog, w) {
            return Some(Topic::Job(j.id.clone()));
        }
    }
    // an alias in the text ("how do I back up the database"), or a word of a job id
    catalog
        .jobs
        .iter()
        .find(|j| {
            j.aliases
                .iter()
                .any(|a| a.chars().count() >= 4 && body.contains(&a.to_lowercase()))
        })
        .or_else(|| {
            catalog.jobs.iter().find(|j| {
                words
                    .iter()
                    .any(|w| w.len() >= 4 && j.id.split('-').any(|part| part == *w))
            })
        })
        .map(|j| Topic::Job(j.id.clone()))
}

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let catalog = ctx.bot.platform.catalog();
    let lang = ctx.lang;
    if let Some(t) = topic(catalog, parse) {
        let describe = |j: &Job| ctx.bot.config.job_description(j, lang).map(str::to_string);
        return Response::text(topic_help(catalog, &t, &describe, lang));
    }
    let usage = ctx.bot.store.usage().of(&ctx.msg.user).unwrap_or_else(|e| {
        tracing::warn!("cannot read the usage counts: {e}");
        Vec::new()
    });
    let may_run = |job: &str| ctx.may_run(job);
    if usage.is_empty() {
        return Response::text(general(catalog, &may_run, lang));
    }
    Response::text(personal(catalog, &ctx.msg.user, &usage, &may_run, lang))
}

/// An example value for a parameter.
fn example_value(catalog: &Catalog, p: &nlu::catalog::JobParameter) -> String {
    crate::values::known_values(catalog, p)
        .into_iter()
        .next()
        .or_else(|| p.default.clone())
        .unwrap_or_else(|| match p.kind {
            ParamKind::Integer => "3".into(),
            ParamKind::Version => "2.4.1".into(),
            _ => "value".into(),
        })
}

/// `!run JOB name=value ...` with the given values.
fn run_command(job: &str, params: &BTreeMap<String, String>) -> String {
    let mut s = format!("!run {job}");
    for (k, v) in params {
        if v.is_empty() || v.contains(char::is_whitespace) {
            s.push_str(&format!(" {k}={v:?}"));
        } else {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s
}

/// The quick-command form of a recorded request.
pub fn quick_command(u: &Usage) -> String {
    let job = u.job.as_str();
    match u.intent.as_str() {
        "run_job" => run_command(job, &u.params),
        "deploy_app" => match (u.params.get("app"), u.params.get("environment")) {
            (Some(a), Some(e)) => {
                let mut s = format!("!deploy {a} {e}");
                if let Some(v) = u.params.get("version") {
                    s.push_str(&format!(" {v}"));
                }
                s
            }
            _ => run_command(job, &u.params),
        },
        "job_status" if !job.is_empty() => format!("!status {job}"),
        "job_status" => "!status ID".into(),
        "job_history" if !job.is_empty() => format!("!history {job}"),
        "job_history" => "!history".into(),
        "list_jobs" => "!jobs".into(),
        "watch_job" => "!watch ID".into(),
        "cancel_job" => "!cancel ID".into(),
        other => format!("({other})"),
    }
}

/// The quick commands of a user, most frequent first, with their counts.
pub fn quick_commands(usage: &[Usage]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for u in usage {
        let q = quick_command(u);
        match out.iter_mut().find(|(c, _)| *c == q) {
            Some((_, n)) => *n += u.count,
            None => out.push((q, u.count)),
        }
    }
    // stable: equal counts keep the store's order (most recent first)
    out.sort_by_key(|b| std::cmp::Reverse(b.1));
    out
}

/// Commands the user has not used yet, chosen from their habits, among the jobs `may_run`
/// allows.
pub fn recommendations(
    catalog: &Catalog,
    usage: &[Usage],
    may_run: &dyn Fn(&str) -> bool,
    lang: Lang,
) -> Vec<String> {
    let used = |intent: &str| usage.iter().any(|u| u.intent == intent);
    // the job they care most about
    let mut per_job: BTreeMap<&str, i64> = BTreeMap::new();
    for u in usage.iter().filter(|u| !u.job.is_empty()) {
        *per_job.entry(u.job.as_str()).or_default() += u.count;
    }
    let top_job = per_job
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(j, _)| j.to_string());
    let mut out = Vec::new();
    if let Some(j) = &top_job {
        if !usage
            .iter()
            .any(|u| u.intent == "job_history" && &u.job == j)
        {
            out.push(tr!(lang, "recommend-history", job = j));
        }
        if !used("job_status") {
            out.push(tr!(lang, "recommend-status", job = j));
        }
    }
    if used("run_job") || used("deploy_app") {
        if !used("watch_job") {
            out.push(tr!(lang, "recommend-watch"));
        }
        if !used("cancel_job") {
            out.push(tr!(lang, "recommend-cancel"));
        }
    }
    if used("deploy_app") {
        if let Some(r) = catalog.job("rollback-app").filter(|r| may_run(&r.id)) {
            if !usage.iter().any(|u| u.job == r.id) {
                out.push(tr!(lang, "recommend-rollback", job = &r.id));
            }
        }
    }
    if !used("run_job") && !used("deploy_app") {
        let job = top_job
            .as_deref()
            .and_then(|j| catalog.job(j))
            .filter(|j| may_run(&j.id))
            .or_else(|| catalog.jobs.iter().find(|j| may_run(&j.id)));
        if let Some(job) = job {
            out.push(tr!(
                lang,
                "recommend-run",
                command = example_command(catalog, job)
            ));
        }
    }
    if !used("list_jobs") {
        out.push(tr!(lang, "recommend-jobs"));
    }
    out.truncate(4);
    out
}

fn example_params(catalog: &Catalog, job: &Job) -> BTreeMap<String, String> {
    job.parameters
        .iter()
        .filter(|p| p.required)
        .map(|p| (p.name.clone(), example_value(catalog, p)))
        .collect()
}

fn example_command(catalog: &Catalog, job: &Job) -> String {
    run_command(&job.id, &example_params(catalog, job))
}

fn personal(
    catalog: &Catalog,
    user: &str,
    usage: &[Usage],
    may_run: &dyn Fn(&str) -> bool,
    lang: Lang,
) -> String {
    let mut text = tr!(lang, "help-usual", user = user);
    for (cmd, n) in quick_commands(usage).into_iter().take(QUICK) {
        text.push_str("\n  ");
        text.push_str(&tr!(lang, "help-usual-line", command = cmd, count = n));
    }
    let rec = recommendations(catalog, usage, may_run, lang);
    if !rec.is_empty() {
        text.push('\n');
        text.push_str(&tr!(lang, "help-recommended"));
        for r in rec {
            text.push_str(&format!("\n  {r}"));
        }
    }
    text.push('\n');
    text.push_str(&tr!(lang, "help-personal-commands"));
    text.push('\n');
    text.push_str(&availability(catalog, may_run, lang));
    text
}

fn general(catalog: &Catalog, may_run: &dyn Fn(&str) -> bool, lang: Lang) -> String {
    let mut text = tr!(lang, "help-intro");
    text.push('\n');
    let mut examples = Vec::new();
    let allowed: Vec<&nlu::catalog::Job> = catalog.jobs.iter().filter(|j| may_run(&j.id)).collect();
    for job in allowed.iter().take(4) {
        let mut args = String::new();
        for p in job.parameters.iter().filter(|p| p.required) {
            args.push_str(&format!(" {}={}", p.name, example_value(catalog, p)));
        }
        examples.push(tr!(lang, "example-run", job = &job.id, args = args));
    }
    examples.extend(tr!(lang, "help-examples").lines().map(str::to_string));
    for e in examples {
        text.push_str(&format!("  - {e}\n"));
    }
    text.push_str(&tr!(lang, "help-general-commands"));
    text.push('\n');
    text.push_str(&availability(catalog, may_run, lang));
    text
}

/// How many jobs the user may run, and which of them ask for a yes first.
fn availability(catalog: &Catalog, may_run: &dyn Fn(&str) -> bool, lang: Lang) -> String {
    let allowed = catalog.jobs.iter().filter(|j| may_run(&j.id)).count();
    let sensitive: Vec<&str> = catalog
        .jobs
        .iter()
        .filter(|j| j.sensitive && may_run(&j.id))
        .map(|j| j.id.as_str())
        .collect();
    let mut text = tr!(lang, "help-available", count = allowed);
    if !sensitive.is_empty() {
        text.push_str(&tr!(lang, "help-sensitive", jobs = sensitive.join(", ")));
    }
    text
}

/// Contextual help on one topic.
pub fn topic_help(
    catalog: &Catalog,
    t: &Topic,
    describe: &dyn Fn(&Job) -> Option<String>,
    lang: Lang,
) -> String {
    let job = catalog.jobs.first();
    let ex_job = job
        .map(|j| example_command(catalog, j))
        .unwrap_or_else(|| "!run JOB".into());
    match t {
        Topic::Job(id) => match catalog.job(id) {
            Some(j) => job_help(catalog, j, describe(j), lang),
            None => tr!(lang, "help-no-such-job", job = id),
        },
        Topic::Schedule => tr!(lang, "help-schedule", example = ex_job),
        Topic::Cancel => tr!(lang, "help-cancel"),
        Topic::History => tr!(
            lang,
            "help-history",
            job = job.map(|j| j.id.as_str()).unwrap_or("JOB")
        ),
        Topic::Watch => tr!(lang, "help-watch"),
        Topic::Status => tr!(lang, "help-status"),
    }
}

fn natural_example(catalog: &Catalog, job: &Job, lang: Lang) -> String {
    let vals = example_params(catalog, job);
    if job.id == "deploy-app" {
        let app = vals.get("app").cloned().unwrap_or_else(|| "api".into());
        let env = vals
            .get("environment")
            .cloned()
            .unwrap_or_else(|| "staging".into());
        return tr!(lang, "example-deploy", app = app, environment = env);
    }
    let mut args = String::new();
    for p in job.parameters.iter().filter(|p| p.required) {
        let v = &vals[&p.name];
        args.push(' ');
        args.push_str(&match p.kind {
            ParamKind::Host => tr!(lang, "example-on-host", host = v),
            ParamKind::Environment => tr!(lang, "example-in-environment", environment = v),
            _ => format!("{} {v}", p.name.replace('_', " ")),
        });
    }
    tr!(lang, "example-run", job = &job.id, args = args)
}

fn job_help(catalog: &Catalog, job: &Job, description: Option<String>, lang: Lang) -> String {
    let description = description.unwrap_or_else(|| tr!(lang, "no-description"));
    let mut text = if job.sensitive {
        tr!(
            lang,
            "help-job-sensitive",
            job = &job.id,
            description = description
        )
    } else {
        tr!(lang, "help-job", job = &job.id, description = description)
    };
    text.push('\n');
    if job.parameters.is_empty() {
        text.push_str(&tr!(lang, "help-no-parameters"));
    } else {
        text.push_str(&tr!(lang, "help-parameters"));
        let w = job
            .parameters
            .iter()
            .map(|p| p.name.len())
            .max()
            .unwrap_or(0);
        for p in &job.parameters {
            let mut line = format!(
                "\n  {:<w$}  {:<11}  {}",
                p.name,
                p.kind.as_str(),
                if p.required {
                    tr!(lang, "param-required")
                } else {
                    tr!(lang, "param-optional")
                }
            );
            if let Some(d) = &p.default {
                line.push_str(", ");
                line.push_str(&tr!(lang, "param-default", value = d));
            }
            let choices = crate::values::known_values(catalog, p);
            if !choices.is_empty() {
                let shown: Vec<&str> = choices.iter().take(6).map(String::as_str).collect();
                line.push_str(", ");
                line.push_str(&tr!(
                    lang,
                    "param-one-of",
                    choices = format!(
                        "{}{}",
                        shown.join(", "),
                        if choices.len() > 6 { ", …" } else { "" }
                    )
                ));
            }
            text.push_str(&line);
        }
    }
    text.push('\n');
    text.push_str(&tr!(
        lang,
        "help-example",
        example = natural_example(catalog, job, lang)
    ));
    let mut exact = example_params(catalog, job);
    if job.id == "deploy-app" {
        exact.insert("version".into(), "2.4.1".into());
    }
    text.push('\n');
    text.push_str(&tr!(
        lang,
        "help-exact",
        command = run_command(&job.id, &exact)
    ));
    if job.id == "deploy-app" {
        if let (Some(a), Some(e)) = (exact.get("app"), exact.get("environment")) {
            text.push_str(&format!("\n       !deploy {a} {e} 2.4.1"));
        }
    }
    text.push('\n');
    text.push_str(&tr!(lang, "help-schedule-hint"));
    text
}
