//! Names in the catalog that the bot gives a meaning of its own.

/// The job that deploys (`deploy_app` runs it; its environment needs `deploy:` permission).
pub const DEPLOY_JOB: &str = "deploy-app";
