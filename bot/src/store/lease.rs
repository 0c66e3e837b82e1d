//! One bot per database: an exclusive lease kept in the database itself.
//!
//! A bot that executes jobs owns what the database records as running: at start it takes
//! the runs an earlier process left as crash leftovers and kills them. Two bots on one file
//! would kill each other's runs, so [`Lease::acquire`] takes the lease before anything else
//! is done with the database (before recovery, before a chat connection writes its state):
//!
//! - the `lease` table holds one row per lease name (today only [`EXECUTOR`], the whole
//!   database): the holder's id (`host/pid/start-ms`, new at every start), its pid, the
//!   pid's start time (so a reused pid is not taken for the holder), its host, when it
//!   was acquired, its last heartbeat and when it expires;
//! - a heartbeat task renews it every [`HEARTBEAT`] for [`TTL`]; a clean exit deletes it
//!   ([`Lease::release`], also on drop);
//! - a bot that finds a live lease held by another stops with [`LeaseError::Held`], naming
//!   the holder and what to do, and touches nothing;
//! - a lease is stale, and is taken over (with a warning in the log), when it has expired,
//!   or at once when its holder ran on this host and that process is gone (a crash followed
//!   by a restart does not wait for the expiry);
//! - a holder whose heartbeat finds the lease taken over (it was stopped for longer than
//!   the TTL) logs an error: it must be restarted.
//!
//! Times are the system clock's ([`crate::clock::system_now`]), never the test clock, since
//! they are compared between processes.
//!
//! **Towards several instances.** The row is keyed by a lease *name*, and the holder id is
//! unique per process start, so the same table can carry a later multi-instance design
//! without a migration of its meaning:
//! - *hot standby*: a second bot retries [`Leases::try_take`] until the leader's lease
//!   expires, then takes over recovery and the scheduler;
//! - *shards*: one lease per scope (e.g. `executor:<job>` or `executor:<host group>`), with
//!   each execution recording the holder id that started it, so that recovery only touches
//!   the runs of scopes it holds and several bots serve one database side by side;
//! - *fencing*: a writer checks in its transaction that it still holds the lease
//!   ([`Leases::renew`] returns false when it does not), so a paused holder that lost
//!   it cannot write after its successor took over.

use super::{from_ms, ms, write_tx, Result, Store};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use std::sync::Arc;
use std::time::Duration;

/// The lease on the whole database: executing jobs, scheduling them, recovering after a crash.
pub const EXECUTOR: &str = "executor";
/// How long a lease lives without a heartbeat.
pub const TTL: Duration = Duration::from_secs(30);
/// How often the holder renews it.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Who holds (or held) a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Unique per process start: `host/pid/start-ms`.
    pub id: String,
    pub pid: i32,
    /// The process's start time in clock ticks since boot (`/proc/PID/stat`), when known.
    pub pid_start: Option<i64>,
    pub host: String,
}

impl Holder {
    /// This process.
    pub fn this_process() -> Holder {
        let pid = std::process::id() as i32;
        let host = hostname();
        Holder {
            id: format!(
                "{host}/{pid}/{}",
                crate::clock::system_now().timestamp_millis()
            ),
            pid,
            pid_start: crate::util::process::proc_start_ticks(pid),
            host,
        }
    }

    /// Whether this holder ran on this host and its process is gone (or the pid now belongs
    /// to another process).
    fn gone_from_this_host(&self) -> bool {
        if self.host != hostname() {
            return false;
        }
        match crate::util::process::proc_start_ticks(self.pid) {
            None => !pid_exists(self.pid),
            Some(now) => self.pid_start.is_some_and(|then| then != now),
        }
    }
}

/// A lease as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub name: String,
    pub holder: Holder,
    pub acquired_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What [`Leases::try_take`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The lease was free (or already ours).
    Free,
    /// A stale lease was taken over: the earlier holder's row.
    TookOver(LeaseRow),
    /// Another holder's live lease: nothing changed.
    HeldBy(LeaseRow),
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "the database {path} is in use by another bot (holder {}, pid {} on host {}, last heartbeat {}). \
         Stop that bot first, or give this one its own database (--db FILE or `path` under [storage]). \
         If that bot is gone, its lease expires at {} and a new start after that takes over",
        .row.holder.id,
        .row.holder.pid,
        .row.holder.host,
        .row.heartbeat_at.format("%Y-%m-%d %H:%M:%S UTC"),
        .row.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    Held { path: String, row: Box<LeaseRow> },
    #[error("cannot take the lease on the database {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: super::StoreError,
    },
}

/// The `lease` table: [`Store::leases`].
#[derive(Clone, Copy)]
pub struct Leases<'a> {
    db: &'a Store,
}

impl Store {
    /// The `lease` table.
    pub fn leases(&self) -> Leases<'_> {
        Leases { db: self }
    }
}

impl Leases<'_> {
    /// Takes the lease `name` for `me` for `ttl` unless another holder's live lease is there.
    pub fn try_take(
        &self,
        name: &str,
        me: &Holder,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Taken> {
        let mut conn = self.db.conn();
        let tx = write_tx(&mut conn)?;
        let current = tx
            .query_row(
                "SELECT holder, pid, pid_start, host, acquired_at, heartbeat_at, expires_at
                 FROM lease WHERE name = ?1",
                [name],
                |r| {
                    Ok(LeaseRow {
                        name: name.to_string(),
                        holder: Holder {
                            id: r.get(0)?,
                            pid: r.get(1)?,
                            pid_start: r.get(2)?,
                            host: r.get(3)?,
                        },
                        acquired_at: from_ms(r.get(4)?),
                        heartbeat_at: from_ms(r.get(5)?),
                        expires_at: from_ms(r.get(6)?),
                    })
                },
            )
            .optional()?;
        let taken = match current {
            None => Taken::Free,
            Some(row) if row.holder.id == me.id => Taken::Free,
            Some(row) if row.expires_at <= now || row.holder.gone_from_this_host() => {
                Taken::TookOver(row)
            }
            Some(row) => return Ok(Taken::HeldBy(row)),
        };
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        tx.execute(
            "INSERT OR REPLACE INTO lease
                 (name, holder, pid, pid_start, host, acquired_at, heartbeat_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
            params![
                name,
                me.id,
                me.pid,
                me.pid_start,
                me.host,
                ms(now),
                ms(expires)
            ],
        )?;
        tx.commit()?;
        Ok(taken)
    }

    /// Extends `me`'s lease `name` to `now + ttl`; false when `me` no longer holds it.
    pub fn renew(
        &self,
        name: &str,
        me: &Holder,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool> {
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        self.db.change_one(
            "UPDATE lease SET heartbeat_at = ?3, expires_at = ?4 WHERE name = ?1 AND holder = ?2",
            params![name, me.id, ms(now), ms(expires)],
        )
    }

    /// Gives `me`'s lease `name` up (nothing when another holder has it).
    pub fn release(&self, name: &str, me: &Holder) -> Result<()> {
        self.db.conn().execute(
            "DELETE FROM lease WHERE name = ?1 AND holder = ?2",
            params![name, me.id],
        )?;
        Ok(())
    }
}

/// A held lease: renewed by a heartbeat task while it lives, released when it is released
/// or dropped.
pub struct Lease {
    store: Arc<Store>,
    name: &'static str,
    holder: Holder,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Lease {
    /// Takes the [`EXECUTOR`] lease of `store` (the database at `path`, for the messages) and
    /// starts its heartbeat. Needs a tokio runtime.
    pub fn acquire(store: Arc<Store>, path: &str) -> std::result::Result<Lease, LeaseError> {
        let holder = Holder::this_process();
        let name = EXECUTOR;
        match store
            .leases()
            .try_take(name, &holder, crate::clock::system_now(), TTL)
        {
            Ok(Taken::Free) => {}
            Ok(Taken::TookOver(old)) => tracing::warn!(
                "took over the stale lease of {path} from {} (pid {} on {}, last heartbeat {})",
                old.holder.id,
                old.holder.pid,
                old.holder.host,
                old.heartbeat_at
            ),
            Ok(Taken::HeldBy(row)) => {
                return Err(LeaseError::Held {
                    path: path.to_string(),
                    row: Box::new(row),
                })
            }
            Err(source) => {
                return Err(LeaseError::Store {
                    path: path.to_string(),
                    source,
                })
            }
        }
        tracing::info!(holder = %holder.id, "holding the lease of {path}");
        let heartbeat = tokio::spawn(heartbeat(store.clone(), name, holder.clone()));
        Ok(Lease {
            store,
            name,
            holder,
            heartbeat: Some(heartbeat),
        })
    }

    /// This process as the lease's holder.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Stops the heartbeat and gives the lease up (at a clean exit).
    pub fn release(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
            if let Err(e) = self.store.leases().release(self.name, &self.holder) {
                tracing::warn!("cannot release the lease: {e}");
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn heartbeat(store: Arc<Store>, name: &'static str, me: Holder) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.tick().await;
    loop {
        tick.tick().await;
        match store
            .leases()
            .renew(name, &me, crate::clock::system_now(), TTL)
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(
                    "lost the lease on the database to another bot (this one was stalled for longer than {}s); restart this bot",
                    TTL.as_secs()
                );
                return;
            }
            // a busy database: the next beat tries again, well before the expiry
            Err(e) => tracing::warn!("cannot renew the lease: {e}"),
        }
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn pid_exists(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other(pid: i32) -> Holder {
        Holder {
            id: format!("elsewhere/{pid}/1"),
            pid,
            pid_start: None,
            host: "elsewhere".into(),
        }
    }

    #[test]
    fn a_live_lease_is_refused_a_stale_one_taken_over() {
        let s = Store::open_in_memory().unwrap();
        let now = Utc::now();
        let a = other(10);
        let b = other(11);
        assert_eq!(
            s.leases().try_take(EXECUTOR, &a, now, TTL).unwrap(),
            Taken::Free
        );
        // again by the same holder: still free
        assert_eq!(
            s.leases().try_take(EXECUTOR, &a, now, TTL).unwrap(),
            Taken::Free
        );
        let Taken::HeldBy(row) = s.leases().try_take(EXECUTOR, &b, now, TTL).unwrap() else {
            panic!()
        };
        assert_eq!(row.holder, a);
        assert!(s.leases().renew(EXECUTOR, &a, now, TTL).unwrap());
        assert!(!s.leases().renew(EXECUTOR, &b, now, TTL).unwrap());
        // expired: taken over, and the old holder cannot renew it any more
        let later = now + chrono::Duration::seconds(31);
        assert!(matches!(
            s.leases().try_take(EXECUTOR, &b, later, TTL).unwrap(),
            Taken::TookOver(r) if r.holder == a
        ));
        assert!(!s.leases().renew(EXECUTOR, &a, later, TTL).unwrap());
        // released: free again; releasing another's lease does nothing
        s.leases().release(EXECUTOR, &a).unwrap();
        assert!(matches!(
            s.leases().try_take(EXECUTOR, &a, later, TTL).unwrap(),
            Taken::HeldBy(_)
        ));
        s.leases().release(EXECUTOR, &b).unwrap();
        assert_eq!(
            s.leases().try_take(EXECUTOR, &a, later, TTL).unwrap(),
            Taken::Free
        );
    }

    #[test]
    fn a_dead_holder_on_this_host_is_taken_over_at_once() {
        let s = Store::open_in_memory().unwrap();
        let now = Utc::now();
        let mut dead = Holder::this_process();
        dead.id = "dead".into();
        // no process has this pid (above the kernel's pid_max)
        dead.pid = i32::MAX;
        dead.pid_start = Some(1);
        s.leases().try_take(EXECUTOR, &dead, now, TTL).unwrap();
        assert!(matches!(
            s.leases()
                .try_take(EXECUTOR, &Holder::this_process(), now, TTL)
                .unwrap(),
            Taken::TookOver(_)
        ));
    }
}
