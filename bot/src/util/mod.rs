//! Small helpers that every layer may use and that use nothing of the crate: words of
//! commands and names ([`words`]), facts about processes ([`process`]).

pub mod process;
pub mod words;
