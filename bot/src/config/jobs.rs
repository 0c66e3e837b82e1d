//! The jobs' run specifications (`[jobs.run]`, checked against each job's parameters in the
//! catalog), their Chinese descriptions, and the `{name}` placeholders and `JOB_PARAM_*`
//! variables by which parameters reach a job.

use super::{env_secrets, ConfigError, Lines};
use nlu::Catalog;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// How one job runs on the local platform.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// The program and its arguments; `{param}` placeholders are replaced by values.
    pub argv: Vec<String>,
    /// Extra environment variables: values may hold `{param}` placeholders, or be `$NAME` /
    /// `${NAME}` (read from the bot's environment when the job starts). A secret-looking name
    /// with a literal value is refused ([`crate::config::env_secrets`]).
    pub env: BTreeMap<String, String>,
    /// The working directory (default: the configuration file's folder).
    pub cwd: PathBuf,
    /// The run is stopped (SIGTERM, then SIGKILL) after this long.
    pub timeout: Duration,
    /// At most this many runs of the job at once; more wait, queued.
    pub concurrency: usize,
    /// Parameters whose values are secret: masked in replies, logs and the audit trail.
    pub secret: Vec<String>,
    /// Regular expressions a parameter's value must match (whole value), by parameter.
    pub patterns: BTreeMap<String, String>,
    /// Where the job runs, over SSH (`[ssh]`): empty for the bot's own machine; else each
    /// entry is a catalog host id, a `{param}` placeholder naming one, or `environment:ENV`
    /// (`environment:{param}`) for every host of an environment. Several hosts: it fans out.
    pub on: Vec<String>,
}

/// One `[[jobs]]` entry, for what the catalog does not read.
#[derive(Deserialize)]
pub(super) struct RawJob {
    id: Spanned<String>,
    /// The job's description in Chinese (`description` is the English one).
    description_zh: Option<String>,
    run: Option<Spanned<RawRun>>,
}

/// `[jobs.run]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    argv: Spanned<Vec<String>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    cwd: Option<String>,
    timeout: Option<Spanned<toml::Value>>,
    concurrency: Option<Spanned<i64>>,
    #[serde(default)]
    secret: Vec<String>,
    #[serde(default)]
    patterns: BTreeMap<String, String>,
    on: Option<Spanned<OnRaw>>,
}

/// `on` as written: one entry or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum OnRaw {
    One(String),
    Many(Vec<String>),
}

/// The jobs' sections, checked.
pub(super) struct JobRuns {
    /// Run specification per job id (every job has one).
    pub(super) runs: HashMap<String, RunSpec>,
    /// Chinese descriptions of jobs (`description_zh`), by job id.
    pub(super) descriptions_zh: HashMap<String, String>,
}

/// Checks every job's `[jobs.run]` against its parameters in `catalog`; relative paths are
/// resolved from `base_dir`. Every error names the job and the line of the bad value.
pub(super) fn job_runs(
    l: &Lines<'_>,
    jobs: &[RawJob],
    catalog: &Catalog,
    base_dir: &Path,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<JobRuns, ConfigError> {
    let mut runs = HashMap::new();
    for job in jobs {
        let id = job.id.get_ref();
        let Some(run) = &job.run else {
            return Err(l.err(
                job.id.span().start,
                format!(
                    "job `{id}` has no run specification; add a `[jobs.run]` table with `argv = [\"path/to/script\"]` after its parameters"
                ),
            ));
        };
        let run_start = run.span().start;
        let run = run.get_ref();
        if run.argv.get_ref().is_empty() || run.argv.get_ref()[0].trim().is_empty() {
            return Err(l.err(
                run.argv.span().start,
                format!("job `{id}`: `argv` needs at least the program to run"),
            ));
        }
        let params: Vec<&str> = catalog
            .job(id)
            .map(|j| j.parameters.iter().map(|p| p.name.as_str()).collect())
            .unwrap_or_default();
        for (name, value) in &run.env {
            let v = value.get_ref();
            if env_secrets::looks_secret(name) && !env_secrets::is_reference(v) {
                return Err(l.err(value.span().start, env_secrets::refusal(id, name)));
            }
        }
        let env: BTreeMap<String, String> = run
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect();
        for arg in run.argv.get_ref().iter().chain(env.values()) {
            for name in placeholders(arg) {
                if !params.contains(&name.as_str())
                    && !BUILTIN_PLACEHOLDERS.contains(&name.as_str())
                {
                    return Err(l.err(
                        run.argv.span().start,
                        format!(
                            "job `{id}`: placeholder `{{{name}}}` is not one of its parameters ({}) nor {}",
                            if params.is_empty() { "none".to_string() } else { params.join(", ") },
                            BUILTIN_PLACEHOLDERS.map(|b| format!("{{{b}}}")).join(", ")
                        ),
                    ));
                }
            }
        }
        let timeout = match &run.timeout {
            Some(v) => l.duration(v, "timeout")?,
            None => Duration::from_secs(3600),
        };
        if timeout.is_zero() {
            return Err(l.err(run_start, format!("job `{id}`: `timeout` must be positive")));
        }
        let concurrency = match &run.concurrency {
            None => 1,
            Some(n) if *n.get_ref() > 0 => *n.get_ref() as usize,
            Some(n) => {
                return Err(l.err(
                    n.span().start,
                    format!("job `{id}`: `concurrency` must be at least 1"),
                ))
            }
        };
        for name in run.secret.iter().chain(run.patterns.keys()) {
            if !params.contains(&name.as_str()) {
                return Err(l.err(
                    run_start,
                    format!("job `{id}`: `{name}` (in `secret` or `patterns`) is not one of its parameters"),
                ));
            }
        }
        for (name, re) in &run.patterns {
            if let Err(e) = regex::Regex::new(&format!("^(?:{re})$")) {
                return Err(l.err(
                    run_start,
                    format!("job `{id}`: the pattern of `{name}` is not a regular expression: {e}"),
                ));
            }
        }
        let on: Vec<String> = match run.on.as_ref().map(|o| o.get_ref()) {
            None => Vec::new(),
            Some(OnRaw::One(one)) => vec![one.trim().to_string()],
            Some(OnRaw::Many(many)) => many.iter().map(|s| s.trim().to_string()).collect(),
        };
        if let Some(at) = &run.on {
            if on.is_empty() {
                return Err(l.err(
                    at.span().start,
                    format!("job `{id}`: `on` names no host; leave it out to run the job on the bot's machine"),
                ));
            }
            for entry in &on {
                check_on(l, id, at.span().start, entry, &params, catalog)?;
            }
        }
        let mut argv = run.argv.get_ref().clone();
        // A relative program path with a slash is relative to the configuration file (on the
        // bot's machine; on a host, to the login directory).
        if on.is_empty() && argv[0].contains('/') && !Path::new(&argv[0]).is_absolute() {
            argv[0] = base_dir.join(&argv[0]).display().to_string();
        }
        runs.insert(
            id.clone(),
            RunSpec {
                argv,
                env,
                cwd: run
                    .cwd
                    .as_deref()
                    .map_or_else(|| base_dir.to_path_buf(), resolve),
                timeout,
                concurrency,
                secret: run.secret.clone(),
                patterns: run.patterns.clone(),
                on,
            },
        );
    }
    let descriptions_zh = jobs
        .iter()
        .filter_map(|j| Some((j.id.get_ref().clone(), j.description_zh.clone()?)))
        .collect();
    Ok(JobRuns {
        runs,
        descriptions_zh,
    })
}

/// Checks one entry of `on`: a catalog host, `environment:` and a catalog environment, or
/// either as exactly one `{param}` placeholder of a parameter.
fn check_on(
    l: &Lines<'_>,
    id: &str,
    at: usize,
    value: &str,
    params: &[&str],
    catalog: &Catalog,
) -> Result<(), ConfigError> {
    let (env, name) = match value.strip_prefix(ENVIRONMENT_PREFIX) {
        Some(rest) => (true, rest.trim()),
        None => (false, value),
    };
    let ok = match placeholders(name).as_slice() {
        [] if env => catalog.environment(name).is_some(),
        [] => catalog.host(name).is_some(),
        [p] => name == format!("{{{p}}}") && params.contains(&p.as_str()),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let hosts: Vec<&str> = catalog.hosts.iter().map(|h| h.id.as_str()).collect();
    Err(l.err(
        at,
        format!(
            "job `{id}`: `on` entry \"{value}\" must be a catalog host ({}), \"environment:\" and a catalog environment, or one placeholder of a parameter, such as \"{{target}}\"",
            if hosts.is_empty() { "there are none".to_string() } else { hosts.join(", ") }
        ),
    ))
}

/// The prefix of an `on` entry that means every host of an environment.
pub const ENVIRONMENT_PREFIX: &str = "environment:";

/// Placeholders every job may use besides its parameters.
pub const BUILTIN_PLACEHOLDERS: [&str; 2] = ["execution_id", "job"];

/// The `{name}` placeholders in a string.
pub fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push(name.to_string());
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Replaces `{name}` placeholders with values (absent ones with nothing).
pub fn substitute(s: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for name in placeholders(s) {
        let v = values.get(&name).map(String::as_str).unwrap_or("");
        out = out.replace(&format!("{{{name}}}"), v);
    }
    out
}

/// The environment variable a parameter arrives in: `JOB_PARAM_KEEP_DAYS` for `keep_days`.
pub fn param_env_name(name: &str) -> String {
    let mut s = String::from("JOB_PARAM_");
    for c in name.chars() {
        s.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    s
}
