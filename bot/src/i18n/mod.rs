//! Every text the bot shows a person, in English and Chinese: Fluent message files
//! (`bot/locales/<lang>/*.ftl`, embedded at build time) looked up by key with named
//! arguments. Code never assembles a sentence itself; it names a message and passes
//! the values ([`tr!`](crate::tr)).
//!
//! Both files must hold the same keys with the same arguments: [`check`] says where they
//! differ, and a test runs it (and checks that every key the code names exists).
//!
//! ```
//! use bot::{i18n::Lang, tr};
//! assert_eq!(tr!(Lang::En, "exec-not-found", id = 4812), "There is no execution #4812.");
//! assert_eq!(tr!(Lang::Zh, "exec-not-found", id = 4812), "没有执行 #4812。");
//! ```

pub mod format;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub use nlu::Lang;

macro_rules! sources {
    ($($file:literal),*) => {
        &[
            $((Lang::En, concat!("en/", $file), include_str!(concat!("../../locales/en/", $file))),)*
            $((Lang::Zh, concat!("zh/", $file), include_str!(concat!("../../locales/zh/", $file))),)*
        ]
    };
}

/// The message files: (language, path under `bot/locales`, text). Each language has the
/// same files.
pub const SOURCES: &[(Lang, &str, &str)] = sources!("replies.ftl", "policy.ftl", "charts.ftl");

/// The arguments of a message.
pub type Args = FluentArgs<'static>;

/// A value a message argument takes: text or a number (numbers choose plural forms).
pub fn arg<T: IntoArg>(v: T) -> FluentValue<'static> {
    v.into_arg()
}

/// What can be passed as a message argument.
pub trait IntoArg {
    fn into_arg(self) -> FluentValue<'static>;
}

impl IntoArg for String {
    fn into_arg(self) -> FluentValue<'static> {
        FluentValue::from(self)
    }
}
impl IntoArg for &String {
    fn into_arg(self) -> FluentValue<'static> {
        FluentValue::from(self.clone())
    }
}
impl IntoArg for &str {
    fn into_arg(self) -> FluentValue<'static> {
        FluentValue::from(self.to_string())
    }
}
impl IntoArg for &&str {
    fn into_arg(self) -> FluentValue<'static> {
        FluentValue::from(self.to_string())
    }
}
impl IntoArg for std::borrow::Cow<'_, str> {
    fn into_arg(self) -> FluentValue<'static> {
        FluentValue::from(self.into_owned())
    }
}
macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl IntoArg for $t {
            fn into_arg(self) -> FluentValue<'static> {
                FluentValue::from(self)
            }
        }
        impl IntoArg for &$t {
            fn into_arg(self) -> FluentValue<'static> {
                FluentValue::from(*self)
            }
        }
    )*};
}
number_arg!(i32, i64, u32, u64, usize, f64);

/// Looks up message `key` in `lang` and formats it with `args` (use [`tr!`](crate::tr)).
///
/// A key missing from the files gives the key itself (and an error in the log); the tests
/// make sure that does not ship.
pub fn text(lang: Lang, key: &str, args: Option<&Args>) -> String {
    let bundle = bundle(lang);
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        tracing::error!("no message `{key}` for language {lang}");
        return key.to_string();
    };
    let mut errors = Vec::new();
    let s = bundle
        .format_pattern(pattern, args, &mut errors)
        .into_owned();
    for e in errors {
        tracing::error!("message `{key}` ({lang}): {e}");
    }
    s
}

/// Formats message `key` in `lang` with named arguments.
///
/// ```
/// use bot::{i18n::Lang, tr};
/// assert_eq!(tr!(Lang::En, "yes"), "yes");
/// assert_eq!(tr!(Lang::Zh, "exec-not-found", id = 7), "没有执行 #7。");
/// ```
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:literal) => {
        $crate::i18n::text($lang, $key, None)
    };
    ($lang:expr, $key:literal, $($name:ident = $value:expr),+ $(,)?) => {{
        let mut args = $crate::i18n::Args::new();
        $( args.set(stringify!($name), $crate::i18n::arg($value)); )+
        $crate::i18n::text($lang, $key, Some(&args))
    }};
}

fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    static BUNDLES: OnceLock<Vec<FluentBundle<FluentResource>>> = OnceLock::new();
    let bundles = BUNDLES.get_or_init(|| Lang::ALL.iter().map(|l| build(*l)).collect());
    &bundles[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)]
}

fn build(lang: Lang) -> FluentBundle<FluentResource> {
    let id = lang
        .as_str()
        .parse::<unic_langid::LanguageIdentifier>()
        .unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // replies are plain chat text: no Unicode isolation marks around arguments
    bundle.set_use_isolating(false);
    for (_, path, src) in SOURCES.iter().filter(|s| s.0 == lang) {
        let resource = match FluentResource::try_new(src.to_string()) {
            Ok(r) => r,
            Err((r, errors)) => {
                for e in errors {
                    tracing::error!("locales/{path}: {e:?}");
                }
                r
            }
        };
        if let Err(errors) = bundle.add_resource(resource) {
            for e in errors {
                tracing::error!("locales/{path}: {e}");
            }
        }
    }
    bundle
}

/// The messages of one file: key -> the variables its value and attributes use.
pub fn messages(src: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    use fluent_syntax::ast;
    let res = fluent_syntax::parser::parse(src).map_err(|(_, errors)| {
        errors
            .iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    fn walk_pattern(p: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
        for el in &p.elements {
            if let ast::PatternElement::Placeable { expression } = el {
                walk_expr(expression, vars);
            }
        }
    }
    fn walk_expr(e: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
        match e {
            ast::Expression::Select { selector, variants } => {
                walk_inline(selector, vars);
                for v in variants {
                    walk_pattern(&v.value, vars);
                }
            }
            ast::Expression::Inline(i) => walk_inline(i, vars),
        }
    }
    fn walk_inline(i: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
        match i {
            ast::InlineExpression::VariableReference { id } => {
                vars.insert(id.name.to_string());
            }
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                for a in &arguments.positional {
                    walk_inline(a, vars);
                }
            }
            ast::InlineExpression::Placeable { expression } => walk_expr(expression, vars),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for entry in &res.body {
        if let ast::Entry::Message(m) = entry {
            let mut vars = BTreeSet::new();
            if let Some(v) = &m.value {
                walk_pattern(v, &mut vars);
            }
            for a in &m.attributes {
                walk_pattern(&a.value, &mut vars);
            }
            out.insert(m.id.name.to_string(), vars);
        }
    }
    Ok(out)
}

/// Where the message files disagree: keys missing from one language, and messages whose
/// arguments differ. Empty when they agree.
pub fn check() -> Vec<String> {
    let mut parsed: Vec<(Lang, BTreeMap<String, BTreeSet<String>>)> = Vec::new();
    let mut problems = Vec::new();
    for lang in Lang::ALL {
        let mut all = BTreeMap::new();
        for (_, path, src) in SOURCES.iter().filter(|s| s.0 == lang) {
            match messages(src) {
                Ok(m) => {
                    for (key, vars) in m {
                        if all.insert(key.clone(), vars).is_some() {
                            problems.push(format!("`{key}` is defined twice in {lang}"));
                        }
                    }
                }
                Err(e) => problems.push(format!("locales/{path} does not parse: {e}")),
            }
        }
        parsed.push((lang, all));
    }
    if let [(a, ma), (b, mb)] = parsed.as_slice() {
        for (key, vars) in ma {
            match mb.get(key) {
                None => problems.push(format!("`{key}` is in {a} but not in {b}")),
                Some(other) if other != vars => problems.push(format!(
                    "`{key}` takes {vars:?} in {a} but {other:?} in {b}"
                )),
                Some(_) => {}
            }
        }
        for key in mb.keys().filter(|k| !ma.contains_key(*k)) {
            problems.push(format!("`{key}` is in {b} but not in {a}"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_files_hold_the_same_messages_with_the_same_arguments() {
        assert_eq!(check(), Vec::<String>::new());
        assert!(messages(SOURCES[0].2).unwrap().len() > 50);
    }

    #[test]
    fn a_missing_key_or_argument_is_found() {
        let en = messages("a = one { $x }\nb = two\n").unwrap();
        let zh = messages("a = 一\n").unwrap();
        assert_eq!(en["a"], BTreeSet::from(["x".to_string()]));
        assert!(zh["a"].is_empty());
        assert!(!zh.contains_key("b"));
    }

    #[test]
    fn plurals_and_arguments_format_without_isolation_marks() {
        assert_eq!(
            tr!(Lang::En, "exec-not-found", id = 12),
            "There is no execution #12."
        );
        assert_eq!(text(Lang::En, "no-such-key", None), "no-such-key");
    }

    #[test]
    fn arguments_are_values_never_message_syntax() {
        // what a user typed goes in as an argument and comes out as typed
        for hostile in [
            "{ $id }",
            "{ -brand }",
            "}{",
            "\u{2068}x\u{2069}",
            "<b>x</b>",
        ] {
            assert_eq!(
                tr!(Lang::Zh, "unknown-job", name = hostile),
                format!("我不知道名为 `{hostile}` 的作业。")
            );
        }
    }
}
