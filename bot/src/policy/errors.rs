//! Errors that reach a user: classified, answered from a template in plain words, with an
//! error id that is logged at the same moment (so a support person can find the details),
//! and with suggestions for recovery. Internal details go to the log only.

use crate::i18n::Lang;
use std::sync::atomic::{AtomicU64, Ordering};

/// What kind of problem it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Permission,
    NotFound,
    InvalidParameter,
    Policy,
    Platform,
    Internal,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Permission => "permission",
            ErrorClass::NotFound => "not_found",
            ErrorClass::InvalidParameter => "invalid_parameter",
            ErrorClass::Policy => "policy",
            ErrorClass::Platform => "platform",
            ErrorClass::Internal => "internal",
        }
    }

    /// The template's opening words.
    fn title(self, lang: Lang) -> String {
        match self {
            ErrorClass::Permission => tr!(lang, "error-permission"),
            ErrorClass::NotFound => tr!(lang, "error-not-found"),
            ErrorClass::InvalidParameter => tr!(lang, "error-invalid"),
            ErrorClass::Policy => tr!(lang, "error-policy"),
            ErrorClass::Platform => tr!(lang, "error-platform"),
            ErrorClass::Internal => tr!(lang, "error-internal"),
        }
    }
}

/// An error for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub class: ErrorClass,
    /// Plain words for the user (no internal detail).
    pub message: String,
    /// What to do next: did-you-mean, the next window, whom to ask.
    pub suggestions: Vec<String>,
    /// 8 hex digits, also in the log line.
    pub id: String,
    /// For the log only.
    pub detail: Option<String>,
    /// The message in English when `message` is in another language: the audit trail stores
    /// [`UserError::recorded_message`], so that what is recorded does not depend on the
    /// language of the person asking. (Boxed: the error stays small.)
    pub message_en: Option<Box<str>>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh error id: 8 hex digits.
pub fn new_error_id() -> String {
    use sha2::{Digest, Sha256};
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let h = Sha256::digest(format!("{t}/{n}/{}", std::process::id()).as_bytes());
    h.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

impl UserError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        UserError {
            class,
            message: message.into(),
            suggestions: Vec::new(),
            id: new_error_id(),
            detail: None,
            message_en: None,
        }
    }

    /// The error `make` builds for a reader of `lang`; unless that is English, with the
    /// English message kept for the audit trail ([`UserError::recorded_message`]).
    pub fn localized(lang: Lang, make: impl Fn(Lang) -> UserError) -> Self {
        let mut e = make(lang);
        if lang != Lang::En && e.message_en.is_none() {
            e.message_en = Some(make(Lang::En).recorded_message().into());
        }
        e
    }

    /// The message as the audit trail records it: in English, whatever the reader's language.
    pub fn recorded_message(&self) -> &str {
        self.message_en.as_deref().unwrap_or(&self.message)
    }

    pub fn permission(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Permission, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::NotFound, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::InvalidParameter, message)
    }
    pub fn policy(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Policy, message)
    }
    /// The platform failed; `detail` goes to the log only.
    pub fn platform(message: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::new(ErrorClass::Platform, message).with_detail(detail)
    }
    /// A bug or a storage failure; `detail` goes to the log only.
    pub fn internal(lang: Lang, detail: impl std::fmt::Display) -> Self {
        Self::new(ErrorClass::Internal, tr!(lang, "error-internal-message"))
            .with_detail(detail)
            .suggest(tr!(lang, "error-internal-suggestion"))
    }

    pub fn suggest(mut self, s: impl Into<String>) -> Self {
        self.suggestions.push(s.into());
        self
    }

    pub fn with_detail(mut self, d: impl std::fmt::Display) -> Self {
        self.detail = Some(d.to_string());
        self
    }

    /// Writes the log line (with the error id; in English where the message has an English
    /// twin) and returns the text for the user.
    pub fn reply(&self, lang: Lang) -> String {
        tracing::warn!(
            error_id = %self.id,
            class = self.class.as_str(),
            detail = self.detail.as_deref().unwrap_or(""),
            "{}",
            self.recorded_message()
        );
        self.render(lang)
    }

    /// The text for the user (no logging).
    pub fn render(&self, lang: Lang) -> String {
        let end = |s: &mut String| {
            if !s.ends_with(['.', '?', '!', '。', '？', '！']) {
                s.push_str(&tr!(lang, "full-stop"));
            }
        };
        let mut s = tr!(
            lang,
            "error-message",
            title = self.class.title(lang),
            message = &self.message
        );
        end(&mut s);
        for sug in &self.suggestions {
            s.push_str(&tr!(lang, "error-suggestion", text = sug));
            end(&mut s);
        }
        s.push_str(&tr!(lang, "error-id", id = &self.id));
        s
    }
}

/// Runs `check` for a reader of `lang`. When it fails and `lang` is not English, it runs again
/// in English (it must not act, only decide) to keep the English message for the audit trail
/// ([`UserError::recorded_message`]); the error and its id are the ones in `lang`.
pub fn localize<T>(
    lang: Lang,
    check: impl Fn(Lang) -> Result<T, UserError>,
) -> Result<T, UserError> {
    check(lang).map_err(|mut e| {
        if lang != Lang::En && e.message_en.is_none() {
            e.message_en = match check(Lang::En) {
                Err(en) => Some(en.recorded_message().into()),
                Ok(_) => None,
            };
        }
        e
    })
}

impl std::fmt::Display for UserError {
    /// The English text (for logs and errors that leave the chat).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_and_internal_details_stay_out() {
        let e = UserError::internal(Lang::En, "disk I/O error at /var/lib/secret.db");
        assert_eq!(e.id.len(), 8);
        assert!(e.id.chars().all(|c| c.is_ascii_hexdigit()));
        let text = e.render(Lang::En);
        assert!(!text.contains("secret.db"), "{text}");
        assert!(text.contains(&e.id), "{text}");
        assert_ne!(new_error_id(), new_error_id());
    }

    #[test]
    fn the_template_reads_in_both_languages() {
        let mut e = UserError::not_found("there is no command `!foo`").suggest("say !help");
        e.id = "0badf00d".into();
        assert_eq!(
            e.render(Lang::En),
            "Not found: there is no command `!foo`. Suggestion: say !help. (error id 0badf00d)"
        );
        let mut e = UserError::not_found("没有命令 `!foo`").suggest("发送 !help 查看命令");
        e.id = "0badf00d".into();
        assert_eq!(
            e.render(Lang::Zh),
            "未找到：没有命令 `!foo`。建议：发送 !help 查看命令。（错误编号 0badf00d）"
        );
    }
}
