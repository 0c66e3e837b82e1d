//! The job platform: the [`JobPlatform`] trait the handlers talk to, the execution model, and
//! the local implementation ([`local::LocalPlatform`]: subprocesses, schedules, cancellation).
//! A remote platform implements the same trait; nothing above this module changes.

pub mod local;
pub mod overdue;
pub mod ssh;

use nlu::Catalog;
use tokio::sync::broadcast;

pub use crate::util::BoxFuture;

pub use crate::domain::exec::{ExecEvent, ExecId, ExecRequest, Execution, HistoryQuery, Status};

/// Why a platform call failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("there is no job `{0}`")]
    UnknownJob(String),
    #[error("there is no execution #{0}")]
    NotFound(ExecId),
    #[error("#{id} has already ended ({status})")]
    AlreadyEnded { id: ExecId, status: Status },
    /// The platform's own backend failed (the local platform's database, a remote API):
    /// any error type, so that this trait names none of them.
    #[error("storage: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("{0}")]
    Other(String),
}

/// The last check before a run that waited starts (a scheduled run, a queued one, an
/// approved one scheduled for later): the policy in force at that moment
/// ([`crate::policy::Guard`] re-checks its requester). `Err` says why it may not start; the
/// run then ends as failed with that as its detail, and the channel is told.
pub trait StartCheck: Send + Sync {
    fn may_start(&self, e: &Execution) -> Result<(), String>;
}

/// A job platform: runs jobs, reports on them, cancels them.
pub trait JobPlatform: Send + Sync {
    /// The parameter schema of every job (the catalog).
    fn catalog(&self) -> &Catalog;
    /// Starts (or schedules) an execution; the returned state is stored before it returns.
    fn execute(&self, req: ExecRequest) -> BoxFuture<'_, Result<Execution, PlatformError>>;
    /// The current state of an execution (with live output while it runs).
    fn status(&self, id: ExecId) -> BoxFuture<'_, Result<Execution, PlatformError>>;
    /// Stops a running or scheduled execution and returns its final state.
    fn cancel(
        &self,
        id: ExecId,
        by: String,
        channel: String,
    ) -> BoxFuture<'_, Result<Execution, PlatformError>>;
    /// Past and current executions, newest first.
    fn history(&self, q: HistoryQuery) -> BoxFuture<'_, Result<Vec<Execution>, PlatformError>>;
    /// Status changes from now on.
    fn events(&self) -> broadcast::Receiver<ExecEvent>;
}
