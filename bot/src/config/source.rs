//! The configuration's text, for errors: the line of a byte offset, errors at a line, and
//! durations read with the line of a bad value. Every section uses it.

use super::{duration_value, ConfigError};
use std::time::Duration;
use toml::Spanned;

/// The configuration text and the name of its file.
pub(super) struct Lines<'a> {
    pub(super) text: &'a str,
    pub(super) file: String,
}

impl Lines<'_> {
    /// The 1-based line of a byte offset.
    pub(super) fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at the line of `offset`.
    pub(super) fn err(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.clone(),
            line: self.line(offset),
            message: message.into(),
        }
    }

    /// A duration value (`"30s"`, `"5m"`, ...), else an error at its line naming `what`.
    pub(super) fn duration(
        &self,
        v: &Spanned<toml::Value>,
        what: &str,
    ) -> Result<Duration, ConfigError> {
        duration_value(v.get_ref()).ok_or_else(|| {
            self.err(
                v.span().start,
                format!("`{what}` must be a duration such as \"30s\", \"5m\" or \"2h\""),
            )
        })
    }
}
