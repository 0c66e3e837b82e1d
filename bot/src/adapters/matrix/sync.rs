//! The sync loop: long polls of `/sync` (only room messages and invites), turned into
//! [`Message`]s for the bot, batch by batch; invites are accepted on the way.
//!
//! A batch goes to the adapter together with its `next_batch` token; the adapter stores the
//! token once every message of the batch has been handed to the bot (so a restart neither
//! loses nor repeats messages). Event ids seen recently are remembered, so an event that a
//! homeserver delivers twice is handled once.

use super::api::{Api, ApiError, RoomEvent, SyncResponse};
use super::format::command_text;
use super::retry::{retry, Backoff, RetryPolicy};
use super::{Credentials, MatrixConfig};
use super::{MatrixError, State};
use crate::domain::chat::Message;
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long one `/sync` waits for news.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages fetched at most to fill one room's gap (see [`fill_gaps`]).
pub const GAP_LIMIT: usize = 1000;

/// The channel prefix of Matrix rooms: `matrix:!room:server`.
pub const CHANNEL_PREFIX: &str = "matrix:";

/// Messages of one `/sync` answer and the token that follows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub messages: Vec<Message>,
    pub next_batch: String,
}

/// The sync filter: room messages (not the bot's own) and, always, invites; no presence,
/// typing, receipts, account data or room state.
pub fn filter(me: &str, timeline_limit: u32) -> String {
    json!({
        "presence": { "types": [] },
        "account_data": { "types": [] },
        "room": {
            "timeline": {
                "types": ["m.room.message"],
                "not_senders": [me],
                "limit": timeline_limit,
            },
            "state": { "types": [], "lazy_load_members": true },
            "ephemeral": { "types": [] },
            "account_data": { "types": [] },
        },
    })
    .to_string()
}

/// The message a room event carries for the bot, if any: a text message from someone else,
/// not an edit. Its thread is the thread it was posted in, else the event itself (the
/// replies start a thread under it).
pub fn to_message(room_id: &str, ev: &Value, me: &str, my_name: Option<&str>) -> Option<Message> {
    let ev: RoomEvent = serde_json::from_value(ev.clone()).ok()?;
    if ev.kind != "m.room.message" || ev.sender == me || ev.event_id.is_empty() {
        return None;
    }
    let c = &ev.content;
    if c.get("m.new_content").is_some() {
        return None; // an edit
    }
    let relation = c.get("m.relates_to");
    let rel_type = relation.and_then(|r| r["rel_type"].as_str());
    if rel_type == Some("m.replace") {
        return None;
    }
    // notices are bots talking; emotes, images and files are not commands
    if c["msgtype"].as_str() != Some("m.text") {
        return None;
    }
    let body = c["body"].as_str()?;
    let thread = match (rel_type, relation.and_then(|r| r["event_id"].as_str())) {
        (Some("m.thread"), Some(root)) if !root.is_empty() => root.to_string(),
        _ => ev.event_id.clone(),
    };
    Some(Message {
        user: ev.sender,
        channel: format!("{CHANNEL_PREFIX}{room_id}"),
        text: command_text(body, me, my_name),
        thread: Some(thread),
    })
}

/// Event ids seen recently (bounded).
#[derive(Debug)]
pub struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Seen {
    pub fn new(cap: usize) -> Self {
        Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// True the first time an id is offered.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_string());
        self.order.push_back(id.to_string());
        true
    }
}

/// The messages of a sync answer, each event once, in timeline order per room.
pub fn messages(
    resp: &SyncResponse,
    me: &str,
    my_name: Option<&str>,
    seen: &mut Seen,
) -> Vec<Message> {
    let mut rooms: Vec<_> = resp.rooms.join.iter().collect();
    rooms.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (room_id, room) in rooms {
        if room.timeline.limited {
            tracing::warn!(
                "matrix: {room_id}: some messages since the last sync could not be fetched; they were skipped"
            );
        }
        for ev in &room.timeline.events {
            let Some(id) = ev["event_id"].as_str() else {
                continue;
            };
            if !seen.first_time(id) {
                tracing::debug!("matrix: {id} was delivered twice; handled once");
                continue;
            }
            if let Some(m) = to_message(room_id, ev, me, my_name) {
                tracing::debug!("matrix: received {id} in {room_id} from {}", m.user);
                out.push(m);
            }
        }
    }
    out
}

/// Fetches what a `limited` timeline left out (more new messages than the filter's limit,
/// e.g. after the bot was down): page by page back to `since`, at most [`GAP_LIMIT`] per room,
/// put before the batch's own events.
pub async fn fill_gaps(api: &Api, resp: &mut SyncResponse, since: &str, me: &str) {
    let filter = json!({ "types": ["m.room.message"], "not_senders": [me] }).to_string();
    for (room_id, room) in resp.rooms.join.iter_mut() {
        if !room.timeline.limited {
            continue;
        }
        let Some(mut from) = room.timeline.prev_batch.clone() else {
            continue;
        };
        let mut older: Vec<Value> = Vec::new();
        let complete = loop {
            let page = retry("messages", RetryPolicy::SEND, || {
                api.messages_back(room_id, &from, since, &filter, 100)
            })
            .await;
            match page {
                Ok((chunk, end)) => {
                    let empty = chunk.is_empty();
                    older.extend(chunk);
                    match end {
                        Some(e) if !empty && older.len() < GAP_LIMIT => from = e,
                        _ => break older.len() < GAP_LIMIT,
                    }
                }
                Err(e) => {
                    tracing::warn!("matrix: cannot fetch the earlier messages of {room_id}: {e}");
                    break false;
                }
            }
        };
        tracing::info!(
            "matrix: fetched {} message(s) of {room_id} that did not fit in the sync",
            older.len()
        );
        older.reverse();
        older.append(&mut room.timeline.events);
        room.timeline.events = older;
        room.timeline.limited = !complete;
    }
}

/// The invites in a sync answer: (room id, who invited).
pub fn invites(resp: &SyncResponse, me: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (room_id, room) in &resp.rooms.invite {
        let inviter = room.invite_state.events.iter().find_map(|ev| {
            let ev: RoomEvent = serde_json::from_value(ev.clone()).ok()?;
            (ev.kind == "m.room.member"
                && ev.state_key.as_deref() == Some(me)
                && ev.content["membership"] == "invite")
                .then_some(ev.sender)
        });
        out.push((room_id.clone(), inviter.unwrap_or_default()));
    }
    out.sort();
    out
}

/// The running sync loop's parts.
pub struct SyncLoop {
    pub api: Arc<Api>,
    pub config: Arc<MatrixConfig>,
    pub state: State,
    pub me: String,
    pub my_name: Option<String>,
    pub credentials: Credentials,
    pub tx: mpsc::Sender<Batch>,
    /// Set when the loop stopped for good (its reason).
    pub fatal: Arc<Mutex<Option<MatrixError>>>,
}

impl SyncLoop {
    /// Polls from `since` until the adapter goes away or the session cannot be renewed.
    pub async fn run(self, mut since: String) {
        let filter = filter(&self.me, self.config.timeline_limit);
        let mut backoff = Backoff::new(&RetryPolicy::SYNC);
        let mut seen = Seen::new(4096);
        let mut invited: HashSet<String> = HashSet::new();
        loop {
            match self.api.sync(Some(&since), &filter, SYNC_TIMEOUT).await {
                Ok(mut resp) => {
                    fill_gaps(&self.api, &mut resp, &since, &self.me).await;
                    if backoff.attempts() > 0 {
                        tracing::warn!(
                            "matrix: syncing with {} again (after {} failed tries)",
                            self.config.homeserver,
                            backoff.attempts()
                        );
                    }
                    backoff.reset();
                    accept_invites(&self.api, &self.config, &resp, &self.me, &mut invited);
                    let messages = messages(&resp, &self.me, self.my_name.as_deref(), &mut seen);
                    since = resp.next_batch.clone();
                    let batch = Batch {
                        messages,
                        next_batch: resp.next_batch,
                    };
                    if self.tx.send(batch).await.is_err() {
                        return; // the adapter is closed
                    }
                }
                Err(e) if e.is_unknown_token() => {
                    if let Err(fatal) = self.relogin(&e).await {
                        tracing::error!("matrix: {fatal}");
                        *self.fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(fatal);
                        return; // dropping `tx` ends the adapter's input
                    }
                }
                Err(e) => {
                    let delay = backoff
                        .delay_for(&e)
                        .unwrap_or_else(|| backoff.next_delay());
                    let n = backoff.attempts();
                    if !e.is_retryable() {
                        tracing::error!("matrix: sync failed: {e}; trying again in {delay:.1?}");
                    } else if n == 1 || n.is_multiple_of(10) {
                        tracing::warn!(
                            "matrix: sync failed ({e}); retrying in {:.1}s (attempt {n})",
                            delay.as_secs_f64()
                        );
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// A new session with the password, when the bot logs in with one.
    async fn relogin(&self, cause: &ApiError) -> Result<(), MatrixError> {
        let Credentials::Password(password) = &self.credentials else {
            return Err(MatrixError::BadToken {
                homeserver: self.config.homeserver.clone(),
                message: cause.to_string(),
            });
        };
        tracing::warn!("matrix: the session ended ({cause}); logging in again");
        super::login(&self.api, &self.config, &self.state, password).await?;
        Ok(())
    }
}

/// Joins the rooms the bot is invited to (when the inviter may invite it), each once, in the
/// background.
pub fn accept_invites(
    api: &Arc<Api>,
    config: &MatrixConfig,
    resp: &SyncResponse,
    me: &str,
    invited: &mut HashSet<String>,
) {
    for (room, inviter) in invites(resp, me) {
        if !invited.insert(room.clone()) {
            continue;
        }
        if !config.accepts_invite_from(&inviter) {
            tracing::warn!(
                "matrix: not joining {room}: invited by {inviter}, who is not in `invite_from` (or `auto_join` is off)"
            );
            continue;
        }
        let api = api.clone();
        tokio::spawn(async move {
            match retry("join", RetryPolicy::SEND, || api.join(&room)).await {
                Ok(id) => tracing::info!("matrix: joined {id} (invited by {inviter})"),
                Err(e) => tracing::error!("matrix: cannot join {room} (invited by {inviter}): {e}"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "@bot:hs";

    fn ev(id: &str, sender: &str, content: Value) -> Value {
        json!({"type": "m.room.message", "event_id": id, "sender": sender, "content": content, "origin_server_ts": 1})
    }

    #[test]
    fn text_messages_become_messages_with_their_thread() {
        let m = to_message(
            "!r:hs",
            &ev("$1", "@a:hs", json!({"msgtype": "m.text", "body": "!jobs"})),
            ME,
            None,
        )
        .unwrap();
        assert_eq!(m.user, "@a:hs");
        assert_eq!(m.channel, "matrix:!r:hs");
        assert_eq!(m.text, "!jobs");
        assert_eq!(m.thread.as_deref(), Some("$1"));
        let in_thread = ev(
            "$2",
            "@a:hs",
            json!({"msgtype": "m.text", "body": "!status 1001",
                   "m.relates_to": {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": true, "m.in_reply_to": {"event_id": "$x"}}}),
        );
        let m = to_message("!r:hs", &in_thread, ME, None).unwrap();
        assert_eq!(m.thread.as_deref(), Some("$root"));
        // a plain reply starts a thread under itself
        let reply = ev(
            "$3",
            "@a:hs",
            json!({"msgtype": "m.text", "body": "> <@b:hs> hi\n\n!jobs", "m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}}),
        );
        let m = to_message("!r:hs", &reply, ME, None).unwrap();
        assert_eq!(
            (m.text.as_str(), m.thread.as_deref()),
            ("!jobs", Some("$3"))
        );
    }

    #[test]
    fn own_messages_edits_notices_and_odd_events_are_ignored() {
        let text = json!({"msgtype": "m.text", "body": "x"});
        assert!(to_message("!r", &ev("$1", ME, text.clone()), ME, None).is_none());
        let edit = json!({"msgtype": "m.text", "body": "* x", "m.new_content": {"msgtype": "m.text", "body": "x"},
                          "m.relates_to": {"rel_type": "m.replace", "event_id": "$1"}});
        assert!(to_message("!r", &ev("$2", "@a:hs", edit), ME, None).is_none());
        let notice = json!({"msgtype": "m.notice", "body": "I am a bot"});
        assert!(to_message("!r", &ev("$3", "@b:hs", notice), ME, None).is_none());
        assert!(to_message("!r", &ev("$4", "@a:hs", json!({})), ME, None).is_none());
        assert!(to_message("!r", &json!({"type": "m.room.message"}), ME, None).is_none());
        assert!(to_message("!r", &json!(42), ME, None).is_none());
    }

    #[test]
    fn duplicates_are_dropped_and_invites_found() {
        let resp: SyncResponse = serde_json::from_value(json!({
            "next_batch": "s2",
            "rooms": {
                "join": {"!r:hs": {"timeline": {"events": [
                    ev("$1", "@a:hs", json!({"msgtype": "m.text", "body": "one"})),
                    ev("$1", "@a:hs", json!({"msgtype": "m.text", "body": "one"})),
                    ev("$2", "@a:hs", json!({"msgtype": "m.text", "body": "two"})),
                ], "limited": false}}},
                "invite": {"!new:hs": {"invite_state": {"events": [
                    {"type": "m.room.name", "sender": "@lead:hs", "state_key": "", "content": {"name": "ops"}},
                    {"type": "m.room.member", "sender": "@lead:hs", "state_key": ME, "content": {"membership": "invite"}},
                ]}}},
            },
        }))
        .unwrap();
        let mut seen = Seen::new(10);
        let m = messages(&resp, ME, None, &mut seen);
        assert_eq!(
            m.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert!(messages(&resp, ME, None, &mut seen).is_empty());
        assert_eq!(
            invites(&resp, ME),
            [("!new:hs".to_string(), "@lead:hs".to_string())]
        );
        let mut small = Seen::new(2);
        assert!(small.first_time("a") && small.first_time("b") && small.first_time("c"));
        assert!(small.first_time("a"), "the oldest was forgotten");
        assert!(!small.first_time("c"));
    }

    #[test]
    fn the_filter_keeps_messages_only() {
        let f: Value = serde_json::from_str(&filter(ME, 50)).unwrap();
        assert_eq!(f["room"]["timeline"]["types"], json!(["m.room.message"]));
        assert_eq!(f["room"]["timeline"]["not_senders"], json!([ME]));
        assert_eq!(f["presence"]["types"], json!([]));
    }
}
