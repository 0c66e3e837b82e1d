//! The `approvals` table: requests for a second person's approval and their decisions.

use super::*;

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
    /// Why the requester wants the run, in their words (None when they gave no reason).
    pub justification: Option<String>,
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
        justification: r.get(14)?,
    })
}

const APPROVAL_COLUMNS: &str = "id, requester, chat_user, channel, job, params, run_at, role, reason, created_at, expires_at, state, decided_by, reason_zh, justification";

impl ApprovalRow {
    /// The reason in `lang` (English when there is none in it).
    pub fn reason_in(&self, lang: nlu::Lang) -> &str {
        match lang {
            nlu::Lang::Zh => self.reason_zh.as_deref().unwrap_or(&self.reason),
            nlu::Lang::En => &self.reason,
        }
    }
}

/// The `approvals` table: [`Store::approvals`].
#[derive(Clone, Copy)]
pub struct Approvals<'a> {
    db: &'a Store,
}

impl Store {
    /// The `approvals` table.
    pub fn approvals(&self) -> Approvals<'_> {
        Approvals { db: self }
    }
}

impl Approvals<'_> {
    /// Stores a new pending approval request; returns it with its id.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
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
        justification: Option<&str>,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<ApprovalRow> {
        let id = {
            let conn = self.db.conn();
            conn.execute(
                "INSERT INTO approvals (requester, chat_user, channel, job, params, run_at, role, reason, created_at, expires_at, state, reason_zh, justification)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, ?12)",
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
                    reason_zh,
                    justification
                ],
            )?;
            conn.last_insert_rowid()
        };
        self.get(id)?
            .ok_or_else(|| StoreError::Corrupt(format!("approval {id} vanished")))
    }

    pub fn get(&self, id: i64) -> Result<Option<ApprovalRow>> {
        Ok(self
            .db
            .conn()
            .query_row(
                &format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE id = ?1"),
                [id],
                row_to_approval,
            )
            .optional()?)
    }

    /// Pending requests, oldest first.
    pub fn pending(&self) -> Result<Vec<ApprovalRow>> {
        let conn = self.db.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM approvals WHERE state = 'pending' ORDER BY id"
        ))?;
        let rows = st
            .query_map([], row_to_approval)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Moves a pending request to `state`; false when it was no longer pending.
    pub fn decide(
        &self,
        id: i64,
        state: &str,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        self.db.change_one(
            "UPDATE approvals SET state = ?2, decided_by = ?3, decided_at = ?4 WHERE id = ?1 AND state = 'pending'",
            params![id, state, by, ms(at)],
        )
    }
}
