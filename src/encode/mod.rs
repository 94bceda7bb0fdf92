//! Encodings of music as model inputs: one module per representation.

pub mod chars;

pub use chars::CharVocab;
