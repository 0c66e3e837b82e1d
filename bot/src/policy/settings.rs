//! The security sections of the configuration file.
//!
//! ```toml
//! [security]
//! max_message_bytes = 2000              # longer messages are refused
//! secret_names = ["password", "token"]  # parameters with these names are secret everywhere
//!
//! [access]
//! default_role = "viewer"   # role of chat users not listed; leave out to refuse them
//! contact = "the ops leads (#ops-admins)"   # whom to ask for access
//!   [access.roles]
//!   viewer = ["status", "history", "list"]
//!   operator = ["run:*", "env:staging", "env:testing", "cancel", "status", "history", "list"]
//!   deployer = ["deploy:*", "env:*"]
//!   approver = ["status", "history", "list"]
//!   [[access.users]]
//!   name = "alice"                                   # the job platform's user
//!   chat = ["terminal:alice", "slack:U024BE7LH"]    # platform:chat-user-id
//!   roles = ["operator", "deployer"]
//!   enabled = true
//!
//! [[approvals]]                # runs matching this need a second person's approval
//! environments = ["production"]  # and/or jobs = ["run-db-migration"]
//! role = "approver"
//! timeout = "30m"
//!
//! [[windows]]                  # change windows per environment, in the bot's time zone
//! environment = "production"
//! days = ["mon", "tue", "wed", "thu", "fri"]
//! hours = "09:00-17:00"
//! outside = "approval"         # or "refuse"
//! freezes = [{ from = "2026-12-21T00:00:00Z", to = "2027-01-04T00:00:00Z", reason = "year-end freeze" }]
//!
//! [rate_limit]                 # token buckets: `capacity` commands, one more every `refill`
//! per_user = { capacity = 10, refill = "6s" }
//! global = { capacity = 60, refill = "1s" }
//! ```

use super::windows::{Freeze, Outside, Window};
use crate::config::parse_duration;
use chrono::{DateTime, Utc, Weekday};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A chat user mapped to a user of the job platform.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    /// `platform:chat-user-id` identities.
    pub chat: Vec<String>,
    pub roles: Vec<String>,
    pub enabled: bool,
}

/// Identities and roles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Access {
    pub users: Vec<User>,
    /// Role name -> permissions.
    pub roles: BTreeMap<String, Vec<String>>,
    pub default_role: Option<String>,
    pub contact: String,
}

/// Runs that need a second person.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRule {
    /// Empty: any job.
    pub jobs: Vec<String>,
    /// Empty: any environment.
    pub environments: Vec<String>,
    pub role: String,
    pub timeout: Duration,
}

/// A token bucket's size and speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub capacity: u32,
    /// One token comes back every this long.
    pub refill: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateLimitConfig {
    pub per_user: Option<Rate>,
    pub global: Option<Rate>,
}

/// Everything the guard needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityConfig {
    /// None: no `[access]` section, everyone may do everything (audit still runs).
    pub access: Option<Access>,
    pub approvals: Vec<ApprovalRule>,
    pub windows: Vec<Window>,
    pub rate_limit: RateLimitConfig,
    pub max_message_bytes: usize,
    /// Parameter names that are secret in every job.
    pub secret_names: Vec<String>,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            access: None,
            approvals: Vec::new(),
            windows: Vec::new(),
            rate_limit: RateLimitConfig::default(),
            max_message_bytes: 4000,
            secret_names: Vec::new(),
        }
    }
}

#[derive(Deserialize, Default)]
struct RawFile {
    #[serde(default)]
    security: RawLimits,
    access: Option<RawAccess>,
    #[serde(default)]
    approvals: Vec<RawApproval>,
    #[serde(default)]
    windows: Vec<RawWindow>,
    #[serde(default)]
    rate_limit: RawRateLimit,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_message_bytes: Option<usize>,
    #[serde(default)]
    secret_names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    default_role: Option<String>,
    contact: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    users: Vec<RawUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: String,
    #[serde(default)]
    chat: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    #[serde(default)]
    jobs: Vec<String>,
    #[serde(default)]
    environments: Vec<String>,
    role: String,
    timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    environment: String,
    #[serde(default)]
    days: Vec<String>,
    hours: Option<String>,
    #[serde(default)]
    freezes: Vec<RawFreeze>,
    outside: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFreeze {
    from: String,
    to: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    per_user: Option<RawRate>,
    global: Option<RawRate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    capacity: u32,
    refill: String,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_lowercase().get(..3)? {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

fn hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl SecurityConfig {
    /// Reads the security sections of a configuration file's text. Errors are plain messages
    /// (the caller adds the file name).
    pub fn from_toml_str(text: &str) -> Result<SecurityConfig, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
        let mut c = SecurityConfig::default();
        if let Some(n) = raw.security.max_message_bytes {
            if n == 0 {
                return Err("`security.max_message_bytes` must be at least 1".into());
            }
            c.max_message_bytes = n;
        }
        c.secret_names = raw.security.secret_names;
        if let Some(a) = raw.access {
            let mut access = Access {
                roles: a.roles,
                default_role: a.default_role,
                contact: a
                    .contact
                    .unwrap_or_else(|| "the bot's administrators".into()),
                users: Vec::new(),
            };
            if let Some(r) = &access.default_role {
                if !access.roles.contains_key(r) {
                    return Err(format!("`access.default_role` names an unknown role `{r}`"));
                }
            }
            for u in a.users {
                for r in &u.roles {
                    if !access.roles.contains_key(r) {
                        return Err(format!("user `{}` has an unknown role `{r}`", u.name));
                    }
                }
                for id in &u.chat {
                    if !id.contains(':') {
                        return Err(format!(
                            "user `{}`: chat identity `{id}` must be `platform:user-id`, e.g. `terminal:{}`",
                            u.name, u.name
                        ));
                    }
                }
                let chat = if u.chat.is_empty() {
                    vec![format!("terminal:{}", u.name)]
                } else {
                    u.chat
                };
                access.users.push(User {
                    name: u.name,
                    chat,
                    roles: u.roles,
                    enabled: u.enabled,
                });
            }
            c.access = Some(access);
        }
        for a in raw.approvals {
            if let Some(access) = &c.access {
                if !access.roles.contains_key(&a.role) {
                    return Err(format!(
                        "an approval rule names an unknown role `{}`",
                        a.role
                    ));
                }
            }
            let timeout = match &a.timeout {
                Some(t) => parse_duration(t)
                    .ok_or_else(|| format!("approval timeout `{t}` is not a duration"))?,
                None => Duration::from_secs(1800),
            };
            c.approvals.push(ApprovalRule {
                jobs: a.jobs,
                environments: a.environments,
                role: a.role,
                timeout,
            });
        }
        for w in raw.windows {
            let mut days = Vec::new();
            for d in &w.days {
                days.push(weekday(d).ok_or_else(|| {
                    format!(
                        "window `{}`: `{d}` is not a weekday (mon..sun)",
                        w.environment
                    )
                })?);
            }
            let hours = match &w.hours {
                None => None,
                Some(h) => {
                    let bad = || {
                        format!(
                            "window `{}`: hours `{h}` must look like \"09:00-17:00\"",
                            w.environment
                        )
                    };
                    let (a, b) = h.split_once('-').ok_or_else(bad)?;
                    let (a, b) = (hhmm(a).ok_or_else(bad)?, hhmm(b).ok_or_else(bad)?);
                    if a >= b {
                        return Err(bad());
                    }
                    Some((a, b))
                }
            };
            let mut freezes = Vec::new();
            for f in &w.freezes {
                let bad = || {
                    format!(
                        "window `{}`: freeze times must be RFC 3339 (2026-12-21T00:00:00Z)",
                        w.environment
                    )
                };
                let (from, to) = (time(&f.from).ok_or_else(bad)?, time(&f.to).ok_or_else(bad)?);
                freezes.push(Freeze {
                    from,
                    to,
                    reason: f.reason.clone(),
                });
            }
            let outside = match w.outside.as_deref() {
                None | Some("refuse") => Outside::Refuse,
                Some("approval") => Outside::Approval,
                Some(o) => {
                    return Err(format!(
                        "window `{}`: outside = \"{o}\" must be \"refuse\" or \"approval\"",
                        w.environment
                    ))
                }
            };
            c.windows.push(Window {
                environment: w.environment,
                days,
                hours,
                freezes,
                outside,
            });
        }
        let rate = |r: Option<RawRate>, what: &str| -> Result<Option<Rate>, String> {
            match r {
                None => Ok(None),
                Some(r) => {
                    let refill = parse_duration(&r.refill)
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| format!("rate_limit.{what}: refill must be a duration"))?;
                    if r.capacity == 0 {
                        return Err(format!("rate_limit.{what}: capacity must be at least 1"));
                    }
                    Ok(Some(Rate {
                        capacity: r.capacity,
                        refill,
                    }))
                }
            }
        };
        c.rate_limit = RateLimitConfig {
            per_user: rate(raw.rate_limit.per_user, "per_user")?,
            global: rate(raw.rate_limit.global, "global")?,
        };
        Ok(c)
    }
}
