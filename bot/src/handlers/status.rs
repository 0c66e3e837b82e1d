//! job_status: the state of an execution (by id) or of the latest run of a named job.

use super::{Ctx, Response};
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let e = match super::readable_execution(ctx, parse, false).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    super::full_report(ctx, &e).await
}
