//! ABC notation: tunebooks split into tunes, header fields, and the cleaning that makes tunes ready
//! for a character-level model.

pub mod clean;
pub mod tunebook;

pub use clean::{clean_tune, CleanOptions, CleanTune};
pub use tunebook::{split_tunebook, Tune};
