//! Encodings of music as model inputs: one module per representation.
//!
//! - [`chars`]: ABC text, one id per character.
//! - [`piano_roll`]: a score as frames × pitches (multi-hot), with key finding and transposition.
//! - [`notes`]: notes and chords as tokens (`E4`, `C4.E4.G4`, `rest`), optionally with durations
//!   and offsets.
//! - [`events`]: note-on, note-off, time-shift and velocity tokens.
//! - [`audio`]: note features per audio frame (voices, pitch, velocity, time since onset and
//!   release) for neural synthesizers.
//!
//! The token encodings of scores share the [`TokenEncoding`] interface; every encoding saves to
//! and loads from JSON that records its format version and the crate version ([`saved`]), and
//! [`Encoding`] holds any one of them (what a checkpoint records).

pub mod audio;
pub mod chars;
pub mod encoding;
pub mod events;
/// Key finding and transposition (they work on a [`Score`](crate::score::Score), so they live in
/// the score layer; kept under this name too).
pub use crate::score::key;
pub mod notes;
pub mod piano_roll;
pub mod saved;

pub use crate::score::key::{estimate_key, transpose_score, transposition_to_c};
pub use audio::{AudioFeatureConfig, AudioFeatures, FEATURES_PER_VOICE};
pub use chars::CharVocab;
pub use encoding::Encoding;
pub use events::{Event, EventConfig, EventVocab};
pub use notes::{NoteVocab, NoteVocabConfig};
pub use piano_roll::{positive_weight, PianoRoll, PianoRollConfig};

use crate::score::Score;

/// A token encoding of scores: a fixed set of ids, scores to ids and back.
pub trait TokenEncoding {
    /// Number of ids (ids are `0..vocab_size`).
    fn vocab_size(&self) -> usize;

    /// The score as token ids.
    fn encode_score(&self, score: &Score) -> anyhow::Result<Vec<i64>>;

    /// Token ids (for example a model's samples) back to a score; an id outside the vocabulary
    /// is an error that names it and its position.
    fn decode_ids(&self, ids: &[i64]) -> anyhow::Result<Score>;

    /// What an id stands for, for people (an id outside the vocabulary gets a placeholder).
    fn token_name(&self, id: i64) -> String;

    /// The names of several ids.
    fn token_names(&self, ids: &[i64]) -> Vec<String> {
        ids.iter().map(|&id| self.token_name(id)).collect()
    }
}

/// Entropy in nats of the distribution of tokens that `counts` (one count a token) make: the loss
/// of a model that ignores context; 0 without tokens.
pub(crate) fn unigram_entropy(counts: impl Iterator<Item = u64> + Clone) -> f64 {
    let total: u64 = counts.clone().sum();
    if total == 0 {
        return 0.0;
    }
    counts
        .filter(|&n| n > 0)
        .map(|n| {
            let p = n as f64 / total as f64;
            -p * p.ln()
        })
        .sum()
}
