//! out_of_scope: a friendly fallback that suggests what to try.

use super::{Ctx, Response};
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let catalog = ctx.bot.platform.catalog();
    // a word that looks like a job name gets a suggestion
    for w in parse
        .text
        .split(|c: char| c.is_whitespace() || ",.;:!?".contains(c))
    {
        if w.len() >= 4 && w.contains('-') && crate::values::resolve_job(catalog, w).is_none() {
            if let Some(s) = crate::values::suggest_job(catalog, w) {
                return Response::text(tr!(ctx.lang, "fallback-job", job = s));
            }
        }
    }
    Response::text(match catalog.jobs.first() {
        Some(j) => tr!(ctx.lang, "fallback-with-job", job = &j.id),
        None => tr!(ctx.lang, "fallback"),
    })
}
