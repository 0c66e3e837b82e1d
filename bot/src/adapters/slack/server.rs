//! The HTTP endpoints Slack calls, on `axum`:
//!
//! - `POST /slack/events`: the Events API (JSON): `url_verification` is answered with its
//!   challenge; `message` and `app_mention` events become messages.
//! - `POST /slack/commands`: slash commands (form-encoded).
//! - `POST /slack/interactions`: interactive components (form field `payload`, JSON): a
//!   click on one of the bot's buttons becomes the clicking user's message.
//!
//! Every request's signature is checked on the raw body before anything else
//! ([`super::signature`]); a bad or missing one, or a timestamp more than five minutes away,
//! gets a bare 401. A good request is acknowledged at once (Slack wants an answer within
//! 3 seconds): the message goes to the bot through a channel and the real reply is posted
//! later with `chat.postMessage`. Slack's retries of an event (`X-Slack-Retry-Num`) are
//! recognised by `event_id`, and a message delivered both as `message` and `app_mention` by
//! its channel and `ts`, so each is handled once.

use super::api::WebApi;
use super::blocks;
use super::config::Secret;
use super::payloads::{Envelope, Interaction, SlashCommand};
use super::signature;
use crate::domain::chat::Message;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;

/// Requests larger than this are refused (Slack's payloads are far smaller).
pub const MAX_BODY: usize = 256 * 1024;
/// How many event ids (and message keys, threads) are remembered.
const REMEMBER: usize = 20_000;

/// A set that forgets its oldest entries beyond a capacity.
#[derive(Debug, Default)]
pub struct Recent {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Recent {
    pub fn new(cap: usize) -> Self {
        Recent {
            cap: cap.max(1),
            ..Default::default()
        }
    }

    pub fn contains(&self, k: &str) -> bool {
        self.set.contains(k)
    }

    /// Forgets `k`.
    pub fn remove(&mut self, k: &str) {
        if self.set.remove(k) {
            self.order.retain(|x| x != k);
        }
    }

    /// Adds `k`; false when it was there already.
    pub fn insert(&mut self, k: String) -> bool {
        if self.set.contains(&k) {
            return false;
        }
        if self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(k.clone());
        self.set.insert(k);
        true
    }
}

/// State shared by the endpoints and the adapter.
pub struct Shared {
    pub signing_secret: Secret,
    pub tx: mpsc::Sender<Message>,
    pub api: WebApi,
    /// The bot's own user id (its messages are ignored, its mentions stripped).
    pub bot_user: RwLock<Option<String>>,
    /// Event ids and message keys already handled.
    pub seen: Mutex<Recent>,
    /// Threads (`channel/ts`) the bot has posted in: plain answers there are for the bot.
    pub threads: Mutex<Recent>,
    /// Messages whose buttons were clicked (`channel/ts`): the first click counts.
    pub clicked: Mutex<Recent>,
}

impl Shared {
    pub fn new(signing_secret: Secret, tx: mpsc::Sender<Message>, api: WebApi) -> Self {
        Shared {
            signing_secret,
            tx,
            api,
            bot_user: RwLock::new(None),
            seen: Mutex::new(Recent::new(REMEMBER)),
            threads: Mutex::new(Recent::new(REMEMBER)),
            clicked: Mutex::new(Recent::new(REMEMBER)),
        }
    }

    pub fn bot_user(&self) -> Option<String> {
        self.bot_user.read().ok().and_then(|b| b.clone())
    }

    pub fn set_bot_user(&self, id: String) {
        if let Ok(mut b) = self.bot_user.write() {
            *b = Some(id);
        }
    }

    /// Remembers that the bot posted in thread `ts` of `channel`.
    pub fn engage(&self, channel: &str, ts: &str) {
        if let Ok(mut t) = self.threads.lock() {
            t.insert(format!("{channel}/{ts}"));
        }
    }

    fn engaged(&self, channel: &str, ts: &str) -> bool {
        self.threads
            .lock()
            .map(|t| t.contains(&format!("{channel}/{ts}")))
            .unwrap_or(false)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), signature::SignatureError> {
        let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        signature::verify(
            self.signing_secret.expose().as_bytes(),
            h("x-slack-request-timestamp"),
            h("x-slack-signature"),
            body,
            chrono::Utc::now().timestamp(),
        )
    }
}

/// The router of the three endpoints.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/slack/events", post(events))
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

fn unauthorized(path: &str, e: &signature::SignatureError) -> Response {
    // the reason goes to the log only
    tracing::warn!("refused a request to {path}: {e}");
    StatusCode::UNAUTHORIZED.into_response()
}

fn json(v: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn bad_request(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::warn!("a signed request with an unreadable {what}: {e}");
    StatusCode::BAD_REQUEST.into_response()
}

/// Why a message could not be handed to the bot.
enum Handoff {
    Queued,
    /// Too many messages wait: Slack should try again later.
    Busy,
}

fn hand_over(shared: &Shared, m: Message) -> Handoff {
    match shared.tx.try_send(m) {
        Ok(()) => Handoff::Queued,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!("too many messages waiting; asking Slack to retry later");
            Handoff::Busy
        }
        Err(mpsc::error::TrySendError::Closed(_)) => Handoff::Busy,
    }
}

async fn events(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = s.verify(&headers, &body) {
        return unauthorized("/slack/events", &e);
    }
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return bad_request("event", e),
    };
    let (event_id, event, authorizations) = match envelope {
        Envelope::UrlVerification { challenge } => {
            return json(serde_json::json!({ "challenge": challenge }))
        }
        Envelope::Other => return StatusCode::OK.into_response(),
        Envelope::EventCallback {
            event_id,
            event,
            authorizations,
        } => (event_id, event, authorizations),
    };
    let retry = headers
        .get("x-slack-retry-num")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if s.bot_user().is_none() {
        if let Some(id) = authorizations
            .iter()
            .find(|a| a.is_bot)
            .and_then(|a| a.user_id.clone())
        {
            s.set_bot_user(id);
        }
    }
    let bot_user = s.bot_user();
    let message = event.to_message(bot_user.as_deref(), &|c, t| s.engaged(c, t));
    let Ok(mut seen) = s.seen.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if seen.contains(&event_id) {
        tracing::debug!(
            "event {event_id} again (retry {}): already handled",
            retry.as_deref().unwrap_or("-")
        );
        return StatusCode::OK.into_response();
    }
    let m = match message {
        Ok(m) => m,
        Err(skip) => {
            tracing::debug!("event {event_id} ignored: {skip:?}");
            seen.insert(event_id);
            return StatusCode::OK.into_response();
        }
    };
    let key = event.message_key().map(|k| format!("msg/{k}"));
    if key.as_deref().is_some_and(|k| seen.contains(k)) {
        tracing::debug!("event {event_id}: the same message came as another event");
        seen.insert(event_id);
        return StatusCode::OK.into_response();
    }
    match hand_over(&s, m) {
        Handoff::Queued => {
            seen.insert(event_id);
            if let Some(k) = key {
                seen.insert(k);
            }
            StatusCode::OK.into_response()
        }
        // not remembered: Slack's retry will bring it again
        Handoff::Busy => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn commands(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = s.verify(&headers, &body) {
        return unauthorized("/slack/commands", &e);
    }
    let cmd: SlashCommand = match serde_urlencoded::from_bytes(&body) {
        Ok(c) => c,
        Err(e) => return bad_request("slash command", e),
    };
    tracing::debug!("slash command {} from {}", cmd.command, cmd.user_id);
    match hand_over(&s, cmd.to_message()) {
        // shows the command in the channel; the answer follows as the bot's message
        Handoff::Queued => json(serde_json::json!({ "response_type": "in_channel" })),
        Handoff::Busy => json(serde_json::json!({
            "response_type": "ephemeral",
            "text": "I'm too busy to take this right now; please try again in a minute.",
        })),
    }
}

#[derive(serde::Deserialize)]
struct InteractionForm {
    payload: String,
}

async fn interactions(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = s.verify(&headers, &body) {
        return unauthorized("/slack/interactions", &e);
    }
    let form: InteractionForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => return bad_request("interaction form", e),
    };
    let interaction: Interaction = match serde_json::from_str(&form.payload) {
        Ok(i) => i,
        Err(e) => return bad_request("interaction payload", e),
    };
    let Some(click) = interaction.click() else {
        tracing::debug!("interaction {} ignored", interaction.kind);
        return StatusCode::OK.into_response();
    };
    let key = format!("{}/{}", click.source_channel, click.source_ts);
    let first = s
        .clicked
        .lock()
        .map(|mut c| c.insert(key.clone()))
        .unwrap_or(false);
    if !first {
        tracing::debug!("a second click on {}: ignored", click.source_ts);
        return StatusCode::OK.into_response();
    }
    match hand_over(&s, click.message.clone()) {
        Handoff::Queued => {}
        Handoff::Busy => {
            if let Ok(mut c) = s.clicked.lock() {
                // the user may click again later
                c.remove(&key);
            }
            return json(serde_json::json!({
                "response_type": "ephemeral",
                "replace_original": false,
                "text": "I'm too busy to take this right now; please click again in a minute.",
            }));
        }
    }
    // the buttons go, so that nobody answers twice; who answered what stays
    let shared = s.clone();
    tokio::spawn(async move {
        let blocks = blocks::answered(&click.source_blocks, &click.message.user, &click.label);
        if let Err(e) = shared
            .api
            .update_message(
                &click.source_channel,
                &click.source_ts,
                &click.source_text,
                &blocks,
            )
            .await
        {
            tracing::warn!("cannot remove the buttons of {}: {e}", click.source_ts);
        }
    });
    StatusCode::OK.into_response()
}
