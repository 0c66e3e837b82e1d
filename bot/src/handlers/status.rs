//! job_status: the state of an execution (by id) or of the latest run of a named job.

use super::{Ctx, Response};
use crate::policy::Action;
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let e = match super::target_execution(ctx, parse, false).await {
        Ok(e) => e,
        Err(msg) => return Response::text(msg),
    };
    if let Some(r) = ctx.refused(&Action::ReadExecution {
        id: e.id,
        job: &e.job,
    }) {
        return r;
    }
    super::full_report(ctx, &e).await
}
