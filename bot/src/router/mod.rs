//! Routing: a message is either an exact command (`!run backup-database target=db-01`,
//! read by [`commands`]), which bypasses the classifier with confidence 1.0, an answer to the
//! user's open question ([`crate::dialog`]), or free text for the parser. Commands and free
//! text both end as a [`ParseResult`], so the same handlers serve both.
//!
//! The [`Router`] loads the open question, picks the handler, and is the only writer of
//! dialog state: a handler returns the next state in its [`Response`]'s `dialog`, and
//! [`Router::apply_dialog`] saves or drops it.

pub mod commands;

pub use commands::*;

use crate::dialog::{Dialog, DialogChange, Step};
use crate::domain::chat::{Button, ButtonStyle, Message};
use crate::handlers::{Ctx, Response, Services};
use crate::intent::Intent;
use crate::store::StoredDialog;
use chrono::{DateTime, Utc};
use nlu::{Outcome, ParseResult};
use std::sync::Arc;

/// Routes admitted messages to their handlers, over what handlers may use and the parser.
pub struct Router<'a> {
    pub services: Services<'a>,
    /// None when the parser could not be loaded: exact commands still work.
    pub parser: Option<&'a Arc<nlu::Parser>>,
}

impl Router<'_> {
    /// Routes an admitted message in `lang`: loads the user's open question, routes the
    /// message (an exact command, an answer, or free text for the parser), runs its handler
    /// and saves or drops the question as the reply says.
    pub async fn handle(&self, msg: &Message, lang: crate::i18n::Lang) -> Response {
        let text = msg.text.as_str();
        let now = crate::clock::now();
        let ctx = Ctx {
            bot: self.services,
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
        let response = self.route(&ctx, text, dialog).await;
        let mut response = self.apply_dialog(&ctx, response);
        if !notes.is_empty() {
            let mut texts = notes;
            texts.append(&mut response.texts);
            response.texts = texts;
        }
        response
    }

    async fn route(&self, ctx: &Ctx<'_>, text: &str, dialog: Option<Dialog>) -> Response {
        let catalog = self.services.platform.catalog();
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
            response = superseding(response);
        }
        response
    }

    async fn on_step(&self, ctx: &Ctx<'_>, step: Step) -> Response {
        match step {
            Step::Continue(draft) => crate::handlers::run::proceed(ctx, draft, Vec::new()).await,
            Step::Confirmed(draft) => crate::handlers::run::execute(ctx, draft).await,
            Step::Retry { message, dialog } => {
                let mut r = Response::text(message);
                let catalog = self.services.platform.catalog();
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
                r.asking(dialog)
            }
            Step::Abandon(msg) => Response::text(msg).closing(),
            Step::Clarified(parse) => superseding(self.dispatch(ctx, &parse).await),
            Step::NotAnAnswer => Response::default(),
        }
    }

    /// Carries out what a reply does to the open question: saves the new one (expiring
    /// after `[bot] dialog_timeout`) or drops it. The only place dialogs are written.
    pub fn apply_dialog(&self, ctx: &Ctx<'_>, mut response: Response) -> Response {
        match std::mem::take(&mut response.dialog) {
            DialogChange::Keep => response,
            DialogChange::Close => {
                self.clear_dialog(ctx);
                response
            }
            DialogChange::Ask(d) => match self.save_dialog(ctx, &d) {
                Ok(()) => response,
                Err(e) => {
                    Response::text(crate::policy::UserError::internal(ctx.lang, e).reply(ctx.lang))
                }
            },
        }
    }

    fn save_dialog(&self, ctx: &Ctx<'_>, d: &Dialog) -> Result<(), String> {
        let state = serde_json::to_string(d).map_err(|e| e.to_string())?;
        let ttl = chrono::Duration::from_std(self.services.config.dialog_timeout)
            .unwrap_or_else(|_| chrono::Duration::minutes(10));
        let stored = StoredDialog {
            state,
            updated_at: ctx.now,
            expires_at: ctx.now + ttl,
        };
        self.services
            .store
            .dialogs()
            .put(&ctx.msg.user, &ctx.msg.channel, &stored)
            .map_err(|e| e.to_string())
    }

    fn clear_dialog(&self, ctx: &Ctx<'_>) {
        if let Err(e) = self
            .services
            .store
            .dialogs()
            .delete(&ctx.msg.user, &ctx.msg.channel)
        {
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
            .and_then(|j| crate::values::resolve_job(self.services.platform.catalog(), j))
            .map(|j| j.id.clone());
        if let Err(e) = self.services.store.usage().record(
            &ctx.msg.user,
            intent.as_str(),
            job.as_deref(),
            &Default::default(),
            ctx.now,
        ) {
            tracing::warn!("cannot count the usage: {e}");
        }
    }

    /// Runs the handler of a parse result; the question it asks is in the response's
    /// `dialog`, for [`Router::apply_dialog`].
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
                    let r = Response {
                        buttons: clarify_buttons(&c.options, ctx.lang),
                        ..Response::text(text)
                    };
                    return r.asking(d);
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
        let Some(parser) = self.parser.cloned() else {
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
            .services
            .store
            .dialogs()
            .get(user, channel)
            .map_err(|e| e.to_string())?
        else {
            return Ok(DialogLoad::None);
        };
        let d: Dialog = match serde_json::from_str(&stored.state) {
            Ok(d) => d,
            Err(e) => {
                let _ = self.services.store.dialogs().delete(user, channel);
                return Err(format!("dropped an unreadable dialog: {e}"));
            }
        };
        if stored.expires_at <= now {
            self.services
                .store
                .dialogs()
                .delete(user, channel)
                .map_err(|e| e.to_string())?;
            return Ok(DialogLoad::Expired(d));
        }
        Ok(DialogLoad::Active(d))
    }
}

/// A reply to something that replaced the open question: the question goes, unless the
/// reply asks a new one.
fn superseding(r: Response) -> Response {
    if r.dialog == DialogChange::Keep {
        r.closing()
    } else {
        r
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
    e: &commands::CommandError,
    text: &str,
    lang: crate::i18n::Lang,
) -> crate::policy::UserError {
    use commands::CommandError as C;
    match e {
        C::Unknown(c) => {
            let err =
                crate::policy::UserError::not_found(tr!(lang, "no-such-command", command = c));
            match commands::command_suggestions(text, c).as_slice() {
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
