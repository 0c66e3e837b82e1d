//! Chat adapters: each turns a platform's events into [`Message`]s and sends [`Outgoing`]
//! messages back. The terminal is the built-in one; Slack, Matrix and others implement the
//! same trait.

pub mod terminal;

use crate::jobs::{BoxFuture, ExecId, JobPlatform};
use crate::{Bot, Message, Outgoing};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

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

/// How [`serve`] ends.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// At the end of input, stay until every execution this session started or watches has
    /// ended (and its summary was delivered).
    pub wait: bool,
    /// Executions to follow from the start (e.g. the channel's runs still scheduled from an
    /// earlier session).
    pub follow: Vec<ExecId>,
}

/// Runs the conversation loop: messages in, replies and pushed updates out.
pub async fn serve(
    bot: Arc<Bot>,
    adapter: &mut dyn Adapter,
    pushes: &mut mpsc::UnboundedReceiver<Outgoing>,
    opts: ServeOptions,
) -> std::io::Result<()> {
    let mut pending: BTreeSet<ExecId> = opts.follow.iter().copied().collect();
    let mut input_open = true;
    let mut shutdown = Box::pin(shutdown_signal());
    adapter.idle().await?;
    loop {
        if !input_open && (!opts.wait || pending.is_empty()) {
            break;
        }
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            o = pushes.recv() => match o {
                Some(o) => {
                    if let Some(id) = o.final_for {
                        pending.remove(&id);
                    }
                    if !o.text.is_empty() {
                        adapter.send(&for_adapter(&*adapter, o)).await?;
                        adapter.idle().await?;
                    }
                }
                None => break,
            },
            m = adapter.recv(), if input_open => match m {
                Some(m) => {
                    let r = bot.handle(&m).await;
                    for id in &r.track {
                        pending.insert(*id);
                    }
                    let n = r.texts.len();
                    let mut charts = r.charts;
                    for (i, text) in r.texts.into_iter().enumerate() {
                        // the charts go with the last text
                        let charts = if i + 1 == n { std::mem::take(&mut charts) } else { Vec::new() };
                        let o = Outgoing { channel: m.channel.clone(), text, final_for: None, charts };
                        adapter.send(&for_adapter(&*adapter, o)).await?;
                    }
                    adapter.idle().await?;
                }
                None => {
                    input_open = false;
                    // executions that ended before we could follow them
                    let mut ended = Vec::new();
                    for id in &pending {
                        if let Ok(e) = bot.platform.status(*id).await {
                            if e.status.is_terminal() && e.finished_at.is_some_and(|t| crate::clock::now() - t > chrono::Duration::seconds(5)) {
                                ended.push(*id);
                            }
                        }
                    }
                    for id in ended {
                        pending.remove(&id);
                    }
                }
            },
        }
    }
    Ok(())
}

/// Drops the charts of a message for an adapter that cannot show them.
fn for_adapter(adapter: &dyn Adapter, mut o: Outgoing) -> Outgoing {
    if !adapter.shows_images() {
        o.charts.clear();
    }
    o
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            std::future::pending::<()>().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

/// Delivers the pushes that are still queued (after shutdown), for a short while.
pub async fn drain(
    adapter: &mut dyn Adapter,
    pushes: &mut mpsc::UnboundedReceiver<Outgoing>,
    _platform: &dyn JobPlatform,
) {
    while let Ok(Some(o)) = tokio::time::timeout(Duration::from_millis(300), pushes.recv()).await {
        if !o.text.is_empty() {
            let _ = adapter.send(&for_adapter(&*adapter, o)).await;
        }
    }
}
