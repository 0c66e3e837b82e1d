//! The permission grammar of `[access.roles]`: `run:JOB`, `deploy:ENVIRONMENT`, `env:…`,
//! `app:…`, bare words and `*`, checked against the catalog with a "did you mean".

use nlu::catalog::NamedItem;
use nlu::Catalog;

/// The command words of permissions. A bare word grants it for everything (`run` = `run:*`).
pub const COMMANDS: [&str; 8] = [
    "run", "deploy", "env", "app", "cancel", "status", "list", "history",
];

/// How to write a permission, for configuration errors.
const FORMS: &str = "run:JOB, deploy:ENVIRONMENT, env:ENVIRONMENT, app:APP, cancel, status, list, history (`NAME:*` or a bare word for all) or `*` for everything";

/// At most eight ids, for a message.
fn some_ids<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let ids: Vec<&str> = ids.collect();
    let mut s = ids.iter().take(8).copied().collect::<Vec<_>>().join(", ");
    if ids.len() > 8 {
        s.push_str(", …");
    }
    s
}

/// Checks a permission of `[access.roles]` against the catalog; `Err` says what to write
/// instead (with a did-you-mean when the permission looks like a typo).
pub fn check_permission(p: &str, catalog: &Catalog) -> Result<(), String> {
    let p = p.trim();
    if p == "*" {
        return Ok(());
    }
    let (command, resource) = match p.split_once(':') {
        Some((c, r)) => (c, Some(r)),
        None => (p, None),
    };
    if !COMMANDS.contains(&command) {
        let dym = crate::util::words::suggest(command, COMMANDS)
            .map(|c| match resource {
                Some(r) => format!("; did you mean `{c}:{r}`?"),
                None => format!("; did you mean `{c}`?"),
            })
            .unwrap_or_else(|| ".".into());
        return Err(format!(
            "`{p}` is not a permission{dym} Write one of {FORMS}"
        ));
    }
    let Some(resource) = resource else {
        return Ok(());
    };
    let (items, what): (Vec<(&str, &[String])>, &str) = match command {
        "run" | "cancel" | "status" => (
            catalog
                .jobs
                .iter()
                .map(|j| (j.id.as_str(), j.aliases.as_slice()))
                .collect(),
            "job",
        ),
        "deploy" | "env" => (named(&catalog.environments), "environment"),
        "app" => (named(&catalog.apps), "app"),
        _ => return Err(format!("`{p}` takes no `:{resource}`; write `{command}`")),
    };
    if resource.is_empty() {
        return Err(format!(
            "`{p}` names no {what}; write `{command}:NAME` with the id of one of the catalog's {what}s, or `{command}:*`"
        ));
    }
    if resource.ends_with('*') || items.iter().any(|(id, _)| *id == resource) {
        return Ok(());
    }
    if let Some((id, _)) = items
        .iter()
        .find(|(_, aliases)| aliases.iter().any(|a| a.eq_ignore_ascii_case(resource)))
    {
        return Err(format!(
            "`{p}` names an alias; write the {what}'s id: `{command}:{id}`"
        ));
    }
    let dym = crate::util::words::suggest(resource, items.iter().map(|(id, _)| *id))
        .map(|id| format!("; did you mean `{command}:{id}`?"))
        .unwrap_or_else(|| ".".into());
    Err(format!(
        "`{p}` names no {what} of the catalog{dym} Write `{command}:NAME` with one of its {what}s ({}) or `{command}:*`",
        some_ids(items.iter().map(|(id, _)| *id))
    ))
}

fn named(items: &[NamedItem]) -> Vec<(&str, &[String])> {
    items
        .iter()
        .map(|i| (i.id.as_str(), i.aliases.as_slice()))
        .collect()
}

/// What to write instead of an unknown role: "; did you mean `deployer`? Roles under
/// [access.roles]: …".
pub fn unknown_role_hint<'a>(
    name: &str,
    roles: impl Iterator<Item = &'a String> + Clone,
) -> String {
    if roles.clone().next().is_none() {
        return ". Define it under [access.roles] first".into();
    }
    let dym = crate::util::words::suggest(name, roles.clone().map(String::as_str))
        .map(|r| format!("; did you mean `{r}`?"))
        .unwrap_or_else(|| ".".into());
    format!(
        "{dym} Roles under [access.roles]: {}",
        some_ids(roles.map(String::as_str))
    )
}
