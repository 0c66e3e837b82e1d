//! The Matrix adapter: the client-server API spoken directly over HTTP (`reqwest`), no SDK.
//!
//! - [`MatrixConfig`]: `[adapters.matrix]` and the credentials (environment or files only);
//! - [`api`]: the requests and their answers;
//! - [`sync`]: the `/sync` long-poll loop: room messages -> [`Message`]s, invites accepted;
//! - [`outbox`]: replies and updates, in order per thread, with charts uploaded as images;
//! - [`format`](mod@format): Markdown -> safe HTML, thread relations, image contents;
//! - [`retry`](mod@retry): `retry_after_ms`, exponential backoff with jitter.
//!
//! A room is the channel `matrix:!room:server`; a command's replies and the later updates of
//! the executions it started go into a thread under the command (or into the thread it was
//! posted in). The sync position is stored (table `adapter_state`) once a batch's messages
//! have been handed to the bot, so a restart neither repeats nor loses messages; on the very
//! first start the backlog is skipped.

pub mod api;
pub mod credentials;
pub mod format;
pub mod outbox;
pub mod retry;
pub mod sync;

pub use crate::config::matrix::MatrixConfig;
pub use credentials::Credentials;

use crate::domain::chat::{Message, Outgoing};
use crate::domain::state::{AdapterState, StateError};
use crate::util::BoxFuture;
use api::{Api, ApiError};
use outbox::{Outbox, TxnIds};
use retry::{retry, RetryPolicy};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sync::{Batch, SyncLoop, CHANNEL_PREFIX};
use tokio::sync::mpsc;

/// Why the Matrix adapter cannot start or stopped; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("no Matrix credentials: set {} to the bot account's access token, or name a file holding it with `access_token_file` in [adapters.matrix]; for password login set {} or `password_file`", credentials::TOKEN_ENV, credentials::PASSWORD_ENV)]
    NoCredentials,
    #[error("cannot read {key} {path}: {source}")]
    SecretFile {
        key: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{key} {path} is empty; put the secret on its first line")]
    EmptySecretFile { key: &'static str, path: String },
    #[error("cannot reach the homeserver {homeserver}: {message}; check `homeserver` in [adapters.matrix] and that the server is up")]
    Unreachable { homeserver: String, message: String },
    #[error("the homeserver {homeserver} refused the bot's access token ({message}); create a new token for the bot account (README, \"Connecting to Matrix\") and set {}", credentials::TOKEN_ENV)]
    BadToken { homeserver: String, message: String },
    #[error(
        "password login as {user} failed: {message}; check {} or `password_file`",
        credentials::PASSWORD_ENV
    )]
    Login { user: String, message: String },
    #[error("the access token belongs to {actual}, but `user_id` in [adapters.matrix] says {configured}; use the bot account's token or correct `user_id`")]
    WrongUser { configured: String, actual: String },
    #[error("the homeserver {homeserver} answered: {message}")]
    Homeserver { homeserver: String, message: String },
    #[error("cannot keep the Matrix adapter's state: {0}")]
    State(#[source] StateError),
}

impl MatrixError {
    fn from_api(config: &MatrixConfig, e: ApiError) -> MatrixError {
        let homeserver = config.homeserver.clone();
        let message = e.to_string();
        if e.is_unknown_token() {
            MatrixError::BadToken {
                homeserver,
                message,
            }
        } else if e.is_retryable() {
            MatrixError::Unreachable {
                homeserver,
                message,
            }
        } else {
            MatrixError::Homeserver {
                homeserver,
                message,
            }
        }
    }
}

/// The adapter's values in the database: `adapter_state` rows under `matrix:<user id>`.
#[derive(Clone)]
pub struct State {
    store: Arc<dyn AdapterState>,
    key: String,
}

impl State {
    pub fn new(store: Arc<dyn AdapterState>, user_id: &str) -> Self {
        State {
            store,
            key: format!("{CHANNEL_PREFIX}{user_id}"),
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, MatrixError> {
        self.store.get(&self.key, key).map_err(MatrixError::State)
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), MatrixError> {
        self.store
            .set(&self.key, key, value)
            .map_err(MatrixError::State)
    }
}

/// The sync position.
const SINCE: &str = "since";
/// The device of the password login (reused at the next login).
const DEVICE: &str = "device_id";
/// The transaction-id epoch, raised at every start.
const TXN_EPOCH: &str = "txn_epoch";

/// Logs in with the password (on the stored device, if any); sets the token.
async fn login(
    api: &Api,
    config: &MatrixConfig,
    state: &State,
    password: &str,
) -> Result<api::Login, MatrixError> {
    let device = state.get(DEVICE)?;
    let login = retry("login", RetryPolicy::CONNECT, || {
        api.login(
            &config.user_id,
            password,
            device.as_deref(),
            &config.device_name,
        )
    })
    .await
    .map_err(|e| match e.status() {
        Some(s) if s < 500 && s != 429 => MatrixError::Login {
            user: config.user_id.clone(),
            message: e.to_string(),
        },
        _ => MatrixError::from_api(config, e),
    })?;
    api.set_token(&login.access_token);
    state.set(DEVICE, &login.device_id)?;
    Ok(login)
}

/// A connection to a homeserver as the bot's account.
pub struct MatrixAdapter {
    user_id: String,
    homeserver: String,
    batches: mpsc::Receiver<Batch>,
    current: VecDeque<Message>,
    /// The token of the batch whose messages are being handed out; stored once they all were.
    unsaved: Option<String>,
    state: State,
    outbox: Option<Outbox>,
    sync_task: tokio::task::JoinHandle<()>,
    fatal: Arc<Mutex<Option<MatrixError>>>,
    rooms: HashSet<String>,
}

impl MatrixAdapter {
    /// Logs in (or checks the token), joins the configured rooms, finds where to sync from
    /// (the stored position; on the first start the present, skipping the backlog) and
    /// starts the sync loop. `store` keeps the adapter's state.
    pub async fn connect(
        config: &MatrixConfig,
        store: Arc<dyn AdapterState>,
    ) -> Result<MatrixAdapter, MatrixError> {
        let config = Arc::new(config.clone());
        let credentials = config.credentials()?;
        let api =
            Arc::new(Api::new(&config.homeserver).map_err(|e| MatrixError::from_api(&config, e))?);
        let state = State::new(store, &config.user_id);
        let (user_id, device_id) = match &credentials {
            Credentials::Token(t) => {
                api.set_token(t);
                let who = retry("whoami", RetryPolicy::CONNECT, || api.whoami())
                    .await
                    .map_err(|e| MatrixError::from_api(&config, e))?;
                if who.user_id != config.user_id {
                    return Err(MatrixError::WrongUser {
                        configured: config.user_id.clone(),
                        actual: who.user_id,
                    });
                }
                (who.user_id, who.device_id)
            }
            Credentials::Password(p) => {
                let l = login(&api, &config, &state, p).await?;
                (l.user_id, Some(l.device_id))
            }
        };
        if let Some(d) = &device_id {
            if let Err(e) = api.set_device_name(d, &config.device_name).await {
                tracing::warn!("matrix: cannot name the device {d}: {e}");
            }
        }
        for room in &config.rooms {
            if let Err(e) = retry("join", RetryPolicy::CONNECT, || api.join(room)).await {
                tracing::warn!(
                    "matrix: cannot join {room}: {e}; invite {user_id} to it, or fix `rooms` in [adapters.matrix]"
                );
            }
        }
        let rooms: HashSet<String> =
            retry("joined_rooms", RetryPolicy::CONNECT, || api.joined_rooms())
                .await
                .map_err(|e| MatrixError::from_api(&config, e))?
                .into_iter()
                .collect();
        // "opsbot: run …" and "Ops Bot: run …" both address the bot
        let my_name = match api.display_name(&user_id).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("matrix: cannot read the bot's display name: {e}");
                None
            }
        };
        // the first sync only needs the position (and invites): one event per room
        let filter = sync::filter(&user_id, 1);
        let since = match state.get(SINCE)? {
            Some(s) => s,
            None => {
                // first start: begin at the present; earlier commands are not run
                let resp = retry("sync", RetryPolicy::CONNECT, || {
                    api.sync(None, &filter, Duration::ZERO)
                })
                .await
                .map_err(|e| MatrixError::from_api(&config, e))?;
                let mut invited = HashSet::new();
                sync::accept_invites(&api, &config, &resp, &user_id, &mut invited);
                state.set(SINCE, &resp.next_batch)?;
                tracing::info!("matrix: first start; the rooms' earlier messages are skipped");
                resp.next_batch
            }
        };
        let epoch = state
            .get(TXN_EPOCH)?
            .and_then(|e| e.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        state.set(TXN_EPOCH, &epoch.to_string())?;
        let (tx, batches) = mpsc::channel(4);
        let fatal = Arc::new(Mutex::new(None));
        let sync_loop = SyncLoop {
            api: api.clone(),
            config: config.clone(),
            state: state.clone(),
            me: user_id.clone(),
            my_name,
            credentials,
            tx,
            fatal: fatal.clone(),
        };
        let sync_task = tokio::spawn(sync_loop.run(since));
        Ok(MatrixAdapter {
            homeserver: config.homeserver.clone(),
            user_id,
            batches,
            current: VecDeque::new(),
            unsaved: None,
            state,
            outbox: Some(Outbox::new(
                api,
                Arc::new(TxnIds::new(epoch)),
                RetryPolicy::SEND,
            )),
            sync_task,
            fatal,
            rooms,
        })
    }

    /// The bot's user id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn homeserver(&self) -> &str {
        &self.homeserver
    }

    /// The rooms the account was in at start.
    pub fn rooms(&self) -> usize {
        self.rooms.len()
    }

    /// Stops syncing and delivers what is still queued (waiting at most `within`). Returns
    /// the reason the sync stopped for good, if it did.
    pub async fn close(mut self, within: Duration) -> Result<(), MatrixError> {
        self.sync_task.abort();
        if let Some(outbox) = self.outbox.take() {
            outbox.close(within).await;
        }
        match self.fatal.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Stores the position after the batch whose messages have all been handed out.
    fn save_position(&mut self) {
        if let Some(token) = self.unsaved.take() {
            if let Err(e) = self.state.set(SINCE, &token) {
                tracing::error!(
                    "matrix: cannot store the sync position: {e}; after a restart, recent messages may be handled again"
                );
            }
        }
    }
}

impl super::Adapter for MatrixAdapter {
    fn recv(&mut self) -> BoxFuture<'_, Option<Message>> {
        Box::pin(async move {
            loop {
                if let Some(m) = self.current.pop_front() {
                    return Some(m);
                }
                // every message of the previous batch was taken by the bot (`serve` asks
                // for the next one only after starting to handle the last)
                self.save_position();
                let batch = self.batches.recv().await?;
                self.current = batch.messages.into();
                self.unsaved = Some(batch.next_batch);
            }
        })
    }

    fn send(&mut self, out: &Outgoing) -> BoxFuture<'_, std::io::Result<()>> {
        match out.channel.strip_prefix(CHANNEL_PREFIX) {
            Some(room) if !out.text.trim().is_empty() || !out.charts.is_empty() => {
                if let Some(outbox) = self.outbox.as_mut() {
                    outbox.push(room, out.clone());
                }
            }
            Some(_) => {}
            None => tracing::warn!(
                "matrix: not delivering a message for channel {} (not a Matrix room): {}",
                out.channel,
                out.text.lines().next().unwrap_or_default()
            ),
        }
        Box::pin(async { Ok(()) })
    }

    fn shows_images(&self) -> bool {
        true
    }
}
