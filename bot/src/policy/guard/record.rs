//! Recording decisions and results in the audit trail (in English, whatever the reader's
//! language).

use super::*;

impl Guard {
    /// Records an entry (masking its text and parameters) and logs it. A failure to record is
    /// an error carrying the store's detail: a caller that must not act without a record
    /// refuses with it; one that records what has already happened may go on without it.
    pub fn record(&self, actor: &Actor, mut e: Entry) -> Result<i64, UserError> {
        e.platform = actor.platform.clone();
        e.channel = actor.channel.clone();
        e.user = actor.user.clone();
        if let Some(t) = &e.text {
            e.text = Some(self.redact(t));
        }
        if let (Some(job), Some(p)) = (&e.job, &e.params) {
            e.params = Some(self.mask_params(job, p));
        }
        if let Some(r) = &e.reason {
            e.reason = Some(self.redact(r));
        }
        if let Some(r) = &e.justification {
            e.justification = Some(self.redact(r));
        }
        tracing::info!(
            kind = %e.kind,
            user = %e.user,
            mapped_user = e.mapped_user.as_deref().unwrap_or(""),
            text = e.text.as_deref().unwrap_or(""),
            job = e.job.as_deref().unwrap_or(""),
            params = %e.params.as_ref().map(|p| crate::i18n::format::params(p, Lang::En)).unwrap_or_default(),
            decision = e.decision.as_deref().unwrap_or(""),
            reason = e.reason.as_deref().unwrap_or(""),
            justification = e.justification.as_deref().unwrap_or(""),
            execution_id = e.execution_id.unwrap_or(0),
            "audit"
        );
        audit::append(&self.store, self.now(), &e).map_err(|e| UserError::internal(actor.lang, e))
    }

    pub(super) fn record_decision(
        &self,
        actor: &Actor,
        mapped: Option<&str>,
        action: &Action<'_>,
        decision: &str,
        reason: Option<&str>,
        error_id: Option<&str>,
    ) -> Result<i64, UserError> {
        let justification = match action {
            Action::Execute { reason, .. } | Action::Cancel { reason, .. } => {
                reason.map(str::to_string)
            }
            _ => None,
        };
        let (job, params) = match action {
            Action::Execute { job, params, .. } => (Some(job.to_string()), Some((*params).clone())),
            Action::Cancel { job, id, .. } | Action::ReadExecution { job, id } => {
                let mut p = BTreeMap::new();
                p.insert("execution_id".to_string(), id.to_string());
                (Some(job.to_string()), Some(p))
            }
            _ => (None, None),
        };
        self.record(
            actor,
            Entry {
                kind: "decision".into(),
                mapped_user: mapped.map(str::to_string),
                text: Some(actor.text.clone()),
                intent: Some(action.command().to_string()),
                job,
                params,
                decision: Some(decision.into()),
                reason: reason.map(str::to_string),
                justification,
                error_id: error_id.map(str::to_string),
                ..Default::default()
            },
        )
    }

    /// Records the result of an action (an execution started, an error).
    pub fn record_result(
        &self,
        actor: &Actor,
        job: Option<&str>,
        execution_id: Option<i64>,
        result: &str,
    ) {
        let mapped = self.identify(actor).ok().map(|i| i.name);
        let _ = self.record(
            actor,
            Entry {
                kind: "result".into(),
                mapped_user: mapped,
                job: job.map(str::to_string),
                execution_id,
                result: Some(result.to_string()),
                ..Default::default()
            },
        );
    }
}
