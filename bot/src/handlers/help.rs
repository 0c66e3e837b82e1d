//! help: generated from the catalog, so it always matches what can be run, and personal: it
//! starts from what the user does most (usage counts in the store) with quick-command forms
//! of their frequent requests, then recommends what they have not tried. A topic ("how do I
//! deploy", `!help schedule`) gets contextual help instead.

use super::{entity, Ctx, Response};
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
    if let Some(t) = topic(catalog, parse) {
        return Response::text(topic_help(catalog, &t));
    }
    let usage = ctx.bot.store.usage(&ctx.msg.user).unwrap_or_else(|e| {
        tracing::warn!("cannot read the usage counts: {e}");
        Vec::new()
    });
    let may_run = |job: &str| ctx.may_run(job);
    if usage.is_empty() {
        return Response::text(general(catalog, &may_run));
    }
    Response::text(personal(catalog, &ctx.msg.user, &usage, &may_run))
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
            out.push(format!(
                "!history {j} - its recent runs with the duration trend and success rate"
            ));
        }
        if !used("job_status") {
            out.push(format!(
                "!status {j} - the latest run of {j} with its summary"
            ));
        }
    }
    if used("run_job") || used("deploy_app") {
        if !used("watch_job") {
            out.push("!watch ID - follow a run and get every change pushed".into());
        }
        if !used("cancel_job") {
            out.push("!cancel ID - stop a running or scheduled run".into());
        }
    }
    if used("deploy_app") {
        if let Some(r) = catalog.job("rollback-app").filter(|r| may_run(&r.id)) {
            if !usage.iter().any(|u| u.job == r.id) {
                out.push(format!(
                    "!run {} app=APP environment=ENV - undo a bad deployment",
                    r.id
                ));
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
            out.push(format!(
                "{} - run it yourself",
                example_command(catalog, job)
            ));
        }
    }
    if !used("list_jobs") {
        out.push("!jobs - every job you can run, with its parameters".into());
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
) -> String {
    let mut text = format!("Your usual requests, {user} (quick commands):");
    for (cmd, n) in quick_commands(usage).into_iter().take(QUICK) {
        text.push_str(&format!(
            "\n  {cmd}   ({n} time{})",
            if n == 1 { "" } else { "s" }
        ));
    }
    let rec = recommendations(catalog, usage, may_run);
    if !rec.is_empty() {
        text.push_str("\nRecommended for you:");
        for r in rec {
            text.push_str(&format!("\n  {r}"));
        }
    }
    text.push_str(
        "\nHelp on a topic: !help deploy, !help schedule, !help cancel, !help history, !help watch, or !help JOB (also \"how do I deploy?\").\nAll commands: !run JOB name=value [at=+10s], !deploy APP ENV [VERSION], !status ID|JOB, !watch ID, !cancel ID, !jobs, !history [JOB], !help",
    );
    text.push('\n');
    text.push_str(&availability(catalog, may_run));
    text
}

fn general(catalog: &Catalog, may_run: &dyn Fn(&str) -> bool) -> String {
    let mut text = String::from(
        "I run and follow jobs for you. Ask in plain English or Chinese, for example:\n",
    );
    let mut examples = Vec::new();
    let allowed: Vec<&nlu::catalog::Job> = catalog.jobs.iter().filter(|j| may_run(&j.id)).collect();
    for job in allowed.iter().take(4) {
        let mut ex = format!("run {}", job.id);
        for p in job.parameters.iter().filter(|p| p.required) {
            ex.push_str(&format!(" {}={}", p.name, example_value(catalog, p)));
        }
        examples.push(ex);
    }
    examples.extend([
        "run backup-database on db-01 tonight at 11pm".to_string(),
        "跑一下数据库备份 db-01".to_string(),
        "status of 1001 / is the backup done yet?".to_string(),
        "watch 1001 / cancel 1001".to_string(),
        "what failed yesterday? / last 5 runs of backup-database".to_string(),
        "list jobs".to_string(),
    ]);
    for e in examples {
        text.push_str(&format!("  - {e}\n"));
    }
    text.push_str(
        "Exact commands (no guessing): !run JOB name=value [at=+10s|RFC3339], !deploy APP ENV [VERSION],\n  !status ID|JOB, !watch ID, !cancel ID, !jobs, !history [JOB] [status=S] [count=N], !help\n",
    );
    text.push_str("Help on a topic: !help deploy, !help schedule, !help cancel, !help history, !help watch, or !help JOB.\n");
    text.push_str(&availability(catalog, may_run));
    text
}

/// How many jobs the user may run, and which of them ask for a yes first.
fn availability(catalog: &Catalog, may_run: &dyn Fn(&str) -> bool) -> String {
    let allowed = catalog.jobs.iter().filter(|j| may_run(&j.id)).count();
    let sensitive: Vec<&str> = catalog
        .jobs
        .iter()
        .filter(|j| j.sensitive && may_run(&j.id))
        .map(|j| j.id.as_str())
        .collect();
    let mut text = format!("{allowed} jobs are available to you (say \"list jobs\").");
    if !sensitive.is_empty() {
        text.push_str(&format!(
            " These ask for a yes first: {}.",
            sensitive.join(", ")
        ));
    }
    text
}

/// Contextual help on one topic.
pub fn topic_help(catalog: &Catalog, t: &Topic) -> String {
    let job = catalog.jobs.first();
    let ex_job = job
        .map(|j| example_command(catalog, j))
        .unwrap_or_else(|| "!run JOB".into());
    match t {
        Topic::Job(id) => match catalog.job(id) {
            Some(j) => job_help(catalog, j),
            None => format!("There is no job `{id}`."),
        },
        Topic::Schedule => format!(
            "Scheduling a run: add a time to the request.\n  Natural language: \"run backup-database on db-01 tonight at 11pm\", \"今晚11点备份数据库 db-01\"\n  Exact: {ex_job} at=+30m   (or at=2026-03-03T23:00:00+01:00)\nScheduled runs survive a restart of the bot; !cancel ID drops one before it starts, !watch ID follows it."
        ),
        Topic::Cancel => "Cancelling a run: it is stopped (SIGTERM to its processes, SIGKILL after a grace period) or, when scheduled, dropped.\n  Natural language: \"cancel 1001\", \"stop the backup\", \"取消 1001\"\n  Exact: !cancel 1001".to_string(),
        Topic::History => format!(
            "Past runs, newest first, with the success rate and the duration trend of a job:\n  Natural language: \"what failed yesterday?\", \"last 5 runs of backup-database\", \"备份数据库的历史\"\n  Exact: !history [JOB] [status=failed] [count=N] [since=-1d]\n  e.g. !history {}",
            job.map(|j| j.id.as_str()).unwrap_or("JOB")
        ),
        Topic::Watch => "Following a run: every change of its status is pushed here, and its summary when it ends.\n  Natural language: \"watch 1001\", \"let me know when 1001 finishes\", \"1001 完成了通知我\"\n  Exact: !watch 1001".to_string(),
        Topic::Status => "The state of a run, or of the latest run of a job:\n  Natural language: \"status of 1001\", \"is the backup done yet?\"\n  Exact: !status 1001, !status backup-database".to_string(),
    }
}

fn natural_example(catalog: &Catalog, job: &Job) -> String {
    let vals = example_params(catalog, job);
    if job.id == "deploy-app" {
        let app = vals.get("app").cloned().unwrap_or_else(|| "api".into());
        let env = vals
            .get("environment")
            .cloned()
            .unwrap_or_else(|| "staging".into());
        return format!("deploy {app} to {env} version 2.4.1");
    }
    let mut s = format!("run {}", job.id);
    for p in job.parameters.iter().filter(|p| p.required) {
        let v = &vals[&p.name];
        match p.kind {
            ParamKind::Host => s.push_str(&format!(" on {v}")),
            ParamKind::Environment => s.push_str(&format!(" in {v}")),
            _ => s.push_str(&format!(" {} {v}", p.name.replace('_', " "))),
        }
    }
    s
}

fn job_help(catalog: &Catalog, job: &Job) -> String {
    let mut text = format!(
        "{}: {}{}",
        job.id,
        if job.description.is_empty() {
            "no description"
        } else {
            &job.description
        },
        if job.sensitive {
            " (asks for a yes before it runs)"
        } else {
            ""
        }
    );
    if job.parameters.is_empty() {
        text.push_str("\nIt takes no parameters.");
    } else {
        text.push_str("\nParameters:");
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
                if p.required { "required" } else { "optional" }
            );
            if let Some(d) = &p.default {
                line.push_str(&format!(", default {d}"));
            }
            let choices = crate::values::known_values(catalog, p);
            if !choices.is_empty() {
                let shown: Vec<&str> = choices.iter().take(6).map(String::as_str).collect();
                line.push_str(&format!(
                    ", one of: {}{}",
                    shown.join(", "),
                    if choices.len() > 6 { ", …" } else { "" }
                ));
            }
            text.push_str(&line);
        }
    }
    text.push_str(&format!("\nExample: \"{}\"", natural_example(catalog, job)));
    let mut exact = example_params(catalog, job);
    if job.id == "deploy-app" {
        exact.insert("version".into(), "2.4.1".into());
    }
    text.push_str(&format!("\nExact: {}", run_command(&job.id, &exact)));
    if job.id == "deploy-app" {
        if let (Some(a), Some(e)) = (exact.get("app"), exact.get("environment")) {
            text.push_str(&format!("\n       !deploy {a} {e} 2.4.1"));
        }
    }
    text.push_str("\nAdd \"tonight at 11pm\" (or at=+30m) to schedule it.");
    text
}
