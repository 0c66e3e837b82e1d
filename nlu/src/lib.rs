//! Bilingual (English/Chinese) natural-language understanding, for operations chat and for
//! any assistant you train it for.
//!
//! Free text in, the contract's parse result out (`docs/nlu-contract.md`): the intent
//! with a calibrated confidence, entities with character spans and normalized values, and a
//! clarification or out-of-scope outcome when the parser is unsure. The intents and entity
//! types are those of the training data (Rasa YAML, with an optional `nlu.toml`; see
//! [`train::config`]): train with [`train::train_dir`] or `nlu train`, load with
//! [`Parser::load`].
//!
//! ```no_run
//! let model = std::env::temp_dir().join("home-model");
//! let data = std::path::Path::new("examples/smart-home");
//! nlu::train::train_dir(data, &model, &nlu::default_encoder_dir()?, &Default::default())?;
//! let parser = nlu::Parser::load(&model)?;
//! let r = parser.parse("switch off the hall lights")?;
//! assert_eq!(r.intent.name, "turn_off_light");
//! assert_eq!((r.entities[0].entity.as_str(), r.entities[0].value.as_str()), ("room", "hallway"));
//! # Ok::<(), nlu::NluError>(())
//! ```
//!
//! The ChatOps assistant's model (`models/ops-intents`) is the default one, with the job
//! catalog's names:
//!
//! ```no_run
//! use nlu::{Catalog, Outcome, Parser};
//!
//! let parser = Parser::load(&nlu::default_model_dir()?)?;
//! parser.set_catalog(&Catalog::load(std::path::Path::new("config/catalog.toml"))?);
//! let r = parser.parse("deploy api 2.4.1 to prod")?;
//! assert_eq!(r.outcome, Outcome::Understood);
//! for e in &r.entities {
//!     println!("{} = {} ({}..{})", e.entity, e.value, e.start, e.end);
//! }
//! # Ok::<(), nlu::NluError>(())
//! ```
//!
//! A parse spends the encoder only where it is needed: a sparse n-gram head answers the texts
//! it is sure of in tens of microseconds, and the rest run the encoder and the full head
//! ([`classifier::cascade`]; [`ParserOptions::cascade`] turns it off, and
//! [`Parser::parse_staged`] says which stage answered).
//!
//! Modules, one per stage: [`classifier`] (tokenizer, encoder, head, sparse head), [`entities`]
//! (gazetteers, patterns, numbers, time, overlaps), [`catalog`], [`parser`] (the fallback
//! policy), [`train`] (Rasa YAML reader, logistic regression, calibration), [`eval`]
//! (metrics, public-benchmark readers), [`bench`](mod@crate::bench) (speed and size), [`model`] (the model directory format), [`runtime`] (finding ONNX Runtime).

pub mod bench;
pub mod catalog;
pub mod classifier;
pub mod entities;
pub mod error;
pub mod eval;
pub mod lang;
pub mod model;
pub(crate) mod parallel;
pub mod parser;
pub mod result;
pub mod runtime;
#[cfg(feature = "serve")]
pub mod serve;
pub mod tagger;
pub mod train;

pub use catalog::{Catalog, CatalogError};
pub use classifier::RuntimeOptions;
pub use entities::{Ambiguity, EntityExtractor, ExtractContext, Extraction};
pub use entities::{Builtin, EntitySpec};
pub use error::{NluError, Result};
pub use lang::{Lang, UnknownLang};
pub use model::{IntentSpec, Thresholds};
pub use parser::{
    default_catalog_path, default_encoder_dir, default_model_dir, Parser, ParserOptions,
};
pub use result::{
    Clarification, ClarifyOption, ClarifyReason, Entity, EntityKind, Extractor, IntentName,
    IntentScore, Outcome, ParseResult,
};
