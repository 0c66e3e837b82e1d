//! Wiring shared by every way of running the bot: storage, parser, job platform, policy and
//! the notifier, started in that order. Each adapter's command in `main.rs` builds an
//! [`App`], serves its chat with [`serve::serve`] and ends with [`App::finish`].

pub mod serve;

pub use serve::{serve, ServeOptions};

use crate::adapters::Adapter;
use crate::bot::Bot;
use crate::config::Config;
use crate::domain::chat::Outgoing;
use crate::jobs::local::LocalPlatform;
use crate::jobs::{ExecId, HistoryQuery, JobPlatform};
use crate::policy::Guard;
use crate::store::lease::Lease;
use crate::store::Store;
use anyhow::Context;
use serve::drain;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A started bot: its parts and the stream of pushed updates.
pub struct App {
    pub bot: Arc<Bot>,
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub platform: LocalPlatform,
    /// Status updates and summaries to deliver (from the notifier).
    pub pushes: mpsc::UnboundedReceiver<Outgoing>,
    /// This bot's hold on the database (released by [`App::finish`], or when dropped).
    pub lease: Lease,
}

impl App {
    /// Opens the database, takes its lease (a second bot on the same database stops here,
    /// see [`crate::store::lease`]), loads the parser (without it only `!commands` work: the
    /// reason is printed), starts the notifier and the job platform (which recovers what an
    /// earlier process left: runs still scheduled, runs interrupted by a crash).
    pub async fn start(config: Config) -> anyhow::Result<App> {
        let store =
            Arc::new(Store::open(&config.database).with_context(|| {
                format!("cannot open the database {}", config.database.display())
            })?);
        Self::start_with_store(config, store).await
    }

    /// [`App::start`] with the database already open (an adapter that keeps its own state in
    /// it shares the one connection).
    pub async fn start_with_store(config: Config, store: Arc<Store>) -> anyhow::Result<App> {
        let lease = Self::lease(&config, store.clone())?;
        Self::start_leased(config, store, lease).await
    }

    /// Takes the lease of the database `store` (at `config.database`): an error naming the
    /// holder when another bot uses it.
    pub fn lease(config: &Config, store: Arc<Store>) -> anyhow::Result<Lease> {
        Ok(Lease::acquire(
            store,
            &config.database.display().to_string(),
        )?)
    }

    /// [`App::start_with_store`] with the lease already taken (by an adapter that writes its
    /// own state to the database before the bot starts).
    pub async fn start_leased(
        config: Config,
        store: Arc<Store>,
        lease: Lease,
    ) -> anyhow::Result<App> {
        sign_audit(&config, &store)?;
        let config = Arc::new(config);
        let parser = load_parser(&config).await;
        let platform = LocalPlatform::new(&config, store.clone());
        let guard = Arc::new(Guard::new(config.clone(), store.clone()));
        // scheduled and queued runs are re-checked against this configuration when due
        platform.set_start_check(guard.clone());
        let bot = Arc::new(Bot {
            config: config.clone(),
            store: store.clone(),
            platform: Arc::new(platform.clone()),
            policy: guard,
            parser,
        });
        let (tx, pushes) = mpsc::unbounded_channel();
        tokio::spawn(crate::run_notifier(bot.clone(), platform.events(), tx));
        platform
            .start()
            .await
            .context("cannot start the job platform")?;
        Ok(App {
            bot,
            config,
            store,
            platform,
            pushes,
            lease,
        })
    }

    /// Executions of `channel` not ended yet: the ones it started and the ones it watches
    /// (for [`serve::ServeOptions::follow`]).
    pub async fn open_executions(&self, channel: &str) -> Vec<ExecId> {
        let mut ids: Vec<ExecId> = self
            .platform
            .history(HistoryQuery {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.channel == channel && !e.status.is_terminal())
            .map(|e| e.id)
            .collect();
        ids.extend(
            self.store
                .follows()
                .open_subscriptions(channel)
                .unwrap_or_default(),
        );
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Stops the platform (running executions are stopped and reported), delivers the last
    /// updates through `adapter` and releases the database's lease.
    pub async fn finish(mut self, adapter: &mut dyn Adapter) {
        if self.platform.running_count() > 0 {
            eprintln!(
                "bot: stopping {} running execution(s)",
                self.platform.running_count()
            );
        }
        self.platform.shutdown().await;
        drain(adapter, &mut self.pushes, &self.platform).await;
        self.lease.release();
    }
}

/// Loads the parser on a blocking thread; None (and the reason on stderr) when it cannot.
async fn load_parser(config: &Config) -> Option<Arc<nlu::Parser>> {
    let model_dir: Result<PathBuf, String> = match &config.model_dir {
        Some(d) => Ok(d.clone()),
        None => nlu::default_model_dir().map_err(|e| e.to_string()),
    };
    let options = nlu::ParserOptions {
        catalog: Some(config.catalog.clone()),
        time_zone: config.time_zone,
        ..Default::default()
    };
    let loaded = tokio::task::spawn_blocking(move || {
        let dir = model_dir?;
        nlu::Parser::load_with(&dir, options).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    match loaded {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            eprintln!("bot: free text is off, only !commands work: {e}");
            None
        }
    }
}

/// Keys the audit trail: loads the audit key (creating it next to the database on the first
/// start, and saying so in the log), restores dropped append-only triggers (recording that
/// they were missing) and appends a checkpoint of the trail as it is.
fn sign_audit(config: &Config, store: &Store) -> anyhow::Result<()> {
    use crate::store::audit_key::{KeyOrigin, KeySource, KEY_ENV};
    let (key, origin) =
        KeySource::for_config(config).load_or_create(std::env::var(KEY_ENV).ok())?;
    if let KeyOrigin::Created(path) = &origin {
        tracing::warn!(
            key = %key.id(),
            "created the audit key {} (mode 0600); `bot audit verify` needs it: keep a copy away from the database (or set ${KEY_ENV} / `audit_key_file`)",
            path.display()
        );
    } else {
        tracing::info!(key = %key.id(), "audit key from {origin}");
    }
    store.set_audit_signer(crate::store::AuditSigner {
        key,
        checkpoints: config.audit_checkpoints_path(),
    });
    let restored = store
        .audit()
        .restore_triggers()
        .context("cannot restore the audit table's triggers")?;
    if !restored.is_empty() {
        let why = format!(
            "the append-only trigger(s) {} of the audit table were missing (dropped); restored",
            restored.join(", ")
        );
        tracing::error!("{why}; run `bot audit verify` to see what changed");
        let e = crate::policy::audit::Entry {
            kind: "integrity".into(),
            platform: "bot".into(),
            reason: Some(why),
            ..Default::default()
        };
        crate::policy::audit::append(store, crate::clock::now(), &e)
            .context("cannot record the restored triggers in the audit trail")?;
    }
    store
        .audit()
        .checkpoint()
        .context("cannot read the audit trail")?;
    Ok(())
}
