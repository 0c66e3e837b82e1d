//! Chat adapters: each turns a platform's events into [`Message`]s and sends [`Outgoing`]
//! messages back. The terminal is the built-in one; Slack, Matrix and others implement the
//! same trait, which [`crate::app::serve()`] drives.

pub mod matrix;
pub mod slack;
pub mod terminal;

use crate::domain::chat::{Message, Outgoing};
use crate::util::BoxFuture;

/// A chat platform connection.
pub trait Adapter: Send {
    /// The next message; `None` when the input has ended.
    fn recv(&mut self) -> BoxFuture<'_, Option<Message>>;
    /// Delivers a reply or a pushed update.
    fn send(&mut self, out: &Outgoing) -> BoxFuture<'_, std::io::Result<()>>;
    /// Whether this chat can show images: then [`Outgoing::charts`] are sent as PNG
    /// attachments (e.g. uploaded to a Matrix room); otherwise they are dropped and only
    /// their text form (already in the text) is shown.
    fn shows_images(&self) -> bool {
        false
    }
    /// Called when the bot is idle, waiting for the next message (e.g. to show a prompt).
    fn idle(&mut self) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}
