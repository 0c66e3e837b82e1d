//! The permission seam: every execution, cancellation and read asks the [`Policy`] first.
//! The default allows everything; the permissions issue replaces it with identities, roles
//! and approvals without touching the handlers.

use crate::jobs::ExecId;
use std::collections::BTreeMap;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub channel: String,
}

/// What they want to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<'a> {
    /// Run (or schedule) a job with these parameters.
    Execute {
        job: &'a str,
        params: &'a BTreeMap<String, String>,
        sensitive: bool,
    },
    /// Stop an execution.
    Cancel { id: ExecId, job: &'a str },
    /// Read the state of one execution (status, watch).
    ReadExecution { id: ExecId, job: &'a str },
    /// Read history, the job list or help.
    ReadCatalog,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Refused, with a reason to show the user.
    Deny(String),
}

/// Decides whether an actor may do something.
pub trait Policy: Send + Sync {
    fn check(&self, actor: &Actor, action: &Action<'_>) -> Decision;
}

/// Allows everything (the default until the permissions layer lands).
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Policy for AllowAll {
    fn check(&self, _actor: &Actor, _action: &Action<'_>) -> Decision {
        Decision::Allow
    }
}
