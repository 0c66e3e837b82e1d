//! The types the layers share, depending on nothing else in the crate: executions
//! ([`exec`]).

pub mod exec;
