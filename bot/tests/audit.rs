//! The keyed audit trail through the real binary: the key created next to the database, the
//! signed checkpoints, and `bot audit verify` catching what an attacker with write access to
//! the SQLite file (but not the key) can do: cut the tail, delete every row, rewrite a row
//! and recompute the later hashes, append a forged row, edit `at`, drop a trigger. A database
//! of the old unkeyed chain still starts and verifies with a note.

mod common;

use common::fixtures::{self, bot_section, BACKUP_DATABASE, HOSTS, QUICK_SH};
use common::Bot;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn setup() -> tempfile::TempDir {
    fixtures::bot_folder(
        &fixtures::config(&[&bot_section(""), HOSTS, BACKUP_DATABASE]),
        &[QUICK_SH],
    )
}

/// Runs `bot chat` as alice with `lines`, waiting for the runs to end; info logs in `bot.log`.
fn chat(dir: &Path, lines: &[(&str, &str)]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
    cmd.args(["chat", "--wait", "--user", "alice", "--config"])
        .arg(dir.join("bot.toml"))
        .arg("--log")
        .arg(dir.join("bot.log"))
        .env("BOT_LOG", "info")
        .env_remove("BOT_AUDIT_KEY")
        .env_remove("BOT_NOW")
        .stderr(std::process::Stdio::null());
    let mut bot = Bot::spawn(cmd);
    bot.tolerate("succeeded");
    for (send, expect) in lines {
        bot.send(send);
        bot.expect(expect);
    }
    bot.finish();
}

/// Two runs: a trail of several records.
fn two_runs(dir: &Path) {
    chat(
        dir,
        &[
            (
                "!run backup-database target=db-01",
                "Started backup-database as #1001",
            ),
            (
                "!run backup-database target=db-02",
                "backup-database as #1002",
            ),
        ],
    );
}

/// `bot audit verify`: exit code and output.
fn verify(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bot"))
        .args(["audit", "verify", "--config"])
        .arg(dir.join("bot.toml"))
        .env_remove("BOT_AUDIT_KEY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("bot.sqlite")).unwrap()
}

fn count(c: &rusqlite::Connection) -> i64 {
    c.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
        .unwrap()
}

/// A verified trail of two runs, then `tamper` on the SQLite file (triggers dropped first,
/// as an attacker would); returns verify's exit code and output.
fn tampered(tamper: impl FnOnce(&rusqlite::Connection)) -> (i32, String) {
    let dir = setup();
    two_runs(dir.path());
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    let c = db(dir.path());
    c.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
    tamper(&c);
    drop(c);
    let (code, out) = verify(dir.path());
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("the trigger `audit_no_update` is missing"),
        "{out}"
    );
    (code, out)
}

#[test]
fn audit_key_is_created_and_each_record_checkpointed() {
    let dir = setup();
    two_runs(dir.path());
    let key = dir.path().join("bot.sqlite.audit-key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap();
    assert!(log.contains("created the audit key"), "{log}");
    assert!(log.contains("audit checkpoint"), "{log}");
    let cps = std::fs::read_to_string(dir.path().join("bot.sqlite.audit-checkpoints")).unwrap();
    let n = count(&db(dir.path()));
    let last = cps.lines().last().unwrap();
    assert!(last.contains(&format!("\"records\":{n},")), "{cps}");
    assert!(last.contains("\"mac\":"), "{cps}");
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "audit trail OK: {n} records, keyed hash chain intact"
        )),
        "{out}"
    );
    // the second start keeps the key
    chat(dir.path(), &[("!jobs", "Jobs you can run:")]);
    let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap();
    assert_eq!(log.matches("created the audit key").count(), 1, "{log}");
    assert_eq!(verify(dir.path()).0, 0);
}

#[test]
fn audit_verify_catches_truncation() {
    let (_, out) = tampered(|c| {
        let n = count(c);
        c.execute("DELETE FROM audit WHERE seq > ?1", [n - 2])
            .unwrap();
    });
    assert!(out.contains("were cut off or deleted"), "{out}");
}

#[test]
fn audit_verify_catches_deleting_every_row() {
    let (_, out) = tampered(|c| {
        c.execute("DELETE FROM audit", []).unwrap();
    });
    assert!(out.contains("the database has 0: records 1 to"), "{out}");
}

#[test]
fn audit_verify_catches_a_rewrite_with_recomputed_hashes() {
    // the old attack: edit a record, recompute the plain sha256 chain after it
    let (_, out) = tampered(|c| rewrite(c, None));
    assert!(
        out.contains("record 2 is unkeyed but follows keyed records"),
        "{out}"
    );
    assert!(out.contains("is not the one the checkpoint of"), "{out}");
    // the same with a guessed key, keeping the rows keyed
    let guess = bot::store::chain::AuditKey::from_text(&"g".repeat(64)).unwrap();
    let (_, out) = tampered(|c| rewrite(c, Some(&guess)));
    assert!(out.contains("record 2 was edited or forged"), "{out}");
    assert!(out.contains("is not the one the checkpoint of"), "{out}");
}

/// Hides alice's first job in record 2 onwards and recomputes every later hash and link:
/// with the legacy sha256 (`key` None) or a keyed hash by `key`.
fn rewrite(c: &rusqlite::Connection, key: Option<&bot::store::chain::AuditKey>) {
    let rows: Vec<(i64, i64, String, String)> = c
        .prepare("SELECT seq, at, record, alg FROM audit ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev: String = c
        .query_row("SELECT hash FROM audit WHERE seq = 1", [], |r| r.get(0))
        .unwrap();
    for (seq, at, record, _) in rows.into_iter().skip(1) {
        let mut v: serde_json::Value = serde_json::from_str(&record).unwrap();
        v["prev"] = prev.clone().into();
        let text = serde_json::to_string(&v).unwrap().replace("db-01", "db-02");
        let (alg, hash) = match key {
            None => ("sha256", bot::store::chain::legacy_hash(&prev, &text)),
            Some(k) => (
                "hmac-sha256",
                k.row_hash(seq, at, "hmac-sha256", &prev, &text),
            ),
        };
        c.execute(
            "UPDATE audit SET record = ?2, prev_hash = ?3, hash = ?4, alg = ?5 WHERE seq = ?1",
            rusqlite::params![seq, text, prev, hash, alg],
        )
        .unwrap();
        prev = hash;
    }
}

#[test]
fn audit_verify_catches_a_forged_append() {
    let (_, out) = tampered(|c| {
        let (seq, hash): (i64, String) = c
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let record = format!(
            "{{\"kind\":\"decision\",\"user\":\"alice\",\"decision\":\"allow\",\"seq\":{},\"prev\":\"{hash}\"}}",
            seq + 1
        );
        // as the old chain was forged: sha256 over the previous hash and the record
        let forged = bot::store::chain::legacy_hash(&hash, &record);
        c.execute(
            "INSERT INTO audit (seq, at, record, prev_hash, hash) VALUES (?1, 0, ?2, ?3, ?4)",
            rusqlite::params![seq + 1, record, hash, forged],
        )
        .unwrap();
        // and a keyed-looking one after it
        let record2 = format!(
            "{{\"kind\":\"decision\",\"seq\":{},\"prev\":\"{forged}\"}}",
            seq + 2
        );
        c.execute(
            "INSERT INTO audit (seq, at, record, prev_hash, hash, alg) VALUES (?1, 0, ?2, ?3, ?4, 'hmac-sha256')",
            rusqlite::params![seq + 2, record2, forged, "ab".repeat(32)],
        )
        .unwrap();
    });
    assert!(
        out.contains("is unkeyed but follows keyed records"),
        "{out}"
    );
    assert!(out.contains("was edited or forged"), "{out}");
}

#[test]
fn audit_verify_catches_an_edited_at() {
    let (_, out) = tampered(|c| {
        // moves record 3 a day back: `export --since` would hide it
        c.execute("UPDATE audit SET at = at - 86400000 WHERE seq = 3", [])
            .unwrap();
    });
    assert!(
        out.contains("record 3 was edited or forged (its hash does not match its columns: seq, at, record, prev_hash)"),
        "{out}"
    );
}

#[test]
fn audit_verify_reports_a_dropped_trigger_and_the_bot_restores_it() {
    let dir = setup();
    two_runs(dir.path());
    db(dir.path())
        .execute_batch("DROP TRIGGER audit_no_delete;")
        .unwrap();
    let (code, out) = verify(dir.path());
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("audit trail BROKEN: the trigger `audit_no_delete` is missing"),
        "{out}"
    );
    // the next start restores it and records that it was missing
    chat(dir.path(), &[("!jobs", "Jobs you can run:")]);
    let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap();
    assert!(
        log.contains("audit_no_delete of the audit table were missing"),
        "{log}"
    );
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    let c = db(dir.path());
    assert!(c.execute("DELETE FROM audit", []).is_err());
    let n: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE record LIKE '%\"kind\":\"integrity\"%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn audit_verify_without_the_key_says_what_it_cannot_prove() {
    let dir = setup();
    two_runs(dir.path());
    let key = dir.path().join("bot.sqlite.audit-key");
    let elsewhere = dir.path().join("key-backup");
    std::fs::rename(&key, &elsewhere).unwrap();
    let (code, out) = verify(dir.path());
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("audit trail NOT VERIFIED"), "{out}");
    assert!(out.contains("note: without the audit key"), "{out}");
    // with the key from the environment it verifies
    let out = Command::new(env!("CARGO_BIN_EXE_bot"))
        .args(["audit", "verify", "--config"])
        .arg(dir.path().join("bot.toml"))
        .env(
            "BOT_AUDIT_KEY",
            std::fs::read_to_string(&elsewhere).unwrap(),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("from $BOT_AUDIT_KEY"), "{text}");
}

#[test]
fn an_old_unkeyed_database_starts_and_verifies_with_a_note() {
    let dir = setup();
    let path = dir.path().join("bot.sqlite");
    // a database of the previous version: schema 6, three records of the unkeyed chain
    {
        let s = bot::store::Store::open(&path).unwrap();
        for user in ["a", "b", "c"] {
            let e = bot::policy::audit::Entry {
                kind: "command".into(),
                user: user.into(),
                ..Default::default()
            };
            bot::policy::audit::append(&s, chrono::Utc::now(), &e).unwrap();
        }
    }
    let c = db(dir.path());
    // (the tables of later versions go too)
    c.execute_batch(
        "ALTER TABLE audit DROP COLUMN alg; DROP TABLE user_langs; \
         ALTER TABLE approvals DROP COLUMN reason_zh; \
         ALTER TABLE approvals DROP COLUMN justification; PRAGMA user_version = 6;",
    )
    .unwrap();
    drop(c);
    let (code, out) = verify(dir.path());
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("note: records 1 to 3 are from the old unkeyed chain"),
        "{out}"
    );
    chat(
        dir.path(),
        &[(
            "!run backup-database target=db-01",
            "Started backup-database as #1001",
        )],
    );
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("note: records 1 to 3 are from the old unkeyed chain (plain sha256, written before this version): their content is covered by the keyed record after them"),
        "{out}"
    );
}
