//! Secrets through the real binary: a literal secret in `[jobs.run] env` is refused by
//! `check-config` and at start (its value taken from the environment instead is masked in the
//! output), secret parameters never reach the SQLite file, and the database and its folder are
//! private (0600/0700).

mod common;

use common::fixtures::{self, bot_section};
use common::Bot;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// `set-password` (secret `password`) and `connect-db` (an env var `DB_PASSWORD = {env}`),
/// both printing what they got; the database at `db`.
fn config(env: &str, db: &str) -> String {
    fixtures::config(&[
        &bot_section("").replace("path = \"bot.sqlite\"", &format!("path = \"{db}\"")),
        &format!(
            r#"
[[jobs]]
id = "set-password"
description = "Set a database password"
  [[jobs.parameters]]
  name = "password"
  kind = "string"
  required = true
  [jobs.run]
  argv = ["scripts/echo.sh", "{{password}}"]
  secret = ["password"]

[[jobs]]
id = "connect-db"
description = "Connect to the database"
  [jobs.run]
  argv = ["scripts/echo.sh"]
  env = {{ DB_HOST = "db-01", DB_PASSWORD = {env} }}
"#
        ),
    ])
}

const ECHO: (&str, &str) = (
    "echo.sh",
    "#!/bin/sh\nprintf 'param=%s\\n' \"$JOB_PARAM_PASSWORD\"\nprintf 'arg=%s\\n' \"$1\"\nprintf 'db=%s\\n' \"$DB_PASSWORD\"\n",
);

fn bot_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
    cmd.args(args)
        .arg("--config")
        .arg(dir.join("bot.toml"))
        .env_remove("BOT_AUDIT_KEY")
        .env_remove("BOT_NOW");
    cmd
}

fn start(dir: &Path) -> Bot {
    let mut cmd = bot_cmd(dir, &["chat", "--wait", "--user", "alice"]);
    cmd.arg("--log")
        .arg(dir.join("bot.log"))
        .env("BOT_LOG", "info")
        .env("TEST_DB_PASSWORD", "env-s3cret-value")
        .stderr(std::process::Stdio::null());
    Bot::spawn(cmd)
}

#[test]
fn env_inline_secret_is_refused_by_check_config_and_at_start() {
    let text = config("\"hunter2-inline\"", "bot.sqlite");
    let dir = fixtures::bot_folder(&text, &[ECHO]);
    let line = text
        .lines()
        .position(|l| l.contains("hunter2-inline"))
        .unwrap()
        + 1;
    let out = bot_cmd(dir.path(), &["check-config"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "bot.toml:{line}: job `connect-db`: `DB_PASSWORD` in `env` looks like a secret and has a literal value; secrets must not be in the configuration file."
        )) && err.contains("`DB_PASSWORD = \"$DB_PASSWORD\"`"),
        "{err}"
    );
    assert!(!err.contains("hunter2-inline"), "{err}");
    let out = bot_cmd(dir.path(), &["chat", "--user", "alice"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("`DB_PASSWORD` in `env` looks like a secret"),
        "{err}"
    );
    assert!(!dir.path().join("bot.sqlite").exists());

    // from the bot's environment instead: accepted, and masked in the output
    let dir = fixtures::bot_folder(&config("\"$TEST_DB_PASSWORD\"", "bot.sqlite"), &[ECHO]);
    let out = bot_cmd(dir.path(), &["check-config"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut bot = start(dir.path());
    bot.send("!run connect-db");
    bot.expect("Started connect-db as #1001");
    bot.expect("#1001 connect-db succeeded");
    bot.expect("  | db=***");
    let t = bot.finish().join("\n");
    assert!(!t.contains("env-s3cret-value"), "{t}");
    assert!(!dump(dir.path()).contains("env-s3cret-value"));
}

/// Every text value of the database's tables, one per line.
fn dump(dir: &Path) -> String {
    let c = rusqlite::Connection::open(dir.join("bot.sqlite")).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for t in tables {
        let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                if let Ok(rusqlite::types::ValueRef::Text(v)) = r.get_ref(i) {
                    out.push_str(&format!("{t}: {}\n", String::from_utf8_lossy(v)));
                }
            }
        }
    }
    out
}

#[test]
fn secret_params_are_not_stored_in_the_database() {
    let dir = fixtures::bot_folder(&config("\"$TEST_DB_PASSWORD\"", "bot.sqlite"), &[ECHO]);
    let mut bot = start(dir.path());
    bot.send("!run set-password password=hunter2secret");
    bot.expect("Started set-password as #1001 (password=***).");
    bot.expect("#1001 set-password succeeded");
    bot.expect("  | param=***");
    bot.expect("  | arg=***");
    bot.finish();
    let all = dump(dir.path());
    assert!(!all.contains("hunter2secret"), "{all}");
    let c = rusqlite::Connection::open(dir.path().join("bot.sqlite")).unwrap();
    let (params, output): (String, String) = c
        .query_row(
            "SELECT params, output FROM executions WHERE id = 1001",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(params, "{\"password\":\"***\"}");
    assert!(output.contains("param=***\narg=***\n"), "{output}");
    let usage: String = c
        .query_row(
            "SELECT params FROM usage WHERE job = 'set-password'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(usage, "{}");
}

#[test]
fn database_and_its_folder_are_private() {
    let dir = fixtures::bot_folder(
        &config("\"$TEST_DB_PASSWORD\"", "data/state/bot.sqlite"),
        &[ECHO],
    );
    let mut bot = start(dir.path());
    bot.send("!jobs");
    bot.expect("Jobs you can run:");
    bot.finish();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("state")), 0o700);
    for f in [
        "bot.sqlite",
        "bot.sqlite.audit-key",
        "bot.sqlite.audit-checkpoints",
    ] {
        assert_eq!(mode(&data.join("state").join(f)), 0o600, "{f}");
    }
    let wal = data.join("state/bot.sqlite-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
}
