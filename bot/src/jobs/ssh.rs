//! Running a job on a catalog host through the system OpenSSH client, for jobs whose
//! `[jobs.run]` says `on = "{target}"` (or a fixed host). The local platform
//! ([`super::local`]) keeps the run's life as for any process: the process it follows is the
//! `ssh` client, and this module says what that client runs on the host and how to stop it.
//!
//! - **Nothing passes through a shell unquoted.** The program and its arguments are quoted one
//!   by one ([`sh_quote`]); parameters and the job's environment travel on the client's stdin
//!   as quoted assignments ([`env_lines`]), so that no value appears in a command line on the
//!   host (nor in `ps` there).
//! - **Its own process group.** The host runs the job under `setsid -w`; the group's id is
//!   written to a run file (`~/.opsbot/runs/<execution>.pgid`) that [`stop_script`] reads to
//!   send SIGTERM, then SIGKILL, to the whole group.
//! - **Strict host keys.** `StrictHostKeyChecking=yes` with `BatchMode`: an unknown or
//!   changed key is refused, never learned, and so is a password prompt.
//! - **Distinct failures.** [`classify`] reads the client's exit status 255 and its message:
//!   host key refused, login refused, host unreachable, or the connection dropped mid-run.

use crate::config::ssh::{SshConfig, SshHost};
use crate::domain::exec::{ExecId, Status};

/// `s` as one word for a POSIX shell: `'...'`, with each `'` written `'\''`.
///
/// ```
/// use bot::jobs::ssh::sh_quote;
/// assert_eq!(sh_quote("db-01"), "'db-01'");
/// assert_eq!(sh_quote("it's; rm -rf /"), r#"'it'\''s; rm -rf /'"#);
/// ```
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether `name` can be an environment variable of a shell.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The assignments the host reads from the client's stdin (`NAME='value'`, one a line).
/// Names that a shell could not take are left out and returned apart.
pub fn env_lines(env: &[(String, String)]) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut refused = Vec::new();
    for (k, v) in env {
        if is_env_name(k) {
            text.push_str(&format!("{k}={}\n", sh_quote(v)));
        } else {
            refused.push(k.clone());
        }
    }
    (text, refused)
}

/// The run file of execution `id` on a host (relative to the login directory).
pub fn run_file(cfg: &SshConfig, id: ExecId) -> String {
    format!("{}/{id}.pgid", cfg.run_dir)
}

/// The command the client asks the host to run: in a new session and process group
/// (`setsid -w`), write the group id to the run file, read the environment from stdin, run
/// `argv` with stdin closed, remove the run file and exit with the job's status.
pub fn remote_script(cfg: &SshConfig, id: ExecId, argv: &[String]) -> String {
    let inner = "f=$1; shift; echo $$ > \"$f\" || exit 125; set -a; . /dev/stdin || exit 125; \
                 set +a; \"$@\" </dev/null; rc=$?; rm -f \"$f\"; exit $rc";
    let args: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
    format!(
        "mkdir -p {dir} && exec setsid -w sh -c {inner} opsbot {file} {args}",
        dir = sh_quote(&cfg.run_dir),
        inner = sh_quote(inner),
        file = sh_quote(&run_file(cfg, id)),
        args = args.join(" ")
    )
}

/// What stops execution `id` on its host: `signal` (`TERM`, `KILL`) to its process group;
/// after KILL the run file goes too. Quiet when the run has already ended.
pub fn stop_script(cfg: &SshConfig, id: ExecId, signal: &str) -> String {
    let file = sh_quote(&run_file(cfg, id));
    let clean = if signal == "KILL" {
        format!("; rm -f {file}")
    } else {
        String::new()
    };
    format!("p=$(cat {file} 2>/dev/null) && [ -n \"$p\" ] && kill -s {signal} -- -\"$p\" 2>/dev/null{clean}; exit 0")
}

/// The client's options and destination (the remote command comes after them).
pub fn client_args(cfg: &SshConfig, host: &SshHost) -> Vec<String> {
    let mut a: Vec<String> = [
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=3",
    ]
    .map(String::from)
    .to_vec();
    a.push("-o".into());
    a.push(format!(
        "ConnectTimeout={}",
        cfg.connect_timeout.as_secs().max(1)
    ));
    if let Some(keep) = cfg.share_connections {
        // one connection per host, shared by its runs (OpenSSH's own multiplexing); the
        // master detaches into its own session, so stopping a run's group leaves it be
        a.extend(["-o".into(), "ControlMaster=auto".into(), "-o".into()]);
        a.push(format!("ControlPersist={}", keep.as_secs().max(1)));
        a.push("-o".into());
        a.push(format!(
            "ControlPath={}/{}-%C",
            cfg.control_dir.display(),
            socket_name(&host.id)
        ));
    }
    if let Some(kh) = &host.known_hosts {
        a.push("-o".into());
        a.push(format!("UserKnownHostsFile={}", kh.display()));
    }
    if let Some(id) = &host.identity_file {
        a.extend(["-o".into(), "IdentitiesOnly=yes".into(), "-i".into()]);
        a.push(id.display().to_string());
    }
    a.push("-p".into());
    a.push(host.port.to_string());
    if let Some(u) = &host.user {
        a.push("-l".into());
        a.push(u.clone());
    }
    a.push("--".into());
    a.push(host.address.clone());
    a
}

/// Sends `signal` (`TERM`, `KILL`) to execution `id`'s process group on `host` over a
/// connection of its own; a failure is logged (the run's own end says what became of it).
pub async fn stop_remote(cfg: &SshConfig, host: &SshHost, id: ExecId, signal: &str) {
    let mut cmd = tokio::process::Command::new(&cfg.program);
    cmd.args(client_args(cfg, host))
        .arg(stop_script(cfg, id, signal))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let limit = cfg.connect_timeout + std::time::Duration::from_secs(5);
    match tokio::time::timeout(limit, cmd.output()).await {
        Ok(Ok(out)) if out.status.success() => {}
        Ok(Ok(out)) => tracing::warn!(
            "cannot send SIG{signal} to #{id} on {}: {}",
            host.id,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(Err(e)) => tracing::warn!("cannot run {} to stop #{id}: {e}", cfg.program),
        Err(_) => tracing::warn!("no answer from {} while stopping #{id}", host.id),
    }
}

/// A host id as a short, plain part of a socket's name.
fn socket_name(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(24)
        .collect()
}

/// Creates the folder of shared connections' sockets, readable by the bot's user only.
pub fn prepare_control_dir(cfg: &SshConfig) -> std::io::Result<()> {
    if cfg.share_connections.is_none() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&cfg.control_dir)
}

/// Whether the shared connection to `host` still stands (`ssh -O check`); true when
/// connections are not shared (there is nothing to ask then).
pub async fn shared_connection_alive(cfg: &SshConfig, host: &SshHost) -> bool {
    if cfg.share_connections.is_none() {
        return true;
    }
    // `-O` goes before the destination
    let args: Vec<String> = {
        let mut a = client_args(cfg, host);
        let dest = a.pop().unwrap_or_default();
        let dashes = a.pop().unwrap_or_default();
        a.extend(["-O".into(), "check".into(), dashes, dest]);
        a
    };
    let mut cmd = tokio::process::Command::new(&cfg.program);
    cmd.args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let limit = std::time::Duration::from_secs(5);
    matches!(
        tokio::time::timeout(limit, cmd.status()).await,
        Ok(Ok(s)) if s.success()
    )
}

/// How a run on a host failed when the fault was the connection, not the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshFailure {
    /// The host's key is unknown or changed: the connection was refused.
    HostKey(String),
    /// The host refused the login.
    Auth(String),
    /// The host could not be reached.
    Unreachable(String),
    /// The connection dropped while the job ran.
    Dropped(String),
}

impl SshFailure {
    /// The status the execution ends with: never started on the host, or cut off.
    pub fn status(&self) -> Status {
        match self {
            SshFailure::Dropped(_) => Status::Interrupted,
            _ => Status::Unreachable,
        }
    }

    /// In a few words, for the line of one host among several.
    pub fn summary(&self) -> String {
        match self {
            SshFailure::HostKey(_) => "did not start (host key refused)".into(),
            SshFailure::Auth(_) => "did not start (login refused)".into(),
            SshFailure::Unreachable(m) => format!("did not start (unreachable: {m})"),
            SshFailure::Dropped(m) => format!("interrupted (connection dropped: {m})"),
        }
    }

    /// What went wrong and what to do, naming the host.
    pub fn detail(&self, host: &SshHost) -> String {
        let at = format!("{}:{}", host.address, host.port);
        match self {
            SshFailure::HostKey(m) => {
                let kh = host
                    .known_hosts
                    .as_ref()
                    .map_or("~/.ssh/known_hosts".to_string(), |p| p.display().to_string());
                format!(
                    "the host key of {} ({at}) is not the one in {kh}, so the connection was refused ({m}); check the key with the host's administrator, then add it (ssh-keyscan -p {} {} >> {kh}) or replace the old line (ssh-keygen -R '[{}]:{}' -f {kh})",
                    host.id, host.port, host.address, host.address, host.port
                )
            }
            SshFailure::Auth(m) => format!(
                "{} ({at}) refused the login of {} ({m}); add the bot's public key to that user's authorized_keys, or set `user` and `identity_file` under [ssh]",
                host.id,
                host.user.as_deref().unwrap_or("the bot's user")
            ),
            SshFailure::Unreachable(m) => {
                format!("cannot reach {} at {at} ({m}); check that the host is up and that sshd listens there", host.id)
            }
            SshFailure::Dropped(m) => format!(
                "the connection to {} ({at}) dropped while the job ran ({m}); its processes there were told to stop",
                host.id
            ),
        }
    }
}

/// The connection failure behind a client that exited with `code` after printing `output`,
/// if the client (not the job) failed: OpenSSH exits 255 for its own errors.
pub fn classify(code: Option<i32>, output: &str) -> Option<SshFailure> {
    if code != Some(255) {
        return None;
    }
    // OpenSSH's messages, by the failure they tell of, most telling first
    type Kind = fn(String) -> SshFailure;
    const KINDS: [(&[&str], Kind); 4] = [
        (
            &[
                "Host key verification failed",
                "REMOTE HOST IDENTIFICATION HAS CHANGED",
                "host key is known",
                "Host key for",
            ],
            SshFailure::HostKey,
        ),
        (
            &["Permission denied", "Too many authentication failures"],
            SshFailure::Auth,
        ),
        (
            &[
                "Connection refused",
                "No route to host",
                "Connection timed out",
                "Operation timed out",
                "Network is unreachable",
                "Could not resolve hostname",
                "Name or service not known",
                "connect to host",
            ],
            SshFailure::Unreachable,
        ),
        (
            &[
                "closed by remote host",
                "Shared connection to",
                "read from master failed",
                "Connection reset",
                "Broken pipe",
                "Timeout, server",
                "client_loop",
                "Connection closed",
            ],
            SshFailure::Dropped,
        ),
    ];
    KINDS.iter().find_map(|(needles, kind)| {
        output
            .lines()
            .rev()
            .find(|l| needles.iter().any(|n| l.contains(n)))
            .map(|l| kind(l.trim().trim_end_matches('.').to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn cfg() -> SshConfig {
        SshConfig {
            program: "ssh".into(),
            connect_timeout: Duration::from_secs(10),
            max_per_host: 4,
            run_dir: ".opsbot/runs".into(),
            share_connections: None,
            control_dir: PathBuf::from("/tmp/ctl"),
            hosts: Default::default(),
        }
    }

    fn host() -> SshHost {
        SshHost {
            id: "db-01".into(),
            address: "127.0.0.1".into(),
            port: 2222,
            user: Some("backup".into()),
            identity_file: Some(PathBuf::from("/keys/id")),
            known_hosts: Some(PathBuf::from("/keys/known_hosts")),
            environments: Vec::new(),
        }
    }

    /// Runs `script` with `sh -c` and returns its stdout.
    fn sh(script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn quoted_words_reach_a_shell_as_written() {
        let hostile = [
            "plain",
            "it's",
            "$(touch /tmp/pwned)",
            "`id`",
            "a; rm -rf /",
            "x' ; echo 'y",
            "\"$HOME\"",
            "new\nline",
            "",
            "*",
            "\\",
            "-n",
        ];
        for h in hostile {
            assert_eq!(sh(&format!("printf %s {}", sh_quote(h))), h, "{h:?}");
        }
    }

    #[test]
    fn environment_lines_are_read_back_literally() {
        let env = vec![
            ("JOB_PARAM_TARGET".to_string(), "db-01; reboot".to_string()),
            (
                "JOB_PARAM_NOTE".to_string(),
                "it's $(id)\nsecond".to_string(),
            ),
            ("bad name".to_string(), "x".to_string()),
        ];
        let (text, refused) = env_lines(&env);
        assert_eq!(refused, ["bad name"]);
        let script =
            format!("set -a\n{text}printf '%s|%s' \"$JOB_PARAM_TARGET\" \"$JOB_PARAM_NOTE\"");
        assert_eq!(sh(&script), "db-01; reboot|it's $(id)\nsecond");
    }

    #[test]
    fn the_remote_script_quotes_every_argument_and_keeps_the_run_file() {
        let argv = vec!["jobs/backup.sh".to_string(), "x'; id".to_string()];
        let s = remote_script(&cfg(), 1042, &argv);
        assert!(
            s.starts_with("mkdir -p '.opsbot/runs' && exec setsid -w sh -c '"),
            "{s}"
        );
        assert!(
            s.ends_with(r#"opsbot '.opsbot/runs/1042.pgid' 'jobs/backup.sh' 'x'\''; id'"#),
            "{s}"
        );
        assert_eq!(
            stop_script(&cfg(), 1042, "TERM"),
            "p=$(cat '.opsbot/runs/1042.pgid' 2>/dev/null) && [ -n \"$p\" ] && kill -s TERM -- -\"$p\" 2>/dev/null; exit 0"
        );
        assert!(
            stop_script(&cfg(), 1042, "KILL").ends_with("; rm -f '.opsbot/runs/1042.pgid'; exit 0")
        );
    }

    #[test]
    fn the_remote_script_runs_the_job_in_its_own_group_and_cleans_up() {
        // what a host's login shell does with the script, here
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg();
        c.run_dir = dir.path().join("runs").display().to_string();
        let argv: Vec<String> = [
            "sh",
            "-c",
            "printf '%s|%s|%s\\n' \"$1\" \"$JOB_PARAM_TARGET\" \"$(ps -o pgid= -p $$ | tr -d ' ')\"; ls \"$2\"; exit 3",
            "job",
            "x'; id",
        ]
        .map(String::from)
        .to_vec();
        let mut argv = argv;
        argv.push(c.run_dir.clone());
        let script = remote_script(&c, 7, &argv);
        let (env, _) = env_lines(&[("JOB_PARAM_TARGET".into(), "$(reboot)".into())]);
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(env.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.splitn(3, '|');
        assert_eq!(parts.next(), Some("x'; id"));
        assert_eq!(parts.next(), Some("$(reboot)"));
        let rest = parts.next().unwrap();
        // the job's group is its own (not the shell's), and its run file was there
        let pgid: i32 = rest.lines().next().unwrap().parse().unwrap();
        assert_ne!(pgid, unsafe { libc::getpgrp() });
        assert!(rest.contains("7.pgid"), "{rest}");
        assert_eq!(out.status.code(), Some(3));
        assert!(
            !dir.path().join("runs/7.pgid").exists(),
            "the run file is removed"
        );
    }

    #[test]
    fn client_arguments_check_host_keys_strictly() {
        let a = client_args(&cfg(), &host()).join(" ");
        assert_eq!(
            a,
            "-T -o BatchMode=yes -o StrictHostKeyChecking=yes -o LogLevel=ERROR -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o ConnectTimeout=10 -o UserKnownHostsFile=/keys/known_hosts -o IdentitiesOnly=yes -i /keys/id -p 2222 -l backup -- 127.0.0.1"
        );
        // sharing a host's connection among its runs
        let mut c = cfg();
        c.share_connections = Some(Duration::from_secs(60));
        let a = client_args(&c, &host()).join(" ");
        assert!(
            a.contains("-o ControlMaster=auto -o ControlPersist=60 -o ControlPath=/tmp/ctl/db-01-%C -o UserKnownHostsFile"),
            "{a}"
        );
    }

    #[test]
    fn client_failures_are_told_apart() {
        let cases = [
            ("Host key verification failed.", "host key"),
            ("backup@127.0.0.1: Permission denied (publickey).", "auth"),
            (
                "ssh: connect to host 127.0.0.1 port 2222: Connection refused",
                "unreachable",
            ),
            ("Connection to 127.0.0.1 closed by remote host.", "dropped"),
        ];
        for (msg, kind) in cases {
            let f = classify(Some(255), &format!("some output\n{msg}\n")).expect(msg);
            let got = match &f {
                SshFailure::HostKey(_) => "host key",
                SshFailure::Auth(_) => "auth",
                SshFailure::Unreachable(_) => "unreachable",
                SshFailure::Dropped(_) => "dropped",
            };
            assert_eq!(got, kind, "{msg}");
            assert!(
                f.detail(&host()).contains("db-01 (127.0.0.1:2222)")
                    || f.detail(&host()).contains("db-01 at 127.0.0.1:2222"),
                "{}",
                f.detail(&host())
            );
        }
        // the job's own exit status 255, or another status, is the job's
        assert_eq!(classify(Some(255), "job said: nothing to do\n"), None);
        assert_eq!(classify(Some(1), "Permission denied\n"), None);
        let f = classify(Some(255), "Host key verification failed.\n").unwrap();
        assert_eq!(f.status(), Status::Unreachable);
        assert!(f
            .detail(&host())
            .contains("ssh-keyscan -p 2222 127.0.0.1 >> /keys/known_hosts"));
        let d = classify(
            Some(255),
            "Connection to 127.0.0.1 closed by remote host.\n",
        )
        .unwrap();
        assert_eq!(d.status(), Status::Interrupted);
    }
}
