//! The serve loop: reads an [`Adapter`], hands each message to the [`Bot`] (one conversation
//! at a time, several conversations at once), delivers replies and pushed updates, runs the
//! scheduler, and drains at the end.

use crate::adapters::Adapter;
use crate::bot::Bot;
use crate::domain::chat::{Message, Outgoing};
use crate::domain::exec::ExecId;
use crate::handlers::Response;
use crate::jobs::JobPlatform;
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How [`serve`] runs and ends.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// At the end of input, stay until every execution this session started or watches has
    /// ended (and its summary was delivered).
    pub wait: bool,
    /// Executions to follow from the start (e.g. the channel's runs still scheduled from an
    /// earlier session).
    pub follow: Vec<ExecId>,
    /// How many messages are handled at once. Messages of one conversation (a user in a
    /// channel) are always handled one after the other, in the order they came; 1 handles
    /// everything in order (the terminal), more lets a busy team chat proceed in parallel.
    pub concurrency: usize,
    /// Messages received but not yet handled beyond which the adapter is not read (the
    /// platform then holds them: back-pressure instead of unbounded memory).
    pub backlog: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            wait: false,
            follow: Vec::new(),
            concurrency: 1,
            backlog: 1000,
        }
    }
}

/// A conversation: one user in one channel.
type ConversationKey = (String, String);

/// Which messages are being handled and which wait: first come, first served, one at a time
/// per conversation, at most `concurrency` at once.
#[derive(Default)]
struct Scheduler {
    /// Conversations with a message in flight.
    busy: HashSet<ConversationKey>,
    /// Messages not started yet, in the order they came.
    queue: VecDeque<Message>,
    concurrency: usize,
}

impl Scheduler {
    fn key(m: &Message) -> ConversationKey {
        (m.user.clone(), m.channel.clone())
    }

    /// A message arrived: returns the messages that may start now.
    fn admit(&mut self, m: Message) -> Vec<Message> {
        self.queue.push_back(m);
        self.ready()
    }

    /// A message of this conversation was handled: returns the messages that may start now.
    fn done(&mut self, key: &ConversationKey) -> Vec<Message> {
        self.busy.remove(key);
        self.ready()
    }

    /// Takes the oldest waiting messages of idle conversations while there are free slots; a
    /// busy conversation's messages keep their place (and so their order).
    fn ready(&mut self) -> Vec<Message> {
        let mut start = Vec::new();
        let mut i = 0;
        while self.busy.len() < self.concurrency && i < self.queue.len() {
            let key = Self::key(&self.queue[i]);
            if self.busy.contains(&key) {
                i += 1;
            } else if let Some(m) = self.queue.remove(i) {
                self.busy.insert(key);
                start.push(m);
            }
        }
        start
    }

    fn waiting(&self) -> usize {
        self.queue.len()
    }

    fn idle(&self) -> bool {
        self.busy.is_empty() && self.queue.is_empty()
    }

    /// Whether a message for `channel` is being handled (its pushes wait, so that a reply
    /// such as "Started #12" comes before #12's own updates).
    fn channel_busy(&self, channel: &str) -> bool {
        self.busy.iter().any(|(_, c)| c == channel)
    }
}

/// Runs the conversation loop: messages in, replies and pushed updates out.
///
/// Messages are handled concurrently up to [`ServeOptions::concurrency`], one at a time per
/// conversation; every reply goes to the message's channel and thread, in order. Pushed
/// updates for a channel wait while a message of that channel is being handled.
pub async fn serve(
    bot: Arc<Bot>,
    adapter: &mut dyn Adapter,
    pushes: &mut mpsc::UnboundedReceiver<Outgoing>,
    opts: ServeOptions,
) -> std::io::Result<()> {
    let mut pending: BTreeSet<ExecId> = opts.follow.iter().copied().collect();
    let mut input_open = true;
    let mut shutdown = Box::pin(shutdown_signal());
    let mut sched = Scheduler {
        concurrency: opts.concurrency.max(1),
        ..Default::default()
    };
    let mut deferred: VecDeque<Outgoing> = VecDeque::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Message, Response)>();
    let start = |m: Message| {
        let bot = bot.clone();
        let done_tx = done_tx.clone();
        tokio::spawn(async move {
            let r = bot.handle(&m).await;
            let _ = done_tx.send((m, r));
        });
    };
    adapter.idle().await?;
    loop {
        if !input_open && sched.idle() && (!opts.wait || pending.is_empty()) {
            break;
        }
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            d = done_rx.recv() => {
                let Some((m, r)) = d else { break };
                for id in &r.track {
                    pending.insert(*id);
                }
                for o in replies(&m, r) {
                    adapter.send(&for_adapter(&*adapter, o)).await?;
                }
                for next in sched.done(&Scheduler::key(&m)) {
                    start(next);
                }
                // updates held back while the channel was busy
                let mut held = VecDeque::new();
                while let Some(o) = deferred.pop_front() {
                    if sched.channel_busy(&o.channel) {
                        held.push_back(o);
                    } else {
                        deliver(adapter, &mut pending, o).await?;
                    }
                }
                deferred = held;
                adapter.idle().await?;
            },
            o = pushes.recv() => match o {
                Some(o) if sched.channel_busy(&o.channel) => deferred.push_back(o),
                Some(o) => {
                    deliver(adapter, &mut pending, o).await?;
                    adapter.idle().await?;
                }
                None => break,
            },
            m = adapter.recv(), if input_open && sched.waiting() < opts.backlog.max(1) => match m {
                Some(m) => {
                    for m in sched.admit(m) {
                        start(m);
                    }
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
    for o in deferred {
        deliver(adapter, &mut pending, o).await?;
    }
    Ok(())
}

/// The messages that answer `m`: one per text, in its channel and thread; the charts and
/// buttons go with the last one.
pub fn replies(m: &Message, r: Response) -> Vec<Outgoing> {
    let n = r.texts.len();
    let (mut charts, mut buttons) = (r.charts, r.buttons);
    r.texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let last = i + 1 == n;
            Outgoing {
                channel: m.channel.clone(),
                text,
                final_for: None,
                charts: if last {
                    std::mem::take(&mut charts)
                } else {
                    Vec::new()
                },
                thread: m.thread.clone(),
                buttons: if last {
                    std::mem::take(&mut buttons)
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

/// Sends a pushed update (an empty text only marks the end of an execution).
async fn deliver(
    adapter: &mut dyn Adapter,
    pending: &mut BTreeSet<ExecId>,
    o: Outgoing,
) -> std::io::Result<()> {
    if let Some(id) = o.final_for {
        pending.remove(&id);
    }
    if !o.text.is_empty() {
        adapter.send(&for_adapter(&*adapter, o)).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(user: &str, channel: &str, text: &str) -> Message {
        Message {
            user: user.into(),
            channel: channel.into(),
            text: text.into(),
            thread: None,
        }
    }

    fn texts(v: Vec<Message>) -> Vec<String> {
        v.into_iter().map(|m| m.text).collect()
    }

    #[test]
    fn one_message_per_conversation_at_a_time_in_order() {
        let mut s = Scheduler {
            concurrency: 2,
            ..Default::default()
        };
        assert_eq!(texts(s.admit(msg("ann", "c", "1"))), ["1"]);
        // ann's second message waits for her first
        assert!(s.admit(msg("ann", "c", "2")).is_empty());
        // bob in the same channel is another conversation
        assert_eq!(texts(s.admit(msg("bob", "c", "3"))), ["3"]);
        // no free slot: carol waits
        assert!(s.admit(msg("carol", "d", "4")).is_empty());
        assert_eq!(s.waiting(), 2);
        assert!(s.channel_busy("c") && !s.channel_busy("d"));
        // ann's first is done: her second came first, so it starts; carol still waits
        assert_eq!(texts(s.done(&("ann".into(), "c".into()))), ["2"]);
        // bob is done: carol gets his slot
        assert_eq!(texts(s.done(&("bob".into(), "c".into()))), ["4"]);
        assert!(s.done(&("ann".into(), "c".into())).is_empty());
        assert!(s.done(&("carol".into(), "d".into())).is_empty());
        assert!(s.idle());
    }

    #[test]
    fn with_concurrency_one_messages_are_handled_in_arrival_order() {
        let mut s = Scheduler {
            concurrency: 1,
            ..Default::default()
        };
        assert_eq!(texts(s.admit(msg("ann", "c", "1"))), ["1"]);
        assert!(s.admit(msg("bob", "c", "2")).is_empty());
        assert!(s.admit(msg("ann", "c", "3")).is_empty());
        assert_eq!(texts(s.done(&("ann".into(), "c".into()))), ["2"]);
        assert_eq!(texts(s.done(&("bob".into(), "c".into()))), ["3"]);
        assert!(s.done(&("ann".into(), "c".into())).is_empty());
        assert!(s.idle());
    }

    #[test]
    fn replies_keep_the_thread_and_put_charts_and_buttons_last() {
        let m = Message {
            thread: Some("$root".into()),
            ..msg("ann", "matrix:!r", "run x")
        };
        let r = Response {
            texts: vec!["a".into(), "b".into()],
            buttons: vec![crate::Button::new(
                "Yes",
                "yes",
                crate::ButtonStyle::Primary,
            )],
            ..Default::default()
        };
        let out = replies(&m, r);
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|o| o.thread.as_deref() == Some("$root") && o.channel == "matrix:!r"));
        assert!(out[0].buttons.is_empty());
        assert_eq!(out[1].buttons[0].reply, "yes");
    }
}
