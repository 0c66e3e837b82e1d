//! Identities and role-based permissions.
//!
//! A permission is `command` or `command:resource`: `run:backup-database`, `run:*`,
//! `deploy:production` (the deploy job, per environment), `env:production` (any other job
//! that takes that environment), `cancel`, `status`, `list`, `history`, or `*` for all.
//! A bare `cancel` grants `cancel:<any job>`.

use super::settings::{Access, User};
use super::UserError;

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
    /// Maps `platform:user` to a user; refuses unknown (without default role) and disabled ones.
    pub fn identify(&self, identity: &str) -> Result<Identity, UserError> {
        match self
            .users
            .iter()
            .find(|u| u.chat.iter().any(|c| c == identity))
        {
            Some(u) if !u.enabled => Err(UserError::permission(format!(
                "your account `{}` is disabled, so I can't take commands from you",
                u.name
            ))
            .suggest(format!("ask {} to enable it", self.contact))),
            Some(u) => Ok(Identity {
                name: u.name.clone(),
                roles: u.roles.clone(),
            }),
            None => match &self.default_role {
                Some(r) => Ok(Identity {
                    name: format!("guest:{identity}"),
                    roles: vec![r.clone()],
                }),
                None => Err(UserError::permission(format!(
                    "I don't know you ({identity}), so I can't take commands from you"
                ))
                .suggest(format!(
                    "ask {} to add `{identity}` to the bot's users",
                    self.contact
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

    /// Enabled users with a role.
    pub fn users_with_role(&self, role: &str) -> Vec<&User> {
        self.users
            .iter()
            .filter(|u| u.enabled && u.roles.iter().any(|r| r == role))
            .collect()
    }

    /// "someone with role `deployer` (alice, carol)" or the contact.
    pub fn whom_to_ask(&self, need: &str) -> String {
        let roles = self.roles_granting(need);
        if roles.is_empty() {
            return self.contact.clone();
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
            .join(" or ");
        if people.is_empty() {
            format!("ask {} for role {roles}", self.contact)
        } else {
            people.truncate(3);
            format!(
                "ask {} for role {roles}, or ask someone who has it ({}) to run it",
                self.contact,
                people.join(", ")
            )
        }
    }

    /// Refuses unless the identity holds `need`.
    pub fn require(&self, who: &Identity, need: &str, what: &str) -> Result<(), UserError> {
        if self.allows(who, need) {
            return Ok(());
        }
        Err(UserError::permission(format!(
            "{} may not {what}: that needs permission `{need}`",
            who.name
        ))
        .suggest(self.whom_to_ask(need)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_patterns() {
        assert!(grants("run:*", "run:backup-database"));
        assert!(grants("run:backup-database", "run:backup-database"));
        assert!(!grants("run:backup-database", "run:deploy-app"));
        assert!(grants("cancel", "cancel:backup-database"));
        assert!(grants("*", "deploy:production"));
        assert!(!grants("deploy:staging", "deploy:production"));
        assert!(!grants("run", "runner:x"));
    }
}
