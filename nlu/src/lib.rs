//! Bilingual (English/Chinese) natural-language understanding for operations chat.
//!
//! Free text in, the contract's parse result out: intent with a calibrated confidence,
//! entities with character spans, and a clarification when the parser is unsure.

pub mod result;

pub use result::{
    Clarification, ClarifyOption, ClarifyReason, Entity, EntityKind, Extractor, IntentName,
    IntentScore, Outcome, ParseResult,
};
pub mod bench;
pub mod classifier;
pub mod error;
pub mod model;
pub mod runtime;
pub mod train;

pub use error::{NluError, Result};
pub mod eval;
pub mod parser;

pub use classifier::RuntimeOptions;
pub use model::Thresholds;
pub use parser::{default_model_dir, Parser, ParserOptions};
