//! The fixtures the bot's tests share: pieces of a configuration (TOML, each starting and
//! ending with a line break) that a test file puts together with its own, job scripts, the
//! bot's folder holding both, and the bot in-process.

use bot::config::Config;
use bot::jobs::local::LocalPlatform;
use bot::policy::Policy;
use bot::store::Store;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

/// The pieces, one after another.
pub fn config(pieces: &[&str]) -> String {
    pieces.concat()
}

/// `[bot]` in UTC with `keys` added, and the database `bot.sqlite` in the bot's folder.
pub fn bot_section(keys: &str) -> String {
    format!("\n[bot]\ntime_zone = \"UTC\"\n{keys}\n\n[storage]\npath = \"bot.sqlite\"\n")
}

/// The hosts `db-01` and `db-02`.
pub const HOSTS: &str = r#"
[[hosts]]
id = "db-01"
[[hosts]]
id = "db-02"
"#;

/// The app `api`; `staging`, and `production` alias `prod`.
pub const API_AND_ENVIRONMENTS: &str = r#"
[[apps]]
id = "api"
[[environments]]
id = "staging"
[[environments]]
id = "production"
aliases = ["prod"]
"#;

/// A job's required parameters `app` and `environment`; `environment` comes last, so keys
/// that follow are its own.
pub const APP_AND_ENVIRONMENT: &str = r#"
  [[jobs.parameters]]
  name = "app"
  kind = "app"
  required = true
  [[jobs.parameters]]
  name = "environment"
  kind = "environment"
  required = true
"#;

// Every job piece ends with its `[jobs.run]` table ([`job`] adds to it).

/// `backup-database`: `scripts/quick.sh` for a host (`target`).
pub const BACKUP_DATABASE: &str = r#"
[[jobs]]
id = "backup-database"
description = "Back up a database host"
  [[jobs.parameters]]
  name = "target"
  kind = "host"
  required = true
  [jobs.run]
  argv = ["scripts/quick.sh"]
"#;

/// `deploy-app`, sensitive: `scripts/quick.sh` for an app and an environment.
pub fn deploy_app() -> String {
    format!(
        r#"
[[jobs]]
id = "deploy-app"
description = "Deploy an application"
sensitive = true
{APP_AND_ENVIRONMENT}  [jobs.run]
  argv = ["scripts/quick.sh"]
"#
    )
}

/// `flaky-task`: `scripts/fail.sh`.
pub const FLAKY_TASK: &str = r#"
[[jobs]]
id = "flaky-task"
description = "Always fails"
  [jobs.run]
  argv = ["scripts/fail.sh"]
"#;

/// `long-task`: `scripts/sleep.sh` (a minute), its pid in `{job}-{execution_id}.pid`.
pub const LONG_TASK: &str = r#"
[[jobs]]
id = "long-task"
description = "Runs for a minute"
  [jobs.run]
  argv = ["scripts/sleep.sh"]
  env = { PID_FILE = "{job}-{execution_id}.pid" }
  timeout = "2m"
"#;

/// `piece` (a job) with `keys` added to the job's own table and `run` to its `[jobs.run]`.
pub fn job(piece: &str, keys: &str, run: &str) -> String {
    // the job's own keys end where its first sub-table begins
    let at = piece.find("\n  [").expect("a job piece has sub-tables") + 1;
    let (own, tables) = piece.split_at(at);
    format!("{own}{keys}\n{tables}  {run}\n")
}

/// Says it starts (with the job and the target) and, 0.3 s later, that it is done.
pub const QUICK_SH: (&str, &str) = (
    "quick.sh",
    "#!/bin/sh\necho \"start ${JOB_ID} ${JOB_PARAM_TARGET:-}\"\nsleep 0.3\necho \"done ${JOB_ID}\"\n",
);

/// Writes its pid to `$PID_FILE` and sleeps a minute.
pub const SLEEP_SH: (&str, &str) = (
    "sleep.sh",
    "#!/bin/sh\necho $$ > \"$PID_FILE\"\necho sleeping\nsleep 60\necho never\n",
);

/// Writes the bot's folder: `bot.toml` holding `config`, and the executable job `scripts`
/// (name, text) in `scripts/`.
pub fn write_bot_folder(dir: &Path, config: &str, scripts: &[(&str, &str)]) {
    std::fs::write(dir.join("bot.toml"), config).unwrap();
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    for (name, body) in scripts {
        let p = dir.join("scripts").join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The bot's folder ([`write_bot_folder`]) in a new temporary folder.
pub fn bot_folder(config: &str, scripts: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_bot_folder(dir.path(), config, scripts);
    dir
}

/// The bot in-process without the language model: `config`, its database `db.sqlite` in
/// `dir`, and the policy `policy` makes of the two.
pub fn in_process_bot(
    config: Config,
    dir: &Path,
    policy: impl FnOnce(Arc<Config>, Arc<Store>) -> Arc<dyn Policy>,
) -> bot::Bot {
    let config = Arc::new(config);
    let store = Arc::new(Store::open(&dir.join("db.sqlite")).unwrap());
    let platform = LocalPlatform::new(&config, store.clone());
    bot::Bot {
        policy: policy(config.clone(), store.clone()),
        config,
        store,
        platform: Arc::new(platform),
        parser: None,
    }
}

/// The bot's own policy (roles, approvals, windows, rate limits), for [`in_process_bot`].
pub fn guard(config: Arc<Config>, store: Arc<Store>) -> Arc<dyn Policy> {
    Arc::new(bot::policy::Guard::new(config, store))
}
