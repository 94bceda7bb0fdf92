//! ABC notation: tunebooks split into tunes, header fields, the cleaning that makes tunes ready
//! for a character-level model, and conversion of a tune to a [`Score`](crate::score::Score)
//! and of a score back to a tune.

pub mod clean;
pub mod from_score;
pub mod quoted_printable;
pub mod to_score;
pub mod tunebook;

pub use clean::{clean_tune, CleanOptions, CleanTune};
pub use from_score::{
    score_to_abc, AccidentalStyle, ChordMode, KeyChoice, ScoreToAbcOptions, TrackChoice,
};
pub use to_score::{abc_to_score, abc_to_score_with, AbcToScoreOptions};
pub use tunebook::{split_tunebook, Tune};
