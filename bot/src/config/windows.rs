//! `[[windows]]`: change windows and freezes per environment (judged in
//! [`crate::policy::windows`]).

use chrono::{DateTime, Utc, Weekday};

/// A freeze: no changes between `from` and `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Freeze {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
}

/// What happens outside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    Refuse,
    Approval,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub environment: String,
    /// Empty: every day.
    pub days: Vec<Weekday>,
    /// Minutes after midnight: [start, end). None: all day.
    pub hours: Option<(u32, u32)>,
    pub freezes: Vec<Freeze>,
    pub outside: Outside,
}
