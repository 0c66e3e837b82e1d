//! Decisions: permissions, approval rules and change windows for an action, at its time.

use super::*;

impl Guard {
    pub(super) fn environment_of(
        &self,
        job: &str,
        params: &BTreeMap<String, String>,
    ) -> Option<String> {
        let j = self.config.catalog.job(job)?;
        j.parameters
            .iter()
            .find(|p| p.kind == ParamKind::Environment)
            .and_then(|p| params.get(&p.name).cloned().or_else(|| p.default.clone()))
    }

    /// The apps a run names: the values (or defaults) of the job's parameters of kind `app`.
    pub(super) fn apps_of(&self, job: &str, params: &BTreeMap<String, String>) -> Vec<String> {
        let Some(j) = self.config.catalog.job(job) else {
            return Vec::new();
        };
        j.parameters
            .iter()
            .filter(|p| p.kind == ParamKind::App)
            .filter_map(|p| params.get(&p.name).cloned().or_else(|| p.default.clone()))
            .collect()
    }

    /// The permissions a run of `job` with `params` needs (`run:`/`deploy:`, `env:`, and
    /// `app:` for users limited to some apps): the first one `who` lacks, in `lang`.
    pub(super) fn execution_permitted(
        &self,
        who: &Identity,
        job: &str,
        params: &BTreeMap<String, String>,
        deploy: bool,
        lang: Lang,
    ) -> Result<(), UserError> {
        let access = self.sec().access.as_ref();
        let require = |need: &str, what: String| -> Result<(), UserError> {
            match access {
                Some(a) => a.require(who, need, &what, lang),
                None => Ok(()),
            }
        };
        let env = self.environment_of(job, params);
        let r = if deploy {
            let e = env.clone().unwrap_or_else(|| "*".into());
            require(
                &format!("deploy:{e}"),
                tr!(lang, "action-deploy-to", env = &e),
            )
        } else {
            require(&format!("run:{job}"), tr!(lang, "action-run", job = job)).and_then(|()| {
                match &env {
                    Some(e) => require(
                        &format!("env:{e}"),
                        tr!(lang, "action-run-in", job = job, env = e),
                    ),
                    None => Ok(()),
                }
            })
        };
        // and the apps it names, for users whose roles limit them to some apps
        r.and_then(|()| {
            self.apps_of(job, params).iter().try_for_each(|app| {
                let what = match (deploy, &env) {
                    (true, Some(e)) => tr!(lang, "action-deploy-app-to", app = app, env = e),
                    (true, None) => tr!(lang, "action-deploy-app", app = app),
                    (false, _) => tr!(lang, "action-run-for-app", job = job, app = app),
                };
                match access {
                    Some(a) => a.require_app(who, app, &what, lang),
                    None => Ok(()),
                }
            })
        })
    }

    /// The decision for a reader of `lang`, without recording it; unless `lang` is English, a
    /// refusal or an approval need keeps its English text too, for the records.
    pub(super) fn decide(&self, who: &Identity, action: &Action<'_>, lang: Lang) -> Decision {
        let now = self.now();
        let d = self.decide_at(who, action, lang, now);
        // an approval request keeps its reason in Chinese too, for its approvers
        let zh_reason = |n: &ApprovalNeed| match lang {
            Lang::Zh => Some(n.reason.clone()),
            Lang::En => match self.decide_at(who, action, Lang::Zh, now) {
                Decision::NeedsApproval(zh) => Some(zh.reason),
                _ => None,
            },
        };
        if lang == Lang::En {
            return match d {
                Decision::NeedsApproval(mut n) => {
                    n.reason_zh = zh_reason(&n);
                    Decision::NeedsApproval(n)
                }
                d => d,
            };
        }
        match (d, self.decide_at(who, action, Lang::En, now)) {
            (Decision::Refuse(mut e), Decision::Refuse(en)) => {
                e.message_en = Some(en.message.into());
                Decision::Refuse(e)
            }
            (Decision::NeedsApproval(mut n), Decision::NeedsApproval(en)) => {
                n.reason_en = Some(en.reason);
                n.reason_zh = zh_reason(&n);
                Decision::NeedsApproval(n)
            }
            (d, _) => d,
        }
    }

    /// The decision at `now`, its texts in `lang`.
    pub(super) fn decide_at(
        &self,
        who: &Identity,
        action: &Action<'_>,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Decision {
        let access = self.sec().access.as_ref();
        let require = |need: &str, what: String| -> Result<(), UserError> {
            match access {
                Some(a) => a.require(who, need, &what, lang),
                None => Ok(()),
            }
        };
        let checked = match action {
            Action::Execute {
                job,
                params,
                run_at,
                ..
            } => {
                let deploy = action.command() == "deploy";
                if let Err(e) = self.execution_permitted(who, job, params, deploy, lang) {
                    return Decision::Refuse(e);
                }
                let env = self.environment_of(job, params);
                return self.decide_execution(job, params, env.as_deref(), *run_at, lang, now);
            }
            Action::Cancel { id, job, .. } => require(
                &format!("cancel:{job}"),
                tr!(lang, "action-cancel", id = id.to_string(), job = *job),
            ),
            Action::ReadExecution { id, job } => require(
                &format!("status:{job}"),
                tr!(lang, "action-read-status", id = id.to_string(), job = *job),
            ),
            Action::ReadCatalog => require("list", tr!(lang, "action-list")),
            Action::ReadHistory => require("history", tr!(lang, "action-history")),
        };
        match checked {
            Ok(()) => Decision::Allow,
            Err(e) => Decision::Refuse(e),
        }
    }

    /// Parameter patterns, change windows and approval rules for a run at `run_at` (None:
    /// now). A scheduled run is judged against the window and freezes at the time it is for.
    /// Texts are in `lang`.
    pub(super) fn decide_execution(
        &self,
        job: &str,
        params: &BTreeMap<String, String>,
        env: Option<&str>,
        run_at: Option<DateTime<Utc>>,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Decision {
        for (name, value) in params {
            if let Some(re) = self.patterns.get(&(job.to_string(), name.clone())) {
                if !re.is_match(value) {
                    let shown = if self.is_secret(job, name) {
                        MASK
                    } else {
                        value.as_str()
                    };
                    return Decision::Refuse(
                        UserError::invalid(tr!(
                            lang,
                            "param-no-match",
                            value = shown,
                            name = name,
                            job = job
                        ))
                        .suggest(tr!(
                            lang,
                            "param-pattern",
                            pattern = &self.config.runs[job].patterns[name]
                        )),
                    );
                }
            }
        }
        let rule = self.sec().approvals.iter().find(|r| {
            (r.jobs.is_empty() || r.jobs.iter().any(|j| j == job))
                && (r.environments.is_empty()
                    || env.is_some_and(|e| r.environments.iter().any(|x| x == e)))
        });
        if let Some(e) = env {
            let tz = self.config.time_zone;
            // the time the change happens: a scheduled run's, else now
            let at = run_at.filter(|t| *t > now);
            for w in self.sec().windows.iter().filter(|w| w.environment == e) {
                if let Err(closed) = w.check(at.unwrap_or(now), tz, lang) {
                    let reason = match at {
                        None => closed.reason.clone(),
                        Some(t) => tr!(
                            lang,
                            "window-at-scheduled-time",
                            reason = &closed.reason,
                            at = crate::i18n::format::time(t, tz, lang)
                        ),
                    };
                    let opens = closed.opens.map(|t| match at {
                        None => tr!(
                            lang,
                            "window-opens",
                            at = crate::i18n::format::time(t, tz, lang)
                        ),
                        Some(s) => tr!(
                            lang,
                            "window-opens-after-scheduled-time",
                            at = crate::i18n::format::time(t, tz, lang),
                            after = crate::i18n::format::duration(t - s)
                        ),
                    });
                    match w.outside {
                        Outside::Refuse => {
                            let refusal = match at {
                                None => tr!(lang, "window-refused-now", reason = reason),
                                Some(_) => tr!(lang, "window-refused-scheduled", reason = reason),
                            };
                            let mut err = UserError::policy(refusal);
                            if let Some(o) = opens {
                                err = err.suggest(o);
                            }
                            return Decision::Refuse(err);
                        }
                        Outside::Approval => {
                            let (role, timeout) = rule
                                .or_else(|| self.sec().approvals.first())
                                .map(|r| (r.role.clone(), r.timeout))
                                .unwrap_or((
                                    "approver".into(),
                                    std::time::Duration::from_secs(1800),
                                ));
                            let reason = match opens {
                                Some(o) => {
                                    tr!(lang, "window-reason-opens", reason = reason, opens = o)
                                }
                                None => reason,
                            };
                            return Decision::NeedsApproval(ApprovalNeed {
                                role,
                                reason,
                                reason_en: None,
                                reason_zh: None,
                                timeout,
                            });
                        }
                    }
                }
            }
        }
        if let Some(r) = rule {
            let what = match env {
                Some(e) if !r.environments.is_empty() => {
                    tr!(lang, "approval-needed-for-env", env = e)
                }
                _ => tr!(lang, "approval-needed-for-job", job = job),
            };
            return Decision::NeedsApproval(ApprovalNeed {
                role: r.role.clone(),
                reason: what,
                reason_en: None,
                reason_zh: None,
                timeout: r.timeout,
            });
        }
        Decision::Allow
    }

    /// Decides and records the decision (before anything happens).
    pub fn check_and_record(&self, actor: &Actor, action: &Action<'_>) -> Decision {
        let who = match self.identify(actor) {
            Ok(w) => w,
            Err(e) => {
                let _ = self.record_decision(
                    actor,
                    None,
                    action,
                    "deny",
                    Some(e.recorded_message()),
                    Some(&e.id),
                );
                return Decision::Refuse(e);
            }
        };
        let d = self.decide(&who, action, actor.lang);
        let rec = match &d {
            Decision::Allow => {
                self.record_decision(actor, Some(&who.name), action, "allow", None, None)
            }
            Decision::Deny(r) => {
                self.record_decision(actor, Some(&who.name), action, "deny", Some(r), None)
            }
            Decision::Refuse(e) => self.record_refusal(actor, &who, action, e),
            Decision::NeedsApproval(n) => self.record_decision(
                actor,
                Some(&who.name),
                action,
                "needs_approval",
                Some(&format!("{} (role {})", n.recorded_reason(), n.role)),
                None,
            ),
        };
        match rec {
            Ok(_) => d,
            // nothing happens without a record
            Err(e) => Decision::Refuse(e),
        }
    }

    /// Early check (e.g. before asking for a confirmation): the refusal, recorded, if any.
    pub fn precheck(&self, actor: &Actor, action: &Action<'_>) -> Option<UserError> {
        let who = match self.identify(actor) {
            Ok(w) => w,
            Err(e) => return Some(e),
        };
        match self.decide(&who, action, actor.lang) {
            Decision::Refuse(e) => {
                let _ = self.record_refusal(actor, &who, action, &e);
                Some(e)
            }
            _ => None,
        }
    }

    /// Records a refusal (its English text and its error id).
    fn record_refusal(
        &self,
        actor: &Actor,
        who: &Identity,
        action: &Action<'_>,
        e: &UserError,
    ) -> Result<i64, UserError> {
        self.record_decision(
            actor,
            Some(&who.name),
            action,
            "deny",
            Some(e.recorded_message()),
            Some(&e.id),
        )
    }

    /// Whether the actor may run a job (for help and the job list): the command permission
    /// (for the deploy job: for some environment), and, for a user limited to some apps, an
    /// app they hold among the values of each app parameter that every run fills (required
    /// or defaulted; its choices, else the catalog's apps). As app permissions must name
    /// catalog apps, this hides only jobs whose app parameter's `choices` are all apps the
    /// user lacks; a job they may run for some of its apps stays listed.
    pub fn may_run_job(&self, actor: &Actor, job: &str) -> bool {
        let Some(access) = &self.sec().access else {
            return true;
        };
        let Ok(who) = self.identify(actor) else {
            return false;
        };
        let catalog = &self.config.catalog;
        let command = if job == crate::domain::catalog::DEPLOY_JOB {
            catalog
                .environments
                .iter()
                .any(|e| access.allows(&who, &format!("deploy:{}", e.id)))
        } else {
            access.allows(&who, &format!("run:{job}"))
        };
        command
            && catalog.job(job).is_none_or(|j| {
                j.parameters
                    .iter()
                    .filter(|p| p.kind == ParamKind::App && (p.required || p.default.is_some()))
                    .all(|p| {
                        // an app parameter with no known values takes any name
                        let apps = crate::values::known_values(catalog, p);
                        apps.is_empty() || apps.iter().any(|a| access.allows_app(&who, a))
                    })
            })
    }
}
