//! watch_job: subscribes the channel to an execution; every status change is pushed, then a
//! final summary.

use super::{Ctx, Response};
use crate::policy::Action;
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let e = match super::target_execution(ctx, parse, true).await {
        Ok(e) => e,
        Err(msg) => return Response::text(msg),
    };
    if let Some(r) = ctx.refused(&Action::ReadExecution {
        id: e.id,
        job: &e.job,
    }) {
        return r;
    }
    if e.status.is_terminal() {
        let mut r = super::full_report(ctx, &e).await;
        if let Some(t) = r.texts.first_mut() {
            *t = format!("#{} has already ended.\n{t}", e.id);
        }
        return r;
    }
    if let Err(err) = ctx
        .bot
        .store
        .subscribe(e.id, &ctx.msg.channel, &ctx.msg.user, ctx.now)
    {
        return Response::text(crate::policy::UserError::internal(err).reply());
    }
    // it may have ended while we subscribed
    let e = ctx.bot.platform.status(e.id).await.unwrap_or(e);
    if e.status.is_terminal() {
        return super::full_report(ctx, &e).await;
    }
    let state = match e.status {
        crate::jobs::Status::Running => format!(
            "running for {}",
            e.duration(ctx.now)
                .map(crate::render::duration)
                .unwrap_or_default()
        ),
        _ if e.run_at > ctx.now => {
            format!("scheduled for {}", crate::render::time(e.run_at, ctx.tz()))
        }
        _ => "queued".to_string(),
    };
    let mut r = Response::text(format!(
        "Watching #{} {} ({state}). I'll post every change here.",
        e.id, e.job
    ));
    r.track.push(e.id);
    r
}
