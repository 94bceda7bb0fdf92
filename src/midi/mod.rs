//! Standard MIDI files in and out of [`Score`](crate::score::Score), one file or a whole corpus.
//!
//! - [`read_midi_file`] / [`read_midi_bytes`]: format 0 and 1 files with metrical timing become a
//!   [`Score`](crate::score::Score), one [`Track`](crate::score::Track) per (MIDI track, channel).
//! - [`write_midi_file`] / [`score_to_midi_bytes`]: a score becomes a format 1 file; the file is
//!   replaced atomically.
//! - [`load_midi_corpus`]: every `.mid`/`.midi` file under a folder, read in parallel; bad files
//!   are skipped and listed in a [`LoadReport`](crate::report::LoadReport) with their reason.
//!   [`MidiCorpus::summary`] says what the folder holds ([`MidiCorpusReport`]: tracks and
//!   programs, drums left out, tempo and meter changes, what the key rules did, how far onsets
//!   move on a grid), as text for logs and as HTML in a notebook.
//! - How key events become notes (a key sounds once, the sustain pedal on pianos): see
//!   [`read_midi_bytes`] and [`SustainPedal`].
//! - ABC tunes written out as a folder of MIDI files: `write_midi_corpus_from_abc` in the corpus
//!   module (above both file formats).
//! - [`write_damaged_midi_fixtures`]: broken files of many kinds, for tests and demonstrations.
//!
//! Damaged input never panics: every problem is an `anyhow` error that says what is wrong
//! ("truncated file: ...", "not a MIDI file: ...") and, for files, which file.

mod container;
mod corpus;
mod corpus_report;
mod fixtures;
mod keys;
mod limits;
mod read;
mod write;

pub use corpus::{
    load_midi_corpus, load_midi_corpus_with_limits, load_midi_corpus_with_options, MidiCorpus,
    MidiFileReading,
};
pub use corpus_report::{program_family, MidiCorpusReport, OnsetShift, ProgramCount};
pub use fixtures::{raw_smf, synthetic_score, write_damaged_midi_fixtures, DAMAGED_MIDI_FIXTURES};
pub use keys::{KeyEvents, SustainPedal};
pub use limits::{MidiLimits, MAX_MIDI_BYTES, MAX_MIDI_EVENTS, MAX_MIDI_TICK};
pub use read::{
    read_midi_bytes, read_midi_bytes_with_limits, read_midi_bytes_with_options, read_midi_file,
    read_midi_file_with_limits, read_midi_file_with_options, MidiRead, MidiReadOptions,
};
pub use write::{score_to_midi_bytes, write_midi_file};
