//! The guard: the one place where the bot decides who may do what. It implements
//! [`Policy`] (checked before every execution, cancellation and read) and adds what happens
//! around a message: input limits, identity, rate limits, secrets and the audit trail.

use super::access::Identity;
use super::audit::{self, Entry};
use super::rate_limit::{Limited, Limiter};
use super::windows::Outside;
use super::{
    localize, Action, Actor, ApprovalAsk, ApprovalFiled, ApprovalNeed, Decision, Policy, UserError,
};
use crate::config::security::SecurityConfig;
use crate::config::Config;
use crate::i18n::Lang;
use crate::store::{ApprovalRow, Store};
use chrono::{DateTime, Utc};
use nlu::catalog::ParamKind;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod admit;
mod approvals;
mod decide;
mod recheck;
mod record;
mod secrets;

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
}

impl crate::jobs::StartCheck for Guard {
    /// The refusal is the run's detail, shown in its channel: in the requester's language.
    fn may_start(&self, e: &crate::jobs::Execution) -> Result<(), String> {
        let lang = self.lang_of(&e.requested_by, &e.channel);
        self.recheck(
            &e.requested_by,
            &e.channel,
            &e.job,
            &e.params,
            &format!("(start of #{} {})", e.id, e.job),
            Some(lang),
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
    fn handles_approvals(&self) -> bool {
        true
    }

    fn check(&self, actor: &Actor, action: &Action<'_>) -> Decision {
        self.check_and_record(actor, action)
    }

    fn may_run(&self, actor: &Actor, job: &str) -> bool {
        self.may_run_job(actor, job)
    }

    fn admit(&self, actor: &Actor, raw_len: usize, _max_bytes: usize) -> Result<(), String> {
        Guard::admit(self, actor, raw_len).map(|_| ())
    }

    fn learn(&self, text: &str, answering: Option<(&str, &str)>) {
        Guard::learn(self, text, answering)
    }

    fn redact(&self, text: &str) -> String {
        Guard::redact(self, text)
    }

    fn precheck(&self, actor: &Actor, action: &Action<'_>) -> Option<UserError> {
        Guard::precheck(self, actor, action)
    }

    fn record_result(
        &self,
        actor: &Actor,
        job: Option<&str>,
        id: Option<crate::domain::exec::ExecId>,
        result: &str,
    ) {
        Guard::record_result(self, actor, job, id, result)
    }

    fn mask_params(
        &self,
        job: &str,
        params: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        Guard::mask_params(self, job, params)
    }

    fn request_approval(
        &self,
        actor: &Actor,
        ask: &ApprovalAsk<'_>,
    ) -> Result<ApprovalFiled, UserError> {
        let request = self.file_approval(actor, ask)?;
        let approvers = self.sec_approvers(&ask.need.role, &request.requester);
        Ok(ApprovalFiled { request, approvers })
    }

    fn pending_approvals(&self, actor: &Actor) -> Result<Vec<ApprovalRow>, UserError> {
        self.identify(actor)?;
        Ok(self.pending())
    }

    fn decide_approval(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
    ) -> Result<ApprovalRow, UserError> {
        Guard::decide_approval(self, actor, id, approve)
    }
}

#[cfg(test)]
mod tests {
    use super::secrets::mask_assignments;
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
                    reason: None,
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
            reason: None,
        }
    }

    /// The reason of the last audit record.
    fn last_reason(g: &Guard) -> String {
        let rows = g.store.audit().rows().unwrap();
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
                reason: None,
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
        let ask = ApprovalAsk {
            job: "deploy-app",
            params: &params,
            run_at: None,
            need: &need,
            justification: None,
        };
        let row = g.file_approval(&ann, &ask).unwrap();
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
            .langs()
            .set_preferred("mallory", Some(Lang::Zh))
            .unwrap();
        let e = g
            .recheck(
                "mallory",
                "terminal",
                "deploy-app",
                &params,
                "(start of #1001)",
                None,
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
