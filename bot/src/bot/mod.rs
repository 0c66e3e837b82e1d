//! The bot: one message in, replies out. [`Bot::handle`] sanitizes a message, asks the
//! policy to admit it, routes it (an exact command, an answer to an open question, or free
//! text for the parser), dispatches it to its handler and redacts the replies;
//! [`Bot::pushes_for`] turns the platform's events into pushed updates, each in its reader's
//! language.

use crate::config::Config;
use crate::dialog::Dialog;
use crate::handlers::{Ctx, Response};
use crate::jobs::{ExecEvent, JobPlatform, Status};
use crate::policy::Policy;
use crate::store::Store;
use nlu::ParseResult;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

use crate::domain::chat::{Message, Outgoing};

mod pushes;

pub use pushes::run_notifier;

/// The bot: parser, platform, policy and storage wired together.
pub struct Bot {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub platform: Arc<dyn JobPlatform>,
    pub policy: Arc<dyn Policy>,
    /// None when the parser could not be loaded: exact commands still work.
    pub parser: Option<Arc<nlu::Parser>>,
}

impl Bot {
    /// What handlers may use of the bot.
    pub fn services(&self) -> crate::handlers::Services<'_> {
        crate::handlers::Services {
            config: &self.config,
            store: &self.store,
            platform: self.platform.as_ref(),
            policy: self.policy.as_ref(),
        }
    }

    /// Handles one message and returns the replies (for the message's channel).
    pub async fn handle(&self, msg: &Message) -> Response {
        let raw_len = msg.text.len();
        let clean = crate::policy::sanitize(&msg.text);
        let text = clean.trim();
        if text.is_empty() {
            return Response::default();
        }
        let msg = &Message {
            text: text.to_string(),
            ..msg.clone()
        };
        let lang = self.reply_lang(msg);
        let actor = crate::policy::Actor {
            user: msg.user.clone(),
            channel: msg.channel.clone(),
            platform: msg.platform().to_string(),
            text: msg.text.clone(),
            lang,
        };
        // what a pending question for a secret parameter gets is secret too
        let answering = self
            .store
            .dialogs()
            .get(&msg.user, &msg.channel)
            .ok()
            .flatten()
            .and_then(|d| serde_json::from_str::<Dialog>(&d.state).ok())
            .and_then(|d| match d {
                Dialog::Collecting {
                    draft,
                    param: Some(p),
                    ..
                } => draft.job.map(|j| (j, p)),
                _ => None,
            });
        let policy = &self.policy;
        policy.learn(
            &msg.text,
            answering.as_ref().map(|(j, p)| (j.as_str(), p.as_str())),
        );
        let max = self.config.security.max_message_bytes;
        if let Err(reply) = policy.admit(&actor, raw_len, max) {
            return Response::text(reply);
        }
        let mut response = self.handle_admitted(msg, lang).await;
        for t in &mut response.texts {
            *t = policy.redact(t);
        }
        response
    }

    /// The language to answer `msg` in ([`crate::policy::choose_lang`]); remembers the language the user
    /// wrote in. Exact `!commands`, bare numbers and one-word yes/no answers ("ok", "no")
    /// say nothing about it.
    pub fn reply_lang(&self, msg: &Message) -> crate::i18n::Lang {
        let written = if msg.text.starts_with('!') {
            None
        } else {
            crate::i18n::Lang::detect_opt(&msg.text).filter(|l| {
                *l == crate::i18n::Lang::Zh
                    || !(crate::dialog::is_yes(&msg.text) || crate::dialog::is_cancel(&msg.text))
            })
        };
        if let Some(l) = written {
            if let Err(e) = self.store.langs().set_last(&msg.user, l) {
                tracing::warn!("cannot remember the language of {}: {e}", msg.user);
            }
        }
        crate::policy::choose_lang(
            &self.store,
            self.config.security.access.as_ref(),
            &msg.channel,
            &msg.user,
            written,
        )
    }

    /// The language to write to `user` of `channel` in when they did not just write
    /// (pushes, approval requests, scheduled-run reports).
    pub fn lang_of(&self, user: &str, channel: &str) -> crate::i18n::Lang {
        let access = self.config.security.access.as_ref();
        crate::policy::choose_lang(&self.store, access, channel, user, None)
    }

    /// Remembers the thread of `msg` for the executions a response follows.
    fn remember_thread(&self, msg: &Message, response: &Response) {
        let Some(thread) = &msg.thread else { return };
        for id in &response.track {
            if let Err(e) = self.store.follows().set_thread(*id, &msg.channel, thread) {
                tracing::warn!("cannot remember the thread of #{id}: {e}");
            }
        }
    }

    async fn handle_admitted(&self, msg: &Message, lang: crate::i18n::Lang) -> Response {
        let router = crate::router::Router {
            services: self.services(),
            parser: self.parser.as_ref(),
        };
        let response = router.handle(msg, lang).await;
        self.remember_thread(msg, &response);
        response
    }

    /// Runs the handler of a parse result and keeps the question it asks, if any (see
    /// [`crate::router::Router::dispatch`]).
    pub async fn dispatch(&self, ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
        let router = crate::router::Router {
            services: self.services(),
            parser: self.parser.as_ref(),
        };
        let response = router.dispatch(ctx, parse).await;
        router.apply_dialog(ctx, response)
    }
}
