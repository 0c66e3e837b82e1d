//! Approval requests: filing one, listing the pending ones, approving or rejecting.

use super::*;

impl Guard {
    /// Stores a request for approval and records it.
    pub fn file_approval(
        &self,
        actor: &Actor,
        ask: &ApprovalAsk<'_>,
    ) -> Result<ApprovalRow, UserError> {
        let ApprovalAsk {
            job,
            params,
            run_at,
            need,
            justification,
        } = *ask;
        let who = self.identify(actor)?;
        let now = self.now();
        let ttl = chrono::Duration::from_std(need.timeout).unwrap_or(chrono::Duration::minutes(30));
        // secret values stay in memory; the stored request holds `***`
        let stored = self.mask_params(job, params);
        let row = self
            .store
            .approvals()
            .insert(
                &who.name,
                &actor.user,
                &actor.channel,
                job,
                &stored,
                run_at,
                &need.role,
                need.recorded_reason(),
                need.reason_zh.as_deref(),
                justification.map(|j| self.redact(j)).as_deref(),
                now,
                now + ttl,
            )
            .map_err(|e| UserError::internal(actor.lang, e))?;
        let secrets: BTreeMap<String, String> = params
            .iter()
            .filter(|(k, _)| self.is_secret(job, k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !secrets.is_empty() {
            self.kept_approvals().insert(row.id, secrets);
        }
        self.record(
            actor,
            Entry {
                kind: "approval".into(),
                mapped_user: Some(who.name),
                job: Some(job.into()),
                params: Some(params.clone()),
                approval_id: Some(row.id),
                decision: Some("requested".into()),
                reason: Some(need.recorded_reason().to_string()),
                justification: justification.map(str::to_string),
                ..Default::default()
            },
        )?;
        Ok(row)
    }

    /// Someone approves or rejects request `id`. Returns the request when it may go ahead
    /// (approved) or was rejected; errors say why not, in the actor's language.
    pub fn decide_approval(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
    ) -> Result<ApprovalRow, UserError> {
        let who = self.identify(actor)?;
        let lang = actor.lang;
        let now = self.now();
        // the refusal in the actor's language, recorded in English
        let fail = |make: &dyn Fn(Lang) -> UserError| {
            let e = UserError::localized(lang, make);
            let _ = self.record(
                actor,
                Entry {
                    kind: "approval".into(),
                    mapped_user: Some(who.name.clone()),
                    text: Some(actor.text.clone()),
                    approval_id: Some(id),
                    decision: Some("deny".into()),
                    reason: Some(e.recorded_message().to_string()),
                    error_id: Some(e.id.clone()),
                    ..Default::default()
                },
            );
            e
        };
        let Some(row) = self
            .store
            .approvals()
            .get(id)
            .map_err(|e| UserError::internal(lang, e))?
        else {
            return Err(fail(&|l| {
                UserError::not_found(tr!(l, "approval-not-found", id = id))
                    .suggest(tr!(l, "approval-see-pending"))
            }));
        };
        if row.state != "pending" {
            return Err(fail(&|l| {
                let state = approval_state(&row.state, l);
                UserError::policy(match &row.decided_by {
                    Some(by) => tr!(l, "approval-already-by", id = id, state = state, by = by),
                    None => tr!(l, "approval-already", id = id, state = state),
                })
            }));
        }
        if row.expires_at <= now {
            let _ = self.store.approvals().decide(id, "expired", None, now);
            return Err(fail(&|l| {
                UserError::policy(tr!(
                    l,
                    "approval-expired",
                    id = id,
                    at = crate::i18n::format::time(row.expires_at, self.config.time_zone, l)
                ))
                .suggest(tr!(l, "approval-ask-again", requester = &row.requester))
            }));
        }
        if approve && row.requester == who.name {
            return Err(fail(&|l| {
                UserError::permission(tr!(l, "approval-own-request", id = id))
                    .suggest(self.approvers_hint(&row.role, &who.name, l))
            }));
        }
        let is_approver = match &self.sec().access {
            Some(_) => who.roles.contains(&row.role),
            None => true,
        };
        // the requester may withdraw (reject) their own request
        if !is_approver && (row.requester != who.name || approve) {
            return Err(fail(&|l| {
                let message = if approve {
                    tr!(
                        l,
                        "approval-may-not-approve",
                        user = &who.name,
                        id = id,
                        role = &row.role
                    )
                } else {
                    tr!(
                        l,
                        "approval-may-not-reject",
                        user = &who.name,
                        id = id,
                        role = &row.role
                    )
                };
                UserError::permission(message).suggest(self.approvers_hint(&row.role, &who.name, l))
            }));
        }
        let mut row = row;
        if approve {
            // the secret values come from memory: the database holds `***`
            let kept = self.kept_approvals().get(&id).cloned().unwrap_or_default();
            let lost: Vec<String> = row
                .params
                .iter()
                .filter(|(k, v)| {
                    v.as_str() == MASK && self.is_secret(&row.job, k) && !kept.contains_key(*k)
                })
                .map(|(k, _)| format!("`{k}`"))
                .collect();
            if !lost.is_empty() {
                let _ = self
                    .store
                    .approvals()
                    .decide(id, "expired", Some(&who.name), now);
                return Err(fail(&|l| {
                    UserError::policy(tr!(
                        l,
                        "approval-secret-lost",
                        id = id,
                        params = lost.join(&tr!(l, "list-separator"))
                    ))
                    .suggest(tr!(
                        l,
                        "approval-nothing-ran",
                        requester = &row.requester
                    ))
                }));
            }
            row.params.extend(kept);
        }
        // the requester's permissions as configured now: a revoked requester's request
        // does not go ahead
        if approve {
            if let Err(e) = self.recheck(
                &row.chat_user,
                &row.channel,
                &row.job,
                &row.params,
                &actor.text,
                Some(lang),
            ) {
                let _ = self
                    .store
                    .approvals()
                    .decide(id, "revoked", Some(&who.name), now);
                return Err(fail(&|l| {
                    // the reason in the same language as the sentence around it
                    let why = if l == lang {
                        e.message.as_str()
                    } else {
                        e.recorded_message()
                    };
                    let contact = match &self.sec().access {
                        Some(a) => a.contact(l),
                        None => tr!(l, "access-default-contact"),
                    };
                    UserError::permission(tr!(
                        l,
                        "approval-requester-revoked",
                        id = id,
                        requester = &row.requester,
                        reason = why
                    ))
                    .suggest(tr!(
                        l,
                        "approval-restore-access",
                        requester = &row.requester,
                        contact = contact
                    ))
                }));
            }
        }
        let state = if approve { "approved" } else { "rejected" };
        if !self
            .store
            .approvals()
            .decide(id, state, Some(&who.name), now)
            .map_err(|e| UserError::internal(lang, e))?
        {
            self.kept_approvals().remove(&id);
            return Err(fail(&|l| {
                UserError::policy(tr!(l, "approval-decided-meanwhile", id = id))
            }));
        }
        self.record(
            actor,
            Entry {
                kind: "approval".into(),
                mapped_user: Some(who.name.clone()),
                text: Some(actor.text.clone()),
                job: Some(row.job.clone()),
                params: Some(row.params.clone()),
                approval_id: Some(id),
                decision: Some(state.into()),
                reason: Some(format!("requested by {}", row.requester)),
                justification: row.justification.clone(),
                ..Default::default()
            },
        )?;
        self.kept_approvals().remove(&id);
        row.state = state.into();
        row.decided_by = Some(who.name);
        Ok(row)
    }

    pub(super) fn kept_approvals(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<i64, BTreeMap<String, String>>> {
        self.kept_approvals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Whom to ask for an approval by `role` (other than `not`), in `lang`.
    pub(super) fn approvers_hint(&self, role: &str, not: &str, lang: Lang) -> String {
        let people: Vec<String> = self
            .sec()
            .access
            .as_ref()
            .map(|a| {
                a.users_with_role(role)
                    .into_iter()
                    .filter(|u| u.name != not)
                    .map(|u| u.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        if people.is_empty() {
            tr!(lang, "approvers-ask", role = role)
        } else {
            tr!(
                lang,
                "approvers-ask-named",
                role = role,
                people = people.join(&tr!(lang, "list-separator"))
            )
        }
    }

    /// The approvers of a role other than `not`, as a list for a reply.
    pub fn sec_approvers(&self, role: &str, not: &str) -> Option<String> {
        let a = self.sec().access.as_ref()?;
        let people: Vec<&str> = a
            .users_with_role(role)
            .into_iter()
            .filter(|u| u.name != not)
            .map(|u| u.name.as_str())
            .collect();
        (!people.is_empty()).then(|| people.join(", "))
    }

    /// Pending requests that have not expired.
    pub fn pending(&self) -> Vec<ApprovalRow> {
        let now = self.now();
        self.store
            .approvals()
            .pending()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.expires_at > now)
            .collect()
    }
}

/// A state of an approval request as a word of `lang` (`approved`, `批准`).
fn approval_state(state: &str, lang: Lang) -> String {
    match state {
        "approved" => tr!(lang, "approval-state-approved"),
        "rejected" => tr!(lang, "approval-state-rejected"),
        "expired" => tr!(lang, "approval-state-expired"),
        "revoked" => tr!(lang, "approval-state-revoked"),
        other => other.to_string(),
    }
}
