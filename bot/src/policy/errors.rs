//! Errors that reach a user: classified, answered from a template in plain words, with an
//! error id that is logged at the same moment (so a support person can find the details),
//! and with suggestions for recovery. Internal details go to the log only.

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
    fn title(self) -> &'static str {
        match self {
            ErrorClass::Permission => "Not allowed",
            ErrorClass::NotFound => "Not found",
            ErrorClass::InvalidParameter => "Invalid input",
            ErrorClass::Policy => "Not right now",
            ErrorClass::Platform => "The job platform could not do it",
            ErrorClass::Internal => "Something went wrong on my side",
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
        }
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
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorClass::Internal,
            "I could not finish that because of an internal problem.",
        )
        .with_detail(detail)
        .suggest("try again in a moment; if it keeps happening, give the error id to the bot's operators")
    }

    pub fn suggest(mut self, s: impl Into<String>) -> Self {
        self.suggestions.push(s.into());
        self
    }

    pub fn with_detail(mut self, d: impl std::fmt::Display) -> Self {
        self.detail = Some(d.to_string());
        self
    }

    /// Writes the log line (with the error id) and returns the text for the user.
    pub fn reply(&self) -> String {
        tracing::warn!(
            error_id = %self.id,
            class = self.class.as_str(),
            detail = self.detail.as_deref().unwrap_or(""),
            "{}",
            self.message
        );
        self.render()
    }

    /// The text for the user (no logging).
    pub fn render(&self) -> String {
        let mut s = format!("{}: {}", self.class.title(), self.message);
        if !s.ends_with(['.', '?', '!']) {
            s.push('.');
        }
        for sug in &self.suggestions {
            s.push_str(&format!(" Suggestion: {sug}"));
            if !s.ends_with(['.', '?', '!']) {
                s.push('.');
            }
        }
        s.push_str(&format!(" (error id {})", self.id));
        s
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_and_internal_details_stay_out() {
        let e = UserError::internal("disk I/O error at /var/lib/secret.db");
        assert_eq!(e.id.len(), 8);
        assert!(e.id.chars().all(|c| c.is_ascii_hexdigit()));
        let text = e.render();
        assert!(!text.contains("secret.db"), "{text}");
        assert!(text.contains(&e.id), "{text}");
        assert_ne!(new_error_id(), new_error_id());
    }
}
