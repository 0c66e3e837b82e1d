//! `!lang`: the language the bot answers a user in. `!lang zh` / `!lang en` fixes it (kept
//! in the store, so it survives restarts); `!lang auto` goes back to following the user's
//! messages; `!lang` alone says which it is.

use super::{Ctx, Response};
use crate::i18n::Lang;

/// Handles `!lang`; `None` when the text is not that command.
pub async fn try_handle(ctx: &Ctx<'_>, text: &str) -> Option<Response> {
    let body = text.trim().strip_prefix('!')?;
    let mut words = body.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("lang") {
        return None;
    }
    let arg = words.next();
    if words.next().is_some() {
        return Some(usage(ctx.lang));
    }
    let store = &ctx.bot.store;
    let user = &ctx.msg.user;
    let reply = match arg.map(str::to_ascii_lowercase).as_deref() {
        None => match store.langs().get(user) {
            Ok(l) => match l.preferred {
                Some(p) => tr!(ctx.lang, "lang-fixed", lang = p.as_str()),
                None => tr!(ctx.lang, "lang-auto", lang = ctx.lang.as_str()),
            },
            Err(e) => crate::policy::UserError::internal(ctx.lang, e).reply(ctx.lang),
        },
        Some("auto") => match store.langs().set_preferred(user, None) {
            Ok(()) => tr!(ctx.lang, "lang-now-auto"),
            Err(e) => crate::policy::UserError::internal(ctx.lang, e).reply(ctx.lang),
        },
        Some(a) => match a.parse::<Lang>() {
            Ok(l) => match store.langs().set_preferred(user, Some(l)) {
                Ok(()) => tr!(l, "lang-now-fixed", lang = l.as_str()),
                Err(e) => crate::policy::UserError::internal(ctx.lang, e).reply(ctx.lang),
            },
            Err(_) => return Some(usage(ctx.lang)),
        },
    };
    Some(Response::text(reply))
}

fn usage(lang: Lang) -> Response {
    Response::text(crate::policy::UserError::invalid(tr!(lang, "lang-usage")).reply(lang))
}
