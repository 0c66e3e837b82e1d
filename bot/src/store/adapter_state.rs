//! The `adapter_state` table: what an adapter keeps between runs (a sync position).

use super::*;

/// The `adapter_state` table: [`Store::adapter_states`].
#[derive(Clone, Copy)]
pub struct AdapterStates<'a> {
    db: &'a Store,
}

impl Store {
    /// The `adapter_state` table.
    pub fn adapter_states(&self) -> AdapterStates<'_> {
        AdapterStates { db: self }
    }
}

impl AdapterStates<'_> {
    /// A value an adapter stored under `key` (e.g. `matrix:@bot:example.org`, `since`).
    pub fn get(&self, adapter: &str, key: &str) -> Result<Option<String>> {
        self.db.value(
            "SELECT value FROM adapter_state WHERE adapter = ?1 AND key = ?2",
            params![adapter, key],
        )
    }

    /// Stores (replaces) an adapter's value; committed when this returns.
    pub fn set(&self, adapter: &str, key: &str, value: &str) -> Result<()> {
        self.db.conn().execute(
            "INSERT INTO adapter_state (adapter, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (adapter, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![adapter, key, value, ms(Utc::now())],
        )?;
        Ok(())
    }
}

impl crate::domain::state::AdapterState for Store {
    fn get(
        &self,
        adapter: &str,
        key: &str,
    ) -> std::result::Result<Option<String>, crate::domain::state::StateError> {
        Ok(self.adapter_states().get(adapter, key)?)
    }

    fn set(
        &self,
        adapter: &str,
        key: &str,
        value: &str,
    ) -> std::result::Result<(), crate::domain::state::StateError> {
        Ok(self.adapter_states().set(adapter, key, value)?)
    }
}
