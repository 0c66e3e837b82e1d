//! job_history: past executions filtered by job, status, time range and count.

use super::{entity, time_range, Ctx, Response};
use crate::jobs::{HistoryQuery, Status};
use crate::policy::Action;
use nlu::{EntityKind, ParseResult};

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    if let Some(r) = ctx.refused(&Action::ReadHistory) {
        return r;
    }
    let catalog = ctx.bot.platform.catalog();
    let lang = ctx.lang;
    let mut q = HistoryQuery {
        limit: 10,
        ..Default::default()
    };
    let mut filters = Vec::new();
    if let Some(j) = entity(parse, EntityKind::JOB) {
        match crate::values::resolve_job(catalog, j) {
            Some(job) => {
                q.job = Some(job.id.clone());
                filters.push(tr!(lang, "filter-job", job = &job.id));
            }
            None => {
                return Response::text(match crate::values::suggest_job(catalog, j) {
                    Some(s) => tr!(lang, "unknown-job-did-you-mean", name = j, suggestion = s),
                    None => tr!(lang, "unknown-job", name = j),
                })
            }
        }
    }
    if let Some(s) = entity(parse, EntityKind::STATUS) {
        match Status::parse(s) {
            Some(st) => {
                q.status = Some(st);
                filters.push(tr!(
                    lang,
                    "filter-status",
                    status = crate::render::status(st, lang)
                ));
            }
            None => {
                return Response::text(tr!(
                    lang,
                    "not-a-status",
                    status = s,
                    statuses = Status::ALL.map(|s| s.as_str()).join(", ")
                ))
            }
        }
    }
    if let Some(t) = entity(parse, EntityKind::TIME) {
        match time_range(t) {
            Some((start, Some(end))) => {
                q.since = Some(start);
                q.until = Some(end);
                if start.timestamp() > 0 {
                    filters.push(tr!(
                        lang,
                        "filter-from",
                        at = crate::i18n::format::time(start, ctx.tz(), lang)
                    ));
                }
                if end < ctx.now {
                    filters.push(tr!(
                        lang,
                        "filter-until",
                        at = crate::i18n::format::time(end, ctx.tz(), lang)
                    ));
                }
            }
            Some((start, None)) => {
                q.since = Some(start);
                filters.push(tr!(
                    lang,
                    "filter-since",
                    at = crate::i18n::format::time(start, ctx.tz(), lang)
                ));
            }
            None => {}
        }
    }
    if let Some(n) = entity(parse, EntityKind::COUNT) {
        if let Ok(n) = n.parse::<usize>() {
            q.limit = n.clamp(1, 100);
        }
    }
    let runs = match ctx.bot.platform.history(q.clone()).await {
        Ok(r) => r,
        Err(e) => {
            return Response::text(
                crate::policy::UserError::platform(tr!(lang, "history-failed"), e).reply(lang),
            )
        }
    };
    let what = if filters.is_empty() {
        String::new()
    } else {
        tr!(
            lang,
            "history-filters",
            filters = filters.join(&tr!(lang, "list-separator"))
        )
    };
    if runs.is_empty() {
        return Response::text(tr!(lang, "history-none", filters = what));
    }
    let mut text = tr!(lang, "history-header", count = runs.len(), filters = what);
    for e in &runs {
        text.push('\n');
        text.push_str(&crate::render::history_line(e, ctx.tz(), lang, ctx.now));
    }
    let ended: Vec<_> = runs
        .iter()
        .filter(|e| e.status.is_terminal() && e.status != Status::Cancelled)
        .collect();
    if ended.len() >= 2 && q.status.is_none() {
        let ok = ended
            .iter()
            .filter(|e| e.status == Status::Succeeded)
            .count();
        text.push('\n');
        text.push_str(&tr!(
            lang,
            "history-success-rate",
            ok = ok,
            runs = ended.len(),
            percent = ok * 100 / ended.len()
        ));
    }
    // the trend of one job: its duration over recent runs, and its failures by cause
    let mut charts = Vec::new();
    let job = q.job.clone().or_else(|| {
        let first = &runs[0].job;
        (runs.len() >= 2 && runs.iter().all(|e| &e.job == first)).then(|| first.clone())
    });
    if let Some(job) = job {
        let recent = ctx
            .bot
            .platform
            .history(HistoryQuery {
                job: Some(job.clone()),
                limit: crate::render::charts::MAX_RUNS,
                ..Default::default()
            })
            .await
            .unwrap_or_default();
        let charts_of = [
            crate::render::charts::Chart::duration(&job, &recent),
            crate::render::charts::Chart::failures(&job, &recent),
        ];
        charts.extend(charts_of.into_iter().flatten().map(|c| c.in_lang(lang)));
    }
    Response {
        texts: vec![crate::render::with_chart_texts(text, &charts)],
        charts,
        ..Default::default()
    }
}
