//! SQLite storage. [`Store`] is the shared database handle (one connection, the migrations,
//! the audit signer); each table has its own repository, reached from the handle:
//! `store.executions().get(id)`, `store.dialogs().put(..)`, `store.follows()`,
//! `store.approvals()`, `store.audit()`, `store.langs()`, `store.usage()`,
//! `store.adapter_states()`, `store.leases()`. Created on first use; the schema is versioned
//! with `PRAGMA user_version` and migrated forward on open. Every write is committed before
//! the caller replies.

mod adapter_state;
mod approvals;
mod audit;
pub mod audit_key;
pub mod chain;
mod dialogs;
mod executions;
mod follows;
mod langs;
pub mod lease;
mod usage;

pub use adapter_state::AdapterStates;
pub use approvals::{ApprovalRow, Approvals};
pub use audit::{AuditRow, AuditTrail, AUDIT_GENESIS};
pub use dialogs::{Dialogs, StoredDialog};
pub use executions::{Executions, Finish, NewExecution, RunningRow, Transition};
pub use follows::Follows;
pub use langs::{UserLang, UserLangs};
pub use lease::Leases;
pub use usage::{Usage, UsageLog};

use crate::domain::exec::{ExecId, Execution, HistoryQuery, Status};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create {path}: {source}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the database {path} has schema version {found}, newer than this bot knows ({known}); upgrade the bot")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The migrations, in order; `user_version` is the number applied.
pub const MIGRATIONS: &[&str] = &[
    // 1: executions, their transitions, dialogs, subscriptions
    r#"
    CREATE TABLE executions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job TEXT NOT NULL,
        params TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        exit_code INTEGER,
        signal INTEGER,
        pid INTEGER,
        pid_start INTEGER,
        cpu_ms INTEGER,
        max_rss_kb INTEGER,
        output TEXT NOT NULL DEFAULT '',
        output_truncated INTEGER NOT NULL DEFAULT 0,
        detail TEXT,
        cancelled_by TEXT
    );
    CREATE INDEX executions_job ON executions(job, id);
    CREATE INDEX executions_status ON executions(status, run_at);
    -- ids start at 1001
    INSERT INTO sqlite_sequence(name, seq) VALUES ('executions', 1000);
    CREATE TABLE execution_events (
        execution_id INTEGER NOT NULL REFERENCES executions(id),
        at INTEGER NOT NULL,
        status TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX execution_events_id ON execution_events(execution_id);
    CREATE TABLE dialogs (
        user TEXT NOT NULL,
        channel TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (user, channel)
    );
    CREATE TABLE subscriptions (
        execution_id INTEGER NOT NULL,
        channel TEXT NOT NULL,
        user TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (execution_id, channel)
    );
    "#,
    // 2: the audit trail (append-only, hash-chained) and approval requests
    r#"
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        record TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        requester TEXT NOT NULL,
        chat_user TEXT NOT NULL,
        channel TEXT NOT NULL,
        job TEXT NOT NULL,
        params TEXT NOT NULL,
        run_at INTEGER,
        role TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        decided_by TEXT,
        decided_at INTEGER
    );
    "#,
    // 3: per-user usage counts (personalized help): one row per user, intent, job and the
    // parameters used (JSON, empty object when none)
    r#"
    CREATE TABLE usage (
        user TEXT NOT NULL,
        intent TEXT NOT NULL,
        job TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        count INTEGER NOT NULL,
        last_used INTEGER NOT NULL,
        PRIMARY KEY (user, intent, job, params)
    );
    "#,
    // 4: the chat thread in which each channel follows an execution (the thread of the
    // command that started or watched it), so that pushed updates land there
    r#"
    CREATE TABLE threads (
        execution_id INTEGER NOT NULL,
        channel TEXT NOT NULL,
        thread TEXT NOT NULL,
        PRIMARY KEY (execution_id, channel)
    );
    "#,
    // 5: small per-adapter state that must survive restarts (a chat connection's sync
    // position, its device, its transaction-id epoch), keyed by adapter instance
    r#"
    CREATE TABLE adapter_state (
        adapter TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (adapter, key)
    );
    "#,
    // 6: leases: which process may execute the database's jobs (one bot per database; see
    // `store::lease`), one row per lease name
    r#"
    CREATE TABLE lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pid_start INTEGER,
        host TEXT NOT NULL,
        acquired_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    "#,
    // 7: the keyed audit chain: how each row's hash was made (`sha256`: the old unkeyed
    // chain, kept for the rows written before; `hmac-sha256`: keyed, over every column)
    r#"
    ALTER TABLE audit ADD COLUMN alg TEXT NOT NULL DEFAULT 'sha256';
    "#,
    // 8: each user's reply language: the one they chose (`!lang`), and the one they last wrote
    // in; an approval request's reason in Chinese (`reason` is English)
    r#"
    CREATE TABLE user_langs (
        user TEXT PRIMARY KEY,
        preferred TEXT,
        last TEXT,
        updated_at INTEGER NOT NULL
    );
    ALTER TABLE approvals ADD COLUMN reason_zh TEXT;
    "#,
    // 9: why the requester wants the run, in their words ("because the disk is full")
    r#"
    ALTER TABLE approvals ADD COLUMN justification TEXT;
    "#,
];

/// The triggers that make the audit table append-only (name, SQL).
pub const AUDIT_TRIGGERS: [(&str, &str); 2] = [
    (
        "audit_no_update",
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    ),
    (
        "audit_no_delete",
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    ),
];

/// What signs the audit chain: the key, and the file the checkpoints are appended to.
#[derive(Debug, Clone)]
pub struct AuditSigner {
    pub key: chain::AuditKey,
    pub checkpoints: std::path::PathBuf,
}

/// The database.
pub struct Store {
    conn: Mutex<Connection>,
    /// Set once at the bot's start ([`Store::set_audit_signer`]); without it audit records
    /// are chained with the legacy unkeyed hash (in-process tests only).
    signer: OnceLock<AuditSigner>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

impl Store {
    /// Opens (creating the file and its folder) and migrates. A new folder is created 0700
    /// and a new database file 0600 (SQLite gives its `-wal` and `-shm` files the same mode):
    /// the database holds the audit trail and job output.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir).map_err(|source| StoreError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        private_file(path).map_err(|source| StoreError::Dir {
            path: path.display().to_string(),
            source,
        })?;
        let conn = Connection::open(path)?;
        Self::init(conn, &path.display().to_string())
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?, ":memory:")
    }

    fn init(mut conn: Connection, name: &str) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL + NORMAL: a committed transaction survives a crash of the bot process.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn, name)?;
        Ok(Store {
            conn: Mutex::new(conn),
            signer: OnceLock::new(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction (rusqlite rolls
        // back on drop), so the connection is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The first column of the first row `sql` returns, if it returns one.
    fn value<T: rusqlite::types::FromSql>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
    ) -> Result<Option<T>> {
        Ok(self.conn().query_row(sql, p, |r| r.get(0)).optional()?)
    }

    /// Runs a statement meant to change one row; whether it did.
    fn change_one(&self, sql: &str, p: impl rusqlite::Params) -> Result<bool> {
        Ok(self.conn().execute(sql, p)? == 1)
    }

    /// The schema version.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

/// Creates `dir` (and its missing parents) with mode 0700; an existing folder is left as it is.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Creates the database file with mode 0600 when it does not exist; warns when an existing
/// one can be read by other users.
fn private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        "the database {} can be read by other users (mode {:o}); chmod 600 it",
                        path.display(),
                        mode & 0o777
                    );
                }
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A transaction that takes the write lock at its start: when another connection (a second
/// process, or an adapter's state kept in the same file) writes at the same moment, it waits
/// (`busy_timeout`) instead of failing with "database is locked" when its first read would
/// have to be upgraded to a write.
fn write_tx(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

fn migrate(conn: &mut Connection, name: &str) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            path: name.to_string(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = write_tx(conn)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new<'a>(
        job: &'a str,
        p: &'a BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) -> NewExecution<'a> {
        NewExecution {
            job,
            params: p,
            requested_by: "alice",
            channel: "terminal",
            created_at: at,
            run_at: at,
        }
    }

    #[test]
    fn migrations_are_versioned_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/bot.sqlite");
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(s);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(s);
        // a newer schema is refused
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn lifecycle_is_recorded() {
        let s = Store::open_in_memory().unwrap();
        let mut p = BTreeMap::new();
        p.insert("target".into(), "db-01".into());
        let t0 = Utc::now();
        let e = s
            .executions()
            .insert(&new("backup-database", &p, t0))
            .unwrap();
        assert_eq!(e.id, 1001);
        assert_eq!(e.status, Status::Scheduled);
        assert_eq!(e.params["target"], "db-01");
        assert_eq!(s.executions().due(t0).unwrap().len(), 1);
        assert!(s
            .executions()
            .mark_running(e.id, t0, 4242, Some(7))
            .unwrap());
        assert!(!s
            .executions()
            .mark_running(e.id, t0, 4242, Some(7))
            .unwrap());
        assert_eq!(s.executions().running().unwrap()[0].pid, Some(4242));
        s.executions().update_output(e.id, "a\nb\n", false).unwrap();
        let f = Finish {
            exit_code: Some(0),
            cpu_ms: Some(12),
            ..Default::default()
        };
        assert!(s
            .executions()
            .finish(e.id, &[Status::Running], Status::Succeeded, t0, &f, None)
            .unwrap());
        assert!(!s
            .executions()
            .finish(e.id, &[Status::Running], Status::Failed, t0, &f, None)
            .unwrap());
        let e = s.executions().get(e.id).unwrap().unwrap();
        assert_eq!(e.status, Status::Succeeded);
        assert_eq!(
            e.output, "a\nb\n",
            "empty final output keeps the flushed tail"
        );
        assert_eq!(e.exit_code, Some(0));
        let ev: Vec<String> = s
            .executions()
            .events(e.id)
            .unwrap()
            .into_iter()
            .map(|e| e.1)
            .collect();
        assert_eq!(ev, ["scheduled", "running", "succeeded"]);
        let e2 = s.executions().insert(&new("rotate-logs", &p, t0)).unwrap();
        assert_eq!(e2.id, 1002);
        let h = s
            .executions()
            .history(&HistoryQuery {
                job: Some("backup-database".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(h.len(), 1);
        let h = s
            .executions()
            .history(&HistoryQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(h.iter().map(|e| e.id).collect::<Vec<_>>(), [1002, 1001]);
        let h = s
            .executions()
            .history(&HistoryQuery {
                status: Some(Status::Scheduled),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(
            s.executions()
                .next_due()
                .unwrap()
                .map(|t| t.timestamp_millis()),
            Some(t0.timestamp_millis())
        );
    }

    #[test]
    fn adapter_state_is_kept_per_adapter_and_replaced() {
        let s = Store::open_in_memory().unwrap();
        assert_eq!(
            s.adapter_states().get("matrix:@a:x", "since").unwrap(),
            None
        );
        s.adapter_states()
            .set("matrix:@a:x", "since", "s1")
            .unwrap();
        s.adapter_states()
            .set("matrix:@b:x", "since", "other")
            .unwrap();
        s.adapter_states()
            .set("matrix:@a:x", "since", "s2")
            .unwrap();
        assert_eq!(
            s.adapter_states()
                .get("matrix:@a:x", "since")
                .unwrap()
                .as_deref(),
            Some("s2")
        );
        assert_eq!(
            s.adapter_states()
                .get("matrix:@b:x", "since")
                .unwrap()
                .as_deref(),
            Some("other")
        );
    }

    #[test]
    fn dialogs_and_subscriptions() {
        let s = Store::open_in_memory().unwrap();
        let t = Utc::now();
        let d = StoredDialog {
            state: "{}".into(),
            updated_at: from_ms(ms(t)),
            expires_at: from_ms(ms(t) + 1000),
        };
        s.dialogs().put("u", "c", &d).unwrap();
        assert_eq!(s.dialogs().get("u", "c").unwrap(), Some(d.clone()));
        assert_eq!(s.dialogs().get("u", "other").unwrap(), None);
        assert_eq!(s.dialogs().expire(t).unwrap(), 0);
        assert_eq!(s.dialogs().expire(from_ms(ms(t) + 1000)).unwrap(), 1);
        s.dialogs().put("u", "c", &d).unwrap();
        s.dialogs().delete("u", "c").unwrap();
        assert_eq!(s.dialogs().get("u", "c").unwrap(), None);

        let p = BTreeMap::new();
        let e = s.executions().insert(&new("j", &p, t)).unwrap();
        assert!(s.follows().subscribe(e.id, "c", "u", t).unwrap());
        assert!(!s.follows().subscribe(e.id, "c", "u", t).unwrap());
        assert_eq!(s.follows().subscribers(e.id).unwrap(), ["c"]);
        assert_eq!(
            s.follows().subscriptions(e.id).unwrap(),
            [("c".to_string(), "u".to_string())]
        );
        assert_eq!(s.follows().open_subscriptions("c").unwrap(), [e.id]);
    }

    #[test]
    fn a_users_languages_are_remembered_apart() {
        use nlu::Lang;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.db");
        {
            let s = Store::open(&path).unwrap();
            assert_eq!(s.langs().get("u").unwrap(), UserLang::default());
            s.langs().set_last("u", Lang::Zh).unwrap();
            s.langs().set_preferred("u", Some(Lang::En)).unwrap();
            s.langs().set_last("u", Lang::Zh).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(
            s.langs().get("u").unwrap(),
            UserLang {
                preferred: Some(Lang::En),
                last: Some(Lang::Zh)
            }
        );
        s.langs().set_preferred("u", None).unwrap();
        assert_eq!(s.langs().get("u").unwrap().preferred, None);
        assert_eq!(s.langs().get("other").unwrap(), UserLang::default());
    }
}
