//! The audit trail: every command, allowed or refused, recorded before it takes effect, in an
//! append-only table where each record carries the keyed hash (HMAC-SHA256, the key kept
//! outside the database) of all its columns and of the record before. Every append also
//! appends a signed checkpoint (record count and head hash) to a file outside the database.
//! `verify` walks the chain, checks the checkpoints and the append-only triggers, and names
//! each record that was edited, deleted, moved or forged; `export` writes JSONL.

use crate::store::chain::{self, AuditKey, Checkpoint};
use crate::store::{Store, StoreError, AUDIT_GENESIS};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

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
    /// Why a decision went as it did (a refusal's reason, an approval's rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the user asked, in their words ("because the disk is full").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
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
    store.audit().append(at, &v)
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub records: usize,
    /// One line per problem, naming the record.
    pub problems: Vec<String>,
    /// What the check could and could not prove.
    pub notes: Vec<String>,
    /// Whether the keyed hashes and the checkpoint signatures were checked (a key was given).
    pub keyed: bool,
}

impl Report {
    /// No problem found (which proves the most when [`Report::keyed`]).
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What `verify` checks against.
pub struct Anchors<'a> {
    /// The audit key; without it the keyed hashes cannot be checked.
    pub key: Option<&'a AuditKey>,
    /// The checkpoint file.
    pub checkpoints: &'a Path,
}

/// Walks the chain, then checks the checkpoints and the triggers.
pub fn verify(store: &Store, anchors: &Anchors<'_>) -> Result<Report, StoreError> {
    let rows = store.audit().rows()?;
    let mut report = Report {
        records: rows.len(),
        keyed: anchors.key.is_some(),
        ..Default::default()
    };
    walk_chain(&rows, anchors.key, &mut report);
    check_checkpoints(&rows, anchors, &mut report);
    for t in store.audit().missing_triggers()? {
        report.problems.push(format!(
            "the trigger `{t}` is missing: the audit table was not append-only (someone dropped it); the bot restores it at its next start"
        ));
    }
    if anchors.key.is_none() {
        report.notes.push(format!(
            "without the audit key (${} or `audit_key_file`) the keyed hashes and the checkpoint signatures were not checked: a chain rewritten with recomputed hashes cannot be told from the original",
            crate::store::audit_key::KEY_ENV
        ));
    }
    Ok(report)
}

/// The chain: sequence, links and each row's hash.
fn walk_chain(rows: &[crate::store::AuditRow], key: Option<&AuditKey>, report: &mut Report) {
    let p = &mut report.problems;
    let mut expected_seq = 1;
    let mut prev_hash = AUDIT_GENESIS.to_string();
    let mut legacy_until: Option<i64> = None;
    let mut keyed_seen = false;
    for row in rows {
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
        let hash_ok = match row.alg.as_str() {
            chain::ALG_HMAC => {
                keyed_seen = true;
                key.is_none_or(|k| {
                    k.row_hash(row.seq, row.at_ms, &row.alg, &row.prev_hash, &row.record)
                        == row.hash
                })
            }
            chain::ALG_LEGACY if keyed_seen => {
                p.push(format!(
                    "record {} is unkeyed but follows keyed records (forged, or rewritten with recomputed hashes)",
                    row.seq
                ));
                true
            }
            chain::ALG_LEGACY => {
                legacy_until = Some(row.seq);
                chain::legacy_hash(&row.prev_hash, &row.record) == row.hash
            }
            other => {
                p.push(format!(
                    "record {} has an unknown hash algorithm `{other}` (edited)",
                    row.seq
                ));
                true
            }
        };
        if !hash_ok {
            p.push(format!(
                "record {} was edited or forged (its hash does not match its columns: seq, at, record, prev_hash)",
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
    if let Some(n) = legacy_until {
        report.notes.push(if keyed_seen {
            format!(
                "records 1 to {n} are from the old unkeyed chain (plain sha256, written before this version): their content is covered by the keyed record after them, but their `at` times are not"
            )
        } else {
            format!(
                "records 1 to {n} are from the old unkeyed chain (plain sha256, written before this version): anyone can rewrite them and recompute the hashes; the bot keys every record it writes from now on"
            )
        });
    }
}

/// The checkpoints: signed by the key, and matching the rows they counted.
fn check_checkpoints(rows: &[crate::store::AuditRow], anchors: &Anchors<'_>, report: &mut Report) {
    let path = anchors.checkpoints.display();
    let lines = match chain::read_checkpoints(anchors.checkpoints) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if rows.iter().any(|r| r.alg == chain::ALG_HMAC) {
                report.problems.push(format!(
                    "the checkpoint file {path} is missing, though the bot wrote keyed records (it was deleted or moved; point `audit_checkpoints` under [storage] at it)"
                ));
            } else {
                report.notes.push(format!(
                    "there is no checkpoint file ({path}): records cut off the end, or all deleted, cannot be detected"
                ));
            }
            return;
        }
        Err(e) => {
            report
                .problems
                .push(format!("cannot read the checkpoint file {path}: {e}"));
            return;
        }
    };
    let mut good: Vec<Checkpoint> = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        match line {
            Err(e) => report.problems.push(format!(
                "checkpoint {} in {path} is unreadable ({e}): the file was edited",
                i + 1
            )),
            Ok(c) => match anchors.key {
                Some(k) if !c.signed_by(k) => report.problems.push(format!(
                    "checkpoint {} in {path} ({} records at {}) has a bad signature: forged, or signed with another key (it names key {}, this key is {})",
                    i + 1,
                    c.records,
                    c.at,
                    c.key,
                    k.id()
                )),
                _ => good.push(c),
            },
        }
    }
    let have = rows.iter().map(|r| r.seq).max().unwrap_or(0);
    if let Some(c) = good.iter().max_by_key(|c| c.records) {
        if c.records > have {
            report.problems.push(format!(
                "the checkpoint of {} counted {} records, the database has {}: records {} to {} were cut off or deleted",
                c.at,
                c.records,
                rows.len(),
                have + 1,
                c.records
            ));
        }
    }
    if let Some((c, _)) = good.iter().find_map(|c| {
        let row = rows.iter().find(|r| r.seq == c.records)?;
        (row.hash != c.head).then_some((c, row))
    }) {
        report.problems.push(format!(
            "record {} is not the one the checkpoint of {} signed (its hash changed): the chain up to it was rewritten",
            c.records, c.at
        ));
    }
    match good.last() {
        Some(last) if have > last.records => report.notes.push(format!(
            "records {} to {have} come after the last checkpoint ({} records at {}): their deletion from the end would not be detected",
            last.records + 1,
            last.records,
            last.at
        )),
        None if have > 0 => report.notes.push(format!(
            "no valid checkpoint in {path}: records cut off the end, or all deleted, cannot be detected"
        )),
        _ => {}
    }
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
/// user id, `platform:user-id`, or mapped user; see `matches_user`). Returns how many were
/// written.
pub fn export(
    store: &Store,
    since: Option<DateTime<Utc>>,
    user: Option<&str>,
    out: &mut dyn Write,
) -> Result<usize, Box<dyn std::error::Error>> {
    let mut n = 0;
    for row in store.audit().rows()? {
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
        let cp = dir.path().join("cp");
        let anchors = Anchors {
            key: None,
            checkpoints: &cp,
        };
        assert!(verify(&s, &anchors).unwrap().ok());
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
        let r = verify(&s, &anchors).unwrap();
        assert_eq!(
            r.problems,
            vec![
                "record 2 was edited or forged (its hash does not match its columns: seq, at, record, prev_hash)",
                "the trigger `audit_no_update` is missing: the audit table was not append-only (someone dropped it); the bot restores it at its next start",
                "the trigger `audit_no_delete` is missing: the audit table was not append-only (someone dropped it); the bot restores it at its next start",
            ]
        );
        let mut out = Vec::new();
        assert_eq!(export(&s, None, Some("u0"), &mut out).unwrap(), 1);
    }
}
