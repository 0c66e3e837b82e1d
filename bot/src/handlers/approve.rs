//! Approvals: `!approve ID`, `!reject ID` and `!approvals` (the pending requests). An
//! approved request runs as its requester's, in the requester's channel.

use super::{Ctx, Response};
use crate::jobs::ExecRequest;
use crate::policy::UserError;

/// Handles the approval commands; `None` when the text is not one.
pub async fn try_handle(ctx: &Ctx<'_>, text: &str) -> Option<Response> {
    let body = text.trim().strip_prefix('!')?;
    let words = crate::util::words::split_words(body).ok()?;
    let cmd = words.first()?.to_lowercase();
    if !matches!(cmd.as_str(), "approve" | "reject" | "approvals") {
        return None;
    }
    let lang = ctx.lang;
    let policy = ctx.bot.policy;
    if !policy.handles_approvals() {
        return Some(Response::text(
            UserError::not_found(tr!(lang, "approvals-not-set-up")).reply(lang),
        ));
    }
    let actor = ctx.actor();
    if cmd == "approvals" {
        let pending = match policy.pending_approvals(&actor) {
            Ok(p) => p,
            Err(e) => return Some(Response::text(e.reply(lang))),
        };
        if pending.is_empty() {
            return Some(Response::text(tr!(lang, "approvals-none")));
        }
        let mut t = tr!(lang, "approvals-header");
        for r in pending {
            t.push_str("\n  ");
            t.push_str(&tr!(
                lang,
                "approvals-line",
                id = r.id,
                job = &r.job,
                params = crate::i18n::format::params(&policy.mask_params(&r.job, &r.params), lang),
                requester = &r.requester,
                reason = r.reason_in(lang),
                role = &r.role,
                expires = crate::i18n::format::time(r.expires_at, ctx.tz(), lang)
            ));
            if let Some(j) = &r.justification {
                t.push_str(&tr!(lang, "approvals-justification", reason = j.as_str()));
            }
        }
        return Some(Response::text(t));
    }
    let approve = cmd == "approve";
    let Some(id) = words
        .get(1)
        .and_then(|w| w.trim_start_matches('#').parse::<i64>().ok())
        .filter(|_| words.len() <= 2 || !approve)
    else {
        return Some(Response::text(
            UserError::invalid(tr!(lang, "approve-usage", command = cmd.as_str()))
                .suggest(tr!(lang, "approve-usage-hint"))
                .reply(lang),
        ));
    };
    let row = match policy.decide_approval(&actor, id, approve) {
        Ok(r) => r,
        Err(e) => return Some(Response::text(e.reply(lang))),
    };
    let params = crate::i18n::format::params(&policy.mask_params(&row.job, &row.params), lang);
    if !approve {
        return Some(Response::text(tr!(
            lang,
            "approval-rejected",
            id = id,
            job = &row.job,
            params = params,
            requester = &row.requester
        )));
    }
    let req = ExecRequest {
        job: row.job.clone(),
        params: row.params.clone(),
        run_at: row.run_at,
        requested_by: row.chat_user.clone(),
        channel: row.channel.clone(),
    };
    let e = match ctx.execute(&actor, req).await {
        Ok(e) => e,
        Err(reply) => return Some(reply),
    };
    policy.record_result(
        &actor,
        Some(&row.job),
        Some(e.id),
        &format!("approved request {id}; started, {}", e.status),
    );
    let mut r = Response::text(tr!(
        lang,
        "approval-approved",
        id = id,
        approver = row.decided_by.as_deref().unwrap_or("?"),
        job = &e.job,
        exec = e.id,
        requester = &row.requester,
        params = params,
        channel = &row.channel
    ));
    if row.channel == ctx.msg.channel && !e.status.is_terminal() {
        r.track.push(e.id);
    }
    Some(r)
}
