//! One module per intent. A handler gets the parse result (from the parser or an exact
//! command) and the context, checks the policy, talks to the job platform and returns the
//! reply; anything it claims has happened is stored before it returns.

pub mod approve;
pub mod cancel;
pub mod deploy;
pub mod fallback;
pub mod help;
pub mod history;
pub mod lang;
pub mod list;
pub mod run;
pub mod smalltalk;
pub mod status;
pub mod watch;

use crate::config::Config;
use crate::dialog::{Dialog, DialogChange};
use crate::domain::chat::Message;
use crate::i18n::Lang;
use crate::jobs::JobPlatform;
use crate::jobs::{ExecId, ExecRequest, Execution, HistoryQuery, Status};
use crate::policy::Policy;
use crate::policy::{Action, Actor, Decision, UserError};
use crate::store::Store;
use chrono::{DateTime, Utc};
use nlu::{EntityKind, ParseResult};

/// What a handler answers.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Response {
    /// Reply texts, in order.
    pub texts: Vec<String>,
    /// Executions the conversation now follows (started or watched).
    pub track: Vec<ExecId>,
    /// Charts to attach (adapters that show images get PNGs; the text forms are in `texts`).
    pub charts: Vec<crate::render::charts::Chart>,
    /// Quick answers to offer with the last text (chats that have buttons show them).
    pub buttons: Vec<crate::Button>,
    /// What becomes of the user's open question (the router saves or drops it).
    pub dialog: DialogChange,
}

impl Response {
    pub fn text(s: impl Into<String>) -> Self {
        Response {
            texts: vec![s.into()],
            ..Default::default()
        }
    }

    pub fn push(&mut self, s: impl Into<String>) {
        self.texts.push(s.into());
    }

    pub fn extend(&mut self, other: Response) {
        self.texts.extend(other.texts);
        self.track.extend(other.track);
        self.charts.extend(other.charts);
        self.buttons.extend(other.buttons);
        if other.dialog != DialogChange::Keep {
            self.dialog = other.dialog;
        }
    }

    /// The same response, asking the router to wait for an answer to `dialog`.
    pub fn asking(mut self, dialog: Dialog) -> Self {
        self.dialog = DialogChange::Ask(dialog);
        self
    }

    /// The same response, asking the router to drop the open question.
    pub fn closing(mut self) -> Self {
        self.dialog = DialogChange::Close;
        self
    }
}

/// What handlers may use of the bot: its configuration, storage, job platform and policy
/// (the bot itself, and its parser, stay above them).
#[derive(Clone, Copy)]
pub struct Services<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub platform: &'a dyn JobPlatform,
    pub policy: &'a dyn Policy,
}

/// Everything a handler needs.
pub struct Ctx<'a> {
    pub bot: Services<'a>,
    pub msg: &'a Message,
    pub now: DateTime<Utc>,
    /// The language of the replies ([`crate::bot::Bot::reply_lang`]).
    pub lang: Lang,
}

impl Ctx<'_> {
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.msg.user.clone(),
            channel: self.msg.channel.clone(),
            platform: self.msg.platform().to_string(),
            text: self.msg.text.clone(),
            lang: self.lang,
        }
    }

    /// Asks the platform to run `req` (a run time within a second of now means now). A
    /// failure is recorded with the policy as `actor`'s and comes back as the reply.
    pub async fn execute(
        &self,
        actor: &Actor,
        mut req: ExecRequest,
    ) -> Result<Execution, Response> {
        req.run_at = req
            .run_at
            .filter(|t| *t > self.now + chrono::Duration::seconds(1));
        let job = req.job.clone();
        self.bot.platform.execute(req).await.map_err(|err| {
            let lang = self.lang;
            let e = UserError::platform(tr!(lang, "start-failed", job = &job), &err);
            let result = format!("error {}: {err}", e.id);
            self.bot
                .policy
                .record_result(actor, Some(&job), None, &result);
            Response::text(e.reply(lang))
        })
    }

    /// Whether the asking user may run a job (help and the job list show only these).
    pub fn may_run(&self, job: &str) -> bool {
        self.bot.policy.may_run(&self.actor(), job)
    }

    /// Asks the policy; `Some(reply)` when refused.
    pub fn refused(&self, action: &Action<'_>) -> Option<Response> {
        Self::refusal(self.bot.policy.check(&self.actor(), action), self.lang)
    }

    /// The reply for a decision that is not `Allow`.
    pub fn refusal(decision: Decision, lang: Lang) -> Option<Response> {
        match decision {
            Decision::Allow => None,
            Decision::Deny(reason) => Some(Response::text(tr!(lang, "refused", reason = reason))),
            Decision::Refuse(e) => Some(Response::text(e.reply(lang))),
            Decision::NeedsApproval(n) => Some(Response::text(
                UserError::policy(tr!(
                    lang,
                    "needs-approval-by-role",
                    reason = n.reason,
                    role = n.role
                ))
                .reply(lang),
            )),
        }
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.bot.config.time_zone
    }
}

/// The first entity of a kind.
pub fn entity(parse: &ParseResult, kind: EntityKind) -> Option<&str> {
    parse
        .entities
        .iter()
        .find(|e| e.entity == kind)
        .map(|e| e.value.as_str())
}

/// Reads a `time` entity: an instant, or `START/END`.
pub fn time_range(value: &str) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let p = |s: &str| {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    match value.split_once('/') {
        Some((a, b)) => Some((p(a)?, Some(p(b)?))),
        None => Some((p(value)?, None)),
    }
}

/// The reason the user gave for a request ("cancel 4812 because it hangs"): the value of a
/// `reason=` parameter, read by the entity tagger or written out.
///
/// ```
/// let parse = |param: &str| -> nlu::ParseResult {
///     let json = format!(
///         r#"{{"text": "t", "intent": {{"name": "cancel_job", "confidence": 0.9}},
///              "intent_ranking": [], "outcome": "understood", "clarification": null,
///              "entities": [{{"entity": "param", "value": "{param}", "start": 0, "end": 1,
///                             "text": "t", "confidence": 0.8, "extractor": "tagger"}}]}}"#
///     );
///     serde_json::from_str(&json).unwrap()
/// };
/// assert_eq!(bot::handlers::stated_reason(&parse("reason=it hangs")), Some("it hangs"));
/// assert_eq!(bot::handlers::stated_reason(&parse("replicas=4")), None);
/// ```
pub fn stated_reason(parse: &ParseResult) -> Option<&str> {
    parse
        .entities
        .iter()
        .filter(|e| e.entity == EntityKind::PARAM)
        .find_map(|e| e.value.strip_prefix("reason="))
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

/// Which execution a status/watch/cancel message is about: an id, else the latest run of a
/// named job, else the latest run; without an id the asker's own runs come first ("cancel
/// it" is about what they started, not about a colleague's newer run), and with
/// `prefer_active` one still going is preferred.
pub async fn target_execution(
    ctx: &Ctx<'_>,
    parse: &ParseResult,
    prefer_active: bool,
) -> Result<Execution, String> {
    let platform = &ctx.bot.platform;
    let lang = ctx.lang;
    if let Some(id) = entity(parse, EntityKind::EXECUTION_ID) {
        let id: ExecId = id
            .parse()
            .map_err(|_| tr!(lang, "not-an-execution-id", id = id))?;
        return platform
            .status(id)
            .await
            .map_err(|e| platform_error(&e, lang));
    }
    let job = match entity(parse, EntityKind::JOB) {
        Some(j) => match crate::values::resolve_job(platform.catalog(), j) {
            Some(job) => Some(job.id.clone()),
            None => {
                return Err(match crate::values::suggest_job(platform.catalog(), j) {
                    Some(s) => tr!(lang, "unknown-job-did-you-mean", name = j, suggestion = s),
                    None => tr!(lang, "unknown-job", name = j),
                })
            }
        },
        None => None,
    };
    let recent = platform
        .history(HistoryQuery {
            job: job.clone(),
            limit: 50,
            ..Default::default()
        })
        .await
        .map_err(|e| platform_error(&e, lang))?;
    // "it" is the asker's own latest run when they have one among the recent ones, else anyone's
    let own: Vec<&Execution> = recent
        .iter()
        .filter(|e| e.requested_by == ctx.msg.user)
        .collect();
    let pool = if own.is_empty() {
        recent.iter().collect()
    } else {
        own
    };
    let pick = if prefer_active {
        pool.iter()
            .find(|e| e.status == Status::Running)
            .or_else(|| pool.iter().find(|e| e.status == Status::Scheduled))
            .or_else(|| pool.first())
    } else {
        pool.first()
    };
    let Some(e) = pick else {
        return Err(match job {
            Some(j) => tr!(lang, "job-not-run-yet", job = j),
            None => tr!(lang, "nothing-run-yet"),
        });
    };
    platform
        .status(e.id)
        .await
        .map_err(|e| platform_error(&e, lang))
}

/// A platform error in the user's words (a remote platform's own message stays as it is).
pub fn platform_error(e: &crate::jobs::PlatformError, lang: Lang) -> String {
    use crate::jobs::PlatformError as P;
    match e {
        P::UnknownJob(job) => tr!(lang, "unknown-job", name = job),
        P::NotFound(id) => tr!(lang, "exec-not-found", id = *id),
        P::AlreadyEnded { id, status } => tr!(
            lang,
            "exec-already-ended",
            id = *id,
            status = crate::render::status(*status, lang)
        ),
        P::Backend(err) => UserError::internal(lang, err).reply(lang),
        P::Other(text) => text.clone(),
    }
}

/// [`target_execution`], when the asker may read it; else the reply that says why not.
pub async fn readable_execution(
    ctx: &Ctx<'_>,
    parse: &ParseResult,
    prefer_active: bool,
) -> Result<Execution, Response> {
    let e = target_execution(ctx, parse, prefer_active)
        .await
        .map_err(Response::text)?;
    match ctx.refused(&Action::ReadExecution {
        id: e.id,
        job: &e.job,
    }) {
        Some(r) => Err(r),
        None => Ok(e),
    }
}

/// The full report of an execution, with the job's recent figures and charts when it has
/// ended.
pub async fn full_report(ctx: &Ctx<'_>, e: &Execution) -> Response {
    let mut charts = Vec::new();
    let stats = if e.status.is_terminal() {
        let recent = ctx
            .bot
            .platform
            .history(HistoryQuery {
                job: Some(e.job.clone()),
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap_or_default();
        charts = crate::render::summary_charts(e, &recent, ctx.lang);
        Some(crate::render::job_stats(e, &recent, ctx.now))
    } else {
        None
    };
    let text = crate::render::with_chart_texts(
        crate::render::report(e, stats.as_ref(), ctx.tz(), ctx.lang, ctx.now),
        &charts,
    );
    Response {
        texts: vec![text],
        charts,
        ..Default::default()
    }
}
