//! SQLite storage: executions (with their transitions and output tail), dialog sessions and
//! subscriptions. Created on first use; the schema is versioned with `PRAGMA user_version`
//! and migrated forward on open. Every write is committed before the caller replies.

pub mod audit_key;
pub mod chain;
pub mod lease;

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

/// How often a user made one kind of request.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub intent: String,
    /// Empty when the request named no job.
    pub job: String,
    pub params: BTreeMap<String, String>,
    pub count: i64,
    pub last_used: DateTime<Utc>,
}

/// A stored dialog session.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDialog {
    pub state: String,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new execution row.
#[derive(Debug, Clone)]
pub struct NewExecution<'a> {
    pub job: &'a str,
    pub params: &'a BTreeMap<String, String>,
    pub requested_by: &'a str,
    pub channel: &'a str,
    pub created_at: DateTime<Utc>,
    pub run_at: DateTime<Utc>,
}

/// How a process ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finish {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub cpu_ms: Option<i64>,
    pub max_rss_kb: Option<i64>,
    pub output: String,
    pub output_truncated: bool,
    pub detail: Option<String>,
}

/// A running execution as recorded (for recovery after a crash).
#[derive(Debug, Clone, PartialEq)]
pub struct RunningRow {
    pub id: ExecId,
    pub pid: Option<i32>,
    pub pid_start: Option<i64>,
}

/// A recorded transition: (time, status, detail).
pub type Transition = (DateTime<Utc>, String, Option<String>);

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

const COLUMNS: &str = "id, job, params, requested_by, channel, status, created_at, run_at, started_at, finished_at, exit_code, signal, pid, cpu_ms, max_rss_kb, output, output_truncated, detail, cancelled_by";

fn row_to_execution(r: &Row<'_>) -> rusqlite::Result<Execution> {
    let params: String = r.get(2)?;
    let status: String = r.get(5)?;
    Ok(Execution {
        id: r.get(0)?,
        job: r.get(1)?,
        params: serde_json::from_str(&params).unwrap_or_default(),
        requested_by: r.get(3)?,
        channel: r.get(4)?,
        status: Status::parse(&status).unwrap_or(Status::Failed),
        created_at: from_ms(r.get(6)?),
        run_at: from_ms(r.get(7)?),
        started_at: r.get::<_, Option<i64>>(8)?.map(from_ms),
        finished_at: r.get::<_, Option<i64>>(9)?.map(from_ms),
        exit_code: r.get(10)?,
        signal: r.get(11)?,
        pid: r.get(12)?,
        cpu_ms: r.get(13)?,
        max_rss_kb: r.get(14)?,
        output: r.get(15)?,
        output_truncated: r.get::<_, i64>(16)? != 0,
        detail: r.get(17)?,
        cancelled_by: r.get(18)?,
    })
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

    /// The schema version.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    // ---- executions ------------------------------------------------------------------------

    pub fn insert_execution(&self, new: &NewExecution<'_>) -> Result<Execution> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let params =
            serde_json::to_string(new.params).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO executions (job, params, requested_by, channel, status, created_at, run_at)
             VALUES (?1, ?2, ?3, ?4, 'scheduled', ?5, ?6)",
            params![new.job, params, new.requested_by, new.channel, ms(new.created_at), ms(new.run_at)],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO execution_events (execution_id, at, status) VALUES (?1, ?2, 'scheduled')",
            params![id, ms(new.created_at)],
        )?;
        tx.commit()?;
        drop(conn);
        self.get(id)?
            .ok_or_else(|| StoreError::Corrupt(format!("#{id} vanished")))
    }

    pub fn get(&self, id: ExecId) -> Result<Option<Execution>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM executions WHERE id = ?1"),
                [id],
                row_to_execution,
            )
            .optional()?)
    }

    /// scheduled -> running. False when it was no longer scheduled.
    pub fn mark_running(
        &self,
        id: ExecId,
        at: DateTime<Utc>,
        pid: i32,
        pid_start: Option<i64>,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let n = tx.execute(
            "UPDATE executions SET status = 'running', started_at = ?2, pid = ?3, pid_start = ?4
             WHERE id = ?1 AND status = 'scheduled'",
            params![id, ms(at), pid, pid_start],
        )?;
        if n == 1 {
            tx.execute(
                "INSERT INTO execution_events (execution_id, at, status) VALUES (?1, ?2, 'running')",
                params![id, ms(at)],
            )?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// Saves the output tail of a running execution.
    pub fn update_output(&self, id: ExecId, output: &str, truncated: bool) -> Result<()> {
        self.conn().execute(
            "UPDATE executions SET output = ?2, output_truncated = ?3 WHERE id = ?1",
            params![id, output, truncated as i64],
        )?;
        Ok(())
    }

    /// Moves an execution from one of `from` to a terminal `status`. False when it was in
    /// none of them.
    pub fn finish(
        &self,
        id: ExecId,
        from: &[Status],
        status: Status,
        at: DateTime<Utc>,
        f: &Finish,
        cancelled_by: Option<&str>,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let from_list = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let n = tx.execute(
            &format!(
                "UPDATE executions SET status = ?2, finished_at = ?3, exit_code = ?4, signal = ?5,
                   cpu_ms = ?6, max_rss_kb = ?7,
                   output = CASE WHEN ?8 = '' THEN output ELSE ?8 END,
                   output_truncated = MAX(output_truncated, ?9), detail = ?10,
                   cancelled_by = COALESCE(?11, cancelled_by)
                 WHERE id = ?1 AND status IN ({from_list})"
            ),
            params![
                id,
                status.as_str(),
                ms(at),
                f.exit_code,
                f.signal,
                f.cpu_ms,
                f.max_rss_kb,
                f.output,
                f.output_truncated as i64,
                f.detail,
                cancelled_by
            ],
        )?;
        if n == 1 {
            tx.execute(
                "INSERT INTO execution_events (execution_id, at, status, detail) VALUES (?1, ?2, ?3, ?4)",
                params![id, ms(at), status.as_str(), f.detail],
            )?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// The recorded transitions of an execution: (time, status, detail).
    pub fn events(&self, id: ExecId) -> Result<Vec<Transition>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT at, status, detail FROM execution_events WHERE execution_id = ?1 ORDER BY rowid",
        )?;
        let rows = st.query_map([id], |r| Ok((from_ms(r.get(0)?), r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Executions recorded as running (after a crash: the ones that were interrupted).
    pub fn running(&self) -> Result<Vec<RunningRow>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT id, pid, pid_start FROM executions WHERE status = 'running' ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(RunningRow {
                id: r.get(0)?,
                pid: r.get(1)?,
                pid_start: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Scheduled executions due at `now`, oldest first.
    pub fn due(&self, now: DateTime<Utc>) -> Result<Vec<Execution>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM executions WHERE status = 'scheduled' AND run_at <= ?1 ORDER BY run_at, id"
        ))?;
        let rows = st.query_map([ms(now)], row_to_execution)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the next scheduled execution is due.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let v: Option<i64> = self.conn().query_row(
            "SELECT MIN(run_at) FROM executions WHERE status = 'scheduled'",
            [],
            |r| r.get(0),
        )?;
        Ok(v.map(from_ms))
    }

    /// Executions matching a filter, newest first.
    pub fn history(&self, q: &HistoryQuery) -> Result<Vec<Execution>> {
        let mut sql = format!("SELECT {COLUMNS} FROM executions WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(job) = &q.job {
            args.push(job.clone().into());
            sql.push_str(&format!(" AND job = ?{}", args.len()));
        }
        if let Some(s) = q.status {
            args.push(s.as_str().to_string().into());
            sql.push_str(&format!(" AND status = ?{}", args.len()));
        }
        if let Some(t) = q.since {
            args.push(ms(t).into());
            sql.push_str(&format!(
                " AND COALESCE(started_at, run_at) >= ?{}",
                args.len()
            ));
        }
        if let Some(t) = q.until {
            args.push(ms(t).into());
            sql.push_str(&format!(
                " AND COALESCE(started_at, run_at) < ?{}",
                args.len()
            ));
        }
        args.push((q.limit.clamp(1, 1000) as i64).into());
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
        let conn = self.conn();
        let mut st = conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args), row_to_execution)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- dialogs ---------------------------------------------------------------------------

    pub fn get_dialog(&self, user: &str, channel: &str) -> Result<Option<StoredDialog>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT state, updated_at, expires_at FROM dialogs WHERE user = ?1 AND channel = ?2",
                params![user, channel],
                |r| {
                    Ok(StoredDialog {
                        state: r.get(0)?,
                        updated_at: from_ms(r.get(1)?),
                        expires_at: from_ms(r.get(2)?),
                    })
                },
            )
            .optional()?)
    }

    pub fn put_dialog(&self, user: &str, channel: &str, d: &StoredDialog) -> Result<()> {
        self.conn().execute(
            "INSERT INTO dialogs (user, channel, state, updated_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(user, channel) DO UPDATE SET state = ?3, updated_at = ?4, expires_at = ?5",
            params![user, channel, d.state, ms(d.updated_at), ms(d.expires_at)],
        )?;
        Ok(())
    }

    pub fn delete_dialog(&self, user: &str, channel: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM dialogs WHERE user = ?1 AND channel = ?2",
            params![user, channel],
        )?;
        Ok(())
    }

    /// Drops every dialog that expired before `now`; returns how many.
    pub fn expire_dialogs(&self, now: DateTime<Utc>) -> Result<usize> {
        Ok(self
            .conn()
            .execute("DELETE FROM dialogs WHERE expires_at <= ?1", [ms(now)])?)
    }

    // ---- usage -----------------------------------------------------------------------------

    /// Counts one handled request of a user.
    pub fn record_usage(
        &self,
        user: &str,
        intent: &str,
        job: Option<&str>,
        params: &BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let params =
            serde_json::to_string(params).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO usage (user, intent, job, params, count, last_used) VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT(user, intent, job, params) DO UPDATE SET count = count + 1, last_used = ?5",
            params![user, intent, job.unwrap_or(""), params, ms(at)],
        )?;
        Ok(())
    }

    /// A user's requests, most frequent (then most recent) first.
    pub fn usage(&self, user: &str) -> Result<Vec<Usage>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT intent, job, params, count, last_used FROM usage WHERE user = ?1
             ORDER BY count DESC, last_used DESC, intent, job, params",
        )?;
        let rows = st.query_map([user], |r| {
            let params: String = r.get(2)?;
            Ok(Usage {
                intent: r.get(0)?,
                job: r.get(1)?,
                params: serde_json::from_str(&params).unwrap_or_default(),
                count: r.get(3)?,
                last_used: from_ms(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- subscriptions ---------------------------------------------------------------------

    /// Subscribes a channel to an execution; false when it already was.
    pub fn subscribe(
        &self,
        id: ExecId,
        channel: &str,
        user: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO subscriptions (execution_id, channel, user, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, channel, user, ms(at)],
        )?;
        Ok(n == 1)
    }

    /// The channels subscribed to an execution.
    pub fn subscribers(&self, id: ExecId) -> Result<Vec<String>> {
        Ok(self
            .subscriptions(id)?
            .into_iter()
            .map(|(channel, _)| channel)
            .collect())
    }

    /// The subscriptions to an execution: (channel, the user who subscribed it).
    pub fn subscriptions(&self, id: ExecId) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT channel, user FROM subscriptions WHERE execution_id = ?1 ORDER BY created_at",
        )?;
        let rows = st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Remembers the thread in which `channel` follows execution `id`; the first one stays
    /// (the thread of the command that started it), later calls change nothing.
    pub fn set_thread(&self, id: ExecId, channel: &str, thread: &str) -> Result<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO threads (execution_id, channel, thread) VALUES (?1, ?2, ?3)",
            params![id, channel, thread],
        )?;
        Ok(())
    }

    /// The thread in which `channel` follows execution `id`, if it has one.
    pub fn thread_of(&self, id: ExecId, channel: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT thread FROM threads WHERE execution_id = ?1 AND channel = ?2",
                params![id, channel],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Executions a channel watches that have not ended.
    pub fn open_subscriptions(&self, channel: &str) -> Result<Vec<ExecId>> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT s.execution_id FROM subscriptions s JOIN executions e ON e.id = s.execution_id
             WHERE s.channel = ?1 AND e.status IN ('scheduled', 'running') ORDER BY s.execution_id",
        )?;
        let rows = st.query_map([channel], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn unsubscribe_all(&self, id: ExecId) -> Result<()> {
        self.conn()
            .execute("DELETE FROM subscriptions WHERE execution_id = ?1", [id])?;
        Ok(())
    }

    // ---- reply languages -------------------------------------------------------------------

    /// A user's languages: the one they chose with `!lang` (None: follow their messages) and
    /// the one they last wrote in. Unknown spellings in the table read as None.
    pub fn user_lang(&self, user: &str) -> Result<UserLang> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT preferred, last FROM user_langs WHERE user = ?1",
                [user],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let read = |s: Option<String>| s.and_then(|s| s.parse::<nlu::Lang>().ok());
        Ok(row
            .map(|(p, l)| UserLang {
                preferred: read(p),
                last: read(l),
            })
            .unwrap_or_default())
    }

    /// Sets (or, with None, clears) the language a user chose.
    pub fn set_preferred_lang(&self, user: &str, lang: Option<nlu::Lang>) -> Result<()> {
        self.conn().execute(
            "INSERT INTO user_langs (user, preferred, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user) DO UPDATE SET preferred = excluded.preferred, updated_at = excluded.updated_at",
            params![user, lang.map(|l| l.as_str()), ms(Utc::now())],
        )?;
        Ok(())
    }

    /// Remembers the language a user last wrote in.
    pub fn set_last_lang(&self, user: &str, lang: nlu::Lang) -> Result<()> {
        self.conn().execute(
            "INSERT INTO user_langs (user, last, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user) DO UPDATE SET last = excluded.last, updated_at = excluded.updated_at
             WHERE user_langs.last IS NOT excluded.last",
            params![user, lang.as_str(), ms(Utc::now())],
        )?;
        Ok(())
    }

    // ---- adapter state ---------------------------------------------------------------------

    /// A value an adapter stored under `key` (e.g. `matrix:@bot:example.org`, `since`).
    pub fn adapter_state(&self, adapter: &str, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM adapter_state WHERE adapter = ?1 AND key = ?2",
                params![adapter, key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores (replaces) an adapter's value; committed when this returns.
    pub fn set_adapter_state(&self, adapter: &str, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO adapter_state (adapter, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (adapter, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![adapter, key, value, ms(Utc::now())],
        )?;
        Ok(())
    }
}

/// A user's reply languages as stored ([`Store::user_lang`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserLang {
    /// Chosen with `!lang`; None: replies follow the user's messages.
    pub preferred: Option<nlu::Lang>,
    /// The language of the user's last message that had one.
    pub last: Option<nlu::Lang>,
}

/// One row of the audit trail as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `at` as stored (milliseconds), as the keyed hash covers it.
    pub at_ms: i64,
    /// The record: canonical JSON, holding its own `seq` and the previous hash.
    pub record: String,
    pub prev_hash: String,
    pub hash: String,
    /// [`chain::ALG_HMAC`] or [`chain::ALG_LEGACY`].
    pub alg: String,
}

/// The previous hash of the first record.
pub const AUDIT_GENESIS: &str = chain::GENESIS;

/// A request for approval as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRow {
    pub id: i64,
    /// The mapped user who asked.
    pub requester: String,
    /// Their chat user id and channel (the run is theirs).
    pub chat_user: String,
    pub channel: String,
    pub job: String,
    pub params: BTreeMap<String, String>,
    pub run_at: Option<DateTime<Utc>>,
    /// The role an approver needs.
    pub role: String,
    /// Why it needs approval, in English.
    pub reason: String,
    /// The same in Chinese (None for requests stored before there was one).
    pub reason_zh: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// pending, approved, rejected or expired.
    pub state: String,
    pub decided_by: Option<String>,
}

fn row_to_approval(r: &Row<'_>) -> rusqlite::Result<ApprovalRow> {
    let params: String = r.get(5)?;
    Ok(ApprovalRow {
        id: r.get(0)?,
        requester: r.get(1)?,
        chat_user: r.get(2)?,
        channel: r.get(3)?,
        job: r.get(4)?,
        params: serde_json::from_str(&params).unwrap_or_default(),
        run_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
        role: r.get(7)?,
        reason: r.get(8)?,
        created_at: from_ms(r.get(9)?),
        expires_at: from_ms(r.get(10)?),
        state: r.get(11)?,
        decided_by: r.get(12)?,
        reason_zh: r.get(13)?,
    })
}

const APPROVAL_COLUMNS: &str = "id, requester, chat_user, channel, job, params, run_at, role, reason, created_at, expires_at, state, decided_by, reason_zh";

impl ApprovalRow {
    /// The reason in `lang` (English when there is none in it).
    pub fn reason_in(&self, lang: nlu::Lang) -> &str {
        match lang {
            nlu::Lang::Zh => self.reason_zh.as_deref().unwrap_or(&self.reason),
            nlu::Lang::En => &self.reason,
        }
    }
}

impl Store {
    /// Sets the audit key and the checkpoint file (once, at the bot's start); later records
    /// are keyed.
    pub fn set_audit_signer(&self, signer: AuditSigner) {
        if self.signer.set(signer).is_err() {
            tracing::warn!("the audit signer was already set; keeping the first");
        }
    }

    /// Appends a record to the audit trail: sets its `seq` and `prev` fields, chains its
    /// hash to the last record's, in one transaction, then appends a signed checkpoint.
    /// Returns the sequence number.
    pub fn append_audit(&self, at: DateTime<Utc>, record: &serde_json::Value) -> Result<i64> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (seq, prev) = match last {
            Some((s, h)) => (s + 1, h),
            None => (1, AUDIT_GENESIS.to_string()),
        };
        let mut record = record.clone();
        if let Some(obj) = record.as_object_mut() {
            obj.insert("seq".into(), seq.into());
            obj.insert("prev".into(), prev.clone().into());
        }
        let text =
            serde_json::to_string(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let at_ms = ms(at);
        let (alg, hash) = match self.signer.get() {
            Some(s) => (
                chain::ALG_HMAC,
                s.key.row_hash(seq, at_ms, chain::ALG_HMAC, &prev, &text),
            ),
            None => (chain::ALG_LEGACY, chain::legacy_hash(&prev, &text)),
        };
        tx.execute(
            "INSERT INTO audit (seq, at, record, prev_hash, hash, alg) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![seq, at_ms, text, prev, hash, alg],
        )?;
        tx.commit()?;
        drop(conn);
        self.checkpoint_at(seq, hash);
        Ok(seq)
    }

    /// Appends a signed checkpoint of the trail as it is now (at the bot's start and stop);
    /// logs it. Does nothing without a signer.
    pub fn audit_checkpoint(&self) -> Result<()> {
        let head: Option<(i64, String)> = self
            .conn()
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (n, head) = head.unwrap_or((0, AUDIT_GENESIS.to_string()));
        self.checkpoint_at(n, head);
        Ok(())
    }

    /// Appends the checkpoint (`records`, `head`) and logs it; a failure is logged (the
    /// record itself is committed).
    fn checkpoint_at(&self, records: i64, head: String) {
        let Some(s) = self.signer.get() else { return };
        let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let c = chain::Checkpoint::sign(&s.key, at, records, head);
        match c.append_to(&s.checkpoints) {
            Ok(()) => tracing::info!(
                records = c.records,
                head = %c.head,
                key = %c.key,
                mac = %c.mac,
                file = %s.checkpoints.display(),
                "audit checkpoint"
            ),
            Err(e) => tracing::error!(
                records = c.records,
                head = %c.head,
                mac = %c.mac,
                "cannot append the audit checkpoint to {}: {e}",
                s.checkpoints.display()
            ),
        }
    }

    /// The append-only triggers of the audit table that are missing (dropped).
    pub fn missing_audit_triggers(&self) -> Result<Vec<&'static str>> {
        let conn = self.conn();
        let mut missing = Vec::new();
        for (name, _) in AUDIT_TRIGGERS {
            let n: i64 = conn.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?1 AND tbl_name = 'audit'",
                [name],
                |r| r.get(0),
            )?;
            if n == 0 {
                missing.push(name);
            }
        }
        Ok(missing)
    }

    /// Creates the missing append-only triggers again; returns the ones restored.
    pub fn restore_audit_triggers(&self) -> Result<Vec<&'static str>> {
        let missing = self.missing_audit_triggers()?;
        let conn = self.conn();
        for (name, sql) in AUDIT_TRIGGERS {
            if missing.contains(&name) {
                conn.execute_batch(sql)?;
            }
        }
        Ok(missing)
    }

    /// The audit trail in storage order.
    pub fn audit_rows(&self) -> Result<Vec<AuditRow>> {
        let conn = self.conn();
        let mut st =
            conn.prepare("SELECT seq, at, record, prev_hash, hash, alg FROM audit ORDER BY rowid")?;
        let rows = st
            .query_map([], |r| {
                let at_ms: i64 = r.get(1)?;
                Ok(AuditRow {
                    seq: r.get(0)?,
                    at: from_ms(at_ms),
                    at_ms,
                    record: r.get(2)?,
                    prev_hash: r.get(3)?,
                    hash: r.get(4)?,
                    alg: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Stores a new pending approval request; returns it with its id.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_approval(
        &self,
        requester: &str,
        chat_user: &str,
        channel: &str,
        job: &str,
        params: &BTreeMap<String, String>,
        run_at: Option<DateTime<Utc>>,
        role: &str,
        reason: &str,
        reason_zh: Option<&str>,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<ApprovalRow> {
        let id = {
            let conn = self.conn();
            conn.execute(
                "INSERT INTO approvals (requester, chat_user, channel, job, params, run_at, role, reason, created_at, expires_at, state, reason_zh)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11)",
                params![
                    requester,
                    chat_user,
                    channel,
                    job,
                    serde_json::to_string(params).unwrap_or_default(),
                    run_at.map(ms),
                    role,
                    reason,
                    ms(created_at),
                    ms(expires_at),
                    reason_zh
                ],
            )?;
            conn.last_insert_rowid()
        };
        self.approval(id)?
            .ok_or_else(|| StoreError::Corrupt(format!("approval {id} vanished")))
    }

    pub fn approval(&self, id: i64) -> Result<Option<ApprovalRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = ?1"),
                [id],
                row_to_approval,
            )
            .optional()?)
    }

    /// Pending requests, oldest first.
    pub fn pending_approvals(&self) -> Result<Vec<ApprovalRow>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE state = 'pending' ORDER BY id"
        ))?;
        let rows = st
            .query_map([], row_to_approval)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Moves a pending request to `state`; false when it was no longer pending.
    pub fn decide_approval(
        &self,
        id: i64,
        state: &str,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE approvals SET state = ?2, decided_by = ?3, decided_at = ?4 WHERE id = ?1 AND state = 'pending'",
            params![id, state, by, ms(at)],
        )?;
        Ok(n == 1)
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
        let e = s.insert_execution(&new("backup-database", &p, t0)).unwrap();
        assert_eq!(e.id, 1001);
        assert_eq!(e.status, Status::Scheduled);
        assert_eq!(e.params["target"], "db-01");
        assert_eq!(s.due(t0).unwrap().len(), 1);
        assert!(s.mark_running(e.id, t0, 4242, Some(7)).unwrap());
        assert!(!s.mark_running(e.id, t0, 4242, Some(7)).unwrap());
        assert_eq!(s.running().unwrap()[0].pid, Some(4242));
        s.update_output(e.id, "a\nb\n", false).unwrap();
        let f = Finish {
            exit_code: Some(0),
            cpu_ms: Some(12),
            ..Default::default()
        };
        assert!(s
            .finish(e.id, &[Status::Running], Status::Succeeded, t0, &f, None)
            .unwrap());
        assert!(!s
            .finish(e.id, &[Status::Running], Status::Failed, t0, &f, None)
            .unwrap());
        let e = s.get(e.id).unwrap().unwrap();
        assert_eq!(e.status, Status::Succeeded);
        assert_eq!(
            e.output, "a\nb\n",
            "empty final output keeps the flushed tail"
        );
        assert_eq!(e.exit_code, Some(0));
        let ev: Vec<String> = s.events(e.id).unwrap().into_iter().map(|e| e.1).collect();
        assert_eq!(ev, ["scheduled", "running", "succeeded"]);
        let e2 = s.insert_execution(&new("rotate-logs", &p, t0)).unwrap();
        assert_eq!(e2.id, 1002);
        let h = s
            .history(&HistoryQuery {
                job: Some("backup-database".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(h.len(), 1);
        let h = s
            .history(&HistoryQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(h.iter().map(|e| e.id).collect::<Vec<_>>(), [1002, 1001]);
        let h = s
            .history(&HistoryQuery {
                status: Some(Status::Scheduled),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(
            s.next_due().unwrap().map(|t| t.timestamp_millis()),
            Some(t0.timestamp_millis())
        );
    }

    #[test]
    fn adapter_state_is_kept_per_adapter_and_replaced() {
        let s = Store::open_in_memory().unwrap();
        assert_eq!(s.adapter_state("matrix:@a:x", "since").unwrap(), None);
        s.set_adapter_state("matrix:@a:x", "since", "s1").unwrap();
        s.set_adapter_state("matrix:@b:x", "since", "other")
            .unwrap();
        s.set_adapter_state("matrix:@a:x", "since", "s2").unwrap();
        assert_eq!(
            s.adapter_state("matrix:@a:x", "since").unwrap().as_deref(),
            Some("s2")
        );
        assert_eq!(
            s.adapter_state("matrix:@b:x", "since").unwrap().as_deref(),
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
        s.put_dialog("u", "c", &d).unwrap();
        assert_eq!(s.get_dialog("u", "c").unwrap(), Some(d.clone()));
        assert_eq!(s.get_dialog("u", "other").unwrap(), None);
        assert_eq!(s.expire_dialogs(t).unwrap(), 0);
        assert_eq!(s.expire_dialogs(from_ms(ms(t) + 1000)).unwrap(), 1);
        s.put_dialog("u", "c", &d).unwrap();
        s.delete_dialog("u", "c").unwrap();
        assert_eq!(s.get_dialog("u", "c").unwrap(), None);

        let p = BTreeMap::new();
        let e = s.insert_execution(&new("j", &p, t)).unwrap();
        assert!(s.subscribe(e.id, "c", "u", t).unwrap());
        assert!(!s.subscribe(e.id, "c", "u", t).unwrap());
        assert_eq!(s.subscribers(e.id).unwrap(), ["c"]);
        assert_eq!(
            s.subscriptions(e.id).unwrap(),
            [("c".to_string(), "u".to_string())]
        );
        assert_eq!(s.open_subscriptions("c").unwrap(), [e.id]);
    }

    #[test]
    fn a_users_languages_are_remembered_apart() {
        use nlu::Lang;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.db");
        {
            let s = Store::open(&path).unwrap();
            assert_eq!(s.user_lang("u").unwrap(), UserLang::default());
            s.set_last_lang("u", Lang::Zh).unwrap();
            s.set_preferred_lang("u", Some(Lang::En)).unwrap();
            s.set_last_lang("u", Lang::Zh).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(
            s.user_lang("u").unwrap(),
            UserLang {
                preferred: Some(Lang::En),
                last: Some(Lang::Zh)
            }
        );
        s.set_preferred_lang("u", None).unwrap();
        assert_eq!(s.user_lang("u").unwrap().preferred, None);
        assert_eq!(s.user_lang("other").unwrap(), UserLang::default());
    }
}
