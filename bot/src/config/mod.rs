//! The bot's configuration: one TOML file holding the job catalog (the format of
//! `config/catalog.toml`), how each job runs (`[jobs.run]`), the storage location, the time
//! zone and the adapters.
//!
//! ```toml
//! [bot]
//! time_zone = "Europe/Berlin"   # replies and time expressions use this zone
//! dialog_timeout = "10m"        # a question left unanswered this long is dropped
//! cancel_grace = "5s"           # SIGTERM, then SIGKILL after this long
//!
//! [storage]
//! path = "../.cache/bot/demo.sqlite"   # relative to this file
//!
//! [scheduler]                   # see jobs::overdue
//! overdue = "skip"              # a run more than max_late late: "skip" (default) or "run"
//! max_late = "1h"
//! max_ahead = "30d"             # the furthest a run may be scheduled ahead
//!
//! [adapters.terminal]
//! enabled = true
//! charts_dir = "../.cache/bot/charts"   # optional: also write reply charts as PNG files
//!
//! [adapters.slack]                       # `bot slack`; secrets never go in this file
//! listen = "127.0.0.1:3000"              # the HTTP endpoints (--listen overrides it)
//! api_base = "https://slack.com/api"     # the Web API (a local mock in tests)
//! token_file = "/run/secrets/slack-token"            # else $BOT_SLACK_TOKEN
//! signing_secret_file = "/run/secrets/slack-signing" # else $BOT_SLACK_SIGNING_SECRET
//! bot_user_id = "U0BOT"                  # optional: found with auth.test at start
//! [adapters.matrix]                     # `bot matrix`; see adapters::matrix::config
//! homeserver = "https://matrix.example.org"
//! user_id = "@opsbot:example.org"       # token: $BOT_MATRIX_TOKEN or access_token_file
//!
//! [[jobs]]
//! id = "backup-database"
//!   [[jobs.parameters]]
//!   name = "target"
//!   kind = "host"
//!   required = true
//!   [jobs.run]
//!   argv = ["jobs/backup.sh", "{target}"]   # relative paths: from this file's folder
//!   env = { BACKUP_DIR = "/tmp" }
//!   timeout = "2m"
//!   concurrency = 1
//! ```
//!
//! Parameters reach a job as environment variables `JOB_PARAM_<NAME>` (upper case, other
//! characters as `_`) and through `{name}` placeholders in `argv`; never through a shell.

// Errors carry the file and line for a helpful message; they happen once, at start.
#![allow(clippy::result_large_err)]

mod durations;
pub mod env_secrets;
mod general;
mod jobs;
pub mod matrix;
pub mod permissions;
pub mod scheduler;
pub mod security;
pub mod slack;
mod source;
pub mod ssh;
pub mod storage;
mod terminal;
pub mod windows;

pub use durations::{duration_value, parse_duration};
pub use general::OutputLimits;
pub use jobs::{param_env_name, placeholders, substitute, RunSpec, BUILTIN_PLACEHOLDERS};
use scheduler::{scheduler_config, RawScheduler};
use slack::{slack_config, RawSlack};
pub use slack::{SlackConfig, SLACK_DEFAULT_API, SLACK_DEFAULT_LISTEN};
use source::Lines;
pub use storage::default_database;
pub use terminal::TerminalConfig;

use chrono_tz::Tz;
use nlu::{Catalog, CatalogError};
use scheduler::SchedulerConfig;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Why the configuration could not be loaded; every message names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read the configuration: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

impl ConfigError {
    /// The 1-based line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Catalog(e) => e.line(),
            ConfigError::Invalid { line, .. } => Some(*line),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// Relative paths are resolved from here (the file's folder).
    pub base_dir: PathBuf,
    pub catalog: Catalog,
    /// Run specification per job id (every catalog job has one).
    pub runs: HashMap<String, RunSpec>,
    /// Chinese descriptions of jobs (`description_zh`), by job id.
    pub descriptions_zh: HashMap<String, String>,
    pub time_zone: Tz,
    pub database: PathBuf,
    pub dialog_timeout: Duration,
    pub cancel_grace: Duration,
    pub output: OutputLimits,
    pub terminal: TerminalConfig,
    pub slack: SlackConfig,
    /// `[adapters.matrix]`, when present (`bot matrix`).
    pub matrix: Option<matrix::MatrixConfig>,
    /// The parser's model directory (default: found like `nlu` finds it).
    pub model_dir: Option<PathBuf>,
    /// `[storage] audit_key_file`: the audit key's file (default: next to the database;
    /// `$BOT_AUDIT_KEY` wins), see the store's `audit_key` module.
    pub audit_key_file: Option<PathBuf>,
    /// `[storage] audit_checkpoints`: where signed checkpoints are appended (default: next to
    /// the database).
    pub audit_checkpoints: Option<PathBuf>,
    /// Access, approvals, change windows, rate limits, input limits.
    pub security: security::SecurityConfig,
    /// Late and far-future scheduled runs (`[scheduler]`).
    pub scheduler: SchedulerConfig,
    /// How the catalog's hosts are reached, for jobs that run `on` one (`[ssh]`).
    pub ssh: ssh::SshConfig,
}

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    bot: general::RawBot,
    #[serde(default)]
    storage: storage::RawStorage,
    #[serde(default)]
    adapters: RawAdapters,
    #[serde(default)]
    nlu: general::RawNlu,
    #[serde(default)]
    scheduler: RawScheduler,
    #[serde(default)]
    jobs: Vec<jobs::RawJob>,
    #[serde(default)]
    hosts: Vec<ssh::RawHost>,
    #[serde(default)]
    ssh: ssh::RawSsh,
    // the security sections ([`security`])
    #[serde(default)]
    security: security::RawLimits,
    access: Option<security::RawAccess>,
    #[serde(default)]
    approvals: Vec<security::RawApproval>,
    #[serde(default)]
    windows: Vec<security::RawWindow>,
    #[serde(default)]
    rate_limit: security::RawRateLimit,
}

#[derive(Deserialize, Default)]
struct RawAdapters {
    terminal: Option<terminal::RawTerminal>,
    matrix: Option<Spanned<matrix::RawMatrix>>,
    slack: Option<RawSlack>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        let base = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."));
        let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        Config::from_toml_str(&text, &file, &base)
    }

    /// Parses a configuration; `origin` names it in errors, `base_dir` resolves relative paths.
    pub fn from_toml_str(text: &str, origin: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let catalog = Catalog::from_toml_str(text, origin)?;
        let l = Lines {
            text,
            file: origin.to_string(),
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            l.err(
                offset,
                format!("invalid configuration: {}", e.message().trim()),
            )
        })?;

        let resolve = |p: &str| -> PathBuf {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                base_dir.join(p)
            }
        };
        let bot = general::bot_settings(&l, &raw.bot)?;
        let scheduler = scheduler_config(&l, &raw.scheduler)?;
        let storage = storage::storage_settings(&l, &raw.storage, &resolve)?;
        let terminal = terminal::terminal_config(raw.adapters.terminal, &resolve);
        let slack = match &raw.adapters.slack {
            Some(s) => slack_config(&l, s, &resolve)?,
            None => SlackConfig::default(),
        };
        let matrix = match raw.adapters.matrix {
            Some(m) => Some(matrix::MatrixConfig::from_raw(
                m,
                &|offset, message| l.err(offset, message),
                &resolve,
            )?),
            None => None,
        };
        let jobs = jobs::job_runs(&l, &raw.jobs, &catalog, base_dir, &resolve)?;
        let ssh = ssh::ssh_config(&l, &raw.ssh, &raw.hosts, &resolve)?;
        let sections = security::RawFile {
            security: raw.security,
            access: raw.access,
            approvals: raw.approvals,
            windows: raw.windows,
            rate_limit: raw.rate_limit,
        };
        let security = security::SecurityConfig::from_raw(sections, &catalog)
            .map_err(|e| l.err(e.offset, e.message))?;
        Ok(Config {
            security,
            path: PathBuf::from(origin),
            base_dir: base_dir.to_path_buf(),
            catalog,
            runs: jobs.runs,
            descriptions_zh: jobs.descriptions_zh,
            time_zone: bot.time_zone,
            database: storage.database,
            dialog_timeout: bot.dialog_timeout,
            cancel_grace: bot.cancel_grace,
            output: bot.output,
            terminal,
            slack,
            matrix,
            model_dir: general::model_dir(&raw.nlu, &resolve),
            audit_key_file: storage.audit_key_file,
            audit_checkpoints: storage.audit_checkpoints,
            scheduler,
            ssh,
        })
    }
}

impl Config {
    /// A job's description in `lang` (the English one when there is no Chinese one), or None
    /// when it has none.
    pub fn job_description<'a>(
        &'a self,
        job: &'a nlu::catalog::Job,
        lang: crate::i18n::Lang,
    ) -> Option<&'a str> {
        let zh = (lang == crate::i18n::Lang::Zh)
            .then(|| self.descriptions_zh.get(&job.id))
            .flatten();
        zh.map(String::as_str)
            .or((!job.description.is_empty()).then_some(job.description.as_str()))
    }

    /// The file signed audit checkpoints are appended to.
    pub fn audit_checkpoints_path(&self) -> PathBuf {
        self.audit_checkpoints
            .clone()
            .unwrap_or_else(|| storage::default_checkpoints(&self.database))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const GOOD: &str = r#"
[bot]
time_zone = "Asia/Shanghai"
cancel_grace = "2s"

[storage]
path = "data/bot.sqlite"

[[hosts]]
id = "db-01"

[[jobs]]
id = "backup-database"
  [[jobs.parameters]]
  name = "target"
  kind = "host"
  required = true
  [jobs.run]
  argv = ["jobs/backup.sh", "--to", "{target}", "{execution_id}"]
  env = { MODE = "fast" }
  timeout = "90s"
  concurrency = 2
"#;

    #[test]
    fn loads_a_good_config() {
        let c = Config::from_toml_str(GOOD, "bot.toml", Path::new("/etc/bot")).unwrap();
        assert_eq!(c.time_zone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.cancel_grace, Duration::from_secs(2));
        assert_eq!(c.database, PathBuf::from("/etc/bot/data/bot.sqlite"));
        let r = &c.runs["backup-database"];
        assert_eq!(r.argv[0], "/etc/bot/jobs/backup.sh");
        assert_eq!(r.timeout, Duration::from_secs(90));
        assert_eq!(r.concurrency, 2);
        assert_eq!(r.env["MODE"], "fast");
        assert_eq!(r.cwd, PathBuf::from("/etc/bot"));
        assert!(c.catalog.job("backup-database").is_some());
    }

    fn err(text: &str) -> ConfigError {
        Config::from_toml_str(text, "bot.toml", Path::new("/x")).unwrap_err()
    }

    #[test]
    fn missing_run_spec_names_the_line() {
        let e = err("[[jobs]]\nid = \"a\"\n\n[[jobs]]\nid = \"b\"\n[jobs.run]\nargv = [\"x\"]\n");
        assert_eq!(e.line(), Some(2), "{e}");
        assert!(
            e.to_string().starts_with("bot.toml:2: job `a` has no run"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_have_lines() {
        let e = err("[bot]\ntime_zone = \"UTC\"\nfoo = [\n");
        assert!(e.line().is_some(), "{e}");
        let e = err("[bot]\ntime_zone = \"Mars/Olympus\"\n");
        assert_eq!(e.line(), Some(2), "{e}");
        assert!(e.to_string().contains("unknown time zone"), "{e}");
        let e = err("[bot]\n\ncancel_grace = \"soon\"\n");
        assert_eq!(e.line(), Some(3), "{e}");
        let e = err("[bot]\ncolour = \"blue\"\n");
        assert_eq!(e.line(), Some(2), "{e}");
    }

    #[test]
    fn unknown_placeholder_and_bad_values() {
        let e = err("[[jobs]]\nid = \"a\"\n[jobs.run]\nargv = [\"x\", \"{nope}\"]\n");
        assert_eq!(e.line(), Some(4), "{e}");
        assert!(e.to_string().contains("{nope}"), "{e}");
        let e = err("[[jobs]]\nid = \"a\"\n[jobs.run]\nargv = []\n");
        assert_eq!(e.line(), Some(4), "{e}");
        let e = err("[[jobs]]\nid = \"a\"\n[jobs.run]\nargv = [\"x\"]\nconcurrency = 0\n");
        assert_eq!(e.line(), Some(5), "{e}");
        let e = err("[[jobs]]\nid = \"a\"\n[jobs.run]\nargv = [\"x\"]\ntimeout = \"forever\"\n");
        assert_eq!(e.line(), Some(5), "{e}");
        // catalog errors come through with their line
        let e = err("[[jobs]]\nid = \"a\"\n[[jobs]]\nid = \"a\"\n");
        assert_eq!(e.line(), Some(4), "{e}");
    }

    /// A catalog for the security sections (lines 1-14), then `extra` from line 15 on.
    fn secured(extra: &str) -> String {
        let head = "[[environments]]\nid = \"production\"\n[[environments]]\nid = \"staging\"\n\
                    [[apps]]\nid = \"payments-api\"\naliases = [\"payments\"]\n[[apps]]\nid = \"web\"\n\
                    [[jobs]]\nid = \"deploy-app\"\n[jobs.run]\nargv = [\"x\"]\n\n";
        assert_eq!(head.lines().count(), 14);
        format!("{head}{extra}")
    }

    /// The error's line and message (without `file:line: `).
    fn security_err(extra: &str) -> (Option<usize>, String) {
        let e = err(&secured(extra));
        let text = e.to_string();
        let message = text.splitn(3, ':').nth(2).unwrap_or("").trim().to_string();
        (e.line(), message)
    }

    const ROLES: &str =
        "[access]\n  [access.roles]\n  deployer = [\"deploy:*\"]\n  viewer = [\"status\"]\n";

    #[test]
    fn security_sections_load_with_a_catalog() {
        let c = Config::from_toml_str(
            &secured(&format!(
                "{ROLES}  payments = [\"app:payments-api\", \"app:*\", \"run:deploy-*\", \"env:staging\", \"cancel\", \"*\"]\n\
                 [[access.users]]\nname = \"ann\"\nroles = [\"deployer\", \"payments\"]\n\
                 [[approvals]]\nenvironments = [\"production\"]\nrole = \"viewer\"\ntimeout = 90\n\
                 [[windows]]\nenvironment = \"production\"\nhours = \"09:00-17:00\"\n\
                 [rate_limit]\nper_user = {{ capacity = 2, refill = \"3s\" }}\n"
            )),
            "bot.toml",
            Path::new("/x"),
        )
        .unwrap();
        let access = c.security.access.unwrap();
        assert_eq!(access.roles["payments"][0], "app:payments-api");
        assert_eq!(c.security.approvals[0].timeout, Duration::from_secs(90));
        assert_eq!(c.security.windows[0].hours, Some((9 * 60, 17 * 60)));
    }

    #[test]
    fn bad_role_permission_names_its_line_and_the_fix() {
        let (line, m) = security_err(
            "[access]\n  [access.roles]\n  runner = [\n    \"run:*\",\n    \"deplyo:production\",\n  ]\n",
        );
        assert_eq!(line, Some(19), "{m}");
        assert!(
            m.starts_with("role `runner`: `deplyo:production` is not a permission; did you mean `deploy:production`? Write one of run:JOB, deploy:ENVIRONMENT"),
            "{m}"
        );
        // a permission on an app that the catalog does not have
        let (line, m) = security_err(&format!("{ROLES}  payments = [\"app:payment-api\"]\n"));
        assert_eq!(line, Some(19), "{m}");
        assert!(
            m.starts_with("role `payments`: `app:payment-api` names no app of the catalog; did you mean `app:payments-api`? Write `app:NAME` with one of its apps (payments-api, web) or `app:*`"),
            "{m}"
        );
        // an alias instead of the id
        let (line, m) = security_err(&format!("{ROLES}  payments = [\"app:payments\"]\n"));
        assert_eq!(line, Some(19), "{m}");
        assert_eq!(
            m,
            "role `payments`: `app:payments` names an alias; write the app's id: `app:payments-api`"
        );
        let (line, m) = security_err(&format!("{ROLES}  ops = [\"env:prod\", \"list:jobs\"]\n"));
        assert_eq!(line, Some(19), "{m}");
        assert!(m.contains("did you mean `env:production`?"), "{m}");
        let (_, m) = security_err(&format!("{ROLES}  ops = [\"list:jobs\"]\n"));
        assert_eq!(m, "role `ops`: `list:jobs` takes no `:jobs`; write `list`");
    }

    #[test]
    fn unknown_user_role_names_its_line_and_the_fix() {
        let (line, m) = security_err(&format!(
            "{ROLES}[[access.users]]\nname = \"ann\"\nroles = [\n  \"viewer\",\n  \"deployr\",\n]\n"
        ));
        assert_eq!(line, Some(23), "{m}");
        assert_eq!(
            m,
            "user `ann` has an unknown role `deployr`; did you mean `deployer`? Roles under [access.roles]: deployer, viewer"
        );
        let (line, m) = security_err(&format!("{ROLES}default_role = \"guest\"\n"));
        // `default_role` after the roles table belongs to [access.roles]: a role `default_role`
        // whose value is not a list
        assert_eq!(line, Some(19), "{m}");
        let (line, m) = security_err(
            "[access]\ndefault_role = \"guest\"\n  [access.roles]\n  viewer = [\"status\"]\n",
        );
        assert_eq!(line, Some(16), "{m}");
        assert!(
            m.contains("unknown role `guest`. Roles under [access.roles]: viewer"),
            "{m}"
        );
    }

    #[test]
    fn bad_window_hours_name_their_line_and_the_fix() {
        let (line, m) = security_err(
            "[[windows]]\nenvironment = \"production\"\ndays = [\"mon\"]\nhours = \"9-17\"\noutside = \"refuse\"\n",
        );
        assert_eq!(line, Some(18), "{m}");
        assert_eq!(
            m,
            "window `production`: hours `9-17` must be \"HH:MM-HH:MM\" with the start before the end, in the bot's time zone; write e.g. hours = \"09:00-17:00\""
        );
        let (line, m) =
            security_err("[[windows]]\nenvironment = \"production\"\nhours = \"17:00-09:00\"\n");
        assert_eq!(line, Some(17), "{m}");
        let (line, m) = security_err("[[windows]]\nenvironment = \"prodution\"\n");
        assert_eq!(line, Some(16), "{m}");
        assert!(m.contains("did you mean `production`?"), "{m}");
        let (line, m) =
            security_err("[[windows]]\nenvironment = \"production\"\ndays = [\"mon\", \"fry\"]\n");
        assert_eq!(line, Some(17), "{m}");
        assert!(
            m.contains("write mon, tue, wed, thu, fri, sat or sun"),
            "{m}"
        );
    }

    #[test]
    fn bad_rate_limit_refill_names_its_line_and_the_fix() {
        let (line, m) = security_err(
            "[rate_limit]\nglobal = { capacity = 100, refill = \"200ms\" }\nper_user = { capacity = 2, refill = \"soon\" }\n",
        );
        assert_eq!(line, Some(17), "{m}");
        assert_eq!(
            m,
            "rate_limit.per_user: `refill` (how often one more command is allowed) must be a positive duration; write e.g. refill = \"3s\" or \"200ms\""
        );
        let (line, m) =
            security_err("[rate_limit]\n\nper_user = { capacity = 0, refill = \"1s\" }\n");
        assert_eq!(line, Some(17), "{m}");
        assert!(m.contains("`capacity` must be at least 1"), "{m}");
    }

    #[test]
    fn bad_approval_timeout_names_its_line_and_the_fix() {
        let (line, m) = security_err(&format!(
            "{ROLES}\n[[approvals]]\nenvironments = [\"production\"]\nrole = \"viewer\"\ntimeout = \"whenever\"\n"
        ));
        assert_eq!(line, Some(23), "{m}");
        assert_eq!(
            m,
            "approval rule: `timeout` (how long a request waits for an approver) must be a positive duration; write e.g. timeout = \"30m\" or \"2h\""
        );
        let (line, m) = security_err(
            "[[approvals]]\nenvironments = [\"production\", \"stagin\"]\nrole = \"x\"\n",
        );
        assert_eq!(line, Some(16), "{m}");
        assert!(m.contains("did you mean `staging`?"), "{m}");
        // unknown fields in the newer sections are at their line too
        let (line, m) = security_err("[[approvals]]\nrole = \"x\"\ntimeuot = \"1m\"\n");
        assert_eq!(line, Some(17), "{m}");
        assert!(m.contains("unknown field `timeuot`"), "{m}");
    }

    #[test]
    fn slack_settings_and_refused_secrets() {
        let c = Config::from_toml_str(
            "[adapters.slack]\nlisten = \"0.0.0.0:8080\"\napi_base = \"http://127.0.0.1:9/api/\"\ntoken_file = \"secrets/token\"\nbot_user_id = \"U0BOT\"\n",
            "bot.toml",
            Path::new("/etc/bot"),
        )
        .unwrap();
        assert_eq!(c.slack.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(c.slack.api_base, "http://127.0.0.1:9/api");
        assert_eq!(
            c.slack.token_file.as_deref(),
            Some(Path::new("/etc/bot/secrets/token"))
        );
        assert_eq!(c.slack.signing_secret_file, None);
        assert_eq!(c.slack.bot_user_id.as_deref(), Some("U0BOT"));
        let d = Config::from_toml_str("", "bot.toml", Path::new("/x")).unwrap();
        assert_eq!(d.slack, SlackConfig::default());
        assert_eq!(d.slack.api_base, "https://slack.com/api");

        let e = err("[adapters.slack]\nlisten = \"127.0.0.1:3000\"\ntoken = \"xoxb-123\"\n");
        assert_eq!(e.line(), Some(3), "{e}");
        let m = e.to_string();
        assert!(
            m.starts_with("bot.toml:3: `token` in [adapters.slack]: secrets must not be in the configuration file")
                && m.contains("BOT_SLACK_TOKEN")
                && !m.contains("xoxb-123"),
            "{m}"
        );
        let e = err("[adapters.slack]\n\nsigning_secret = \"abc\"\n");
        assert_eq!(e.line(), Some(3), "{e}");
        assert!(e.to_string().contains("BOT_SLACK_SIGNING_SECRET"), "{e}");
        let e = err("[adapters.slack]\nlisten = \"localhost\"\n");
        assert_eq!(e.line(), Some(2), "{e}");
        let e = err("[adapters.slack]\napi_base = \"slack.com/api\"\n");
        assert_eq!(e.line(), Some(2), "{e}");
        let e = err("[adapters.slack]\nbot_user_id = \"<@U1>\"\n");
        assert_eq!(e.line(), Some(2), "{e}");
        let e = err("[adapters.slack]\nchannel = \"C1\"\n");
        assert_eq!(e.line(), Some(2), "{e}");
    }

    #[test]
    fn durations_placeholders_env_names() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(placeholders("a{b}c{d_e}{}{"), vec!["b", "d_e"]);
        let mut v = BTreeMap::new();
        v.insert("b".to_string(), "x; rm -rf /".to_string());
        assert_eq!(substitute("--b={b}{c}", &v), "--b=x; rm -rf /");
        assert_eq!(param_env_name("keep-days"), "JOB_PARAM_KEEP_DAYS");
    }
}
