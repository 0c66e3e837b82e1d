//! One bot per database, through the real binary: a second bot on the same database stops at
//! start, naming the first, and leaves the first one's running jobs alone.

mod common;

use common::fixtures::{self, bot_section, QUICK_SH};
use common::Bot;
use std::path::Path;
use std::process::{Command, Stdio};

/// `sync-config`: runs for 3 seconds.
const SYNC_CONFIG: &str = r#"
[[jobs]]
id = "sync-config"
description = "Push the configuration"
  [jobs.run]
  argv = ["scripts/sync.sh"]
  timeout = "1m"
"#;

const SYNC_SH: (&str, &str) = (
    "sync.sh",
    "#!/bin/sh\necho 'syncing'\nsleep 3\necho 'synced'\n",
);

fn setup() -> tempfile::TempDir {
    fixtures::bot_folder(
        &fixtures::config(&[&bot_section(""), SYNC_CONFIG]),
        &[QUICK_SH, SYNC_SH],
    )
}

fn chat(dir: &Path, user: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
    cmd.args(["chat", "--wait", "--user", user, "--config"])
        .arg(dir.join("bot.toml"))
        .current_dir(common::repo_root());
    cmd
}

fn lease_rows(dir: &Path) -> i64 {
    let c = rusqlite::Connection::open(dir.join("bot.sqlite")).unwrap();
    c.query_row("SELECT count(*) FROM lease", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_second_bot_on_the_same_database_stops_and_leaves_the_first_ones_runs_alone() {
    let dir = setup();
    let mut first = chat(dir.path(), "alice");
    first.stderr(Stdio::null());
    let mut a = Bot::spawn(first);
    a.send("!run sync-config");
    a.expect("Started sync-config as #1001");
    // the second bot finds the first one's lease: it says so, exits non-zero, and runs nothing
    let b = chat(dir.path(), "bob")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&b.stderr);
    let out = String::from_utf8_lossy(&b.stdout);
    assert!(!b.status.success(), "stdout:\n{out}\nstderr:\n{err}");
    let pid = a.child.id();
    assert!(
        err.contains("is in use by another bot")
            && err.contains(&format!("pid {pid} on host"))
            && err.contains("Stop that bot first, or give this one its own database"),
        "{err}"
    );
    assert!(!out.contains("#1001"), "{out}");
    // the first bot's run goes on to the end
    a.close_stdin();
    a.expect("#1001 sync-config succeeded");
    a.finish();
    // a clean exit gives the lease back: the next bot starts
    assert_eq!(lease_rows(dir.path()), 0);
    let c = chat(dir.path(), "bob")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
}

#[test]
fn a_killed_bots_lease_is_taken_over_at_the_next_start() {
    let dir = setup();
    let mut first = chat(dir.path(), "alice");
    first.stderr(Stdio::null());
    let mut a = Bot::spawn(first);
    a.send("!run sync-config");
    a.expect("Started sync-config as #1001");
    a.kill();
    assert_eq!(lease_rows(dir.path()), 1);
    // its process is gone: no need to wait for the lease to expire
    let mut b = Bot::spawn(chat(dir.path(), "alice"));
    b.expect("#1001 sync-config was interrupted");
    b.finish();
}
