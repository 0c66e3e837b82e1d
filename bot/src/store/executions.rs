//! The `executions` and `execution_events` tables: runs, their transitions, and what the
//! scheduler and the recovery after a crash read.

use super::*;

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

/// The `executions` table and its transitions: [`Store::executions`].
#[derive(Clone, Copy)]
pub struct Executions<'a> {
    db: &'a Store,
}

impl Store {
    /// The `executions` table and its transitions.
    pub fn executions(&self) -> Executions<'_> {
        Executions { db: self }
    }
}

impl Executions<'_> {
    pub fn insert(&self, new: &NewExecution<'_>) -> Result<Execution> {
        let mut conn = self.db.conn();
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
            .db
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
        let mut conn = self.db.conn();
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
        self.db.conn().execute(
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
        let mut conn = self.db.conn();
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
        let conn = self.db.conn();
        let mut st = conn.prepare(
            "SELECT at, status, detail FROM execution_events WHERE execution_id = ?1 ORDER BY rowid",
        )?;
        let rows = st.query_map([id], |r| Ok((from_ms(r.get(0)?), r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Executions recorded as running (after a crash: the ones that were interrupted).
    pub fn running(&self) -> Result<Vec<RunningRow>> {
        let conn = self.db.conn();
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
        let conn = self.db.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM executions WHERE status = 'scheduled' AND run_at <= ?1 ORDER BY run_at, id"
        ))?;
        let rows = st.query_map([ms(now)], row_to_execution)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the next scheduled execution is due.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let v: Option<Option<i64>> = self.db.value(
            "SELECT MIN(run_at) FROM executions WHERE status = 'scheduled'",
            [],
        )?;
        Ok(v.flatten().map(from_ms))
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
        let conn = self.db.conn();
        let mut st = conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args), row_to_execution)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
