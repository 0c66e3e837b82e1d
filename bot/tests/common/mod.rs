//! What the bot's tests share: driving the real `bot` binary through stdin/stdout, the
//! [`fixtures`], and real OpenSSH servers for the SSH job tests ([`sshd`]).

#![allow(dead_code)]

pub mod fixtures;
pub mod sshd;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The lines of one message as the bot wrote it, without the two-space indentation that marks
/// its further lines on stdout (the first line is flush left).
pub fn unframe(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| match l.strip_prefix("  ") {
            Some(rest) if i > 0 => rest.to_string(),
            _ => l.clone(),
        })
        .collect()
}

/// A running bot: lines are sent to its stdin, and its stdout is read line by line.
pub struct Bot {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    pub transcript: Vec<String>,
    tolerated: Vec<String>,
}

impl Bot {
    /// Starts `cmd` (the bot binary with its arguments) from the repository root.
    pub fn spawn(mut cmd: Command) -> Bot {
        let mut child = cmd
            .current_dir(repo_root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Bot {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            transcript: Vec::new(),
            tolerated: Vec::new(),
        }
    }

    /// Closes stdin (end of input) without waiting for the exit.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    pub fn send(&mut self, text: &str) {
        self.transcript.push(format!(">>> {text}"));
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
    }

    /// Reads lines until one contains `needle`; returns it. The lines before it may only be
    /// the rest of a reply already seen (indented lines: output, list items), or lines the
    /// test said it tolerates ([`Bot::tolerate`]); any other line fails the test.
    #[track_caller]
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, Duration::from_secs(30))
    }

    /// Like [`Bot::expect`], for a test that does not care what comes before `needle`.
    #[track_caller]
    pub fn expect_after(&mut self, needle: &str) -> String {
        self.read_until(needle, Duration::from_secs(30), true)
    }

    /// From now on, lines containing `fragment` may come between the expected ones (pushed
    /// progress, say, whose timing the test does not control).
    pub fn tolerate(&mut self, fragment: &str) {
        self.tolerated.push(fragment.to_string());
    }

    #[track_caller]
    pub fn expect_within(&mut self, needle: &str, limit: Duration) -> String {
        self.read_until(needle, limit, false)
    }

    #[track_caller]
    fn read_until(&mut self, needle: &str, limit: Duration, skip_any: bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                    let continuation = line.starts_with(char::is_whitespace) || line.is_empty();
                    let tolerated = self.tolerated.iter().any(|t| line.contains(t.as_str()));
                    if !(skip_any || continuation || tolerated) {
                        let here = std::panic::Location::caller();
                        panic!(
                            "unexpected line {line:?} while waiting for {needle:?} (at {here}); \
                             expect it, or use expect_after/tolerate if it does not matter; \
                             transcript:\n{}",
                            self.transcript.join("\n")
                        );
                    }
                }
                Err(_) => panic!(
                    "no line containing {needle:?} within {limit:?}; transcript:\n{}",
                    self.transcript.join("\n")
                ),
            }
        }
    }

    /// Closes stdin, waits for the bot to exit and fails the test unless it exited with status
    /// 0; returns the rest of its output.
    #[track_caller]
    pub fn finish(self) -> Vec<String> {
        let (status, rest, transcript) = self.wait_for_exit();
        assert!(
            status.success(),
            "the bot exited with {status}; transcript:\n{}\n{}",
            transcript.join("\n"),
            rest.join("\n")
        );
        rest
    }

    /// Closes stdin and waits for the bot to exit; returns its status, whatever it is, and the
    /// rest of its output (for tests that expect a failure).
    pub fn finish_status(self) -> (ExitStatus, Vec<String>) {
        let (status, rest, _) = self.wait_for_exit();
        (status, rest)
    }

    fn wait_for_exit(mut self) -> (ExitStatus, Vec<String>, Vec<String>) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the bot did not exit; transcript:\n{}",
                    self.transcript.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // the reader thread ends at end of file and may still hold the last lines (a process
        // the bot left behind could keep the pipe open: wait a little, not forever)
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            rest.push(line);
        }
        (status, rest, self.transcript)
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The real `bot chat` with the configuration `dir/bot.toml`, as `user`, with the bot's clock
/// starting at `now` (RFC 3339; `BOT_NOW`) when given, and `args`; its stderr is appended to
/// `dir/stderr.log`.
pub fn chat(dir: &Path, user: &str, now: Option<&str>, args: &[&str]) -> Bot {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stderr.log"))
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
    match now {
        Some(t) => cmd.env("BOT_NOW", t),
        None => cmd.env_remove("BOT_NOW"),
    };
    cmd.arg("chat")
        .arg("--config")
        .arg(dir.join("bot.toml"))
        .arg("--user")
        .arg(user)
        .args(args)
        .stderr(log);
    Bot::spawn(cmd)
}

/// The pid a job wrote to `path`, waiting up to 10 s for it.
/// Runs `bot audit ARGS --config DIR/bot.toml`; returns the exit code and stdout + stderr.
pub fn audit(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bot"))
        .arg("audit")
        .args(args)
        .arg("--config")
        .arg(dir.join("bot.toml"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

pub fn read_pid(path: &Path) -> i32 {
    for _ in 0..200 {
        if let Ok(s) = std::fs::read_to_string(path) {
            if let Ok(pid) = s.trim().parse() {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no pid file {}", path.display());
}

/// Whether a process (not a zombie) with this pid exists.
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

/// Whether the process `pgid` and its group are gone within `limit` (a killed group's
/// zombies may take a few seconds to be reaped).
pub fn eventually_gone(pgid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !process_alive(pgid) && !bot::jobs::local::group_alive(pgid) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- processes that die with the test binary --------------------------------------------

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `cmd` from a thread that lives as long as the test binary, with
/// `PR_SET_PDEATHSIG` = SIGTERM: the child is stopped when the test binary ends, even when a
/// test aborts (the "parent" of the death signal is the spawning thread).
pub fn spawn_guarded(mut cmd: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let tx = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
            // keep the thread (the children's "parent") alive until the process ends
            loop {
                std::thread::park();
            }
        });
        Mutex::new(tx)
    });
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let (reply_tx, reply_rx) = mpsc::channel();
    tx.lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, reply_tx))
        .expect("the spawner thread is alive");
    reply_rx.recv().expect("the spawner thread answers")
}
