//! cancel_job: stops a running or scheduled execution (SIGTERM to its process group, SIGKILL
//! after the grace period) and answers once it is really gone.

use super::{Ctx, Response};
use crate::jobs::PlatformError;
use crate::policy::Action;
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let e = match super::target_execution(ctx, parse, true).await {
        Ok(e) => e,
        Err(msg) => return Response::text(msg),
    };
    let lang = ctx.lang;
    if e.status.is_terminal() {
        return Response::text(tr!(
            lang,
            "cancel-already-ended",
            id = e.id,
            job = &e.job,
            status = crate::render::status(e.status, lang)
        ));
    }
    if let Some(r) = ctx.refused(&Action::Cancel {
        id: e.id,
        job: &e.job,
        reason: super::stated_reason(parse),
    }) {
        return r;
    }
    match ctx
        .bot
        .platform
        .cancel(e.id, ctx.msg.user.clone(), ctx.msg.channel.clone())
        .await
    {
        Ok(done) => {
            let mut text = crate::render::headline(&done, lang, crate::clock::now());
            if done.started_at.is_some() {
                text.push_str(&tr!(lang, "cancel-processes-gone"));
            }
            let tail = done.last_lines(crate::render::TAIL_LINES);
            if !tail.is_empty() {
                text.push('\n');
                text.push_str(&tr!(lang, "cancel-last-output"));
                for l in tail {
                    text.push_str("\n  | ");
                    text.push_str(l);
                }
            }
            Response::text(text)
        }
        Err(PlatformError::AlreadyEnded { id, status }) => Response::text(tr!(
            lang,
            "cancel-already-ended-id",
            id = id,
            status = crate::render::status(status, lang)
        )),
        Err(err) => Response::text(
            crate::policy::UserError::platform(tr!(lang, "cancel-failed", id = e.id), err)
                .reply(lang),
        ),
    }
}
