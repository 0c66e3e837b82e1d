//! Secrets in a job's `[jobs.run] env`: a variable whose name says it holds a secret
//! (PASSWORD, PASSWD, SECRET, TOKEN, CREDENTIAL, or a KEY word such as `API_KEY`) may not have
//! a literal value in the configuration file. Its value must come from the bot's environment
//! (`"$NAME"` or `"${NAME}"`, read when the job starts) or from parameters (`"{password}"`,
//! declared `secret`), so that the file can be shared and the value is masked.

use std::collections::BTreeMap;

/// The parts of a variable name that mark it as secret.
const SECRET_PARTS: [&str; 5] = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL"];

/// Words of a variable name (split at `_`) that mark it as secret.
const KEY_WORDS: [&str; 7] = [
    "KEY",
    "PWD",
    "APIKEY",
    "PRIVATEKEY",
    "ACCESSKEY",
    "SSHKEY",
    "AUTHKEY",
];

/// Whether an environment variable's name says it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_PARTS.iter().any(|p| upper.contains(p))
        || upper
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| KEY_WORDS.contains(&w))
}

/// The variable a value refers to when it is exactly `$NAME` or `${NAME}`.
pub fn env_reference(value: &str) -> Option<&str> {
    let v = value.trim();
    let name = v
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| v.strip_prefix('$'))?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

/// Whether a value holds no literal secret: empty, an environment reference, or only
/// `{placeholders}` and punctuation.
pub fn is_reference(value: &str) -> bool {
    if env_reference(value).is_some() {
        return true;
    }
    let mut rest = value.to_string();
    for p in crate::config::placeholders(value) {
        rest = rest.replace(&format!("{{{p}}}"), "");
    }
    !rest.chars().any(char::is_alphanumeric)
}

/// The message for a literal secret in `env` (never the value itself).
pub fn refusal(job: &str, name: &str) -> String {
    format!(
        "job `{job}`: `{name}` in `env` looks like a secret and has a literal value; secrets must not be in the configuration file. Remove the value (and rotate it if this file was shared), then take it from the bot's environment with `{name} = \"${name}\"` (set {name} where the bot runs), or pass a secret parameter with `{name} = \"{{param}}\"` and `secret = [\"param\"]`"
    )
}

/// The environment of a job: `{placeholders}` replaced by `values`, `$NAME` references read
/// with `env` (absent ones empty, with a warning).
pub fn resolve(
    job: &str,
    spec: &BTreeMap<String, String>,
    values: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    spec.iter()
        .map(|(k, v)| {
            let value = match env_reference(v) {
                Some(var) => env(var).unwrap_or_else(|| {
                    tracing::warn!("job `{job}`: `{k}` refers to ${var}, which is not set");
                    String::new()
                }),
                None => crate::config::substitute(v, values),
            };
            (k.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_references() {
        for n in [
            "DB_PASSWORD",
            "api_key",
            "GITHUB_TOKEN",
            "CLIENT_SECRET",
            "APIKEY",
            "KEY",
        ] {
            assert!(looks_secret(n), "{n}");
        }
        for n in ["BACKUP_DIR", "MONKEY_MODE", "KEYSPACE", "MODE", "PID_FILE"] {
            assert!(!looks_secret(n), "{n}");
        }
        assert_eq!(env_reference("$DB_PASSWORD"), Some("DB_PASSWORD"));
        assert_eq!(env_reference("${DB_PASSWORD}"), Some("DB_PASSWORD"));
        assert_eq!(env_reference("$1abc"), None);
        assert_eq!(env_reference("hunter2"), None);
        assert!(is_reference("{password}"));
        assert!(is_reference("{user}:{password}"));
        assert!(is_reference(""));
        assert!(!is_reference("hunter2"));
        assert!(!is_reference("x{password}"));
        let spec: BTreeMap<String, String> = [
            ("A".to_string(), "$FROM_ENV".to_string()),
            ("B".to_string(), "{p}-x".to_string()),
        ]
        .into();
        let values = [("p".to_string(), "v".to_string())].into();
        let r = resolve("j", &spec, &values, &|k| {
            (k == "FROM_ENV").then(|| "s".into())
        });
        assert_eq!(r["A"], "s");
        assert_eq!(r["B"], "v-x");
        assert!(!refusal("j", "DB_PASSWORD").contains("hunter"));
    }
}
