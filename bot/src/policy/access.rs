//! Identities and role-based permissions.
//!
//! A permission is `command` or `command:resource`: `run:backup-database`, `run:*`,
//! `deploy:production` (the deploy job, per environment), `env:production` (any other job
//! that takes that environment), `app:payments-api` or `app:*` (the apps runs and deploys may
//! name, see below), `cancel`, `status`, `list`, `history`, or `*` for all. A bare word grants
//! it for every resource (`cancel` = `cancel:<any job>`), and `NAME:prefix*` every resource
//! starting with the prefix. Configured permissions are checked against the catalog
//! ([`crate::config::security::check_permission`]).
//!
//! App permissions narrow, and only users who have one: a user none of whose roles holds an
//! `app:` permission may name every app (as before app permissions existed). Once any of a
//! user's roles holds one, a run or deploy that names an app (a parameter of kind `app` in the
//! catalog, given or defaulted; the app a message names fills it) also needs `app:<that app>`,
//! on top of `run:JOB` or `deploy:ENV` and `env:ENV`. The permissions of all of a user's roles
//! add up, as for every other permission, so a role meant to keep every app should say
//! `app:*` when it is combined with an app-scoped role. `*` grants every app.

use super::UserError;
use crate::config::security::{Access, User};
use crate::i18n::Lang;

/// Who a chat user is on the job platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The mapped user (`guest:<identity>` for an unknown user with the default role).
    pub name: String,
    pub roles: Vec<String>,
}

/// Whether permission `p` grants `need`.
pub fn grants(p: &str, need: &str) -> bool {
    if p == "*" || p == need {
        return true;
    }
    if let Some(prefix) = p.strip_suffix('*') {
        return need.starts_with(prefix);
    }
    !p.contains(':') && need.starts_with(&format!("{p}:"))
}

impl Access {
    /// Maps `platform:user` to a user; refuses unknown (without default role) and disabled ones,
    /// in `lang`.
    pub fn identify(&self, identity: &str, lang: Lang) -> Result<Identity, UserError> {
        match self
            .users
            .iter()
            .find(|u| u.chat.iter().any(|c| c == identity))
        {
            Some(u) if !u.enabled => {
                Err(
                    UserError::permission(tr!(lang, "access-disabled", name = &u.name))
                        .suggest(tr!(lang, "access-ask-enable", contact = self.contact(lang))),
                )
            }
            Some(u) => Ok(Identity {
                name: u.name.clone(),
                roles: u.roles.clone(),
            }),
            None => match &self.default_role {
                Some(r) => Ok(Identity {
                    name: format!("guest:{identity}"),
                    roles: vec![r.clone()],
                }),
                None => Err(UserError::permission(tr!(
                    lang,
                    "access-unknown-user",
                    identity = identity
                ))
                .suggest(tr!(
                    lang,
                    "access-ask-add",
                    contact = self.contact(lang),
                    identity = identity
                ))),
            },
        }
    }

    /// Whether the identity holds a permission.
    pub fn allows(&self, who: &Identity, need: &str) -> bool {
        who.roles.iter().any(|r| {
            self.roles
                .get(r)
                .is_some_and(|ps| ps.iter().any(|p| grants(p, need)))
        })
    }

    /// The roles that grant a permission.
    pub fn roles_granting(&self, need: &str) -> Vec<&str> {
        self.roles
            .iter()
            .filter(|(_, ps)| ps.iter().any(|p| grants(p, need)))
            .map(|(r, _)| r.as_str())
            .collect()
    }

    /// The reply language set for a `platform:user` identity in `[access.users]`.
    pub fn lang_of(&self, identity: &str) -> Option<crate::i18n::Lang> {
        self.users
            .iter()
            .find(|u| u.chat.iter().any(|c| c == identity))
            .and_then(|u| u.lang)
    }

    /// Enabled users with a role.
    pub fn users_with_role(&self, role: &str) -> Vec<&User> {
        self.users
            .iter()
            .filter(|u| u.enabled && u.roles.iter().any(|r| r == role))
            .collect()
    }

    /// Whom to ask for access (`contact`), or the bot's administrators, in `lang`.
    pub fn contact(&self, lang: Lang) -> String {
        if self.contact.is_empty() {
            tr!(lang, "access-default-contact")
        } else {
            self.contact.clone()
        }
    }

    /// "ask the ops leads for role `deployer`, or ask someone who has it (alice, carol) to run
    /// it", or for the permission itself, in `lang`.
    pub fn whom_to_ask(&self, need: &str, lang: Lang) -> String {
        let contact = self.contact(lang);
        let roles = self.roles_granting(need);
        if roles.is_empty() {
            return tr!(
                lang,
                "access-ask-permission",
                contact = contact,
                need = need
            );
        }
        let mut people: Vec<&str> = Vec::new();
        for r in &roles {
            for u in self.users_with_role(r) {
                if !people.contains(&u.name.as_str()) {
                    people.push(&u.name);
                }
            }
        }
        let roles = roles
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(&tr!(lang, "access-roles-or"));
        if people.is_empty() {
            tr!(lang, "access-ask-role", contact = contact, roles = roles)
        } else {
            people.truncate(3);
            tr!(
                lang,
                "access-ask-role-or-holder",
                contact = contact,
                roles = roles,
                people = people.join(&tr!(lang, "list-separator"))
            )
        }
    }

    /// Whether the identity's runs and deploys are limited to certain apps: one of its roles
    /// holds an `app:` permission (`app:NAME`, `app:*` or a bare `app`).
    pub fn limits_apps(&self, who: &Identity) -> bool {
        who.roles.iter().any(|r| {
            self.roles
                .get(r)
                .is_some_and(|ps| ps.iter().any(|p| p == "app" || p.starts_with("app:")))
        })
    }

    /// Whether the identity may name `app` in a run or deploy (see the module's notes).
    pub fn allows_app(&self, who: &Identity, app: &str) -> bool {
        !self.limits_apps(who) || self.allows(who, &format!("app:{app}"))
    }

    /// Refuses a run or deploy naming `app` unless the identity may name it; `what` (the action,
    /// "run x for api") and the refusal are in `lang`.
    pub fn require_app(
        &self,
        who: &Identity,
        app: &str,
        what: &str,
        lang: Lang,
    ) -> Result<(), UserError> {
        if self.allows_app(who, app) {
            return Ok(());
        }
        self.require(who, &format!("app:{app}"), what, lang)
    }

    /// Refuses unless the identity holds `need`; `what` (the action) and the refusal are in
    /// `lang`.
    pub fn require(
        &self,
        who: &Identity,
        need: &str,
        what: &str,
        lang: Lang,
    ) -> Result<(), UserError> {
        if self.allows(who, need) {
            return Ok(());
        }
        Err(UserError::permission(tr!(
            lang,
            "access-not-permitted",
            user = &who.name,
            what = what,
            need = need
        ))
        .suggest(self.whom_to_ask(need, lang)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::security::check_permission;
    use nlu::Catalog;

    #[test]
    fn permission_patterns() {
        assert!(grants("run:*", "run:backup-database"));
        assert!(grants("run:backup-database", "run:backup-database"));
        assert!(!grants("run:backup-database", "run:deploy-app"));
        assert!(grants("cancel", "cancel:backup-database"));
        assert!(grants("*", "deploy:production"));
        assert!(!grants("deploy:staging", "deploy:production"));
        assert!(!grants("run", "runner:x"));
        assert!(grants("app:*", "app:payments-api"));
        assert!(grants("app", "app:payments-api"));
        assert!(!grants("app:web", "app:payments-api"));
    }

    #[test]
    fn app_permissions_narrow_only_users_who_hold_one() {
        let role = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let access = Access {
            roles: [
                ("runner", role(&["run:*", "env:*"])),
                ("payments", role(&["app:payments-api"])),
                ("all-apps", role(&["app:*"])),
                ("admin", role(&["*"])),
            ]
            .into_iter()
            .map(|(r, ps)| (r.to_string(), ps))
            .collect(),
            contact: "the ops leads".into(),
            ..Default::default()
        };
        let who = |roles: &[&str]| Identity {
            name: "ann".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        // no app permission in any role: every app (as before)
        let runner = who(&["runner"]);
        assert!(!access.limits_apps(&runner));
        assert!(access.allows_app(&runner, "api"));
        // an app-scoped role limits every run and deploy of the user
        let scoped = who(&["runner", "payments"]);
        assert!(access.limits_apps(&scoped));
        assert!(access.allows_app(&scoped, "payments-api"));
        assert!(!access.allows_app(&scoped, "api"));
        let e = access
            .require_app(&scoped, "api", "run x for api", Lang::En)
            .unwrap_err();
        assert_eq!(
            e.message,
            "ann may not run x for api: that needs permission `app:api`"
        );
        assert_eq!(
            e.suggestions,
            ["ask the ops leads for role `admin` or `all-apps`"]
        );
        // `app:*` and `*` keep every app
        assert!(access.allows_app(&who(&["runner", "payments", "all-apps"]), "api"));
        assert!(access.allows_app(&who(&["admin", "payments"]), "api"));
        assert!(!access.limits_apps(&who(&["admin"])));
    }

    /// Roles, users (dave disabled) and a contact for the refusal tests.
    fn team(contact: &str) -> Access {
        let user = |name: &str, roles: &[&str], enabled: bool| User {
            name: name.into(),
            chat: vec![format!("terminal:{name}")],
            roles: roles.iter().map(|r| r.to_string()).collect(),
            enabled,
            lang: None,
        };
        Access {
            roles: [
                ("admin", vec!["*".to_string()]),
                ("deployer", vec!["deploy:*".to_string()]),
                (
                    "operator",
                    vec!["run:*".to_string(), "env:staging".to_string()],
                ),
            ]
            .into_iter()
            .map(|(r, ps)| (r.to_string(), ps))
            .collect(),
            users: vec![
                user("alice", &["deployer"], true),
                user("carol", &["deployer", "operator"], true),
                user("dave", &["operator"], false),
                user("erin", &["operator"], true),
            ],
            contact: contact.into(),
            ..Default::default()
        }
    }

    #[test]
    fn unknown_and_disabled_users_are_refused_in_chinese() {
        // no `contact`: the bot's administrators, in the reader's language
        let access = team("");
        let mut e = access.identify("terminal:mallory", Lang::Zh).unwrap_err();
        assert_eq!(
            e.message,
            "我不认识你（terminal:mallory），不能执行你的命令"
        );
        assert_eq!(
            e.suggestions,
            ["请联系 机器人的管理员 把 `terminal:mallory` 添加为机器人的用户"]
        );
        e.id = "0badf00d".into();
        assert_eq!(
            e.render(Lang::Zh),
            "不允许：我不认识你（terminal:mallory），不能执行你的命令。建议：请联系 机器人的管理员 把 `terminal:mallory` 添加为机器人的用户。（错误编号 0badf00d）"
        );
        let e = access.identify("terminal:mallory", Lang::En).unwrap_err();
        assert_eq!(
            e.message,
            "I don't know you (terminal:mallory), so I can't take commands from you"
        );
        assert_eq!(
            e.suggestions,
            ["ask the bot's administrators to add `terminal:mallory` to the bot's users"]
        );
        let e = team("#ops-admins")
            .identify("terminal:dave", Lang::Zh)
            .unwrap_err();
        assert_eq!(e.message, "你的账号 `dave` 已停用，我不能执行你的命令");
        assert_eq!(e.suggestions, ["请联系 #ops-admins 启用该账号"]);
    }

    #[test]
    fn a_permission_refusal_says_whom_to_ask_in_chinese() {
        let access = team("#ops-admins");
        let erin = access.identify("terminal:erin", Lang::Zh).unwrap();
        let e = access
            .require(&erin, "deploy:production", "部署到 production", Lang::Zh)
            .unwrap_err();
        assert_eq!(
            e.message,
            "erin 无权部署到 production：需要权限 `deploy:production`"
        );
        // the roles that grant it (the disabled dave is not named)
        assert_eq!(
            e.suggestions,
            ["请向 #ops-admins 申请角色 `admin` 或 `deployer`，或请有该角色的人（alice，carol）代为执行"]
        );
        assert_eq!(
            access.whom_to_ask("deploy:production", Lang::En),
            "ask #ops-admins for role `admin` or `deployer`, or ask someone who has it (alice, carol) to run it"
        );
        let no_admin = Access {
            roles: [("viewer".to_string(), vec!["status".to_string()])].into(),
            ..team("")
        };
        assert_eq!(
            no_admin.whom_to_ask("history", Lang::Zh),
            "请向 机器人的管理员 申请权限 `history`"
        );
        assert_eq!(
            no_admin.whom_to_ask("status", Lang::Zh),
            "请向 机器人的管理员 申请角色 `viewer`"
        );
    }

    #[test]
    fn permissions_are_checked_against_the_catalog() {
        let catalog = Catalog::from_toml_str(
            "[[environments]]\nid = \"production\"\n[[apps]]\nid = \"payments-api\"\naliases = [\"payments\"]\n[[jobs]]\nid = \"backup-database\"\n",
            "t.toml",
        )
        .unwrap();
        for ok in [
            "*",
            "run",
            "run:*",
            "run:backup-*",
            "run:backup-database",
            "deploy:production",
            "env:*",
            "app",
            "app:*",
            "app:payments-api",
            "cancel",
            "cancel:backup-database",
            "status",
            "list",
            "history",
        ] {
            assert_eq!(check_permission(ok, &catalog), Ok(()), "{ok}");
        }
        let e = check_permission("app:payment-api", &catalog).unwrap_err();
        assert!(e.contains("did you mean `app:payments-api`?"), "{e}");
        let e = check_permission("app:payments", &catalog).unwrap_err();
        assert!(e.contains("write the app's id: `app:payments-api`"), "{e}");
        let e = check_permission("deploy:prod", &catalog).unwrap_err();
        assert!(e.contains("did you mean `deploy:production`?"), "{e}");
        let e = check_permission("apps:payments-api", &catalog).unwrap_err();
        assert!(e.contains("did you mean `app:payments-api`?"), "{e}");
        let e = check_permission("history:all", &catalog).unwrap_err();
        assert!(e.contains("write `history`"), "{e}");
    }
}
