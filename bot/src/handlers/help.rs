//! help: generated from the catalog, so it always matches what can be run.

use super::{Ctx, Response};
use nlu::catalog::ParamKind;
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, _parse: &ParseResult) -> Response {
    let catalog = ctx.bot.platform.catalog();
    let mut text = String::from(
        "I run and follow jobs for you. Ask in plain English or Chinese, for example:\n",
    );
    let mut examples = Vec::new();
    let allowed: Vec<&nlu::catalog::Job> =
        catalog.jobs.iter().filter(|j| ctx.may_run(&j.id)).collect();
    for job in allowed.iter().take(4) {
        let mut ex = format!("run {}", job.id);
        for p in job.parameters.iter().filter(|p| p.required) {
            let v = crate::values::known_values(catalog, p)
                .into_iter()
                .next()
                .unwrap_or_else(|| match p.kind {
                    ParamKind::Integer => "3".into(),
                    ParamKind::Version => "2.4.1".into(),
                    _ => "value".into(),
                });
            ex.push_str(&format!(" {}={v}", p.name));
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
    let sensitive: Vec<&str> = catalog
        .jobs
        .iter()
        .filter(|j| j.sensitive && ctx.may_run(&j.id))
        .map(|j| j.id.as_str())
        .collect();
    text.push_str(&format!(
        "{} jobs are available to you (say \"list jobs\").",
        allowed.len()
    ));
    if !sensitive.is_empty() {
        text.push_str(&format!(
            " These ask for a yes first: {}.",
            sensitive.join(", ")
        ));
    }
    Response::text(text)
}
