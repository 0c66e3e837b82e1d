//! deploy_app: runs the `deploy-app` job with the app, environment and version found.

use super::{Ctx, Response};
use crate::intent::Intent;
use nlu::ParseResult;

pub use crate::domain::catalog::DEPLOY_JOB;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    if ctx.bot.platform.catalog().job(DEPLOY_JOB).is_none() {
        return Response::text(tr!(ctx.lang, "deploy-not-set-up", job = DEPLOY_JOB));
    }
    super::run::start(ctx, parse, Intent::DeployApp, Some(DEPLOY_JOB.to_string())).await
}
