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
                return Response::text(format!(
                    "I'm not sure what you want me to do. If you meant the job `{s}`, try \"run {s}\"."
                ));
            }
        }
    }
    let example = catalog
        .jobs
        .first()
        .map(|j| format!("\"run {}\", ", j.id))
        .unwrap_or_default();
    Response::text(format!(
        "Sorry, I can't help with that. I can run jobs and tell you how they went: try {example}\"list jobs\", \"what failed today?\" or \"help\"."
    ))
}
