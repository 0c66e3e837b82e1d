//! `[ssh]` and the `ssh` table of each `[[hosts]]` entry: how the bot reaches the catalog's
//! hosts to run the jobs whose `[jobs.run]` says `on = ...` (see `jobs::ssh`).
//!
//! ```toml
//! [ssh]
//! user = "deploy"                        # default: the bot's own user
//! identity_file = "keys/id_ed25519"      # relative paths: from this file's folder
//! known_hosts = "keys/known_hosts"       # host keys are checked strictly, never learned
//! connect_timeout = "10s"
//! max_per_host = 4                       # runs at once on one host; more wait, queued
//! share_connections = "60s"              # one connection per host, kept this long after
//!                                        # its last run ("0s": a connection per run)
//!
//! [[hosts]]
//! id = "db-01"
//! environments = ["production"]          # `on = "environment:production"` runs here too
//! ssh = { address = "10.0.0.21", port = 22, user = "backup" }
//! ```

use super::{ConfigError, Lines};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// `[ssh]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSsh {
    user: Option<String>,
    identity_file: Option<String>,
    known_hosts: Option<String>,
    connect_timeout: Option<Spanned<toml::Value>>,
    max_per_host: Option<Spanned<i64>>,
    /// The OpenSSH client (default `ssh`, found on `PATH`).
    program: Option<String>,
    /// The folder on each host, relative to the login directory, where run files are kept.
    run_dir: Option<String>,
    /// How long a shared connection to a host stays open after its last run (`"0s"`: no
    /// sharing, a connection per run).
    share_connections: Option<Spanned<toml::Value>>,
    /// Where the shared connections' sockets are (default: a private folder in the system's
    /// temporary folder).
    control_dir: Option<String>,
}

/// One `[[hosts]]` entry, for what the catalog does not read.
#[derive(Deserialize)]
pub(super) struct RawHost {
    id: Spanned<String>,
    #[serde(default)]
    environments: Vec<String>,
    ssh: Option<Spanned<RawHostSsh>>,
}

/// A host's `ssh` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHostSsh {
    address: Option<String>,
    port: Option<Spanned<i64>>,
    user: Option<String>,
    identity_file: Option<String>,
    known_hosts: Option<String>,
}

/// `[ssh]`, checked, with every catalog host's connection.
#[derive(Debug, Clone, PartialEq)]
pub struct SshConfig {
    /// The OpenSSH client to run.
    pub program: String,
    pub connect_timeout: Duration,
    /// At most this many runs at once on one host.
    pub max_per_host: usize,
    /// Where run files are kept on the hosts (relative to the login directory).
    pub run_dir: String,
    /// How long a host's shared connection (OpenSSH's ControlMaster) outlives its last run;
    /// None: a connection per run.
    pub share_connections: Option<Duration>,
    /// The folder of the shared connections' sockets (created 0700 when first used).
    pub control_dir: PathBuf,
    /// Every catalog host, by id (hosts without an `ssh` table get the defaults).
    pub hosts: BTreeMap<String, SshHost>,
}

impl SshConfig {
    /// The connection of catalog host `id`.
    pub fn host(&self, id: &str) -> Option<&SshHost> {
        self.hosts.get(id)
    }

    /// The hosts a run goes to: `on` ([`super::RunSpec::on`]) with its placeholders filled
    /// from `values`, each host once, in order; `Err` says why there is none to go to.
    pub fn hosts_for(
        &self,
        on: &[String],
        values: &BTreeMap<String, String>,
    ) -> Result<Vec<SshHost>, String> {
        let mut out: Vec<SshHost> = Vec::new();
        for entry in on {
            let entry = super::substitute(entry, values);
            let found: Vec<&SshHost> = match entry.strip_prefix(super::jobs::ENVIRONMENT_PREFIX) {
                Some(env) => {
                    let env = env.trim();
                    let all: Vec<&SshHost> = self
                        .hosts
                        .values()
                        .filter(|h| h.environments.iter().any(|e| e == env))
                        .collect();
                    if all.is_empty() {
                        return Err(format!("no catalog host serves the environment `{env}` (`environments` of [[hosts]])"));
                    }
                    all
                }
                None => match self.host(&entry) {
                    Some(h) => vec![h],
                    None => {
                        return Err(format!(
                        "`{entry}` is not one of the catalog's hosts, so the job cannot run there"
                    ))
                    }
                },
            };
            for h in found {
                if !out.iter().any(|o| o.id == h.id) {
                    out.push(h.clone());
                }
            }
        }
        Ok(out)
    }
}

/// How to reach one host.
#[derive(Debug, Clone, PartialEq)]
pub struct SshHost {
    /// The catalog's host id (`db-01`).
    pub id: String,
    /// The address to connect to (default: the id).
    pub address: String,
    pub port: u16,
    /// The login user (default: `[ssh] user`, else the bot's own user).
    pub user: Option<String>,
    pub identity_file: Option<PathBuf>,
    /// The known_hosts file the host's key must be in (default: `[ssh] known_hosts`, else
    /// OpenSSH's own, `~/.ssh/known_hosts`).
    pub known_hosts: Option<PathBuf>,
    /// The environments the host serves (`environments` of its `[[hosts]]` entry).
    pub environments: Vec<String>,
}

/// Checks `[ssh]` and the hosts' `ssh` tables; every catalog host gets a connection.
pub(super) fn ssh_config(
    l: &Lines<'_>,
    raw: &RawSsh,
    hosts: &[RawHost],
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<SshConfig, ConfigError> {
    let connect_timeout = match &raw.connect_timeout {
        Some(v) => l.duration(v, "connect_timeout")?,
        None => Duration::from_secs(10),
    };
    if connect_timeout < Duration::from_secs(1) {
        let at = raw.connect_timeout.as_ref().map_or(0, |v| v.span().start);
        return Err(l.err(at, "`connect_timeout` in [ssh] must be at least 1s"));
    }
    let max_per_host = match &raw.max_per_host {
        None => 4,
        Some(n) if *n.get_ref() > 0 => *n.get_ref() as usize,
        Some(n) => return Err(l.err(n.span().start, "`max_per_host` in [ssh] must be at least 1")),
    };
    let run_dir = raw.run_dir.clone().unwrap_or_else(|| ".opsbot/runs".into());
    if run_dir.is_empty() || run_dir.contains(['\'', '"', '$', '`', '\\', '\n']) {
        return Err(l.err(
            0,
            "`run_dir` in [ssh] must be a plain path (no quotes, `$`, backquotes or backslashes)",
        ));
    }
    let mut out = BTreeMap::new();
    for h in hosts {
        let id = h.id.get_ref().clone();
        let (address, port, user, identity_file, known_hosts) = match &h.ssh {
            None => (None, None, None, None, None),
            Some(s) => {
                let s_ref = s.get_ref();
                let port = match &s_ref.port {
                    None => None,
                    Some(p) if (1..=65535).contains(p.get_ref()) => Some(*p.get_ref() as u16),
                    Some(p) => {
                        return Err(l.err(
                            p.span().start,
                            format!("host `{id}`: `port` must be between 1 and 65535"),
                        ))
                    }
                };
                (
                    s_ref.address.clone(),
                    port,
                    s_ref.user.clone(),
                    s_ref.identity_file.clone(),
                    s_ref.known_hosts.clone(),
                )
            }
        };
        let address = address.unwrap_or_else(|| id.clone());
        if address.starts_with('-') || address.contains(char::is_whitespace) {
            let at = h.ssh.as_ref().map_or(h.id.span().start, |s| s.span().start);
            return Err(l.err(
                at,
                format!("host `{id}`: `{address}` is not a host name or address"),
            ));
        }
        let user = user.or_else(|| raw.user.clone());
        if let Some(u) = user
            .as_deref()
            .filter(|u| u.starts_with('-') || u.contains('@'))
        {
            let at = h.ssh.as_ref().map_or(0, |s| s.span().start);
            return Err(l.err(at, format!("host `{id}`: `{u}` is not a user name")));
        }
        out.insert(
            id.clone(),
            SshHost {
                id,
                address,
                port: port.unwrap_or(22),
                user,
                identity_file: identity_file
                    .or_else(|| raw.identity_file.clone())
                    .map(|p| resolve(&p)),
                known_hosts: known_hosts
                    .or_else(|| raw.known_hosts.clone())
                    .map(|p| resolve(&p)),
                environments: h.environments.clone(),
            },
        );
    }
    let share_connections = match &raw.share_connections {
        None => Some(Duration::from_secs(60)),
        Some(v) => Some(l.duration(v, "share_connections")?).filter(|d| !d.is_zero()),
    };
    let control_dir = match &raw.control_dir {
        Some(d) => resolve(d),
        None => default_control_dir(),
    };
    Ok(SshConfig {
        share_connections,
        control_dir,
        program: raw.program.clone().unwrap_or_else(|| "ssh".into()),
        connect_timeout,
        max_per_host,
        run_dir,
        hosts: out,
    })
}

/// `opsbot-ssh-<uid>` in the system's temporary folder: short, since a socket's path is
/// limited to about 100 bytes.
fn default_control_dir() -> PathBuf {
    // SAFETY: getuid cannot fail
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("opsbot-ssh-{uid}"))
}
