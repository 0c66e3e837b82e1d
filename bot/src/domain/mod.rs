//! The types the layers share, depending on nothing else in the crate but the language of
//! texts: executions ([`exec`]), chat messages ([`chat`]), chart data ([`chart`]), and the
//! catalog's fixed names ([`catalog`]), and what adapters keep between runs ([`state`]).

pub mod catalog;
pub mod chart;
pub mod chat;
pub mod exec;
pub mod state;
