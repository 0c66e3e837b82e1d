//! watch_job: subscribes the channel to an execution; every status change is pushed, then a
//! final summary.

use super::{Ctx, Response};
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let e = match super::readable_execution(ctx, parse, true).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    if e.status.is_terminal() {
        let mut r = super::full_report(ctx, &e).await;
        if let Some(t) = r.texts.first_mut() {
            *t = format!("{}\n{t}", tr!(ctx.lang, "watch-already-ended", id = e.id));
        }
        return r;
    }
    if let Err(err) =
        ctx.bot
            .store
            .follows()
            .subscribe(e.id, &ctx.msg.channel, &ctx.msg.user, ctx.now)
    {
        return Response::text(crate::policy::UserError::internal(ctx.lang, err).reply(ctx.lang));
    }
    // it may have ended while we subscribed
    let e = ctx.bot.platform.status(e.id).await.unwrap_or(e);
    if e.status.is_terminal() {
        return super::full_report(ctx, &e).await;
    }
    let lang = ctx.lang;
    let state = match e.status {
        crate::jobs::Status::Running => tr!(
            lang,
            "watch-running-for",
            took = e
                .duration(ctx.now)
                .map(crate::i18n::format::duration)
                .unwrap_or_default()
        ),
        _ if e.run_at > ctx.now => tr!(
            lang,
            "watch-scheduled-for",
            at = crate::i18n::format::time(e.run_at, ctx.tz(), lang)
        ),
        _ => tr!(lang, "watch-queued"),
    };
    let mut r = Response::text(tr!(
        lang,
        "watching",
        id = e.id,
        job = &e.job,
        state = state
    ));
    r.track.push(e.id);
    r
}
