//! The `subscriptions` and `threads` tables: which channels follow an execution, and in
//! which thread.

use super::*;

/// The `subscriptions` table (who follows which execution, in which thread): [`Store::follows`].
#[derive(Clone, Copy)]
pub struct Follows<'a> {
    db: &'a Store,
}

impl Store {
    /// The `subscriptions` table: who follows which execution, and in which thread.
    pub fn follows(&self) -> Follows<'_> {
        Follows { db: self }
    }
}

impl Follows<'_> {
    /// Subscribes a channel to an execution; false when it already was.
    pub fn subscribe(
        &self,
        id: ExecId,
        channel: &str,
        user: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        self.db.change_one(
            "INSERT OR IGNORE INTO subscriptions (execution_id, channel, user, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, channel, user, ms(at)],
        )
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
        let conn = self.db.conn();
        let mut st = conn.prepare(
            "SELECT channel, user FROM subscriptions WHERE execution_id = ?1 ORDER BY created_at",
        )?;
        let rows = st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Remembers the thread in which `channel` follows execution `id`; the first one stays
    /// (the thread of the command that started it), later calls change nothing.
    pub fn set_thread(&self, id: ExecId, channel: &str, thread: &str) -> Result<()> {
        self.db.conn().execute(
            "INSERT OR IGNORE INTO threads (execution_id, channel, thread) VALUES (?1, ?2, ?3)",
            params![id, channel, thread],
        )?;
        Ok(())
    }

    /// The thread in which `channel` follows execution `id`, if it has one.
    pub fn thread_of(&self, id: ExecId, channel: &str) -> Result<Option<String>> {
        self.db.value(
            "SELECT thread FROM threads WHERE execution_id = ?1 AND channel = ?2",
            params![id, channel],
        )
    }

    /// Executions a channel watches that have not ended.
    pub fn open_subscriptions(&self, channel: &str) -> Result<Vec<ExecId>> {
        let conn = self.db.conn();
        let mut st = conn.prepare(
            "SELECT s.execution_id FROM subscriptions s JOIN executions e ON e.id = s.execution_id
             WHERE s.channel = ?1 AND e.status IN ('scheduled', 'running') ORDER BY s.execution_id",
        )?;
        let rows = st.query_map([channel], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn unsubscribe_all(&self, id: ExecId) -> Result<()> {
        self.db
            .conn()
            .execute("DELETE FROM subscriptions WHERE execution_id = ?1", [id])?;
        Ok(())
    }
}
