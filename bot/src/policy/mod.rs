//! The permission seam: every execution, cancellation and read asks the [`Policy`] first.
//! [`AllowAll`] allows everything; [`guard::Guard`] is the real one: identities and roles
//! ([`access`]), approvals, change windows ([`windows`]), rate limits ([`rate_limit`]), the
//! audit trail ([`audit`]) and classified errors ([`errors`]), all decided in one place.

pub mod access;
pub mod audit;
mod decision;
pub mod errors;
pub mod guard;
pub mod rate_limit;
pub mod windows;

pub use crate::config::security::SecurityConfig;
pub use decision::{
    Action, Actor, AllowAll, ApprovalAsk, ApprovalFiled, ApprovalNeed, Decision, Policy,
};
pub use errors::{localize, ErrorClass, UserError};
pub use guard::Guard;

pub use crate::store::ApprovalRow;

/// The language to write to `user` of `channel` (`platform:id`) in, most binding first: the one they chose with `!lang`
/// (stored), the one `[access.users]` sets for them, the language of the message being
/// answered (`written`), the one they last wrote in, English.
///
/// ```
/// use bot::i18n::Lang;
/// use bot::policy::choose_lang;
/// use bot::store::Store;
/// let store = Store::open_in_memory().unwrap();
/// let zh = Some(Lang::Zh);
/// assert_eq!(choose_lang(&store, None, "terminal", "ann", zh), Lang::Zh);
/// store.langs().set_last("ann", Lang::Zh).unwrap();
/// assert_eq!(choose_lang(&store, None, "slack:C024", "ann", None), Lang::Zh);
/// store.langs().set_preferred("ann", Some(Lang::En)).unwrap();
/// assert_eq!(choose_lang(&store, None, "terminal", "ann", zh), Lang::En);
/// ```
pub fn choose_lang(
    store: &crate::store::Store,
    access: Option<&crate::config::security::Access>,
    channel: &str,
    user: &str,
    written: Option<crate::i18n::Lang>,
) -> crate::i18n::Lang {
    let platform = channel.split(':').next().unwrap_or(channel);
    let stored = store.langs().get(user).unwrap_or_else(|e| {
        tracing::warn!("cannot read the language of {user}: {e}");
        Default::default()
    });
    stored
        .preferred
        .or_else(|| access.and_then(|a| a.lang_of(&format!("{platform}:{user}"))))
        .or(written)
        .or(stored.last)
        .unwrap_or_default()
}

/// Strips control characters (and Unicode direction overrides) from a chat message.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| {
            !c.is_control()
                && !matches!(*c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        })
        .collect()
}
