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
//!   payments = ["app:payment", "app:checkout"]   # its holders work on these apps only
//!   [[access.users]]
//!   name = "alice"                                   # the job platform's user
//!   chat = ["terminal:alice", "slack:U024BE7LH"]    # platform:chat-user-id
//!   roles = ["operator", "deployer"]
//!   enabled = true
//!   lang = "zh"                                      # replies in Chinese; leave out to follow her messages
//!
//! [[approvals]]                # runs matching this need a second person's approval
//! environments = ["production"]  # and/or jobs = ["run-db-migration"]
//! role = "approver"
//! timeout = "30m"
//!
//! [[windows]]                  # change windows per environment, in the bot's time zone;
//!                              # a scheduled run is judged at the time it is for
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
//!
//! Permissions (see [`crate::policy::access`]), the roles users and approval rules name, and the
//! environments and jobs of approval rules and windows are checked against the catalog; an
//! error points at the offending value's line and says what to write instead.

use super::duration_value;
use chrono::{DateTime, Utc, Weekday};
use nlu::Catalog;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use toml::Spanned;

pub use super::permissions::{check_permission, unknown_role_hint, COMMANDS};
pub use super::windows::{Freeze, Outside, Window};

/// A chat user mapped to a user of the job platform.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    /// `platform:chat-user-id` identities.
    pub chat: Vec<String>,
    pub roles: Vec<String>,
    pub enabled: bool,
    /// The reply language set for this user (a `!lang` of their own overrides it).
    pub lang: Option<nlu::Lang>,
}

/// Identities and roles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Access {
    pub users: Vec<User>,
    /// Role name -> permissions.
    pub roles: BTreeMap<String, Vec<String>>,
    pub default_role: Option<String>,
    /// Whom to ask for access (`contact`); empty: the bot's administrators, in the reader's
    /// language ([`Access::contact`]).
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
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) security: RawLimits,
    pub(super) access: Option<RawAccess>,
    #[serde(default)]
    pub(super) approvals: Vec<RawApproval>,
    #[serde(default)]
    pub(super) windows: Vec<RawWindow>,
    #[serde(default)]
    pub(super) rate_limit: RawRateLimit,
}

// Values are `Spanned` so that an error names the line of the offending value.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    max_message_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    secret_names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccess {
    default_role: Option<Spanned<String>>,
    contact: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(default)]
    users: Vec<RawUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    name: String,
    #[serde(default)]
    chat: Vec<Spanned<String>>,
    #[serde(default)]
    roles: Vec<Spanned<String>>,
    #[serde(default = "yes")]
    enabled: bool,
    lang: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApproval {
    #[serde(default)]
    jobs: Vec<Spanned<String>>,
    #[serde(default)]
    environments: Vec<Spanned<String>>,
    role: Spanned<String>,
    timeout: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    environment: Spanned<String>,
    #[serde(default)]
    days: Vec<Spanned<String>>,
    hours: Option<Spanned<String>>,
    #[serde(default)]
    freezes: Vec<RawFreeze>,
    outside: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFreeze {
    from: Spanned<String>,
    to: Spanned<String>,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    per_user: Option<RawRate>,
    global: Option<RawRate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRate {
    capacity: Spanned<u32>,
    refill: Spanned<toml::Value>,
}

/// A mistake in the security sections: where it is (a byte offset into the file; the caller
/// turns it into `file:line`) and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub offset: usize,
    pub message: String,
}

/// An error about a value, at the value.
fn at<T>(v: &Spanned<T>, message: impl Into<String>) -> SettingsError {
    SettingsError {
        offset: v.span().start,
        message: message.into(),
    }
}

/// A value that must name an entry of the catalog (environment or job).
fn known(v: &Spanned<String>, ids: &[&str], what: &str, place: &str) -> Result<(), SettingsError> {
    let name = v.get_ref();
    if ids.contains(&name.as_str()) {
        return Ok(());
    }
    let dym = crate::util::words::suggest(name, ids.iter().copied())
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_else(|| ".".into());
    Err(at(
        v,
        format!("{place}: `{name}` is not a {what} of the catalog{dym} Write the id of one of its {what}s"),
    ))
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
    /// The security sections, as [`crate::config::Config`] read them with the rest of the
    /// file, checking the names they use (roles, permissions, environments, jobs, apps)
    /// against `catalog`. An error points at the offending value and says what to write
    /// instead.
    pub(super) fn from_raw(
        raw: RawFile,
        catalog: &Catalog,
    ) -> Result<SecurityConfig, SettingsError> {
        let environments: Vec<&str> = catalog.environments.iter().map(|e| e.id.as_str()).collect();
        let jobs: Vec<&str> = catalog.jobs.iter().map(|j| j.id.as_str()).collect();
        let mut c = SecurityConfig::default();
        if let Some(n) = &raw.security.max_message_bytes {
            if *n.get_ref() == 0 {
                return Err(at(
                    n,
                    "`security.max_message_bytes` must be at least 1; write e.g. max_message_bytes = 2000",
                ));
            }
            c.max_message_bytes = *n.get_ref();
        }
        c.secret_names = raw.security.secret_names;
        if let Some(a) = raw.access {
            // every permission, in the order of the file
            let mut permissions: Vec<(&String, &Spanned<String>)> = a
                .roles
                .iter()
                .flat_map(|(role, ps)| ps.iter().map(move |p| (role, p)))
                .collect();
            permissions.sort_by_key(|(_, p)| p.span().start);
            for (role, p) in permissions {
                check_permission(p.get_ref(), catalog)
                    .map_err(|m| at(p, format!("role `{role}`: {m}")))?;
            }
            let roles: BTreeMap<String, Vec<String>> = a
                .roles
                .iter()
                .map(|(r, ps)| (r.clone(), ps.iter().map(|p| p.get_ref().clone()).collect()))
                .collect();
            if let Some(r) = &a.default_role {
                if !roles.contains_key(r.get_ref()) {
                    return Err(at(
                        r,
                        format!(
                            "`access.default_role` names an unknown role `{}`{}",
                            r.get_ref(),
                            unknown_role_hint(r.get_ref(), roles.keys())
                        ),
                    ));
                }
            }
            let mut access = Access {
                default_role: a.default_role.map(Spanned::into_inner),
                // empty: the bot's administrators, in the reader's language
                contact: a.contact.unwrap_or_default(),
                users: Vec::new(),
                roles,
            };
            for u in a.users {
                for r in &u.roles {
                    if !access.roles.contains_key(r.get_ref()) {
                        return Err(at(
                            r,
                            format!(
                                "user `{}` has an unknown role `{}`{}",
                                u.name,
                                r.get_ref(),
                                unknown_role_hint(r.get_ref(), access.roles.keys())
                            ),
                        ));
                    }
                }
                for id in &u.chat {
                    if !id.get_ref().contains(':') {
                        return Err(at(
                            id,
                            format!(
                                "user `{}`: chat identity `{}` must be `platform:user-id`, e.g. `terminal:{}`",
                                u.name,
                                id.get_ref(),
                                u.name
                            ),
                        ));
                    }
                }
                let lang = match &u.lang {
                    None => None,
                    Some(l) => Some(
                        l.get_ref()
                            .parse::<nlu::Lang>()
                            .map_err(|e| at(l, format!("user `{}`: {e}", u.name)))?,
                    ),
                };
                let chat = if u.chat.is_empty() {
                    vec![format!("terminal:{}", u.name)]
                } else {
                    u.chat.into_iter().map(Spanned::into_inner).collect()
                };
                access.users.push(User {
                    name: u.name,
                    chat,
                    roles: u.roles.into_iter().map(Spanned::into_inner).collect(),
                    enabled: u.enabled,
                    lang,
                });
            }
            c.access = Some(access);
        }
        for a in raw.approvals {
            if let Some(access) = &c.access {
                if !access.roles.contains_key(a.role.get_ref()) {
                    return Err(at(
                        &a.role,
                        format!(
                            "an approval rule names an unknown role `{}`{}",
                            a.role.get_ref(),
                            unknown_role_hint(a.role.get_ref(), access.roles.keys())
                        ),
                    ));
                }
            }
            for j in &a.jobs {
                known(j, &jobs, "job", "approval rule")?;
            }
            for e in &a.environments {
                known(e, &environments, "environment", "approval rule")?;
            }
            let timeout = match &a.timeout {
                Some(t) => duration_value(t.get_ref())
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        at(
                            t,
                            "approval rule: `timeout` (how long a request waits for an approver) must be a positive duration; write e.g. timeout = \"30m\" or \"2h\"",
                        )
                    })?,
                None => Duration::from_secs(1800),
            };
            c.approvals.push(ApprovalRule {
                jobs: a.jobs.into_iter().map(Spanned::into_inner).collect(),
                environments: a
                    .environments
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                role: a.role.into_inner(),
                timeout,
            });
        }
        for w in raw.windows {
            let env = w.environment.get_ref().clone();
            known(&w.environment, &environments, "environment", "window")?;
            let mut days = Vec::new();
            for d in &w.days {
                days.push(weekday(d.get_ref()).ok_or_else(|| {
                    at(
                        d,
                        format!(
                            "window `{env}`: `{}` is not a weekday; write mon, tue, wed, thu, fri, sat or sun, e.g. days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]",
                            d.get_ref()
                        ),
                    )
                })?);
            }
            let hours = match &w.hours {
                None => None,
                Some(h) => {
                    let bad = || {
                        at(
                            h,
                            format!(
                                "window `{env}`: hours `{}` must be \"HH:MM-HH:MM\" with the start before the end, in the bot's time zone; write e.g. hours = \"09:00-17:00\"",
                                h.get_ref()
                            ),
                        )
                    };
                    let (a, b) = h.get_ref().split_once('-').ok_or_else(bad)?;
                    let (a, b) = (hhmm(a).ok_or_else(bad)?, hhmm(b).ok_or_else(bad)?);
                    if a >= b {
                        return Err(bad());
                    }
                    Some((a, b))
                }
            };
            let mut freezes = Vec::new();
            for f in &w.freezes {
                let time_at = |v: &Spanned<String>| {
                    time(v.get_ref()).ok_or_else(|| {
                        at(
                            v,
                            format!(
                                "window `{env}`: freeze time `{}` must be RFC 3339; write e.g. \"2026-12-21T00:00:00Z\"",
                                v.get_ref()
                            ),
                        )
                    })
                };
                let (from, to) = (time_at(&f.from)?, time_at(&f.to)?);
                if to <= from {
                    return Err(at(
                        &f.to,
                        format!(
                            "window `{env}`: a freeze must end (`to`) after it starts (`from`)"
                        ),
                    ));
                }
                freezes.push(Freeze {
                    from,
                    to,
                    reason: f.reason.clone(),
                });
            }
            let outside = match &w.outside {
                None => Outside::Refuse,
                Some(o) => match o.get_ref().as_str() {
                    "refuse" => Outside::Refuse,
                    "approval" => Outside::Approval,
                    other => {
                        return Err(at(
                            o,
                            format!(
                                "window `{env}`: outside = \"{other}\" must be \"refuse\" or \"approval\""
                            ),
                        ))
                    }
                },
            };
            c.windows.push(Window {
                environment: env,
                days,
                hours,
                freezes,
                outside,
            });
        }
        let rate = |r: Option<RawRate>, what: &str| -> Result<Option<Rate>, SettingsError> {
            let Some(r) = r else {
                return Ok(None);
            };
            let refill = duration_value(r.refill.get_ref())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    at(
                        &r.refill,
                        format!(
                            "rate_limit.{what}: `refill` (how often one more command is allowed) must be a positive duration; write e.g. refill = \"3s\" or \"200ms\""
                        ),
                    )
                })?;
            if *r.capacity.get_ref() == 0 {
                return Err(at(
                    &r.capacity,
                    format!("rate_limit.{what}: `capacity` must be at least 1; write e.g. capacity = 20"),
                ));
            }
            Ok(Some(Rate {
                capacity: *r.capacity.get_ref(),
                refill,
            }))
        };
        c.rate_limit = RateLimitConfig {
            per_user: rate(raw.rate_limit.per_user, "per_user")?,
            global: rate(raw.rate_limit.global, "global")?,
        };
        Ok(c)
    }
}
