//! Bilingual (English/Chinese) natural-language understanding for operations chat.
//!
//! Free text in, the contract's parse result out: intent with a calibrated confidence,
//! entities with character spans, and a clarification when the parser is unsure.

pub mod catalog;
pub mod entities;
pub mod result;

pub use catalog::{Catalog, CatalogError};
pub use entities::{Ambiguity, EntityExtractor, ExtractContext, Extraction};
pub use result::{
    Clarification, ClarifyOption, ClarifyReason, Entity, EntityKind, Extractor, IntentName,
    IntentScore, Outcome, ParseResult,
};
