//! Chat messages: what an adapter delivers ([`Message`]) and what the bot sends back
//! ([`Outgoing`], with its [`Button`]s).

use super::chart::Chart;
use super::exec::ExecId;

/// A chat message as an adapter delivers it.
///
/// A conversation (its pending question, its rate limit) is one `user` in one `channel`;
/// `thread` only says where the answers go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The chat identity, e.g. `@alice:example.org` (the platform is the channel's prefix).
    pub user: String,
    /// `platform:id`, e.g. `matrix:!room:example.org`, `slack:C024BE91L`, or `terminal`.
    pub channel: String,
    pub text: String,
    /// The thread the replies belong in (platform-specific id: a Matrix thread root event,
    /// a Slack `thread_ts`); executions started or watched by this message push their
    /// updates into it as well. None: the channel's main timeline.
    pub thread: Option<String>,
}

impl Message {
    /// The chat platform: the channel's prefix before `:` (`slack:C024` -> `slack`), or the
    /// whole channel name (`terminal`).
    pub fn platform(&self) -> &str {
        self.channel.split(':').next().unwrap_or(&self.channel)
    }
}

/// A message for a channel: a reply or a pushed update.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outgoing {
    pub channel: String,
    pub text: String,
    /// Set on the last message about an execution (its final summary).
    pub final_for: Option<ExecId>,
    /// Charts that go with the text: adapters that can show images
    /// ([`crate::adapters::Adapter::shows_images`]) attach them as PNGs ([`Chart::image`]);
    /// the text already holds their compact text form.
    pub charts: Vec<Chart>,
    /// The thread it belongs in ([`Message::thread`] of the command it answers or that
    /// started the execution it reports on).
    pub thread: Option<String>,
    /// Quick answers a chat may offer as buttons (confirmations, approvals, clarification
    /// options); the text already says how to answer by typing.
    pub buttons: Vec<Button>,
}

/// A quick answer: clicking it sends `reply` as the clicking user's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub reply: String,
    pub style: ButtonStyle,
}

/// How a chat may show a [`Button`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ButtonStyle {
    #[default]
    Default,
    /// The expected answer (e.g. "yes" to a confirmation).
    Primary,
    /// An answer that changes something that matters (e.g. approving a production run).
    Danger,
}

impl Button {
    pub fn new(label: impl Into<String>, reply: impl Into<String>, style: ButtonStyle) -> Self {
        Button {
            label: label.into(),
            reply: reply.into(),
            style,
        }
    }
}
