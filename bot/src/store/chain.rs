//! The audit chain's cryptography: the keyed hash of a record (HMAC-SHA256 over every column),
//! the legacy unkeyed hash of databases written before it, and the signed checkpoints that
//! anchor the chain outside the database.
//!
//! A checkpoint is one JSON line appended to a file next to the database (or where
//! `[storage] audit_checkpoints` says): the number of records, the head hash, the time and an
//! HMAC over the three, by the same key. Cutting records off the end, or deleting all of
//! them, leaves a checkpoint that counts more records than the database holds.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::io::Write;
use std::path::Path;

/// The `alg` of rows written before the keyed chain: sha256 over the previous hash and the
/// record only (the `at` column is not covered, and anyone can recompute it).
pub const ALG_LEGACY: &str = "sha256";
/// The `alg` of keyed rows: HMAC-SHA256 over seq, at, alg, prev_hash and the record.
pub const ALG_HMAC: &str = "hmac-sha256";

/// The previous hash of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The legacy hash of an audit record: sha256 over the previous hash, a newline and the record.
pub fn legacy_hash(prev_hash: &str, record: &str) -> String {
    use sha2::Digest;
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(record.as_bytes());
    hex(&h.finalize())
}

/// The secret key of the audit chain. Its `Debug` never shows it.
#[derive(Clone)]
pub struct AuditKey {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id())
    }
}

/// The shortest key accepted, in bytes of text.
pub const MIN_KEY_LEN: usize = 32;

impl AuditKey {
    /// A key from its text (a file's content or an environment variable), trimmed; `None`
    /// when shorter than [`MIN_KEY_LEN`].
    pub fn from_text(text: &str) -> Option<AuditKey> {
        let t = text.trim();
        (t.len() >= MIN_KEY_LEN).then(|| AuditKey {
            bytes: t.as_bytes().to_vec(),
        })
    }

    /// HMAC-SHA256 of the parts, each preceded by its length (so that no two different lists
    /// of parts give the same input), in hex.
    pub fn mac(&self, parts: &[&[u8]]) -> String {
        // HMAC takes keys of any length: new_from_slice cannot fail
        let mut m = match Hmac::<Sha256>::new_from_slice(&self.bytes) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts every key length"),
        };
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        hex(&m.finalize().into_bytes())
    }

    /// A public name of the key (the first 12 hex digits of an HMAC of a constant): tells
    /// which key signed a checkpoint without revealing it.
    pub fn id(&self) -> String {
        self.mac(&[b"opsnlu-bot audit key id"])[..12].to_string()
    }

    /// The keyed hash of a row: every column but the hash itself.
    pub fn row_hash(
        &self,
        seq: i64,
        at_ms: i64,
        alg: &str,
        prev_hash: &str,
        record: &str,
    ) -> String {
        self.mac(&[
            b"audit-row",
            seq.to_string().as_bytes(),
            at_ms.to_string().as_bytes(),
            alg.as_bytes(),
            prev_hash.as_bytes(),
            record.as_bytes(),
        ])
    }
}

/// One signed checkpoint: "the trail had `records` records ending in `head` at `at`".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub at: String,
    pub records: i64,
    pub head: String,
    /// [`AuditKey::id`] of the key that signed it.
    pub key: String,
    pub mac: String,
}

impl Checkpoint {
    fn payload<'a>(at: &'a str, records: &'a str, head: &'a str) -> [&'a [u8]; 4] {
        [
            b"audit-checkpoint",
            at.as_bytes(),
            records.as_bytes(),
            head.as_bytes(),
        ]
    }

    /// A checkpoint signed with `key`.
    pub fn sign(key: &AuditKey, at: String, records: i64, head: String) -> Checkpoint {
        let n = records.to_string();
        let mac = key.mac(&Self::payload(&at, &n, &head));
        Checkpoint {
            key: key.id(),
            at,
            records,
            head,
            mac,
        }
    }

    /// Whether `key` signed it.
    pub fn signed_by(&self, key: &AuditKey) -> bool {
        let n = self.records.to_string();
        key.mac(&Self::payload(&self.at, &n, &self.head)) == self.mac
    }

    /// Appends it as a JSON line to `path` (created 0600), flushed to disk.
    pub fn append_to(&self, path: &Path) -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path)?;
        let line = serde_json::to_string(self).map_err(std::io::Error::other)?;
        writeln!(f, "{line}")?;
        f.sync_data()
    }
}

/// The checkpoints of a file, in order: each line parsed, or the reason it could not be.
pub fn read_checkpoints(path: &Path) -> std::io::Result<Vec<Result<Checkpoint, String>>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| e.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_cover_every_column_and_checkpoints_sign() {
        let k = AuditKey::from_text(&"k".repeat(40)).unwrap();
        assert!(AuditKey::from_text("short").is_none());
        let h = k.row_hash(1, 5, ALG_HMAC, GENESIS, "{}");
        assert_ne!(h, k.row_hash(1, 6, ALG_HMAC, GENESIS, "{}"));
        assert_ne!(h, k.row_hash(2, 5, ALG_HMAC, GENESIS, "{}"));
        assert_ne!(h, k.row_hash(1, 5, ALG_LEGACY, GENESIS, "{}"));
        let other = AuditKey::from_text(&"o".repeat(40)).unwrap();
        assert_ne!(h, other.row_hash(1, 5, ALG_HMAC, GENESIS, "{}"));
        let c = Checkpoint::sign(&k, "t".into(), 3, "abc".into());
        assert!(c.signed_by(&k));
        assert!(!c.signed_by(&other));
        let mut forged = c.clone();
        forged.records = 2;
        assert!(!forged.signed_by(&k));
        assert!(!format!("{k:?}").contains("kkkk"));
    }
}
