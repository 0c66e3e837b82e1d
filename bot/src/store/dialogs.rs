//! The `dialogs` table: a user's open question in a channel, until it expires.

use super::*;

/// A stored dialog session.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDialog {
    pub state: String,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The `dialogs` table: [`Store::dialogs`].
#[derive(Clone, Copy)]
pub struct Dialogs<'a> {
    db: &'a Store,
}

impl Store {
    /// The `dialogs` table.
    pub fn dialogs(&self) -> Dialogs<'_> {
        Dialogs { db: self }
    }
}

impl Dialogs<'_> {
    pub fn get(&self, user: &str, channel: &str) -> Result<Option<StoredDialog>> {
        Ok(self
            .db.conn()
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

    pub fn put(&self, user: &str, channel: &str, d: &StoredDialog) -> Result<()> {
        self.db.conn().execute(
            "INSERT INTO dialogs (user, channel, state, updated_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(user, channel) DO UPDATE SET state = ?3, updated_at = ?4, expires_at = ?5",
            params![user, channel, d.state, ms(d.updated_at), ms(d.expires_at)],
        )?;
        Ok(())
    }

    pub fn delete(&self, user: &str, channel: &str) -> Result<()> {
        self.db.conn().execute(
            "DELETE FROM dialogs WHERE user = ?1 AND channel = ?2",
            params![user, channel],
        )?;
        Ok(())
    }

    /// Drops every dialog that expired before `now`; returns how many.
    pub fn expire(&self, now: DateTime<Utc>) -> Result<usize> {
        Ok(self
            .db
            .conn()
            .execute("DELETE FROM dialogs WHERE expires_at <= ?1", [ms(now)])?)
    }
}
