//! Where an adapter keeps small values between runs (a sync position, a device id): the
//! bot's database implements [`AdapterState`], and an adapter needs nothing else of it.

/// Any error of the backend that keeps the values.
pub type StateError = Box<dyn std::error::Error + Send + Sync>;

/// Small values by adapter and key, kept across restarts.
///
/// ```
/// use bot::domain::state::AdapterState;
/// let store = bot::store::Store::open_in_memory().unwrap();
/// let state: &dyn AdapterState = &store;
/// state.set("matrix:@bot:example.org", "since", "s72594_4483").unwrap();
/// let kept = state.get("matrix:@bot:example.org", "since").unwrap();
/// assert_eq!(kept.as_deref(), Some("s72594_4483"));
/// ```
pub trait AdapterState: Send + Sync {
    /// The value stored under `key` by `adapter` (e.g. `matrix:@bot:example.org`, `since`).
    fn get(&self, adapter: &str, key: &str) -> Result<Option<String>, StateError>;
    /// Stores (replaces) a value; kept once this returns.
    fn set(&self, adapter: &str, key: &str, value: &str) -> Result<(), StateError>;
}
