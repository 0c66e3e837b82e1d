//! The seam itself: who asks ([`Actor`]), for what ([`Action`]), the verdict
//! ([`Decision`]) and the [`Policy`] trait that gives it, with [`AllowAll`] as the policy
//! that allows everything. The guard ([`super::guard::Guard`]) is the real implementation.

use super::errors::UserError;
use crate::domain::exec::ExecId;
use crate::store::ApprovalRow;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The chat user id (as the adapter reports it).
    pub user: String,
    pub channel: String,
    /// The chat platform (`terminal`, `slack`, ...): the channel's prefix before `:`.
    pub platform: String,
    /// The message being handled (control characters stripped).
    pub text: String,
    /// The language replies to them are written in.
    pub lang: crate::i18n::Lang,
}

impl Actor {
    /// The identity key used in `[access]`: `platform:user`.
    pub fn identity(&self) -> String {
        format!("{}:{}", self.platform, self.user)
    }
}

/// What they want to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<'a> {
    /// Run (or schedule) a job with these parameters.
    Execute {
        job: &'a str,
        params: &'a BTreeMap<String, String>,
        sensitive: bool,
        /// When the run is for (None: now). Change windows are judged at this time.
        run_at: Option<DateTime<Utc>>,
        /// Why, in the user's words (recorded with the decision).
        reason: Option<&'a str>,
    },
    /// Stop an execution.
    Cancel {
        id: ExecId,
        job: &'a str,
        /// Why, in the user's words (recorded with the decision).
        reason: Option<&'a str>,
    },
    /// Read the state of one execution (status, watch).
    ReadExecution { id: ExecId, job: &'a str },
    /// Read the job list.
    ReadCatalog,
    /// Read the history of executions.
    ReadHistory,
}

impl Action<'_> {
    /// The command word of the action (`run`, `deploy`, `cancel`, `status`, `list`, `history`).
    pub fn command(&self) -> &'static str {
        match self {
            Action::Execute { job, .. } if *job == crate::domain::catalog::DEPLOY_JOB => "deploy",
            Action::Execute { .. } => "run",
            Action::Cancel { .. } => "cancel",
            Action::ReadExecution { .. } => "status",
            Action::ReadCatalog => "list",
            Action::ReadHistory => "history",
        }
    }
}

/// What is needed before an execution may go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalNeed {
    /// The role an approver must have.
    pub role: String,
    /// Why (the rule or the window), in the language of the person asking.
    pub reason: String,
    /// The reason in English when `reason` is in another language: the approval request and
    /// the audit trail store [`ApprovalNeed::recorded_reason`].
    pub reason_en: Option<String>,
    /// The reason in Chinese, stored with the request for approvers who read Chinese.
    pub reason_zh: Option<String>,
    pub timeout: std::time::Duration,
}

impl ApprovalNeed {
    /// The reason as it is stored: in English, whatever the asker's language.
    pub fn recorded_reason(&self) -> &str {
        self.reason_en.as_deref().unwrap_or(&self.reason)
    }
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Refused, with a reason to show the user.
    Deny(String),
    /// Refused with a classified error.
    Refuse(UserError),
    /// Allowed once a second person approves.
    NeedsApproval(ApprovalNeed),
}

/// Decides whether an actor may do something.
pub trait Policy: Send + Sync {
    fn check(&self, actor: &Actor, action: &Action<'_>) -> Decision;

    /// Whether the actor may run a job at all (help and the job list show only these).
    fn may_run(&self, _actor: &Actor, _job: &str) -> bool {
        true
    }

    /// Admits a message of `raw_len` bytes before anything is parsed; `Err` holds the reply.
    /// Without a policy of its own, only the size limit `max_bytes` holds.
    fn admit(&self, actor: &Actor, raw_len: usize, max_bytes: usize) -> Result<(), String> {
        if raw_len > max_bytes {
            let lang = actor.lang;
            return Err(UserError::invalid(tr!(
                lang,
                "message-too-long",
                bytes = raw_len,
                max = max_bytes
            ))
            .reply(lang));
        }
        Ok(())
    }

    /// Takes note of a message's secret values (`answering`: the job and parameter of the
    /// question it answers), so that they are masked wherever they appear.
    fn learn(&self, _text: &str, _answering: Option<(&str, &str)>) {}

    /// A text with the secret values masked.
    fn redact(&self, text: &str) -> String {
        text.to_string()
    }

    /// Early check (before asking for a confirmation): the refusal, recorded, if any.
    fn precheck(&self, _actor: &Actor, _action: &Action<'_>) -> Option<UserError> {
        None
    }

    /// Records what an allowed action led to (an execution started, or a platform error).
    fn record_result(
        &self,
        _actor: &Actor,
        _job: Option<&str>,
        _id: Option<ExecId>,
        _result: &str,
    ) {
    }

    /// `params` of `job` as they may be shown: secret values masked.
    fn mask_params(
        &self,
        _job: &str,
        params: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        params.clone()
    }

    /// Whether this policy files and decides approval requests. Without it the approval
    /// calls below refuse, and the approval commands answer that approvals are not set up.
    fn handles_approvals(&self) -> bool {
        false
    }

    /// Files a request for approval of a run that [`Decision::NeedsApproval`] held back, and
    /// records it.
    fn request_approval(
        &self,
        actor: &Actor,
        _ask: &ApprovalAsk<'_>,
    ) -> Result<ApprovalFiled, UserError> {
        Err(approvals_not_set_up(actor.lang))
    }

    /// The pending requests that have not expired, for an actor who may see them.
    fn pending_approvals(&self, actor: &Actor) -> Result<Vec<ApprovalRow>, UserError> {
        Err(approvals_not_set_up(actor.lang))
    }

    /// An approver approves or rejects request `id`: the request as decided, ready to run
    /// when approved.
    fn decide_approval(
        &self,
        actor: &Actor,
        _id: i64,
        _approve: bool,
    ) -> Result<ApprovalRow, UserError> {
        Err(approvals_not_set_up(actor.lang))
    }
}

/// What a request for approval asks to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApprovalAsk<'a> {
    pub job: &'a str,
    /// The parameters, secret values included (the stored request masks them).
    pub params: &'a BTreeMap<String, String>,
    /// When the run is for (None: as soon as it is approved).
    pub run_at: Option<DateTime<Utc>>,
    /// Why it needs approval, and by whom.
    pub need: &'a ApprovalNeed,
    /// Why the requester wants the run, in their words.
    pub justification: Option<&'a str>,
}

/// A request for approval as filed.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalFiled {
    /// The stored request (secret values masked).
    pub request: ApprovalRow,
    /// Who may approve it, named for the requester (None when the role has nobody else).
    pub approvers: Option<String>,
}

fn approvals_not_set_up(lang: crate::i18n::Lang) -> UserError {
    UserError::not_found(tr!(lang, "approvals-not-set-up"))
}

/// Allows everything (tests and embedding without an `[access]` section).
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Policy for AllowAll {
    fn check(&self, _actor: &Actor, _action: &Action<'_>) -> Decision {
        Decision::Allow
    }
}
