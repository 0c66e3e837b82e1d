//! Small helpers that every layer may use and that use nothing of the crate: words of
//! commands and names ([`words`]), facts about processes ([`process`]).

pub mod process;
pub mod words;

/// A boxed future, so that traits with async methods stay object safe.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
