//! The ChatOps bot: turns the `nlu` parser into an operator's assistant for a job platform.
//!
//! A message travels one way: adapter -> [`router`] (exact command or parser) ->
//! [`dialog`] / [`handlers`] -> [`policy`] -> [`jobs`] (the platform) -> [`render`] ->
//! adapter. State is written to the [`store`] before a reply says that something happened.
//! Status changes of executions come back from the platform as events; the notifier turns
//! them into pushed messages for the channel that started the run and for watchers.

// first, so that `tr!` is in scope in every module below
#[macro_use]
pub mod i18n;
pub mod adapters;
pub mod app;
pub mod bot;
pub mod clock;
pub mod config;
pub mod dialog;
pub mod domain;
pub mod handlers;
pub mod intent;
pub mod jobs;
pub mod policy;
pub mod render;
pub mod router;
pub mod store;
pub mod util;
pub mod values;

pub use crate::bot::{run_notifier, Bot};
pub use crate::router::{clarify_buttons, command_error, option_label};
pub use domain::chat::{Button, ButtonStyle, Message, Outgoing};
