//! The `audit` table: the append-only, hash-chained audit trail and its checkpoints.

use super::*;

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

/// The `audit` table (append-only, hash-chained): [`Store::audit`].
#[derive(Clone, Copy)]
pub struct AuditTrail<'a> {
    db: &'a Store,
}

impl Store {
    /// The `audit` table (append-only, hash-chained).
    pub fn audit(&self) -> AuditTrail<'_> {
        AuditTrail { db: self }
    }

    /// Sets the audit key and the checkpoint file (once, at the bot's start); later records
    /// are keyed.
    pub fn set_audit_signer(&self, signer: AuditSigner) {
        if self.signer.set(signer).is_err() {
            tracing::warn!("the audit signer was already set; keeping the first");
        }
    }
}

impl AuditTrail<'_> {
    /// Appends a record to the audit trail: sets its `seq` and `prev` fields, chains its
    /// hash to the last record's, in one transaction, then appends a signed checkpoint.
    /// Returns the sequence number.
    pub fn append(&self, at: DateTime<Utc>, record: &serde_json::Value) -> Result<i64> {
        let mut conn = self.db.conn();
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
        let (alg, hash) = match self.db.signer.get() {
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
    pub fn checkpoint(&self) -> Result<()> {
        let head: Option<(i64, String)> = self
            .db
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
        let Some(s) = self.db.signer.get() else {
            return;
        };
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
    pub fn missing_triggers(&self) -> Result<Vec<&'static str>> {
        let conn = self.db.conn();
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
    pub fn restore_triggers(&self) -> Result<Vec<&'static str>> {
        let missing = self.missing_triggers()?;
        let conn = self.db.conn();
        for (name, sql) in AUDIT_TRIGGERS {
            if missing.contains(&name) {
                conn.execute_batch(sql)?;
            }
        }
        Ok(missing)
    }

    /// The audit trail in storage order.
    pub fn rows(&self) -> Result<Vec<AuditRow>> {
        let conn = self.db.conn();
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
}
