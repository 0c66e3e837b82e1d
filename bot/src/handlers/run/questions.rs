//! The questions of a run: the prompt for a missing parameter, the confirmation of a sensitive
//! job, and the buttons that answer them.

use super::*;

/// The question that asks for a yes before a sensitive job runs, with its Yes and No buttons
/// (asked again, the same, when an answer is not a clear yes or no).
pub fn confirm_question(ctx: &Ctx<'_>, job: &Job, draft: &Draft) -> Response {
    let mut shown = draft.params.clone();
    for p in &job.parameters {
        if let (false, Some(d)) = (shown.contains_key(&p.name), &p.default) {
            shown.insert(p.name.clone(), d.clone());
        }
    }
    let lang = ctx.lang;
    let catalog = ctx.bot.platform.catalog();
    // apps and environments by their Chinese names too, in a Chinese question
    let params = if shown.is_empty() {
        crate::i18n::format::params(&shown, lang)
    } else {
        shown
            .iter()
            .map(|(k, v)| {
                let kind = job.parameters.iter().find(|p| &p.name == k).map(|p| p.kind);
                match kind {
                    Some(ParamKind::App | ParamKind::Environment) if lang != Lang::En => {
                        format!("{k}={}", values::shown_name(catalog, v, lang))
                    }
                    _ => crate::i18n::format::param(k, v),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = values::shown_name(catalog, &job.id, lang);
    let text = match draft.run_at.filter(|t| *t > ctx.now) {
        Some(t) => tr!(
            lang,
            "confirm-sensitive-at",
            job = name,
            at = crate::i18n::format::time(t, ctx.tz(), lang),
            params = params
        ),
        None => tr!(lang, "confirm-sensitive-now", job = name, params = params),
    };
    let text = match &draft.reason {
        Some(r) => format!("{text}\n{}", tr!(lang, "reason-line", reason = r.as_str())),
        None => text,
    };
    Response {
        buttons: confirm_buttons(job, &shown, lang),
        ..Response::text(text)
    }
}

/// The environment a run of `job` with `params` (defaults applied) is about, if any.
pub fn environment_of<'a>(job: &Job, params: &'a BTreeMap<String, String>) -> Option<&'a str> {
    job.parameters
        .iter()
        .find(|p| p.kind == ParamKind::Environment)
        .and_then(|p| params.get(&p.name))
        .map(String::as_str)
}

/// Whether an environment is production (where a wrong click matters most).
pub fn is_production(env: &str) -> bool {
    matches!(
        env.to_lowercase().as_str(),
        "production" | "prod" | "prd" | "live"
    )
}

/// The buttons of the confirmation of a sensitive job: Yes (Danger in production, else
/// Primary) and No.
pub fn confirm_buttons(
    job: &Job,
    shown: &BTreeMap<String, String>,
    lang: crate::i18n::Lang,
) -> Vec<Button> {
    let yes_style = if environment_of(job, shown).is_some_and(is_production) {
        ButtonStyle::Danger
    } else {
        ButtonStyle::Primary
    };
    vec![
        Button::new(tr!(lang, "button-yes"), "!yes", yes_style),
        Button::new(tr!(lang, "button-no"), "!no", ButtonStyle::Default),
    ]
}

/// The buttons of an approval request: "Approve #N" (Danger in production, else Primary)
/// and "Reject".
pub fn approval_buttons(id: i64, production: bool, lang: crate::i18n::Lang) -> Vec<Button> {
    vec![
        Button::new(
            tr!(lang, "button-approve", id = id),
            format!("!approve {id}"),
            if production {
                ButtonStyle::Danger
            } else {
                ButtonStyle::Primary
            },
        ),
        Button::new(
            tr!(lang, "button-reject"),
            format!("!reject {id}"),
            ButtonStyle::Default,
        ),
    ]
}

pub(super) fn ensure_stop(mut s: String, lang: crate::i18n::Lang) -> String {
    if !s.ends_with(['.', '?', '!', '。', '？', '！']) {
        s.push_str(&tr!(lang, "full-stop"));
    }
    s
}

/// The question for one parameter.
pub fn ask_prompt(catalog: &Catalog, job: &Job, name: &str, lang: crate::i18n::Lang) -> String {
    let Some(p) = job.parameters.iter().find(|p| p.name == name) else {
        return tr!(lang, "ask-unknown-param", name = name);
    };
    let choices = values::known_values(catalog, p);
    let kind = values::kind_words(p.kind, lang);
    // a range the schema sets (the implicit "0 or more" of counts goes unsaid)
    let what = if p.min_value.is_some() || p.max_value.is_some() {
        match (p.min(), p.max()) {
            (Some(lo), Some(hi)) => tr!(lang, "range-between", kind = kind, lo = lo, hi = hi),
            (Some(lo), None) => tr!(lang, "range-at-least", kind = kind, lo = lo),
            (None, Some(hi)) => tr!(lang, "range-at-most", kind = kind, hi = hi),
            (None, None) => kind,
        }
    } else {
        kind
    };
    let mut text = tr!(
        lang,
        "ask-needs",
        job = values::shown_name(catalog, &job.id, lang),
        name = &p.name,
        what = what
    );
    if choices.is_empty() {
        text.push_str(&tr!(lang, "ask-what"));
    } else {
        text.push_str(&tr!(lang, "ask-which"));
        for (i, c) in choices.iter().enumerate() {
            text.push_str(&format!(
                "\n  {}. {}",
                i + 1,
                values::shown_name(catalog, c, lang)
            ));
        }
    }
    if let Some(d) = &p.default {
        text.push('\n');
        text.push_str(&tr!(lang, "ask-default", value = d));
    }
    text.push('\n');
    text.push_str(&if choices.is_empty() {
        tr!(lang, "ask-cancel-hint")
    } else {
        tr!(lang, "ask-choose-hint")
    });
    text
}
