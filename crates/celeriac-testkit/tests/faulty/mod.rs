//! Wrappers around the in-memory stores that break one promise each, to show
//! the conformance checks catch real misbehaviour.

pub mod backend;
pub mod broker;
pub mod events;
