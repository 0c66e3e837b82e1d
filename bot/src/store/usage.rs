//! The `usage` table: how often each user made each kind of request (for personal help).

use super::*;

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

/// The `usage` table: [`Store::usage`].
#[derive(Clone, Copy)]
pub struct UsageLog<'a> {
    db: &'a Store,
}

impl Store {
    /// The `usage` table.
    pub fn usage(&self) -> UsageLog<'_> {
        UsageLog { db: self }
    }
}

impl UsageLog<'_> {
    /// Counts one handled request of a user.
    pub fn record(
        &self,
        user: &str,
        intent: &str,
        job: Option<&str>,
        params: &BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let params =
            serde_json::to_string(params).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.db.conn().execute(
            "INSERT INTO usage (user, intent, job, params, count, last_used) VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT(user, intent, job, params) DO UPDATE SET count = count + 1, last_used = ?5",
            params![user, intent, job.unwrap_or(""), params, ms(at)],
        )?;
        Ok(())
    }

    /// A user's requests, most frequent (then most recent) first.
    pub fn of(&self, user: &str) -> Result<Vec<Usage>> {
        let conn = self.db.conn();
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
}
