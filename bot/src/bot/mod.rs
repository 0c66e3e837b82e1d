//! The bot: one message in, replies out. [`Bot::handle`] sanitizes a message, asks the
//! policy to admit it, routes it (an exact command, an answer to an open question, or free
//! text for the parser), dispatches it to its handler and redacts the replies;
//! [`Bot::pushes_for`] turns the platform's events into pushed updates, each in its reader's
//! language.

use crate::config::Config;
use crate::dialog::{Dialog, Step};
use crate::handlers::{Ctx, Response};
use crate::intent::Intent;
use crate::jobs::{ExecEvent, JobPlatform, Status};
use crate::policy::Policy;
use crate::store::Store;
use chrono::{DateTime, Utc};
use nlu::{Outcome, ParseResult};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

use crate::domain::chat::{Button, ButtonStyle, Message, Outgoing};

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
            .get_dialog(&msg.user, &msg.channel)
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
            if let Err(e) = self.store.set_last_lang(&msg.user, l) {
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
            if let Err(e) = self.store.set_thread(*id, &msg.channel, thread) {
                tracing::warn!("cannot remember the thread of #{id}: {e}");
            }
        }
    }

    async fn handle_admitted(&self, msg: &Message, lang: crate::i18n::Lang) -> Response {
        let text = msg.text.as_str();
        let now = crate::clock::now();
        let ctx = Ctx {
            bot: self.services(),
            msg,
            now,
            lang,
        };
        let mut notes = Vec::new();
        let dialog = match self.load_dialog(&msg.user, &msg.channel, now) {
            Ok(DialogLoad::Active(d)) => Some(d),
            Ok(DialogLoad::Expired(d)) => {
                notes.push(tr!(lang, "question-expired", topic = d.topic(lang)));
                None
            }
            Ok(DialogLoad::None) => None,
            Err(e) => {
                tracing::warn!("cannot load the dialog: {e}");
                None
            }
        };
        let mut response = self.route(&ctx, text, dialog).await;
        self.remember_thread(msg, &response);
        if !notes.is_empty() {
            let mut texts = notes;
            texts.append(&mut response.texts);
            response.texts = texts;
        }
        response
    }

    async fn route(&self, ctx: &Ctx<'_>, text: &str, dialog: Option<Dialog>) -> Response {
        let catalog = self.platform.catalog();
        if let Some(r) = crate::handlers::lang::try_handle(ctx, text).await {
            return r;
        }
        if let Some(r) = crate::handlers::approve::try_handle(ctx, text).await {
            return r;
        }
        if let Some(cmd) = crate::router::parse_command(text, ctx.now) {
            let parse = match cmd {
                Ok(p) => p,
                Err(e) => return Response::text(command_error(&e, text, ctx.lang).reply(ctx.lang)),
            };
            if let Some(d) = &dialog {
                if matches!(
                    Intent::of(&parse.intent.name),
                    Intent::Affirm | Intent::Deny
                ) {
                    let word = if parse.intent.name == Intent::Affirm {
                        "yes"
                    } else {
                        "no"
                    };
                    return self
                        .on_step(
                            ctx,
                            crate::dialog::answer(d, word, Some(&parse), catalog, ctx.lang),
                        )
                        .await;
                }
            }
            return self.dispatch(ctx, &parse).await;
        }
        let parse = match self.parse(text, ctx.lang).await {
            Ok(p) => Some(p),
            Err(e) => {
                if dialog.is_none() {
                    return Response::text(e);
                }
                None
            }
        };
        let mut dropped = None;
        if let Some(d) = &dialog {
            let step = crate::dialog::answer(d, text, parse.as_ref(), catalog, ctx.lang);
            if step != Step::NotAnAnswer {
                return self.on_step(ctx, step).await;
            }
            // a new request: the open question goes, and the user is told
            self.clear_dialog(ctx);
            dropped = Some(tr!(
                ctx.lang,
                "question-dropped",
                subject = d.subject(ctx.lang)
            ));
        }
        let mut response = match parse {
            Some(p) => self.dispatch(ctx, &p).await,
            None => Response::text(tr!(ctx.lang, "no-free-text")),
        };
        if let Some(note) = dropped {
            response.texts.insert(0, note);
        }
        response
    }

    async fn on_step(&self, ctx: &Ctx<'_>, step: Step) -> Response {
        match step {
            Step::Continue(draft) => crate::handlers::run::proceed(ctx, draft, Vec::new()).await,
            Step::Confirmed(draft) => crate::handlers::run::execute(ctx, draft).await,
            Step::Retry { message, dialog } => {
                let mut r = Response::text(message);
                let catalog = self.platform.catalog();
                match &dialog {
                    Dialog::Collecting {
                        draft,
                        param: Some(p),
                        ..
                    } => {
                        if let Some(job) = draft.job.as_deref().and_then(|j| catalog.job(j)) {
                            r.push(crate::handlers::run::ask_prompt(catalog, job, p, ctx.lang));
                        }
                    }
                    // the question again, with its buttons
                    Dialog::Confirming { draft } => {
                        if let Some(job) = draft.job.as_deref().and_then(|j| catalog.job(j)) {
                            r.extend(crate::handlers::run::confirm_question(ctx, job, draft));
                        }
                    }
                    _ => {}
                }
                match self
                    .services()
                    .save_dialog(&ctx.msg.user, &ctx.msg.channel, &dialog, ctx.now)
                {
                    Ok(()) => r,
                    Err(e) => Response::text(
                        crate::policy::UserError::internal(ctx.lang, e).reply(ctx.lang),
                    ),
                }
            }
            Step::Abandon(msg) => {
                self.clear_dialog(ctx);
                Response::text(msg)
            }
            Step::Clarified(parse) => {
                self.clear_dialog(ctx);
                self.dispatch(ctx, &parse).await
            }
            Step::NotAnAnswer => Response::default(),
        }
    }

    fn clear_dialog(&self, ctx: &Ctx<'_>) {
        if let Err(e) = self.store.delete_dialog(&ctx.msg.user, &ctx.msg.channel) {
            tracing::warn!("cannot delete a dialog: {e}");
        }
    }

    /// Counts a handled request for the user's personal help (runs and deploys are counted
    /// when they execute, with their parameters).
    fn record_usage(&self, ctx: &Ctx<'_>, parse: &ParseResult) {
        if parse.outcome != Outcome::Understood {
            return;
        }
        let intent = Intent::of(&parse.intent.name);
        if !matches!(
            intent,
            Intent::JobStatus
                | Intent::WatchJob
                | Intent::CancelJob
                | Intent::ListJobs
                | Intent::JobHistory
        ) {
            return;
        }
        let job = crate::handlers::entity(parse, nlu::EntityKind::JOB)
            .and_then(|j| crate::values::resolve_job(self.platform.catalog(), j))
            .map(|j| j.id.clone());
        if let Err(e) = self.store.record_usage(
            &ctx.msg.user,
            intent.as_str(),
            job.as_deref(),
            &Default::default(),
            ctx.now,
        ) {
            tracing::warn!("cannot count the usage: {e}");
        }
    }

    /// Runs the handler of a parse result.
    pub async fn dispatch(&self, ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
        self.record_usage(ctx, parse);
        match parse.outcome {
            Outcome::Clarify => {
                if let Some(c) = parse
                    .clarification
                    .as_ref()
                    .filter(|c| !c.options.is_empty())
                {
                    let options: Vec<String> = c
                        .options
                        .iter()
                        .enumerate()
                        .map(|(i, o)| format!("  {}. {}", i + 1, option_label(o, ctx.lang)))
                        .collect();
                    let text = tr!(ctx.lang, "clarify", options = options.join("\n"));
                    let d = Dialog::Clarifying {
                        options: c.options.clone(),
                        parse: parse.clone(),
                    };
                    return match self.services().save_dialog(
                        &ctx.msg.user,
                        &ctx.msg.channel,
                        &d,
                        ctx.now,
                    ) {
                        Ok(()) => Response {
                            buttons: clarify_buttons(&c.options, ctx.lang),
                            ..Response::text(text)
                        },
                        Err(e) => Response::text(
                            crate::policy::UserError::internal(ctx.lang, e).reply(ctx.lang),
                        ),
                    };
                }
                crate::handlers::fallback::handle(ctx, parse).await
            }
            Outcome::OutOfScope => crate::handlers::fallback::handle(ctx, parse).await,
            Outcome::Understood => match Intent::of(&parse.intent.name) {
                Intent::RunJob => {
                    crate::handlers::run::start(ctx, parse, Intent::RunJob, None).await
                }
                Intent::DeployApp => crate::handlers::deploy::handle(ctx, parse).await,
                Intent::JobStatus => crate::handlers::status::handle(ctx, parse).await,
                Intent::WatchJob => crate::handlers::watch::handle(ctx, parse).await,
                Intent::CancelJob => crate::handlers::cancel::handle(ctx, parse).await,
                Intent::ListJobs => crate::handlers::list::handle(ctx, parse).await,
                Intent::JobHistory => crate::handlers::history::handle(ctx, parse).await,
                Intent::Help => crate::handlers::help::handle(ctx, parse).await,
                Intent::Smalltalk => crate::handlers::smalltalk::handle(ctx, parse).await,
                Intent::Affirm | Intent::Deny => Response::text(tr!(ctx.lang, "nothing-waiting")),
                Intent::OutOfScope => crate::handlers::fallback::handle(ctx, parse).await,
            },
        }
    }

    /// Parses free text on a blocking thread.
    async fn parse(&self, text: &str, lang: crate::i18n::Lang) -> Result<ParseResult, String> {
        let Some(parser) = self.parser.clone() else {
            return Err(tr!(lang, "no-model"));
        };
        let text = text.to_string();
        // times ("tonight at 11pm") are resolved against the bot's clock
        let now = crate::clock::now().with_timezone(&parser.time_zone());
        let parsed = tokio::task::spawn_blocking(move || {
            parser.parse_at(&text, now).map_err(|e| e.to_string())
        });
        match parsed.await {
            Ok(Ok(p)) => {
                tracing::debug!(intent = %p.intent.name, confidence = p.intent.confidence, outcome = ?p.outcome, "parsed");
                Ok(p)
            }
            Ok(Err(e)) => Err(crate::policy::UserError::internal(lang, e).reply(lang)),
            Err(e) => Err(crate::policy::UserError::internal(lang, e).reply(lang)),
        }
    }

    fn load_dialog(
        &self,
        user: &str,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<DialogLoad, String> {
        let Some(stored) = self
            .store
            .get_dialog(user, channel)
            .map_err(|e| e.to_string())?
        else {
            return Ok(DialogLoad::None);
        };
        let d: Dialog = match serde_json::from_str(&stored.state) {
            Ok(d) => d,
            Err(e) => {
                let _ = self.store.delete_dialog(user, channel);
                return Err(format!("dropped an unreadable dialog: {e}"));
            }
        };
        if stored.expires_at <= now {
            self.store
                .delete_dialog(user, channel)
                .map_err(|e| e.to_string())?;
            return Ok(DialogLoad::Expired(d));
        }
        Ok(DialogLoad::Active(d))
    }
}

/// The label of a clarification option in the reply's language: the model's label in
/// English; in Chinese the intent's or the entity kind's own words (a model's own intents
/// keep its label).
pub fn option_label(o: &nlu::ClarifyOption, lang: crate::i18n::Lang) -> String {
    if lang == crate::i18n::Lang::En {
        return o.label.clone();
    }
    if let Some(e) = &o.entity {
        return tr!(
            lang,
            "option-entity",
            value = &e.value,
            kind = crate::intent::entity_word(&e.entity, lang)
        );
    }
    match Intent::of(&o.intent) {
        Intent::OutOfScope if !o.intent.is_out_of_scope() => o.label.clone(),
        i => crate::intent::label(i, lang),
    }
}

/// One button per clarification option: its label, sending its number.
pub fn clarify_buttons(options: &[nlu::ClarifyOption], lang: crate::i18n::Lang) -> Vec<Button> {
    options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            Button::new(
                option_label(o, lang),
                (i + 1).to_string(),
                ButtonStyle::Default,
            )
        })
        .collect()
}

/// The classified error for a command line that could not be read.
pub fn command_error(
    e: &crate::router::CommandError,
    text: &str,
    lang: crate::i18n::Lang,
) -> crate::policy::UserError {
    use crate::router::CommandError as C;
    match e {
        C::Unknown(c) => {
            let err =
                crate::policy::UserError::not_found(tr!(lang, "no-such-command", command = c));
            match crate::router::command_suggestions(text, c).as_slice() {
                [] => err.suggest(tr!(lang, "say-help")),
                [one] => err.suggest(tr!(lang, "did-you-mean", suggestion = one)),
                several => err.suggest(tr!(
                    lang,
                    "did-you-mean-one-of",
                    suggestions = several.join(", ")
                )),
            }
        }
        C::Usage(usage) => crate::policy::UserError::invalid(tr!(
            lang,
            "command-usage",
            usage = usage.syntax(lang)
        )),
        C::Quote => crate::policy::UserError::invalid(tr!(lang, "command-quote")),
        C::BadTime(t) => crate::policy::UserError::invalid(tr!(lang, "command-bad-time", time = t)),
        C::BadId(id) => crate::policy::UserError::invalid(tr!(lang, "command-bad-id", id = id)),
        C::RepeatedKey(k) => {
            crate::policy::UserError::invalid(tr!(lang, "command-repeated-key", key = k))
        }
    }
}

enum DialogLoad {
    None,
    Active(Dialog),
    Expired(Dialog),
}
