//! ABC notation: tunebooks split into tunes, header fields, the cleaning that makes tunes ready
//! for a character-level model, and conversion of a tune to a [`Score`](crate::score::Score).

pub mod clean;
pub mod to_score;
pub mod tunebook;

pub use clean::{clean_tune, CleanOptions, CleanTune};
pub use to_score::{abc_to_score, abc_to_score_with, AbcToScoreOptions};
pub use tunebook::{split_tunebook, Tune};
