//! [`Score`] → ABC notation (one tune, one voice): the opposite of [`abc_to_score`].
//!
//! Used to prime an ABC language model with the opening of a MIDI file (see
//! [`ScoreToAbcOptions::max_bars`]; the text is a complete tune ending in `|]`: cut that off, and
//! the `X:`, `T:` and `Q:` lines if the model was trained on cleaned tunes, to let it continue)
//! and to engrave any score through an ABC engraver.
//!
//! How a score becomes a tune:
//!
//! - **Header**: `X:1`, `T:` (the title option, else the first named track, else `Untitled`),
//!   `M:` (the score's first time signature, taken to hold from the start; 4/4 when there is
//!   none), `L:` (see [`ScoreToAbcOptions::unit_denominator`]), `Q:1/4=…` from the first tempo
//!   when the score has one, and `K:` (see [`KeyChoice`]: a [`Score`] carries no key signature,
//!   so the key is estimated from the notes by default).
//! - **Voice**: the chosen tracks ([`TrackChoice`]) are merged into one voice.
//! - **Grid**: every onset and release is rounded to the nearest step of the grid
//!   ([`ScoreToAbcOptions::grid_denominator`], a sixteenth note by default); a note that would
//!   shrink to nothing keeps one step. Tuplets are not written: triplets are rounded to the grid.
//! - **Overlaps** ([`ChordMode::Keep`]): the voice is cut at every onset, release and bar line;
//!   each piece is written as a note, a chord `[CEG]` or a rest `z`, and a note that goes on
//!   sounding into the next piece is tied (`-`) to its continuation. So notes of different
//!   lengths that overlap keep their exact lengths (a half note under two quarters is
//!   `[C-E][CG]`), and a note crossing a bar line is split and tied. A pitch that starts again
//!   while it still sounds ends its earlier note there; of two notes with the same pitch and
//!   onset the longer is kept. With [`ChordMode::TopNote`] only the highest note starting at
//!   each onset is kept and it is cut short at the next kept onset (the "skyline" melody).
//! - **Lengths**: each piece is split into lengths an engraver can draw (plain or dotted note
//!   values, tied), written as multiples of `L:` (`2`, `3/2`, `/2`).
//! - **Bars**: bar lines follow the meter from tick 0 (after an optional pick-up bar,
//!   [`ScoreToAbcOptions::anacrusis_ticks`]); a later time signature starts a new line with an
//!   `M:` field, and a bar it interrupts is left short. The last bar is filled up with rests (or,
//!   after a pick-up, up to the pick-up's complement). The tune ends with `|]`; lines hold
//!   [`ScoreToAbcOptions::bars_per_line`] bars.
//! - **Pitches**: spelled in the key (`C,` `C` `c` `c'` for MIDI 48, 60, 72, 84), chromatic
//!   notes nearest the key on the line of fifths. The writer follows ABC's rule that an
//!   accidental holds for its letter and octave until the bar line (a natural is written where
//!   an earlier sign would otherwise hold); by default every note off the key signature also
//!   carries its own sign, so readers that do not carry accidentals read the same pitches
//!   ([`AccidentalStyle`]).
//!
//! Lost on the way: velocities, programs, tempo changes after the first, and everything finer
//! than the grid.
//!
//! ```
//! use tunesmith::abc::{abc_to_score, score_to_abc, ScoreToAbcOptions};
//! let score = abc_to_score("X:1\nM:3/4\nL:1/8\nK:G\nG2 B2 d2 | g6 |]\n").unwrap();
//! let abc = score_to_abc(&score, &ScoreToAbcOptions::default()).unwrap();
//! assert!(abc.contains("M:3/4\nL:1/8\n"), "{abc}");
//! assert!(abc.ends_with("G2 B2 d2 | g6 |]\n"), "{abc}");
//! assert_eq!(abc_to_score(&abc).unwrap().note_timings(), score.note_timings());
//! ```
//!
//! [`abc_to_score`]: super::abc_to_score

mod body;
mod meter;
mod spell;
#[cfg(test)]
mod tests;
mod voice;

use crate::score::Score;
use anyhow::{bail, Result};
use std::fmt::Write as _;

/// Which tracks of the score make up the written voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrackChoice {
    /// Every track that is not a drum track, merged into one voice.
    #[default]
    MergePitched,
    /// Only the track with this index in [`Score::tracks`] (an error if it is a drum track).
    Only(usize),
}

/// What to do with notes that sound together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChordMode {
    /// Write chords, with ties where notes of different lengths overlap.
    #[default]
    Keep,
    /// Keep only the highest note starting at each onset, cut at the next onset: a melody.
    TopNote,
}

/// The key written in `K:` (the score itself carries no key signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyChoice {
    /// The key that the Krumhansl–Schmuckler estimate
    /// ([`estimate_key`](crate::score::estimate_key)) finds in the written notes, major or minor.
    #[default]
    Estimate,
    /// A fixed key: `fifths` sharps (negative: flats), -7..=7, major or minor (`fifths: 0,
    /// minor: false` is C major).
    Fixed {
        /// Number of sharps (positive) or flats (negative) of the signature.
        fifths: i8,
        /// Write the minor key with this signature (`Am` rather than `C`).
        minor: bool,
    },
}

/// How accidentals are written. Both styles are read the same by readers that follow ABC 2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccidentalStyle {
    /// A sign on every note off the key signature (`^c ^c`), and a natural where an earlier sign
    /// in the bar would otherwise hold: read alike by readers that carry accidentals to the bar
    /// line and by those that do not (music21 carries them only in files marked `%abc-2.1`).
    #[default]
    Explicit,
    /// ABC 2.1's economy: an accidental holds for its letter and octave to the bar line, so a
    /// sign is written only where the note would otherwise be read with another pitch (`^c c`),
    /// and again on a tied note after a bar line.
    CarriedInBar,
}

/// Settings for [`score_to_abc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreToAbcOptions {
    /// The `T:` title; `None` uses the name of the first chosen track that has one, else
    /// `Untitled`. Line breaks and control characters become spaces.
    pub title: Option<String>,
    /// Which tracks are written (default: all pitched tracks merged).
    pub tracks: TrackChoice,
    /// Chords or only the top note (default: chords).
    pub chords: ChordMode,
    /// The key to write (default: estimated from the notes).
    pub key: KeyChoice,
    /// How accidentals are written (default: explicitly on every note off the key signature).
    pub accidentals: AccidentalStyle,
    /// The quantisation grid as a note value: 16 rounds onsets and lengths to sixteenth notes
    /// (the default), 32 to thirty-seconds. A power of two from 1 to 128.
    pub grid_denominator: u32,
    /// The unit length `L:1/n` as its `n`, a power of two from 1 to 128; `None` picks 1/8, or
    /// 1/16 when that writes the lengths in fewer characters (as in tunes of mostly sixteenths).
    pub unit_denominator: Option<u32>,
    /// Length of an opening pick-up bar in the score's ticks (rounded to the grid; it must be
    /// shorter than a bar); 0 means the first bar is a full one.
    pub anacrusis_ticks: u32,
    /// Bars per line of music (at least 1; default 4).
    pub bars_per_line: usize,
    /// Write only this many bars from the start (at least 1), e.g. the opening of a MIDI file
    /// as a primer; notes running on past the last bar are cut there. `None` writes everything.
    pub max_bars: Option<usize>,
}

impl Default for ScoreToAbcOptions {
    /// Title from the tracks, all pitched tracks merged, chords kept, key estimated, explicit
    /// accidentals, sixteenth grid, automatic unit length, no pick-up, four bars a line, the whole score.
    fn default() -> Self {
        ScoreToAbcOptions {
            title: None,
            tracks: TrackChoice::default(),
            chords: ChordMode::default(),
            key: KeyChoice::default(),
            accidentals: AccidentalStyle::default(),
            grid_denominator: 16,
            unit_denominator: None,
            anacrusis_ticks: 0,
            bars_per_line: 4,
            max_bars: None,
        }
    }
}

/// Largest grid and unit denominator accepted (a 128th note).
const FINEST_NOTE_VALUE: u32 = 128;

impl ScoreToAbcOptions {
    /// Checks the settings that do not depend on the score.
    fn validate(&self) -> Result<()> {
        let power_of_two = |n: u32| n.is_power_of_two() && n <= FINEST_NOTE_VALUE;
        if !power_of_two(self.grid_denominator) {
            bail!(
                "grid_denominator {} is not a power of two from 1 to {FINEST_NOTE_VALUE} \
                 (16 rounds to sixteenth notes)",
                self.grid_denominator
            );
        }
        if let Some(unit) = self.unit_denominator.filter(|&u| !power_of_two(u)) {
            bail!("unit_denominator {unit} is not a power of two from 1 to {FINEST_NOTE_VALUE} (8 writes L:1/8)");
        }
        if self.bars_per_line == 0 {
            bail!("bars_per_line must be at least 1");
        }
        if self.max_bars == Some(0) {
            bail!("max_bars must be at least 1 (None writes the whole score)");
        }
        if let KeyChoice::Fixed { fifths, .. } = self.key {
            if !(-7..=7).contains(&fifths) {
                bail!("a key signature has -7 to 7 fifths, not {fifths}");
            }
        }
        Ok(())
    }
}

/// Writes `score` as one ABC tune (header and music, ending in `|]` and a newline).
///
/// A score without notes becomes a tune of one bar's rest. Errors, never panics, on a score
/// with 0 ticks per quarter note, a time signature with a zero part or a bar that is not a
/// whole number of grid steps (e.g. 3/64 on a sixteenth grid), an absurdly long score, and on
/// options out of range (a grid that is not a power of two, a track index that does not exist
/// or names a drum track, a pick-up as long as a bar...).
pub fn score_to_abc(score: &Score, options: &ScoreToAbcOptions) -> Result<String> {
    options.validate()?;
    if score.ticks_per_quarter == 0 {
        bail!("the score has 0 ticks per quarter note, so its notes have no length");
    }
    let grid = voice::Grid::new(options.grid_denominator, score.ticks_per_quarter);
    let tracks = voice::chosen_tracks(score, options.tracks)?;
    let notes = voice::grid_notes(&tracks, &grid);
    let mut notes = match options.chords {
        ChordMode::Keep => voice::resolve_same_pitch_overlaps(notes),
        ChordMode::TopNote => voice::top_line(notes),
    };
    let meters = meter::meter_segments(&score.time_signatures, &grid)?;
    let pickup = grid.step_of(options.anacrusis_ticks);
    let music_end = notes.iter().map(|n| n.end).max().unwrap_or(0);
    let bars = meter::lay_out_bars(&meters, pickup, music_end, options.max_bars)?;
    let written_end = bars.last().map_or(0, meter::Bar::end);
    voice::cut_at(&mut notes, written_end);
    let key = spell::Key::choose(options.key, &notes);
    let bar_pieces = body::slice_into_bars(&notes, &bars, options.grid_denominator);
    let unit = options
        .unit_denominator
        .unwrap_or_else(|| body::shortest_unit(&bar_pieces, options.grid_denominator));

    let mut abc = String::new();
    let title = title(options.title.as_deref(), &tracks);
    let first_meter = meters[0].1;
    let _ = writeln!(abc, "X:1\nT:{title}\nM:{first_meter}\nL:1/{unit}");
    if let Some(bpm) = score
        .tempos
        .first()
        .and_then(|t| beats_per_minute(t.micros_per_quarter))
    {
        let _ = writeln!(abc, "Q:1/4={bpm}");
    }
    let _ = writeln!(abc, "K:{}", key.name());
    let layout = body::Layout {
        grid_denominator: options.grid_denominator,
        unit_denominator: unit,
        bars_per_line: options.bars_per_line,
        accidentals: options.accidentals,
    };
    body::write_music(&mut abc, &bars, &bar_pieces, &key, &layout);
    Ok(abc)
}

/// The title to write: the option, else the first track name, else `Untitled`, on one line.
fn title(chosen: Option<&str>, tracks: &[&crate::score::Track]) -> String {
    let from_tracks = || {
        tracks
            .iter()
            .map(|t| t.name.as_str())
            .find(|n| !n.trim().is_empty())
    };
    let raw = chosen.or_else(from_tracks).unwrap_or("");
    let one_line: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.is_empty() {
        "Untitled".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Quarter notes per minute for a tempo, rounded; `None` for a tempo of 0 microseconds.
fn beats_per_minute(micros_per_quarter: u32) -> Option<u32> {
    (micros_per_quarter > 0).then(|| {
        let micros = u64::from(micros_per_quarter);
        ((60_000_000 + micros / 2) / micros).max(1) as u32
    })
}
