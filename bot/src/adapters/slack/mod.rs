//! The Slack adapter: Slack's Events API, slash commands and interactive components over
//! HTTP ([`server`]), replies through the Web API ([`api`]) as Block Kit ([`blocks`]).
//!
//! - A message from Slack becomes [`Message`] `{ user: "U024BE7LH", channel:
//!   "slack:C024BE91L", text, thread }`: the user id is the chat identity (`[access]` maps
//!   `chat = ["slack:U024BE7LH"]`), the thread is the message's `thread_ts` when it is in a
//!   thread, else its own `ts`, so replies, and later updates of a run it started, go into
//!   the thread of the command. Slash commands are answered in the channel itself.
//! - In channels the bot takes messages that mention it, start with `!`, or answer in a
//!   thread it has posted in; in direct messages, every message.
//! - Buttons ([`crate::Outgoing::buttons`]) are an `actions` block; a click arrives at
//!   `/slack/interactions` and becomes the clicking user's message with the button's reply as
//!   its text, in the channel and thread of the message holding the buttons. The first click
//!   counts: that message is then rewritten with `chat.update` (same text, the buttons replaced
//!   by "@user answered *Yes*"), and later clicks on it are ignored. Anyone who can see the
//!   buttons can click them; what the click says is checked like a typed message (another
//!   user's "yes" finds no question of theirs; the requester cannot approve), and a question
//!   can still be answered by typing.
//! - Charts ([`crate::Outgoing::charts`]) are uploaded as PNG images after the text they go
//!   with, in the same channel and thread, in order, with Slack's external upload flow
//!   ([`WebApi::upload_file`]; the app needs the `files:write` scope). A chart that cannot be
//!   drawn or uploaded is logged and skipped: the text, which holds the charts' text form,
//!   has been posted already.

pub mod api;
pub mod blocks;
pub mod config;
pub mod payloads;
pub mod server;
pub mod signature;

use super::Adapter;
use crate::config::SlackConfig;
use crate::domain::chart::Chart;
use crate::domain::chat::{Message, Outgoing};
use crate::util::BoxFuture;
use api::{ApiError, FileUpload, RetryPolicy, WebApi};
use config::{Credentials, CredentialsError};
use server::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Messages acknowledged but not yet taken by the bot beyond which Slack is asked to retry.
pub const QUEUE: usize = 1000;

/// Why the Slack adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("{0}")]
    Credentials(#[from] CredentialsError),
    #[error("cannot listen on {addr}: {source}; choose another address with --listen or `listen` under [adapters.slack]")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the Slack bot token does not work: {0}")]
    Auth(ApiError),
    #[error("{0}")]
    Api(ApiError),
}

/// The Slack adapter: the HTTP server runs on its own task; [`Adapter::recv`] reads the
/// messages it accepted, [`Adapter::send`] posts with `chat.postMessage`.
pub struct Slack {
    rx: mpsc::Receiver<Message>,
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Slack {
    /// Binds `listen`, learns the bot's user id (`bot_user_id`, else `auth.test`; a token
    /// that Slack refuses stops here) and starts serving the endpoints.
    pub async fn start(
        config: &SlackConfig,
        credentials: Credentials,
        listen: SocketAddr,
        retry: RetryPolicy,
    ) -> Result<Slack, SlackError> {
        let api =
            WebApi::new(&config.api_base, credentials.token, retry).map_err(SlackError::Api)?;
        let bot_user = match &config.bot_user_id {
            Some(id) => Some(id.clone()),
            None => match api.auth_test().await {
                Ok(id) => id,
                Err(e) if e.is_auth() => return Err(SlackError::Auth(e)),
                Err(e) => {
                    tracing::warn!(
                        "cannot ask Slack who the bot is ({e}); learning it from events"
                    );
                    None
                }
            },
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SlackError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SlackError::Bind {
            addr: listen,
            source,
        })?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let shared = Arc::new(Shared::new(credentials.signing_secret, tx, api));
        if let Some(id) = bot_user {
            shared.set_bot_user(id);
        }
        let app = server::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("the Slack endpoints stopped: {e}");
            }
        });
        Ok(Slack {
            rx,
            shared,
            addr,
            server,
        })
    }

    /// The address the endpoints listen on (with the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bot's own Slack user id, when known.
    pub fn bot_user(&self) -> Option<String> {
        self.shared.bot_user()
    }

    /// Stops taking requests (the pending replies can still be sent).
    pub fn stop_listening(&mut self) {
        self.server.abort();
    }
}

/// Posts a reply or an update, then uploads its charts (non-Slack channels, e.g. runs started
/// from the terminal, are skipped). Failures are logged; only a token Slack no longer accepts
/// ends the bot.
async fn post(shared: &Shared, o: &Outgoing) -> std::io::Result<()> {
    let Some(channel) = payloads::conversation_id(&o.channel) else {
        tracing::debug!("not a Slack channel, not posted: {}", o.channel);
        return Ok(());
    };
    let args = blocks::post_message(channel, o);
    match shared.api.post_message(&args).await {
        Ok(ts) => {
            if let Some(t) = o.thread.as_deref().or(ts.as_deref()) {
                shared.engage(channel, t);
            }
            upload_charts(&shared.api, channel, o.thread.as_deref(), &o.charts).await;
            Ok(())
        }
        Err(e) if e.is_auth() => Err(std::io::Error::other(e.to_string())),
        Err(e) => {
            tracing::warn!("cannot post to {channel}: {e}");
            Ok(())
        }
    }
}

/// Uploads the charts of a posted message, one after the other, into its channel and thread.
/// A chart that cannot be drawn or uploaded is logged and skipped; without the `files:write`
/// scope the message's other charts are not tried.
async fn upload_charts(api: &WebApi, channel: &str, thread: Option<&str>, charts: &[Chart]) {
    for chart in charts {
        let drawn = chart.clone();
        let image = match tokio::task::spawn_blocking(move || drawn.image()).await {
            Ok(Ok(image)) => image,
            Ok(Err(e)) => {
                tracing::warn!("slack: {e}");
                continue;
            }
            Err(e) => {
                tracing::warn!("slack: drawing a chart failed: {e}");
                continue;
            }
        };
        let title = chart.title();
        let file = FileUpload {
            channel,
            thread_ts: thread,
            filename: &image.name,
            title: &title,
            alt_txt: &image.alt,
            bytes: &image.png,
        };
        match api.upload_file(&file).await {
            Ok(id) => tracing::debug!(
                "slack: uploaded the chart {} to {channel} (thread {thread:?}) as {id}",
                image.name
            ),
            Err(e) => {
                tracing::warn!(
                    "slack: cannot upload the chart {} to {channel}: {e}",
                    image.name
                );
                if matches!(&e, ApiError::Slack { code, .. } if code == "missing_scope")
                    || e.is_auth()
                {
                    return;
                }
            }
        }
    }
}

impl Drop for Slack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Adapter for Slack {
    fn recv(&mut self) -> BoxFuture<'_, Option<Message>> {
        Box::pin(async move { self.rx.recv().await })
    }

    fn send(&mut self, out: &Outgoing) -> BoxFuture<'_, std::io::Result<()>> {
        let out = out.clone();
        let shared = self.shared.clone();
        Box::pin(async move { post(&shared, &out).await })
    }

    fn shows_images(&self) -> bool {
        true
    }
}
