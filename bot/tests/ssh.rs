//! Jobs on catalog hosts over SSH, against real OpenSSH servers (`common::sshd`: one `sshd`
//! per host on loopback, with generated host and user keys), through the real `bot` binary:
//! a run, hostile values arriving literally, cancel and timeout stopping the remote process
//! group, a refused host key, a refused login, an unreachable host, an `sshd` killed
//! mid-run, and a bot killed and restarted mid-run.

mod common;

use common::fixtures::bot_section;
use common::sshd::{write_known_hosts, Keys, Sshd};
use common::{read_pid, Bot};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Three hosts: `db-01` and `db-02` with an `sshd` each (db-02's key is not in known_hosts
/// unless `trust_db02`), `web-01` on a port where nothing listens; `cache-01` on db-01's
/// server with a key it does not accept.
struct Hosts {
    _keys: Keys,
    db01: Sshd,
    _db02: Sshd,
    dir: PathBuf,
}

/// The parameter `message`, a required string.
const MESSAGE: &str =
    "  [[jobs.parameters]]\n  name = \"message\"\n  kind = \"string\"\n  required = true\n";

/// Job `id` on the host its `target` parameter names (with `params` after it), running
/// `argv` (a TOML array), with `run` (a TOML line) added to its `[jobs.run]`.
fn on_target(id: &str, params: &str, argv: &str, run: &str) -> String {
    format!(
        "\n[[jobs]]\nid = \"{id}\"\n  [[jobs.parameters]]\n  name = \"target\"\n  kind = \"host\"\n  required = true\n{params}  [jobs.run]\n  on = \"{{target}}\"\n  argv = {argv}\n  {run}\n"
    )
}

/// A bot with `remote-sleep` running on db-01 as #1001, and the job's process group there
/// (from its run file).
fn sleeping_on_db01(h: &Hosts) -> (Bot, i32) {
    let mut bot = start(&h.dir, &[]);
    bot.send("!run remote-sleep target=db-01");
    bot.expect("Started remote-sleep as #1001");
    read_pid(&h.dir.join("sleep-1001.pid"));
    let pgid = read_pid(&h.dir.join("runs/1001.pgid"));
    (bot, pgid)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn setup(dir: &Path, trust_db02: bool) -> Hosts {
    setup_with(dir, trust_db02, 4)
}

/// [`setup`] with `[ssh] max_per_host`.
fn setup_with(dir: &Path, trust_db02: bool, max_per_host: usize) -> Hosts {
    let keys = Keys::generate(dir);
    let db01 = Sshd::start(dir, &keys, "db-01");
    let db02 = Sshd::start(dir, &keys, "db-02");
    std::fs::create_dir_all(dir.join("other")).unwrap();
    let other = Keys::generate(&dir.join("other"));
    let known = dir.join("known_hosts");
    let trusted: Vec<&Sshd> = if trust_db02 {
        vec![&db01, &db02]
    } else {
        vec![&db01]
    };
    write_known_hosts(&known, &trusted);
    let runs = dir.join("runs");
    let config = format!(
        r#"{bot}
[ssh]
identity_file = "{id}"
known_hosts = "{known}"
connect_timeout = "3s"
run_dir = "{runs}"
max_per_host = {max_per_host}

[[environments]]
id = "staging"

[[hosts]]
id = "db-01"
environments = ["staging"]
ssh = {{ address = "127.0.0.1", port = {p1}, user = "{user}" }}
[[hosts]]
id = "db-02"
environments = ["staging"]
ssh = {{ address = "127.0.0.1", port = {p2}, user = "{user}" }}
[[hosts]]
id = "web-01"
ssh = {{ address = "127.0.0.1", port = {closed}, user = "{user}" }}
[[hosts]]
id = "cache-01"
ssh = {{ address = "127.0.0.1", port = {p1}, user = "{user}", identity_file = "{other}" }}

[[jobs]]
id = "remote-uptime"
  [[jobs.parameters]]
  name = "environment"
  kind = "environment"
  required = true
  [jobs.run]
  on = "environment:{{environment}}"
  argv = ["sh", "-c", "echo \"up, $1\"", "job", "{{environment}}"]

[[jobs]]
id = "remote-pair"
  [jobs.run]
  on = ["db-01", "web-01"]
  argv = ["echo", "hello"]
"#,
        bot = bot_section(""),
        id = keys.identity_file().display(),
        other = other.identity_file().display(),
        known = known.display(),
        runs = runs.display(),
        p1 = db01.port(),
        p2 = db02.port(),
        closed = free_port(),
        user = db01.user(),
        max_per_host = max_per_host,
    );
    let d = dir.display();
    let config = [
        config,
        on_target(
            "remote-echo",
            MESSAGE,
            r#"["sh", "-c", "printf 'arg=%s\nenv=%s\nvia=%s\n' \"$1\" \"$JOB_PARAM_MESSAGE\" \"${SSH_CONNECTION:+ssh}\"", "job", "{message}"]"#,
            "",
        ),
        on_target(
            "remote-sleep",
            "",
            &format!(r#"["sh", "-c", "echo $$ > \"$1/sleep-$JOB_EXECUTION_ID.pid\"; echo sleeping; sleep 60; echo never", "job", "{d}"]"#),
            "timeout = \"2m\"",
        ),
        on_target(
            "remote-tick",
            "",
            r#"["sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 0.4; done"]"#,
            "concurrency = 5",
        ),
        on_target(
            "remote-slow",
            "",
            &format!(r#"["sh", "-c", "echo $$ > \"$1/slow-$JOB_EXECUTION_ID.pid\"; sleep 60", "job", "{d}"]"#),
            "timeout = \"1s\"",
        ),
    ]
    .concat();
    std::fs::write(dir.join("bot.toml"), config).unwrap();
    Hosts {
        _keys: keys,
        db01,
        _db02: db02,
        dir: dir.to_path_buf(),
    }
}

fn start(dir: &Path, args: &[&str]) -> Bot {
    common::chat(dir, "tester", None, args)
}

/// Whether the process group `pgid` (the job on the "host", which is this machine; its id is
/// in the run file) is gone.
fn eventually_gone(pgid: i32) -> bool {
    common::eventually_gone(pgid, Duration::from_secs(10))
}

#[test]
fn a_run_on_a_host_gets_hostile_values_literally() {
    let dir = tempfile::tempdir().unwrap();
    let h = setup(dir.path(), true);
    let mut bot = start(&h.dir, &["--wait"]);
    let hostile = format!(
        "x'; touch {d}/pwned; $(touch {d}/pwned2) `touch {d}/pwned3` | cat",
        d = h.dir.display()
    );
    bot.send(&format!(
        "!run remote-echo target=db-01 message=\"{hostile}\""
    ));
    bot.expect("Started remote-echo as #1001");
    bot.expect("#1001 remote-echo succeeded");
    bot.expect(&format!("  | arg={hostile}"));
    bot.expect(&format!("  | env={hostile}"));
    bot.expect("  | via=ssh");
    bot.finish();
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(!h.dir.join(f).exists(), "{f} was created");
    }
    // the run file is gone with the run
    assert!(!h.dir.join("runs/1001.pgid").exists());
}

#[test]
fn a_run_fans_out_to_the_hosts_of_an_environment_with_one_summary() {
    let dir = tempfile::tempdir().unwrap();
    let h = setup(dir.path(), true);
    let mut bot = start(&h.dir, &["--wait"]);
    bot.send("!run remote-uptime environment=staging");
    bot.expect("Started remote-uptime as #1001");
    bot.expect_after("#1001 remote-uptime succeeded");
    bot.send("!status 1001");
    bot.expect_after("── db-02: succeeded");
    bot.send("!run remote-pair");
    bot.expect_after("Started remote-pair as #1002");
    let l = bot.expect_after("#1002 remote-pair failed after");
    assert!(l.contains("exit code 255"), "{l}");
    bot.expect_after("── db-01: succeeded");
    let l = bot.expect_after("── web-01: did not start (unreachable:");
    assert!(l.contains("Connection refused"), "{l}");
    let transcript = bot.transcript.join("\n");
    bot.finish();
    for line in [
        "[db-01] up, staging",
        "[db-02] up, staging",
        "── db-01: succeeded",
    ] {
        assert!(transcript.contains(line), "{line} not in {transcript}");
    }
}

#[test]
fn watch_follows_a_run_on_a_host_and_a_host_takes_max_per_host_runs() {
    let dir = tempfile::tempdir().unwrap();
    let h = setup_with(dir.path(), true, 1);
    let mut bot = start(&h.dir, &["--wait"]);
    bot.send("!run remote-tick target=db-01");
    bot.expect("Started remote-tick as #1001");
    // one run at a time on db-01: the second waits for the first
    bot.send("!run remote-tick target=db-01");
    bot.expect("Queued remote-tick as #1002");
    // another host is not held up
    bot.send("!run remote-tick target=db-02");
    bot.expect("Started remote-tick as #1003");
    bot.send("!watch 1001");
    bot.expect_after("Watching #1001 remote-tick");
    let l = bot.expect_after("#1001 remote-tick succeeded in");
    assert!(l.ends_with("(exit code 0)."), "{l}");
    bot.expect_after("#1002 remote-tick succeeded in");
    bot.send("!status 1002");
    bot.expect_after("tick 3");
    bot.finish();
    // #1002 started only once #1001 had ended
    let store = bot::store::Store::open(&h.dir.join("bot.sqlite")).unwrap();
    let first = store.executions().get(1001).unwrap().unwrap();
    let second = store.executions().get(1002).unwrap().unwrap();
    assert!(second.started_at.unwrap() >= first.finished_at.unwrap());
}

#[test]
fn cancel_and_timeout_stop_the_remote_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let h = setup(dir.path(), true);
    let (mut bot, pid) = sleeping_on_db01(&h);
    assert!(bot::jobs::local::group_alive(pid));
    bot.send("!cancel 1001");
    bot.expect_after("#1001 remote-sleep was cancelled by tester after");
    assert!(
        eventually_gone(pid),
        "the job's group {pid} still runs on the host"
    );
    assert!(!h.dir.join("runs/1001.pgid").exists());
    bot.send("!run remote-slow target=db-01");
    bot.expect_after("Started remote-slow as #1002");
    read_pid(&h.dir.join("slow-1002.pid"));
    let pid = read_pid(&h.dir.join("runs/1002.pgid"));
    let l = bot.expect_after("#1002 remote-slow timed out after");
    assert!(l.contains("stopped after the timeout of 1.0s"), "{l}");
    assert!(
        eventually_gone(pid),
        "the job's group {pid} still runs on the host"
    );
    bot.finish();
}

#[test]
fn host_key_login_and_reachability_failures_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let h = setup(dir.path(), false);
    let mut bot = start(&h.dir, &["--wait"]);
    bot.tolerate("Started remote-echo");
    bot.send("!run remote-echo target=db-02 message=hi");
    let l = bot.expect_after("#1001 remote-echo did not start on its host: the host key of db-02");
    assert!(l.contains("is not the one in"), "{l}");
    assert!(l.contains("ssh-keyscan -p"), "{l}");
    bot.send("!run remote-echo target=cache-01 message=hi");
    let l = bot.expect_after("#1002 remote-echo did not start on its host: cache-01");
    assert!(l.contains("refused the login"), "{l}");
    bot.send("!run remote-echo target=web-01 message=hi");
    let l = bot.expect_after("#1003 remote-echo did not start on its host: cannot reach web-01");
    assert!(l.contains("Connection refused"), "{l}");
    bot.send("!history");
    bot.expect_after("unreachable");
    bot.finish();
}

#[test]
fn an_sshd_killed_mid_run_interrupts_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = setup(dir.path(), true);
    let (mut bot, pid) = sleeping_on_db01(&h);
    h.db01.kill();
    let l = bot.expect_after("#1001 remote-sleep was interrupted: the connection to db-01");
    assert!(l.contains("dropped while the job ran"), "{l}");
    bot.finish();
    // the host cannot be told to stop it while it is down; this test cleans up itself
    unsafe { libc::kill(-pid, libc::SIGKILL) };
}

#[test]
fn a_bot_restarted_mid_run_kills_the_remote_run() {
    let dir = tempfile::tempdir().unwrap();
    let h = setup(dir.path(), true);
    let (bot, pid) = sleeping_on_db01(&h);
    bot.kill();
    assert!(
        bot::jobs::local::group_alive(pid),
        "the run outlived the bot"
    );
    let mut bot = start(&h.dir, &[]);
    let l = bot.expect_after("#1001 remote-sleep was interrupted");
    assert!(l.contains("its processes on db-01 were killed"), "{l}");
    assert!(
        eventually_gone(pid),
        "the job's group {pid} still runs on the host"
    );
    bot.finish();
}

#[test]
fn the_worked_example_and_bad_hosts_are_checked_at_load() {
    let out = Command::new(env!("CARGO_BIN_EXE_bot"))
        .current_dir(common::repo_root())
        .args(["check-config", "--config", "config/ssh-example.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("OK (3 jobs"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let bad = format!(
        "{}\n[[hosts]]\nid = \"db-01\"\n\n[[jobs]]\nid = \"x\"\n  [jobs.run]\n  on = \"db-99\"\n  argv = [\"true\"]\n",
        bot_section("")
    );
    std::fs::write(dir.path().join("bot.toml"), bad).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bot"))
        .arg("check-config")
        .arg("--config")
        .arg(dir.path().join("bot.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bot.toml:15: job `x`: `on` entry \"db-99\" must be a catalog host (db-01)"),
        "{err}"
    );
}

/// The load figure of the SSH platform (run by hand: `cargo test -p bot --test ssh --
/// --ignored --nocapture`): 20 runs at once over 4 hosts, each a 2 s job. Prints the time
/// until all had started and ended, and the bot's peak memory; checks that all 20 succeeded.
#[test]
#[ignore]
fn load_twenty_runs_over_four_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = Keys::generate(d);
    let hosts: Vec<Sshd> = (1..=4)
        .map(|i| Sshd::start(d, &keys, &format!("h{i}")))
        .collect();
    let known = d.join("known_hosts");
    write_known_hosts(&known, &hosts.iter().collect::<Vec<_>>());
    let mut config = format!(
        "{}\n[ssh]\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\nmax_per_host = 5\nrun_dir = \"{}/runs\"\n",
        bot_section(""),
        keys.identity_file().display(),
        known.display(),
        d.display()
    );
    for (i, h) in hosts.iter().enumerate() {
        config.push_str(&format!(
            "\n[[hosts]]\nid = \"h{}\"\nssh = {{ address = \"127.0.0.1\", port = {}, user = \"{}\" }}\n",
            i + 1,
            h.port(),
            h.user()
        ));
    }
    config.push_str(&on_target(
        "work",
        "",
        r#"["sh", "-c", "echo working; sleep 2; echo done"]"#,
        "concurrency = 20",
    ));
    std::fs::write(d.join("bot.toml"), config).unwrap();
    let mut bot = start(d, &["--wait"]);
    let t0 = std::time::Instant::now();
    for i in 0..20 {
        bot.send(&format!("!run work target=h{}", i % 4 + 1));
    }
    for i in 0..20 {
        bot.expect_after(&format!("Started work as #{}", 1001 + i));
    }
    let started = t0.elapsed();
    let mut ended = 0;
    while ended < 20 {
        bot.expect_after("succeeded in");
        ended += 1;
        if t0.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    let all = t0.elapsed();
    let peak = std::fs::read_to_string(format!("/proc/{}/status", bot.child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .unwrap_or_default();
    println!(
        "20 runs over 4 hosts: all started in {:.2} s, all ended in {:.2} s; bot {peak}",
        started.as_secs_f64(),
        all.as_secs_f64()
    );
    bot.finish();
    let store = bot::store::Store::open(&d.join("bot.sqlite")).unwrap();
    let runs = store
        .executions()
        .history(&bot::jobs::HistoryQuery {
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(runs.len(), 20);
    assert!(
        runs.iter()
            .all(|e| e.status == bot::jobs::Status::Succeeded),
        "{:?}",
        runs.iter().map(|e| e.status).collect::<Vec<_>>()
    );
}
