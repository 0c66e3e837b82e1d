//! The guard: the one place where the bot decides who may do what. It implements
//! [`Policy`] (checked before every execution, cancellation and read) and adds what happens
//! around a message: input limits, identity, rate limits, secrets and the audit trail.

use super::access::Identity;
use super::audit::{self, Entry};
use super::rate_limit::{Limited, Limiter};
use super::windows::Outside;
use super::{localize, Action, Actor, ApprovalNeed, Decision, Policy, UserError};
use crate::config::security::SecurityConfig;
use crate::config::Config;
use crate::i18n::Lang;
use crate::store::{ApprovalRow, Store};
use chrono::{DateTime, Utc};
use nlu::catalog::ParamKind;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use crate::domain::exec::MASK;

/// Whether `param` of `job` is secret: named in `[security] secret_names` or in the job's
/// `secret` list.
pub fn is_secret_param(config: &Config, job: &str, param: &str) -> bool {
    config.security.secret_names.iter().any(|n| n == param)
        || config
            .runs
            .get(job)
            .is_some_and(|r| r.secret.iter().any(|n| n == param))
}

/// `params` with the values of secret parameters replaced by [`MASK`].
pub fn mask_secret_params(
    config: &Config,
    job: &str,
    params: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    params
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_param(config, job, k) {
                MASK.to_string()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

pub struct Guard {
    config: Arc<Config>,
    store: Arc<Store>,
    limiter: Limiter,
    /// (job, parameter) -> anchored pattern.
    patterns: HashMap<(String, String), regex::Regex>,
    /// Secret values seen in this process (masked wherever they appear).
    seen: Mutex<BTreeSet<String>>,
    /// The secret parameter values of pending approval requests, by request: the database
    /// holds `***` instead (lost at a restart: such a request then cannot go ahead).
    kept_approvals: Mutex<HashMap<i64, BTreeMap<String, String>>>,
}

impl Guard {
    pub fn new(config: Arc<Config>, store: Arc<Store>) -> Self {
        let mut patterns = HashMap::new();
        for (job, run) in &config.runs {
            for (p, re) in &run.patterns {
                if let Ok(r) = regex::Regex::new(&format!("^(?:{re})$")) {
                    patterns.insert((job.clone(), p.clone()), r);
                }
            }
        }
        Guard {
            limiter: Limiter::new(config.security.rate_limit),
            config,
            store,
            patterns,
            seen: Mutex::new(BTreeSet::new()),
            kept_approvals: Mutex::new(HashMap::new()),
        }
    }

    fn sec(&self) -> &SecurityConfig {
        &self.config.security
    }

    fn now(&self) -> DateTime<Utc> {
        crate::clock::now()
    }

    /// Maps the actor to a user of the job platform (a refusal in the actor's language).
    pub fn identify(&self, actor: &Actor) -> Result<Identity, UserError> {
        match &self.sec().access {
            None => Ok(Identity {
                name: actor.user.clone(),
                roles: Vec::new(),
            }),
            Some(a) => localize(actor.lang, |l| a.identify(&actor.identity(), l)),
        }
    }

    // ---- secrets ----

    /// Every parameter name that is secret (globally or in some job).
    pub fn secret_names(&self) -> BTreeSet<String> {
        let mut s: BTreeSet<String> = self.sec().secret_names.iter().cloned().collect();
        for run in self.config.runs.values() {
            s.extend(run.secret.iter().cloned());
        }
        s
    }

    /// Whether a job's parameter is secret.
    pub fn is_secret(&self, job: &str, param: &str) -> bool {
        is_secret_param(&self.config, job, param)
    }

    /// Remembers the secret values in a message: `name=value` for a secret name, or the
    /// whole message when it answers a question for a secret parameter.
    pub fn learn(&self, text: &str, answering: Option<(&str, &str)>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((job, param)) = answering {
            if self.is_secret(job, param) {
                seen.insert(text.trim().to_string());
            }
        }
        let names = self.secret_names();
        let words = crate::util::words::split_words(text.trim_start_matches('!'))
            .unwrap_or_else(|_| text.split_whitespace().map(str::to_string).collect());
        for w in words {
            if let Some((k, v)) = w.split_once('=') {
                if names.contains(k.trim()) && !v.is_empty() {
                    seen.insert(v.to_string());
                }
            }
        }
    }

    /// Masks secret values: learned ones anywhere, and `name=value` for secret names.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        {
            let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            // longest first, so a secret containing another is masked whole
            let mut vals: Vec<&String> = seen.iter().filter(|v| v.chars().count() >= 3).collect();
            vals.sort_by_key(|v| std::cmp::Reverse(v.len()));
            for v in vals {
                out = out.replace(v.as_str(), MASK);
            }
        }
        for name in self.secret_names() {
            out = mask_assignments(&out, &name);
        }
        out
    }

    /// Parameters with secret values masked.
    pub fn mask_params(
        &self,
        job: &str,
        params: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        mask_secret_params(&self.config, job, params)
    }

    // ---- audit ----

    /// Records an entry (masking its text and parameters) and logs it. A failure to record is
    /// logged; callers that must not act without a record use [`Guard::record_or_refuse`].
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
        tracing::info!(
            kind = %e.kind,
            user = %e.user,
            mapped_user = e.mapped_user.as_deref().unwrap_or(""),
            text = e.text.as_deref().unwrap_or(""),
            job = e.job.as_deref().unwrap_or(""),
            params = %e.params.as_ref().map(|p| crate::i18n::format::params(p, Lang::En)).unwrap_or_default(),
            decision = e.decision.as_deref().unwrap_or(""),
            reason = e.reason.as_deref().unwrap_or(""),
            execution_id = e.execution_id.unwrap_or(0),
            "audit"
        );
        audit::append(&self.store, self.now(), &e).map_err(|e| UserError::internal(actor.lang, e))
    }

    fn record_decision(
        &self,
        actor: &Actor,
        mapped: Option<&str>,
        action: &Action<'_>,
        decision: &str,
        reason: Option<&str>,
        error_id: Option<&str>,
    ) -> Result<i64, UserError> {
        let (job, params) = match action {
            Action::Execute { job, params, .. } => (Some(job.to_string()), Some((*params).clone())),
            Action::Cancel { job, id } | Action::ReadExecution { job, id } => {
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

    // ---- admission ----

    /// Every message passes here first: size, identity, rate limit; then it is recorded.
    /// `Err` is the reply (already logged and recorded).
    pub fn admit(&self, actor: &Actor, raw_len: usize) -> Result<Identity, String> {
        let refuse = |mapped: Option<&str>, e: UserError, what: &str| {
            let mut a = actor.clone();
            if a.text.len() > 200 {
                let mut cut = 200;
                while !a.text.is_char_boundary(cut) {
                    cut -= 1;
                }
                a.text = format!("{}…", &a.text[..cut]);
            }
            let _ = self.record(
                &a,
                Entry {
                    kind: "command".into(),
                    mapped_user: mapped.map(str::to_string),
                    text: Some(a.text.clone()),
                    decision: Some("deny".into()),
                    reason: Some(format!("{what}: {}", e.recorded_message())),
                    error_id: Some(e.id.clone()),
                    ..Default::default()
                },
            );
            self.redact(&e.reply(actor.lang))
        };
        let lang = actor.lang;
        let max = self.sec().max_message_bytes;
        if raw_len > max {
            return Err(refuse(
                None,
                UserError::localized(lang, |l| {
                    UserError::invalid(tr!(l, "message-too-long", bytes = raw_len, max = max))
                        .suggest(tr!(l, "message-send-shorter"))
                }),
                "too long",
            ));
        }
        let who = match self.identify(actor) {
            Ok(w) => w,
            Err(e) => return Err(refuse(None, e, "identity")),
        };
        if let Err(limited) = self.limiter.take(&who.name, Instant::now()) {
            let (own, wait) = match limited {
                Limited::User(w) => (true, w),
                Limited::Global(w) => (false, w),
            };
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            return Err(refuse(
                Some(&who.name),
                UserError::localized(lang, |l| {
                    let message = if own {
                        tr!(l, "rate-limit-user")
                    } else {
                        tr!(l, "rate-limit-global")
                    };
                    UserError::policy(message).suggest(tr!(l, "rate-limit-retry", secs = secs))
                }),
                "rate limit",
            ));
        }
        if let Err(e) = self.record(
            actor,
            Entry {
                kind: "command".into(),
                mapped_user: Some(who.name.clone()),
                text: Some(actor.text.clone()),
                decision: Some("admitted".into()),
                ..Default::default()
            },
        ) {
            // nothing happens without a record
            return Err(self.redact(&e.reply(actor.lang)));
        }
        Ok(who)
    }

    // ---- decisions ----

    fn environment_of(&self, job: &str, params: &BTreeMap<String, String>) -> Option<String> {
        let j = self.config.catalog.job(job)?;
        j.parameters
            .iter()
            .find(|p| p.kind == ParamKind::Environment)
            .and_then(|p| params.get(&p.name).cloned().or_else(|| p.default.clone()))
    }

    /// The apps a run names: the values (or defaults) of the job's parameters of kind `app`.
    fn apps_of(&self, job: &str, params: &BTreeMap<String, String>) -> Vec<String> {
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
    fn execution_permitted(
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
    fn decide(&self, who: &Identity, action: &Action<'_>, lang: Lang) -> Decision {
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
    fn decide_at(
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
            Action::Cancel { id, job } => require(
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
    fn decide_execution(
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
            Decision::Refuse(e) => self.record_decision(
                actor,
                Some(&who.name),
                action,
                "deny",
                Some(e.recorded_message()),
                Some(&e.id),
            ),
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
                let _ = self.record_decision(
                    actor,
                    Some(&who.name),
                    action,
                    "deny",
                    Some(e.recorded_message()),
                    Some(&e.id),
                );
                Some(e)
            }
            _ => None,
        }
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

    // ---- revocation ----

    /// Whether `chat_user` in `channel` may still start a run of `job` with `params` that
    /// waited (an approved request, a scheduled or queued run), against the configuration in
    /// force now: their account (known, enabled) and the permissions the run needs. Approval
    /// rules and change windows are not asked again (they were passed or approved for the
    /// run's time). A refusal is recorded in the audit trail (decision `deny`, "re-checked at
    /// execution: …", in English) and is in the requester's language.
    pub fn recheck(
        &self,
        chat_user: &str,
        channel: &str,
        job: &str,
        params: &BTreeMap<String, String>,
        what: &str,
    ) -> Result<(), UserError> {
        let lang = self.lang_of(chat_user, channel);
        self.recheck_in(chat_user, channel, job, params, what, lang)
    }

    /// The language of `chat_user` when they are not the one acting (the requester of a run
    /// that waited).
    fn lang_of(&self, chat_user: &str, channel: &str) -> Lang {
        let access = self.sec().access.as_ref();
        super::choose_lang(&self.store, access, channel, chat_user, None)
    }

    /// [`Guard::recheck`] with the refusal in `lang`.
    fn recheck_in(
        &self,
        chat_user: &str,
        channel: &str,
        job: &str,
        params: &BTreeMap<String, String>,
        what: &str,
        lang: Lang,
    ) -> Result<(), UserError> {
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

    // ---- approvals ----

    /// Stores a request for approval and records it.
    #[allow(clippy::too_many_arguments)]
    pub fn request_approval(
        &self,
        actor: &Actor,
        job: &str,
        params: &BTreeMap<String, String>,
        run_at: Option<DateTime<Utc>>,
        need: &ApprovalNeed,
    ) -> Result<ApprovalRow, UserError> {
        let who = self.identify(actor)?;
        let now = self.now();
        let ttl = chrono::Duration::from_std(need.timeout).unwrap_or(chrono::Duration::minutes(30));
        // secret values stay in memory; the stored request holds `***`
        let stored = self.mask_params(job, params);
        let row = self
            .store
            .insert_approval(
                &who.name,
                &actor.user,
                &actor.channel,
                job,
                &stored,
                run_at,
                &need.role,
                need.recorded_reason(),
                need.reason_zh.as_deref(),
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
            .approval(id)
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
            let _ = self.store.decide_approval(id, "expired", None, now);
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
                    .decide_approval(id, "expired", Some(&who.name), now);
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
            if let Err(e) = self.recheck_in(
                &row.chat_user,
                &row.channel,
                &row.job,
                &row.params,
                &actor.text,
                lang,
            ) {
                let _ = self
                    .store
                    .decide_approval(id, "revoked", Some(&who.name), now);
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
            .decide_approval(id, state, Some(&who.name), now)
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
                ..Default::default()
            },
        )?;
        self.kept_approvals().remove(&id);
        row.state = state.into();
        row.decided_by = Some(who.name);
        Ok(row)
    }

    fn kept_approvals(&self) -> std::sync::MutexGuard<'_, HashMap<i64, BTreeMap<String, String>>> {
        self.kept_approvals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Whom to ask for an approval by `role` (other than `not`), in `lang`.
    fn approvers_hint(&self, role: &str, not: &str, lang: Lang) -> String {
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
            .pending_approvals()
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

/// Replaces the value in `name=value` (up to a space, comma or closing bracket) with the mask.
fn mask_assignments(text: &str, name: &str) -> String {
    let pat = format!("{name}=");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&pat) {
        let boundary = i == 0
            || !rest[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
        out.push_str(&rest[..i + pat.len()]);
        rest = &rest[i + pat.len()..];
        if !boundary {
            continue;
        }
        let end = if let Some(quoted) = rest.strip_prefix('"') {
            // a quoted value: up to the closing quote
            quoted.find('"').map_or(rest.len(), |j| j + 2)
        } else {
            rest.find(|c: char| c.is_whitespace() || matches!(c, ',' | ')' | ']' | ';'))
                .unwrap_or(rest.len())
        };
        if end > 0 && !rest[..end].starts_with(MASK) {
            out.push_str(MASK);
        } else {
            out.push_str(&rest[..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl crate::jobs::StartCheck for Guard {
    /// The refusal is the run's detail, shown in its channel: in the requester's language.
    fn may_start(&self, e: &crate::jobs::Execution) -> Result<(), String> {
        let lang = self.lang_of(&e.requested_by, &e.channel);
        self.recheck_in(
            &e.requested_by,
            &e.channel,
            &e.job,
            &e.params,
            &format!("(start of #{} {})", e.id, e.job),
            lang,
        )
        .map_err(|err| {
            tr!(
                lang,
                "start-no-longer-permitted",
                user = &e.requested_by,
                reason = &err.message
            )
        })
    }
}

impl Policy for Guard {
    fn check(&self, actor: &Actor, action: &Action<'_>) -> Decision {
        self.check_and_record(actor, action)
    }

    fn may_run(&self, actor: &Actor, job: &str) -> bool {
        self.may_run_job(actor, job)
    }

    fn guard(&self) -> Option<&Guard> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guard over a deploy job, a staging environment and `extra` sections.
    fn guard(dir: &std::path::Path, extra: &str) -> Guard {
        let text = format!(
            "[[apps]]\nid = \"api\"\n[[environments]]\nid = \"staging\"\n\
             [[jobs]]\nid = \"deploy-app\"\n  [[jobs.parameters]]\n  name = \"app\"\n  kind = \"app\"\n  required = true\n\
               [[jobs.parameters]]\n  name = \"environment\"\n  kind = \"environment\"\n  required = true\n\
               [jobs.run]\n  argv = [\"/bin/true\"]\n{extra}"
        );
        let config = Config::from_toml_str(&text, "t.toml", dir).unwrap();
        let store = Store::open(&dir.join("db.sqlite")).unwrap();
        Guard::new(Arc::new(config), Arc::new(store))
    }

    #[test]
    fn windows_are_judged_at_the_scheduled_time() {
        let dir = tempfile::tempdir().unwrap();
        let now = crate::clock::now();
        let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (from, to) = (
            now + chrono::Duration::hours(1),
            now + chrono::Duration::hours(2),
        );
        let g = guard(
            dir.path(),
            &format!(
                "[[windows]]\nenvironment = \"staging\"\noutside = \"refuse\"\n\
                 freezes = [{{ from = \"{}\", to = \"{}\", reason = \"release\" }}]\n",
                rfc(from),
                rfc(to)
            ),
        );
        let who = Identity {
            name: "ann".into(),
            roles: Vec::new(),
        };
        let params: BTreeMap<String, String> = [("app", "api"), ("environment", "staging")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let decide = |run_at: Option<DateTime<Utc>>| {
            g.decide(
                &who,
                &Action::Execute {
                    job: "deploy-app",
                    params: &params,
                    sensitive: true,
                    run_at,
                },
                Lang::En,
            )
        };
        // now, an hour before the freeze: allowed; so is a time just past (judged as now)
        assert_eq!(decide(None), Decision::Allow);
        assert_eq!(
            decide(Some(now - chrono::Duration::seconds(30))),
            Decision::Allow
        );
        // scheduled into the freeze: refused, with when it opens relative to that time
        let at = now + chrono::Duration::minutes(90);
        let Decision::Refuse(e) = decide(Some(at)) else {
            panic!("{:?}", decide(Some(at)));
        };
        assert_eq!(
            e.message,
            format!(
                "staging is in a change freeze (release) at {}, when the run is scheduled, so I won't schedule that change",
                crate::i18n::format::time(at, chrono_tz::UTC, Lang::En)
            )
        );
        let opens = DateTime::parse_from_rfc3339(&rfc(to))
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            e.suggestions,
            [format!(
                "the window opens {}, {} after the scheduled time",
                crate::i18n::format::time(opens, chrono_tz::UTC, Lang::En),
                crate::i18n::format::duration(opens - at)
            )]
        );
        // scheduled after it: allowed
        assert_eq!(
            decide(Some(now + chrono::Duration::hours(3))),
            Decision::Allow
        );
    }

    /// ann may run and deploy to staging; bob approves.
    const TEAM: &str = "[access]\ncontact = \"#ops-admins\"\n  [access.roles]\n  operator = [\"run:*\", \"env:staging\", \"deploy:staging\"]\n  approver = [\"status\"]\n  [[access.users]]\n  name = \"ann\"\n  chat = [\"terminal:ann\"]\n  roles = [\"operator\"]\n  [[access.users]]\n  name = \"bob\"\n  chat = [\"terminal:bob\"]\n  roles = [\"approver\"]\n";

    /// A freeze over staging until 2099, refused or needing an approval outside it.
    fn freeze(outside: &str) -> String {
        format!(
            "[[windows]]\nenvironment = \"staging\"\noutside = \"{outside}\"\n\
             freezes = [{{ from = \"2000-01-01T00:00:00Z\", to = \"2099-01-01T00:00:00Z\", reason = \"migration\" }}]\n"
        )
    }

    fn actor(user: &str, lang: Lang) -> Actor {
        Actor {
            user: user.into(),
            channel: "terminal".into(),
            platform: "terminal".into(),
            text: "!deploy api staging".into(),
            lang,
        }
    }

    fn staging() -> BTreeMap<String, String> {
        [("app", "api"), ("environment", "staging")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn deploy(params: &BTreeMap<String, String>) -> Action<'_> {
        Action::Execute {
            job: "deploy-app",
            params,
            sensitive: true,
            run_at: None,
        }
    }

    /// The reason of the last audit record.
    fn last_reason(g: &Guard) -> String {
        let rows = g.store.audit_rows().unwrap();
        let r: serde_json::Value = serde_json::from_str(&rows.last().unwrap().record).unwrap();
        r["reason"].as_str().unwrap_or_default().to_string()
    }

    #[test]
    fn a_change_window_refusal_in_chinese_is_recorded_in_english() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard(dir.path(), &format!("{TEAM}{}", freeze("refuse")));
        let params = staging();
        let Decision::Refuse(mut e) = g.check_and_record(&actor("ann", Lang::Zh), &deploy(&params))
        else {
            panic!("not refused");
        };
        assert_eq!(
            e.message,
            "staging 处于变更冻结期（migration），现在不能变更"
        );
        assert_eq!(e.suggestions, ["窗口将于 2099年1月1日 00:00 UTC 开放"]);
        e.id = "0badf00d".into();
        assert_eq!(
            e.render(Lang::Zh),
            "现在不行：staging 处于变更冻结期（migration），现在不能变更。建议：窗口将于 2099年1月1日 00:00 UTC 开放。（错误编号 0badf00d）"
        );
        let english = "staging is in a change freeze (migration), so I won't change it now";
        assert_eq!(e.recorded_message(), english);
        assert_eq!(last_reason(&g), english);
        // scheduled into the freeze
        let at = crate::clock::now() + chrono::Duration::hours(1);
        let Decision::Refuse(e) = g.check_and_record(
            &actor("ann", Lang::Zh),
            &Action::Execute {
                job: "deploy-app",
                params: &params,
                sensitive: true,
                run_at: Some(at),
            },
        ) else {
            panic!("not refused");
        };
        assert_eq!(
            e.message,
            format!(
                "在计划运行时间 {}，staging 处于变更冻结期（migration），不能安排这次变更",
                crate::i18n::format::time(at, chrono_tz::UTC, Lang::Zh)
            )
        );
        let opens = DateTime::parse_from_rfc3339("2099-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            e.suggestions,
            [format!(
                "窗口将于 2099年1月1日 00:00 UTC 开放，比计划时间晚 {}",
                crate::i18n::format::duration(opens - at)
            )]
        );
    }

    #[test]
    fn an_approval_reason_in_chinese_is_stored_in_english() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard(
            dir.path(),
            &format!("{TEAM}[[approvals]]\nenvironments = [\"staging\"]\nrole = \"approver\"\ntimeout = \"10m\"\n"),
        );
        let params = staging();
        let ann = actor("ann", Lang::Zh);
        let Decision::NeedsApproval(need) = g.check_and_record(&ann, &deploy(&params)) else {
            panic!("no approval needed");
        };
        assert_eq!(need.reason, "变更 staging 需要审批");
        assert_eq!(need.role, "approver");
        assert_eq!(need.recorded_reason(), "changes to staging need approval");
        assert_eq!(
            last_reason(&g),
            "changes to staging need approval (role approver)"
        );
        let row = g
            .request_approval(&ann, "deploy-app", &params, None, &need)
            .unwrap();
        assert_eq!(row.reason, "changes to staging need approval");
        // the requester cannot approve it: told whom to ask, in Chinese
        let e = g.decide_approval(&ann, row.id, true).unwrap_err();
        assert_eq!(
            e.message,
            format!("你不能批准自己的请求 {}，必须由另一个人批准", row.id)
        );
        assert_eq!(e.suggestions, ["请找有角色 `approver` 的人（bob）"]);
        assert_eq!(
            last_reason(&g),
            format!(
                "you can't approve your own request {}; a second person must",
                row.id
            )
        );

        // outside a window that asks for an approval: the reason says when it opens
        let dir = tempfile::tempdir().unwrap();
        let g = guard(dir.path(), &format!("{TEAM}{}", freeze("approval")));
        let Decision::NeedsApproval(need) = g.check_and_record(&ann, &deploy(&params)) else {
            panic!("no approval needed");
        };
        assert_eq!(
            need.reason,
            "staging 处于变更冻结期（migration），窗口将于 2099年1月1日 00:00 UTC 开放"
        );
        assert_eq!(
            need.recorded_reason(),
            "staging is in a change freeze (migration) (the window opens 2099-01-01 00:00:00 UTC)"
        );
    }

    #[test]
    fn a_rate_limit_refusal_in_chinese_says_when_to_retry() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard(
            dir.path(),
            "[rate_limit]\nper_user = { capacity = 1, refill = \"1m\" }\n",
        );
        let ann = actor("ann", Lang::Zh);
        assert!(g.admit(&ann, 20).is_ok());
        let reply = g.admit(&ann, 20).unwrap_err();
        let id = reply
            .strip_prefix("现在不行：你发送命令的速度超过了限制。建议：请 60 秒后再试。（错误编号 ")
            .and_then(|r| r.strip_suffix('）'))
            .unwrap_or_else(|| panic!("{reply}"));
        assert_eq!(id.len(), 8, "{reply}");
        assert_eq!(
            last_reason(&g),
            "rate limit: you are sending commands faster than allowed"
        );
    }

    #[test]
    fn identity_and_permission_refusals_in_chinese() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard(dir.path(), TEAM);
        // an unknown user
        let reply = g.admit(&actor("mallory", Lang::Zh), 20).unwrap_err();
        assert!(
            reply.starts_with("不允许：我不认识你（terminal:mallory），不能执行你的命令。建议：请联系 #ops-admins 把 `terminal:mallory` 添加为机器人的用户。（错误编号 "),
            "{reply}"
        );
        assert_eq!(
            last_reason(&g),
            "identity: I don't know you (terminal:mallory), so I can't take commands from you"
        );
        // a permission bob lacks, and whom to ask
        let params = staging();
        let Decision::Refuse(e) = g.check_and_record(&actor("bob", Lang::Zh), &deploy(&params))
        else {
            panic!("not refused");
        };
        assert_eq!(
            e.message,
            "bob 无权部署到 staging：需要权限 `deploy:staging`"
        );
        assert_eq!(
            e.suggestions,
            ["请向 #ops-admins 申请角色 `operator`，或请有该角色的人（ann）代为执行"]
        );
        assert_eq!(
            last_reason(&g),
            "bob may not deploy to staging: that needs permission `deploy:staging`"
        );
        let Decision::Refuse(e) = g.check_and_record(&actor("bob", Lang::Zh), &Action::ReadHistory)
        else {
            panic!("not refused");
        };
        assert_eq!(e.message, "bob 无权查看历史记录：需要权限 `history`");
        assert_eq!(e.suggestions, ["请向 #ops-admins 申请权限 `history`"]);
        // a run that waited is re-checked in its requester's language
        g.store
            .set_preferred_lang("mallory", Some(Lang::Zh))
            .unwrap();
        let e = g
            .recheck(
                "mallory",
                "terminal",
                "deploy-app",
                &params,
                "(start of #1001)",
            )
            .unwrap_err();
        assert_eq!(
            e.message,
            "我不认识你（terminal:mallory），不能执行你的命令"
        );
        assert_eq!(
            last_reason(&g),
            "re-checked at execution: I don't know you (terminal:mallory), so I can't take commands from you"
        );
    }

    #[test]
    fn masks_assignments() {
        assert_eq!(
            mask_assignments("run x password=hunter2 target=db-01", "password"),
            "run x password=*** target=db-01"
        );
        assert_eq!(
            mask_assignments("(password=\"a b\", x=1)", "password"),
            "(password=***, x=1)"
        );
        assert_eq!(mask_assignments("mypassword=x", "password"), "mypassword=x");
        assert_eq!(mask_assignments("password=", "password"), "password=");
    }
}
