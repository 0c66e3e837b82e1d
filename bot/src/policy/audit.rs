//! The audit trail: every command, allowed or refused, recorded before it takes effect, in an
//! append-only table where each record carries the hash of the one before. `verify` walks
//! the chain and names the first record that was edited, deleted or moved; `export` writes
//! JSONL.

use crate::store::{audit_hash, Store, StoreError, AUDIT_GENESIS};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// One record (the store adds `seq` and `prev`). Secret values are masked before this.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Entry {
    /// `command` (a message arrived), `decision`, `approval` or `result`.
    pub kind: String,
    pub at: String,
    pub platform: String,
    pub channel: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapped_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Appends an entry; returns its sequence number.
pub fn append(store: &Store, at: DateTime<Utc>, entry: &Entry) -> Result<i64, StoreError> {
    let mut e = entry.clone();
    e.at = timestamp(at);
    let v = serde_json::to_value(&e).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    store.append_audit(at, &v)
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub records: usize,
    /// One line per problem, naming the record.
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Walks the chain.
pub fn verify(store: &Store) -> Result<Report, StoreError> {
    let rows = store.audit_rows()?;
    let mut report = Report {
        records: rows.len(),
        problems: Vec::new(),
    };
    let mut expected_seq = 1;
    let mut prev_hash = AUDIT_GENESIS.to_string();
    for row in &rows {
        let p = &mut report.problems;
        let mut broken = false;
        if row.seq != expected_seq {
            if row.seq > expected_seq {
                if row.seq == expected_seq + 1 {
                    p.push(format!("record {expected_seq} is missing (deleted)"));
                } else {
                    p.push(format!(
                        "records {expected_seq} to {} are missing (deleted)",
                        row.seq - 1
                    ));
                }
            } else {
                p.push(format!(
                    "record {} appears after record {} (reordered)",
                    row.seq,
                    expected_seq - 1
                ));
            }
            broken = true;
        }
        let parsed: Option<serde_json::Value> = serde_json::from_str(&row.record).ok();
        let inner_seq = parsed.as_ref().and_then(|v| v["seq"].as_i64());
        let inner_prev = parsed
            .as_ref()
            .and_then(|v| v["prev"].as_str().map(str::to_string));
        if audit_hash(&row.prev_hash, &row.record) != row.hash {
            p.push(format!(
                "record {} was edited (its hash does not match its content)",
                row.seq
            ));
        } else if inner_seq != Some(row.seq) {
            p.push(format!(
                "record {} holds the content of record {} (reordered or rewritten)",
                row.seq,
                inner_seq.map_or("?".to_string(), |s| s.to_string())
            ));
        } else if inner_prev.as_deref() != Some(row.prev_hash.as_str()) {
            p.push(format!(
                "record {} was edited (its chain link was changed)",
                row.seq
            ));
        } else if !broken && row.prev_hash != prev_hash {
            p.push(format!(
                "record {} does not follow record {} (one of them was edited, deleted or reordered)",
                row.seq,
                row.seq - 1
            ));
        }
        expected_seq = row.seq.max(expected_seq - 1) + 1;
        prev_hash = row.hash.clone();
    }
    Ok(report)
}

/// Whether a record is `user`'s: `user` names its chat user id (`alice`), its chat identity
/// as the configuration writes it (`terminal:alice`, `slack:U024BE7LH`: platform and id), or
/// its mapped user.
fn matches_user(record: &serde_json::Value, user: &str) -> bool {
    let user = user.trim();
    let id = record["user"].as_str();
    if id == Some(user) || record["mapped_user"].as_str() == Some(user) {
        return true;
    }
    match (user.split_once(':'), record["platform"].as_str(), id) {
        (Some((platform, rest)), Some(p), Some(id)) => platform == p && rest == id,
        _ => false,
    }
}

/// Writes the records (each with its hash) as JSON lines, filtered by time and user (chat
/// user id, `platform:user-id`, or mapped user; see [`matches_user`]). Returns how many were
/// written.
pub fn export(
    store: &Store,
    since: Option<DateTime<Utc>>,
    user: Option<&str>,
    out: &mut dyn Write,
) -> Result<usize, Box<dyn std::error::Error>> {
    let mut n = 0;
    for row in store.audit_rows()? {
        if since.is_some_and(|s| row.at < s) {
            continue;
        }
        let mut v: serde_json::Value = serde_json::from_str(&row.record)?;
        if user.is_some_and(|u| !matches_user(&v, u)) {
            continue;
        }
        if let Some(o) = v.as_object_mut() {
            o.insert("hash".into(), row.hash.clone().into());
        }
        writeln!(out, "{}", serde_json::to_string(&v)?)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_verifies_and_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sqlite");
        let s = Store::open(&path).unwrap();
        for i in 0..4 {
            let e = Entry {
                kind: "command".into(),
                user: format!("u{i}"),
                ..Default::default()
            };
            append(&s, Utc::now(), &e).unwrap();
        }
        assert!(verify(&s).unwrap().ok());
        drop(s);
        let c = rusqlite::Connection::open(&path).unwrap();
        // the triggers refuse edits
        assert!(c
            .execute("UPDATE audit SET record = 'x' WHERE seq = 2", [])
            .is_err());
        c.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
            .unwrap();
        c.execute(
            "UPDATE audit SET record = replace(record, 'u1', 'zz') WHERE seq = 2",
            [],
        )
        .unwrap();
        c.execute("DELETE FROM audit WHERE seq = 4", []).unwrap();
        drop(c);
        let s = Store::open(&path).unwrap();
        let r = verify(&s).unwrap();
        assert_eq!(
            r.problems,
            vec!["record 2 was edited (its hash does not match its content)"]
        );
        let mut out = Vec::new();
        assert_eq!(export(&s, None, Some("u0"), &mut out).unwrap(), 1);
    }
}
