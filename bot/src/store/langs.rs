//! The `user_langs` table: the language each user chose, and the one they last wrote in.

use super::*;

/// A user's reply languages as stored ([`UserLangs::get`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserLang {
    /// Chosen with `!lang`; None: replies follow the user's messages.
    pub preferred: Option<nlu::Lang>,
    /// The language of the user's last message that had one.
    pub last: Option<nlu::Lang>,
}

/// The `user_langs` table: [`Store::langs`].
#[derive(Clone, Copy)]
pub struct UserLangs<'a> {
    db: &'a Store,
}

impl Store {
    /// The `user_langs` table.
    pub fn langs(&self) -> UserLangs<'_> {
        UserLangs { db: self }
    }
}

impl UserLangs<'_> {
    /// A user's languages: the one they chose with `!lang` (None: follow their messages) and
    /// the one they last wrote in. Unknown spellings in the table read as None.
    pub fn get(&self, user: &str) -> Result<UserLang> {
        let row: Option<(Option<String>, Option<String>)> = self
            .db
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
    pub fn set_preferred(&self, user: &str, lang: Option<nlu::Lang>) -> Result<()> {
        self.db.conn().execute(
            "INSERT INTO user_langs (user, preferred, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user) DO UPDATE SET preferred = excluded.preferred, updated_at = excluded.updated_at",
            params![user, lang.map(|l| l.as_str()), ms(Utc::now())],
        )?;
        Ok(())
    }

    /// Remembers the language a user last wrote in.
    pub fn set_last(&self, user: &str, lang: nlu::Lang) -> Result<()> {
        self.db.conn().execute(
            "INSERT INTO user_langs (user, last, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user) DO UPDATE SET last = excluded.last, updated_at = excluded.updated_at
             WHERE user_langs.last IS NOT excluded.last",
            params![user, lang.as_str(), ms(Utc::now())],
        )?;
        Ok(())
    }
}
