//! Revocation: a run that waited (scheduled, queued, approved) is checked again when it
//! starts, against the configuration in force then.

use super::*;

impl Guard {
    /// Whether `chat_user` in `channel` may still start a run of `job` with `params` that
    /// waited (an approved request, a scheduled or queued run), against the configuration in
    /// force now: their account (known, enabled) and the permissions the run needs. Approval
    /// rules and change windows are not asked again (they were passed or approved for the
    /// run's time). A refusal is recorded in the audit trail (decision `deny`, "re-checked at
    /// execution: …", in English) and is in `lang`, or with None in the requester's language.
    pub fn recheck(
        &self,
        chat_user: &str,
        channel: &str,
        job: &str,
        params: &BTreeMap<String, String>,
        what: &str,
        lang: Option<Lang>,
    ) -> Result<(), UserError> {
        let lang = lang.unwrap_or_else(|| self.lang_of(chat_user, channel));
        let actor = Actor {
            user: chat_user.to_string(),
            channel: channel.to_string(),
            platform: channel.split(':').next().unwrap_or(channel).to_string(),
            text: what.to_string(),
            lang,
        };
        let deploy = job == crate::domain::catalog::DEPLOY_JOB;
        let who = self.identify(&actor);
        let checked = who.as_ref().map_err(Clone::clone).and_then(|w| {
            localize(lang, |l| {
                self.execution_permitted(w, job, params, deploy, l)
            })
        });
        let Err(e) = checked else { return Ok(()) };
        let action = Action::Execute {
            job,
            params,
            sensitive: false,
            run_at: None,
            reason: None,
        };
        let _ = self.record_decision(
            &actor,
            who.ok().map(|w| w.name).as_deref(),
            &action,
            "deny",
            Some(&format!(
                "re-checked at execution: {}",
                e.recorded_message()
            )),
            Some(&e.id),
        );
        Err(e)
    }

    /// The language of `chat_user` when they are not the one acting (the requester of a run
    /// that waited).
    pub(super) fn lang_of(&self, chat_user: &str, channel: &str) -> Lang {
        let access = self.sec().access.as_ref();
        crate::policy::choose_lang(&self.store, access, channel, chat_user, None)
    }
}
