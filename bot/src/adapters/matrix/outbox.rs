//! Delivering the bot's messages. Order matters within a thread (a reply before the updates
//! that follow it), so each room thread has its own queue; the queues are served round-robin
//! by a background task, a few posts at once. A message becomes posts: its text, then one
//! post per chart (rendered to PNG, uploaded, sent as `m.image` in the same thread), so a
//! message with charts does not hold up the replies of other threads. Each post has its own
//! transaction id and is retried with the same id (a retry after a lost answer does not post
//! twice). A post that cannot be delivered after the retries is logged with its text, never
//! dropped silently.

use super::api::{Api, ApiError};
use super::format::{image_content, text_content};
use super::retry::{retry, RetryPolicy};
use crate::domain::chart::Chart;
use crate::domain::chat::Outgoing;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Transaction ids: `<epoch>.<n>`, where the epoch is a counter stored in the database and
/// raised at every start, so no id is ever used twice for one device (a reused id would make
/// the homeserver answer with the old event and drop the new message).
#[derive(Debug)]
pub struct TxnIds {
    epoch: u64,
    next: AtomicU64,
}

impl TxnIds {
    pub fn new(epoch: u64) -> Self {
        TxnIds {
            epoch,
            next: AtomicU64::new(1),
        }
    }

    pub fn next(&self) -> String {
        format!(
            "{}.{}",
            self.epoch,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Where order matters: one thread of one room; different threads are independent.
type Key = (String, Option<String>);

/// One thing to post: a text, or one chart of the text before it.
#[derive(Debug, Clone)]
pub enum Post {
    Text(String),
    Chart(Chart),
}

/// The posts of a message, in order: its text, then its charts.
pub fn posts(o: Outgoing) -> Vec<Post> {
    let mut out = Vec::new();
    if !o.text.trim().is_empty() {
        out.push(Post::Text(o.text));
    }
    out.extend(o.charts.into_iter().map(Post::Chart));
    out
}

/// How many posts are being sent at once (over all threads).
pub const MAX_IN_FLIGHT: usize = 16;

/// The send queues, served by a background task.
pub struct Outbox {
    tx: Option<mpsc::UnboundedSender<(Key, Post)>>,
    task: tokio::task::JoinHandle<()>,
    /// Posts queued and not yet delivered or given up.
    queued: Arc<AtomicUsize>,
}

impl Outbox {
    pub fn new(api: Arc<Api>, txn: Arc<TxnIds>, policy: RetryPolicy) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(dispatch(api, txn, policy, rx, queued.clone()));
        Outbox {
            tx: Some(tx),
            task,
            queued,
        }
    }

    /// Queues a message for `room` (in its thread, [`Outgoing::thread`]).
    pub fn push(&mut self, room: &str, o: Outgoing) {
        let key: Key = (room.to_string(), o.thread.clone());
        for post in posts(o) {
            self.queued.fetch_add(1, Ordering::SeqCst);
            let refused = match &self.tx {
                Some(tx) => tx.send((key.clone(), post)).err().map(|e| (e.0).1),
                None => Some(post),
            };
            if let Some(post) = refused {
                self.queued.fetch_sub(1, Ordering::SeqCst);
                tracing::error!(
                    "matrix: the sender has stopped; not delivered to {room}: {}",
                    describe(&post)
                );
            }
        }
    }

    /// Posts not delivered yet.
    pub fn pending(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Delivers what is queued, waiting at most `within`; returns how many posts were left
    /// undelivered (and logged).
    pub async fn close(mut self, within: Duration) -> usize {
        drop(self.tx.take()); // the dispatcher ends when every queue is empty
        if tokio::time::timeout(within, &mut self.task).await.is_err() {
            let left = self.pending();
            tracing::error!(
                "matrix: {left} post(s) were still waiting for the homeserver when the bot stopped; they were not delivered"
            );
            self.task.abort();
            return left;
        }
        0
    }
}

/// Serves the queues: the oldest post of each thread, threads in turn, up to
/// [`MAX_IN_FLIGHT`] at once.
async fn dispatch(
    api: Arc<Api>,
    txn: Arc<TxnIds>,
    policy: RetryPolicy,
    mut rx: mpsc::UnboundedReceiver<(Key, Post)>,
    queued: Arc<AtomicUsize>,
) {
    let mut queues: HashMap<Key, VecDeque<Post>> = HashMap::new();
    // threads with a post waiting and none in flight, in the order they became ready
    let mut ready: VecDeque<Key> = VecDeque::new();
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut flying: HashMap<tokio::task::Id, Key> = HashMap::new();
    let mut open = true;
    loop {
        while in_flight.len() < MAX_IN_FLIGHT {
            let Some(key) = ready.pop_front() else { break };
            let Some(post) = queues.get_mut(&key).and_then(|q| q.pop_front()) else {
                continue;
            };
            let (api, txn, queued, k) = (api.clone(), txn.clone(), queued.clone(), key.clone());
            let handle = in_flight.spawn(async move {
                deliver(&api, &txn, policy, &k.0, k.1.as_deref(), post).await;
                queued.fetch_sub(1, Ordering::SeqCst);
            });
            flying.insert(handle.id(), key);
        }
        if !open && in_flight.is_empty() && ready.is_empty() {
            return;
        }
        tokio::select! {
            m = rx.recv(), if open => match m {
                Some((key, post)) => {
                    let q = queues.entry(key.clone()).or_default();
                    q.push_back(post);
                    if q.len() == 1 && !flying.values().any(|k| *k == key) {
                        ready.push_back(key);
                    }
                }
                None => open = false,
            },
            Some(done) = in_flight.join_next_with_id() => {
                let id = match &done {
                    Ok((id, ())) => *id,
                    Err(e) => {
                        tracing::error!("matrix: sending a post failed: {e}");
                        queued.fetch_sub(1, Ordering::SeqCst);
                        e.id()
                    }
                };
                if let Some(key) = flying.remove(&id) {
                    match queues.get(&key) {
                        Some(q) if !q.is_empty() => ready.push_back(key),
                        _ => {
                            queues.remove(&key);
                        }
                    }
                }
            },
        }
    }
}

fn describe(post: &Post) -> String {
    match post {
        Post::Text(t) => excerpt(t),
        Post::Chart(c) => format!("a chart ({})", c.alt()),
    }
}

/// Sends one post; logs what could not be delivered.
pub async fn deliver(
    api: &Api,
    txn: &TxnIds,
    policy: RetryPolicy,
    room: &str,
    thread: Option<&str>,
    post: Post,
) {
    match post {
        Post::Text(text) => {
            match send(api, txn, policy, room, text_content(&text, thread), thread).await {
                Ok(id) => tracing::debug!("matrix: sent {id} in {room} (thread {thread:?})"),
                Err(e) => tracing::error!(
                    "matrix: could not deliver a message to {room}: {e}. The message was: {}",
                    excerpt(&text)
                ),
            }
        }
        Post::Chart(chart) => {
            let image = match tokio::task::spawn_blocking(move || chart.image()).await {
                Ok(Ok(img)) => img,
                Ok(Err(e)) => return tracing::warn!("matrix: {e}"),
                Err(e) => return tracing::warn!("matrix: drawing a chart failed: {e}"),
            };
            let uploaded = retry("upload", policy, || {
                api.upload(&image.name, "image/png", image.png.clone())
            })
            .await;
            let mxc = match uploaded {
                Ok(u) => u,
                Err(e) => {
                    return tracing::error!(
                        "matrix: could not upload the chart {} for {room}: {e}",
                        image.name
                    )
                }
            };
            let content = image_content(&image.alt, &image.name, &mxc, &image.png, thread);
            if let Err(e) = send(api, txn, policy, room, content, thread).await {
                tracing::error!(
                    "matrix: could not post the chart {} in {room}: {e}",
                    image.name
                );
            }
        }
    }
}

/// Sends a content with retries; when the homeserver refuses the thread relation (a root
/// that cannot start a thread), sends it again without, into the room's timeline.
async fn send(
    api: &Api,
    txn: &TxnIds,
    policy: RetryPolicy,
    room: &str,
    mut content: Value,
    thread: Option<&str>,
) -> Result<String, ApiError> {
    let id = txn.next();
    let first = retry("send", policy, || api.send_message(room, &id, &content)).await;
    match first {
        Err(e) if thread.is_some() && e.status() == Some(400) => {
            tracing::warn!(
                "matrix: {room} refused a message in thread {}: {e}; posting it in the room",
                thread.unwrap_or_default()
            );
            if let Some(obj) = content.as_object_mut() {
                obj.remove("m.relates_to");
            }
            let id = txn.next();
            retry("send", policy, || api.send_message(room, &id, &content)).await
        }
        other => other,
    }
}

fn excerpt(text: &str) -> String {
    let mut s: String = text.chars().take(300).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s.replace('\n', " / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_unique_within_and_across_epochs() {
        let a = TxnIds::new(1);
        let b = TxnIds::new(2);
        let ids: std::collections::HashSet<String> = (0..100)
            .map(|_| a.next())
            .chain((0..100).map(|_| b.next()))
            .collect();
        assert_eq!(ids.len(), 200);
        assert!(ids.contains("1.1") && ids.contains("2.100"));
    }
}
