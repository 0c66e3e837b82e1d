//! Real OpenSSH servers for the SSH job tests: each [`Sshd`] is a `/usr/sbin/sshd` of its own
//! (Debian's openssh-server, installed by `scripts/setup-test-env.sh`) on a free loopback port,
//! with its own host key, configuration, authorized keys and log in a folder of the test's
//! temporary folder; the client key pair ([`Keys`]) is shared by all the hosts of a test.
//!
//! The hosts are this machine: a command run "on a host" runs here, as the current user
//! ([`Sshd::user`]), which is what lets a test look at what a job left behind there.
//!
//! The listener is started from a thread that lives as long as the test binary, with
//! `PR_SET_PDEATHSIG` = SIGTERM, so it stops when the test binary dies; [`Sshd::kill`] (and
//! `Drop`) SIGKILLs it together with every process below it: the connections and sessions too.
//!
//! Settings that matter when sshd runs as root in a container: the privilege separation
//! folder `/run/sshd` must exist (created here), PAM is off (`UsePAM no`; the container has no
//! PAM session setup), `StrictModes no` (temporary folders, not a home's `.ssh`), and
//! `MaxStartups`/`MaxSessions` are raised so that parallel connections are not dropped at
//! random. On OpenSSH 9.8 or later, `PerSourcePenalties no`, or the refused connections of one
//! test would make sshd refuse 127.0.0.1 for a while.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where Debian's openssh-server puts the server.
pub const SSHD: &str = "/usr/sbin/sshd";
/// The address every [`Sshd`] listens on.
pub const ADDRESS: &str = "127.0.0.1";
/// How long [`Sshd::start`] waits for sshd to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// How many ports [`Sshd::start`] tries when sshd cannot bind the free port it was given
/// (another process took it between the check and sshd's bind).
const PORT_ATTEMPTS: usize = 5;

/// The path of the server; panics with what to do when OpenSSH's server is not installed.
pub fn sshd_binary() -> PathBuf {
    let sshd = PathBuf::from(SSHD);
    assert!(
        sshd.is_file(),
        "OpenSSH's server is missing ({SSHD}): run ./scripts/setup-test-env.sh (it installs \
         Debian's openssh-server package, and openssh-client when ssh is missing)"
    );
    sshd
}

/// The current user's name (`id -un`): the user the tests log in as on every host.
pub fn current_user() -> &'static str {
    static USER: OnceLock<String> = OnceLock::new();
    USER.get_or_init(|| {
        let out = Command::new("id")
            .arg("-un")
            .output()
            .expect("cannot run `id -un` for the current user's name");
        assert!(out.status.success(), "`id -un` failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

/// Writes a known_hosts file with the host key of each of `hosts` ([`Sshd::known_hosts_line`]),
/// for a client that connects to all of them with strict host key checking.
pub fn write_known_hosts(path: &Path, hosts: &[&Sshd]) {
    let text: String = hosts
        .iter()
        .map(|h| format!("{}\n", h.known_hosts_line()))
        .collect();
    std::fs::write(path, text)
        .unwrap_or_else(|e| panic!("cannot write the known_hosts file {}: {e}", path.display()));
}

/// Generates an ed25519 key pair without passphrase at `path` (and `path.pub`); returns the
/// public key as `TYPE BASE64` (without the comment).
fn keygen(path: &Path, comment: &str) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect(
            "cannot run ssh-keygen: run ./scripts/setup-test-env.sh (it installs Debian's \
             openssh-client with the server)",
        );
    assert!(
        out.status.success(),
        "ssh-keygen -f {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let public = path.with_extension("pub");
    let line = std::fs::read_to_string(&public)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", public.display()));
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---- the client's key pair -----------------------------------------------------------------

/// The client key pair of a test (ed25519, no passphrase), authorized on each of its hosts.
pub struct Keys {
    identity: PathBuf,
    public: String,
}

impl Keys {
    /// Generates the pair in `dir/ssh-client/` (`id_ed25519` and `id_ed25519.pub`), with
    /// `ssh-keygen -q -t ed25519 -N ""`; panics when that folder exists already.
    pub fn generate(dir: &Path) -> Keys {
        let folder = dir.join("ssh-client");
        std::fs::create_dir(&folder).unwrap_or_else(|e| {
            panic!(
                "cannot create {} for the client keys (one Keys per folder): {e}",
                folder.display()
            )
        });
        let identity = folder.join("id_ed25519");
        let public = keygen(&identity, "opsnlu-test-client");
        Keys { identity, public }
    }

    /// The private key, for `ssh -i`.
    pub fn identity_file(&self) -> &Path {
        &self.identity
    }

    /// The public key as `ssh-ed25519 BASE64`, the line of an authorized_keys file.
    pub fn public_key(&self) -> &str {
        &self.public
    }
}

// ---- one host --------------------------------------------------------------------------------

/// One running sshd on `127.0.0.1`: a "host" of the SSH job tests. Stopped (with everything
/// below it, [`Sshd::kill`]) when dropped.
pub struct Sshd {
    name: String,
    dir: PathBuf,
    port: u16,
    host_key: String,
    identity: PathBuf,
    child: Option<Child>,
}

impl Sshd {
    /// Starts a host named `name` (a folder name, unique in `dir`): generates its host key in
    /// `dir/sshd-NAME/`, writes its `sshd_config` there (loopback, a free port, only the
    /// public key of `keys`, as the current user), starts `sshd -D -e -f sshd_config` in a
    /// process group of its own, its log in `sshd.log` there, and waits (at most 10 s) until
    /// its port accepts a TCP connection. Tries another port when sshd cannot bind the one it
    /// was given; panics with sshd's log when it does not come up.
    pub fn start(dir: &Path, keys: &Keys, name: &str) -> Sshd {
        let sshd = sshd_binary();
        ensure_privsep_dir();
        let host_dir = dir.join(format!("sshd-{name}"));
        std::fs::create_dir(&host_dir).unwrap_or_else(|e| {
            panic!(
                "cannot create {} (is the host name {name:?} unique in the folder?): {e}",
                host_dir.display()
            )
        });
        let host_key = keygen(&host_dir.join("ssh_host_ed25519_key"), name);
        std::fs::write(
            host_dir.join("authorized_keys"),
            format!("{}\n", keys.public_key()),
        )
        .expect("cannot write the host's authorized_keys");
        let mut host = Sshd {
            name: name.to_string(),
            dir: host_dir,
            port: 0,
            host_key,
            identity: keys.identity_file().to_path_buf(),
            child: None,
        };
        let mut failures = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            host.port = free_port();
            host.write_config(&sshd);
            let log_start = host.log().len();
            host.child = Some(spawn_sshd(&sshd, &host.dir));
            match host.wait_ready() {
                Ok(()) => {
                    host.write_own_known_hosts();
                    return host;
                }
                Err(why) => {
                    host.kill();
                    let log = host.log().get(log_start..).unwrap_or_default().to_string();
                    let bind_failed = log.contains("Address already in use");
                    failures.push(format!("port {}: {why}; sshd's log:\n{log}", host.port));
                    if !bind_failed {
                        break;
                    }
                }
            }
        }
        panic!(
            "sshd {name:?} did not come up on {ADDRESS} (config {}):\n{}",
            host.config_file().display(),
            failures.join("\n")
        );
    }

    /// The host's name, as given to [`Sshd::start`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address it listens on: `127.0.0.1`.
    pub fn address(&self) -> &'static str {
        ADDRESS
    }

    /// The user to log in as: the current user (`id -un`), whose public key is authorized.
    pub fn user(&self) -> &'static str {
        current_user()
    }

    /// The client's private key (the [`Keys`] it was started with), for `ssh -i`.
    pub fn identity_file(&self) -> &Path {
        &self.identity
    }

    /// Its host public key as `ssh-ed25519 BASE64`.
    pub fn host_public_key(&self) -> &str {
        &self.host_key
    }

    /// Its line of a known_hosts file: `[127.0.0.1]:PORT ssh-ed25519 BASE64`, the form
    /// OpenSSH looks up for a port other than 22.
    pub fn known_hosts_line(&self) -> String {
        format!("[{ADDRESS}]:{} {}", self.port, self.host_key)
    }

    /// A known_hosts file with only this host's key ([`Sshd::known_hosts_line`]).
    pub fn known_hosts_file(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// Its folder: host key, `sshd_config`, `authorized_keys`, `known_hosts`, `sshd.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its `sshd_config`.
    pub fn config_file(&self) -> PathBuf {
        self.dir.join("sshd_config")
    }

    /// What sshd has logged so far (`LogLevel VERBOSE`: connections, accepted keys, sessions).
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// The process id of the listener, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The options of the system client for this host, before the destination: no
    /// configuration file (`-F /dev/null`, so neither `~/.ssh/config` nor
    /// `/etc/ssh/ssh_config` apply), `BatchMode=yes`, `StrictHostKeyChecking=yes` against
    /// `known_hosts` only (no global file), `IdentitiesOnly=yes -i IDENTITY`, a 10 s connect
    /// timeout, and `-p PORT`. (`UserKnownHostsFile` takes a list of files separated by
    /// whitespace: `known_hosts` must not have spaces in its path.)
    pub fn ssh_options(&self, known_hosts: &Path) -> Vec<String> {
        let mut options = vec!["-F".to_string(), "/dev/null".to_string()];
        for o in [
            "BatchMode=yes".to_string(),
            "StrictHostKeyChecking=yes".to_string(),
            format!("UserKnownHostsFile={}", known_hosts.display()),
            "GlobalKnownHostsFile=/dev/null".to_string(),
            "UpdateHostKeys=no".to_string(),
            "IdentitiesOnly=yes".to_string(),
            "ConnectTimeout=10".to_string(),
        ] {
            options.push("-o".to_string());
            options.push(o);
        }
        options.push("-i".to_string());
        options.push(self.identity.display().to_string());
        options.push("-p".to_string());
        options.push(self.port.to_string());
        options
    }

    /// `USER@127.0.0.1`, the destination argument of `ssh`.
    pub fn destination(&self) -> String {
        format!("{}@{ADDRESS}", self.user())
    }

    /// `ssh [options] USER@127.0.0.1 REMOTE_COMMAND` checking the host key against
    /// `known_hosts` ([`Sshd::ssh_options`]), stdin from /dev/null; to spawn or run.
    pub fn ssh_command_with(&self, known_hosts: &Path, remote_command: &str) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(self.ssh_options(known_hosts))
            .arg(self.destination())
            .arg(remote_command)
            .stdin(Stdio::null());
        cmd
    }

    /// [`Sshd::ssh_command_with`] this host's own known_hosts file.
    pub fn ssh_command(&self, remote_command: &str) -> Command {
        self.ssh_command_with(&self.known_hosts_file(), remote_command)
    }

    /// Runs `remote_command` on the host through the system client with strict host key
    /// checking ([`Sshd::ssh_command`]); its status and output. `ssh` exits with the remote
    /// command's status, or 255 when the connection failed.
    pub fn ssh(&self, remote_command: &str) -> Output {
        self.ssh_command(remote_command)
            .output()
            .expect("cannot run ssh: run ./scripts/setup-test-env.sh (it installs openssh-client)")
    }

    /// Kills the host as a crash would: SIGKILLs the listener and every process below it, the
    /// per-connection sshd processes and the sessions' commands with theirs, so established
    /// connections drop at once (the clients see them close; `ssh` exits with 255) and new
    /// ones are refused. The process group is not enough: sshd puts each connection, and each
    /// session's command, in a session of its own (`setsid`), so the tree is walked through
    /// `/proc` instead; it is frozen first (SIGSTOP, until no new process shows up) so that
    /// nothing forks or reacts while it is killed. Returns when they are gone (or zombies
    /// waiting for init to reap them, at most 5 s). Processes that left the tree (daemonized,
    /// reparented to init) are not found. Does nothing when it is not running.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pids = freeze_tree(child.id() as i32);
        for &pid in &pids {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn write_config(&self, sshd: &Path) {
        let d = &self.dir;
        let base = format!(
            "ListenAddress {ADDRESS}\n\
             Port {port}\n\
             HostKey {host_key}\n\
             PidFile {pid}\n\
             AuthorizedKeysFile {authorized}\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\n\
             StrictModes no\n\
             UsePAM no\n\
             LogLevel VERBOSE\n\
             PrintMotd no\n\
             PrintLastLog no\n\
             MaxStartups 100\n\
             MaxSessions 100\n",
            port = self.port,
            host_key = d.join("ssh_host_ed25519_key").display(),
            pid = d.join("sshd.pid").display(),
            authorized = d.join("authorized_keys").display(),
        );
        let config = if supports_no_penalties(sshd, d, &base) {
            format!("{base}{NO_PENALTIES}")
        } else {
            base
        };
        std::fs::write(self.config_file(), config).expect("cannot write sshd_config");
    }

    fn write_own_known_hosts(&self) {
        write_known_hosts(&self.known_hosts_file(), &[self]);
    }

    /// Until sshd logs that it listens and its port accepts a TCP connection; the reason
    /// otherwise.
    fn wait_ready(&mut self) -> Result<(), String> {
        let addr: SocketAddr = format!("{ADDRESS}:{}", self.port)
            .parse()
            .expect("a socket address");
        let listening = format!("Server listening on {ADDRESS} port {}.", self.port);
        let deadline = Instant::now() + READY_WITHIN;
        let child = self.child.as_mut().expect("sshd was spawned");
        loop {
            if let Some(status) = child.try_wait().expect("cannot wait for sshd") {
                return Err(format!("sshd exited with {status}"));
            }
            if read_log(&self.dir).contains(&listening)
                && TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no connection accepted within {READY_WITHIN:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---- helpers ---------------------------------------------------------------------------------

const NO_PENALTIES: &str = "PerSourcePenalties no\n";

/// The log of the host in `dir` (a function of the folder, for while the child is borrowed).
fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
}

/// Whether this sshd knows `PerSourcePenalties` (OpenSSH 9.8 and later), checked once with
/// `sshd -t` on `base` plus that line.
fn supports_no_penalties(sshd: &Path, dir: &Path, base: &str) -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let probe = dir.join("sshd_config.probe");
        std::fs::write(&probe, format!("{base}{NO_PENALTIES}"))
            .expect("cannot write the probe sshd_config");
        let ok = Command::new(sshd)
            .arg("-t")
            .arg("-f")
            .arg(&probe)
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success());
        let _ = std::fs::remove_file(&probe);
        ok
    })
}

/// A port that was free a moment ago (bound to port 0, then released).
fn free_port() -> u16 {
    TcpListener::bind((ADDRESS, 0))
        .and_then(|l| l.local_addr())
        .expect("cannot bind a loopback port")
        .port()
}

/// sshd run as root needs its privilege separation folder, which the package's service
/// creates when it starts (it does not start in a container).
fn ensure_privsep_dir() {
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let dir = Path::new("/run/sshd");
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).expect("cannot create sshd's /run/sshd");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .expect("cannot set the permissions of /run/sshd");
    }
}

/// Spawns `sshd -D -e -f DIR/sshd_config` in a process group of its own, its stderr (the
/// log) appended to `DIR/sshd.log`, with [`super::spawn_guarded`], so the listener stops
/// when the test binary dies.
fn spawn_sshd(sshd: &Path, dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("sshd.log"))
        .expect("cannot open sshd.log");
    let mut cmd = Command::new(sshd);
    cmd.arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(dir.join("sshd_config"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("cannot share sshd.log"))
        .stderr(log)
        .process_group(0);
    super::spawn_guarded(cmd).unwrap_or_else(|e| panic!("cannot start {}: {e}", sshd.display()))
}

/// (pid, parent pid, state) of every process, from `/proc/PID/stat`.
fn processes() -> Vec<(i32, i32, char)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "PID (COMM) STATE PPID ...", where COMM may hold spaces and parentheses
            let mut rest = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
            let state = rest.next()?.chars().next()?;
            let ppid = rest.next()?.parse().ok()?;
            Some((pid, ppid, state))
        })
        .collect()
}

/// SIGSTOPs `root` and every process below it, rescanning until a scan after all of them
/// have stopped finds no new one; returns them all.
fn freeze_tree(root: i32) -> Vec<i32> {
    let mut tree = vec![root];
    unsafe {
        libc::kill(root, libc::SIGSTOP);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let all = processes();
        let new: Vec<i32> = all
            .iter()
            .filter(|(pid, ppid, _)| tree.contains(ppid) && !tree.contains(pid))
            .map(|&(pid, _, _)| pid)
            .collect();
        for &pid in &new {
            unsafe {
                libc::kill(pid, libc::SIGSTOP);
            }
        }
        tree.extend(&new);
        // a process that had not stopped yet when the tree was scanned may have forked since
        let settled = all
            .iter()
            .filter(|(pid, _, _)| tree.contains(pid))
            .all(|&(_, _, state)| matches!(state, 'T' | 't' | 'Z' | 'X'));
        if (new.is_empty() && settled) || Instant::now() > deadline {
            return tree;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether `pid` still runs (a zombie does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.get(s.rfind(')')? + 1..)?
                .split_whitespace()
                .next()?
                .chars()
                .next()
        })
        .is_some_and(|state| !matches!(state, 'Z' | 'X'))
}
