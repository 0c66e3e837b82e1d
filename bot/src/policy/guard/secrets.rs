//! Secret values: what the guard has seen (and masks wherever it appears) and what it keeps
//! of pending approval requests.

use super::*;

impl Guard {
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
}

/// Replaces the value in `name=value` (up to a space, comma or closing bracket) with the mask.
pub(super) fn mask_assignments(text: &str, name: &str) -> String {
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
