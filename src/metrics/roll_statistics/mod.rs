//! Statistics of a set of piano rolls, to hold generated pieces against held-out pieces of the
//! same corpus: how many notes sound at once, how often nothing sounds, the pitches, the intervals
//! inside chords, how long notes are held, where in the bar they start, and whether the key stays
//! put.
//!
//! A roll lists, frame by frame, the pitches sounding ([`PianoRoll`]). A *note* is a run of
//! consecutive frames in which one pitch sounds: a roll does not mark onsets, so a pitch struck
//! again in the next frame reads as one longer note (JSB's rolls, and any roll a model writes,
//! are read alike). A *beat* is a quarter note, `steps_per_quarter` frames of the roll's grid, and
//! a bar holds [`RollStatisticsConfig::beats_per_bar`] beats counted from the roll's first frame
//! (a piece that starts with a pick-up is read as if it started on the bar line). Per piece
//! ([`RollFigures`]):
//!
//! - frames, silent frames (no pitch sounds), notes per frame (polyphony);
//! - pitch range (highest minus lowest pitch sounding);
//! - the piece's key, estimated by [`key_of_durations`] (Krumhansl–Schmuckler) from the frames
//!   each pitch class sounds in; pitch classes of the notes counted in semitones above its tonic;
//! - intervals inside chords: in every frame with two pitches or more, the interval in semitones
//!   between each pitch and the next one up;
//! - note lengths in frames, and the position of each note's first frame in the bar;
//! - key consistency: the piece is cut into windows of [`RollStatisticsConfig::key_window_bars`]
//!   bars from its first frame (a last window shorter than half a window is left out unless it
//!   is the whole piece), the key of each window that has notes is estimated as the piece's is,
//!   and a window *agrees* when its tonic and mode are the piece's (a relative major or minor does
//!   not agree). A piece no longer than one window agrees with itself.
//!
//! For the set ([`RollStatistics`]), shares and distributions pool the frames, notes, chord
//! intervals or windows of all pieces; the pitch range is a mean over pieces. Pieces with no
//! sounding frame are counted ([`RollStatistics::empty`]) and left out.
//! [`RollStatistics::compare`] sets two sets side by side with a distance per statistic
//! ([`StatisticsComparison`]: total variation for distributions, relative difference for means
//! and shares).

use crate::encode::PianoRoll;
use crate::metrics::tune_statistics::{
    labels, mean, ratio, Distribution, Figure, SetStatistics, StatisticsComparison,
};
use crate::score::key::key_of_durations;
use anyhow::{ensure, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Notes per frame get bins `0` … `5`, then `6+`.
pub const POLYPHONY_BINS: usize = 7;
/// Intervals inside chords get bins `1` … `12` semitones, then `13+`.
pub const CHORD_INTERVAL_BINS: usize = 13;
/// Note lengths get bins of `1` … `8` frames, then `9+`.
pub const NOTE_LENGTH_BINS: usize = 9;

/// The meter the rolls are read in, and the size of the key windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollStatisticsConfig {
    /// Quarter-note beats per bar (4 for 4/4, JSB's chorales).
    pub beats_per_bar: u32,
    /// Bars per window of the key-consistency statistic.
    pub key_window_bars: u32,
}

impl Default for RollStatisticsConfig {
    /// 4/4, key windows of four bars (a chorale phrase).
    fn default() -> Self {
        RollStatisticsConfig {
            beats_per_bar: 4,
            key_window_bars: 4,
        }
    }
}

impl RollStatisticsConfig {
    /// Checks that bars and windows are not empty.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.beats_per_bar >= 1,
            "roll statistics: a bar needs at least one beat"
        );
        ensure!(
            self.key_window_bars >= 1,
            "roll statistics: a key window needs at least one bar"
        );
        Ok(())
    }
}

/// The figures of one piece.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollFigures {
    /// The piece's position in the set given.
    pub index: usize,
    /// Frames of the roll.
    pub frames: usize,
    /// Frames in which no pitch sounds.
    pub silent_frames: usize,
    /// Frames per number of pitches sounding: bins `0` … `5`, the last `6+`.
    pub polyphony: [usize; POLYPHONY_BINS],
    /// Pitches sounding, summed over frames (frame × pitch cells that are on).
    pub sounding_cells: usize,
    /// Highest minus lowest pitch sounding, in semitones.
    pub pitch_range: u8,
    /// The estimated key's tonic (C = 0).
    pub tonic: u8,
    /// The estimated key is minor.
    pub minor: bool,
    /// Notes per pitch class, in semitones above the tonic.
    pub pitch_classes: [usize; 12],
    /// Intervals between neighbouring pitches of a frame: bins `1` … `12` semitones, the last
    /// `13+`.
    pub chord_intervals: [usize; CHORD_INTERVAL_BINS],
    /// Notes per length: bins of `1` … `8` frames, the last `9+`.
    pub note_lengths: [usize; NOTE_LENGTH_BINS],
    /// Notes (runs of frames of one pitch).
    pub notes: usize,
    /// Frames of all notes together (the sum of their lengths).
    pub note_frames: usize,
    /// Notes starting at each frame of the bar (`frames per bar` entries).
    pub onsets_by_position: Vec<usize>,
    /// Key windows with notes.
    pub key_windows: usize,
    /// Key windows whose estimated key is the piece's.
    pub key_windows_agreeing: usize,
}

impl RollFigures {
    /// Share of frames in which nothing sounds.
    pub fn silent_share(&self) -> f64 {
        ratio(self.silent_frames, self.frames, 0.0)
    }

    /// Mean number of pitches in the frames in which something sounds.
    pub fn notes_per_sounding_frame(&self) -> f64 {
        ratio(self.sounding_cells, self.frames - self.silent_frames, 0.0)
    }

    /// Share of key windows in the piece's key.
    pub fn key_consistency(&self) -> f64 {
        ratio(self.key_windows_agreeing, self.key_windows, 0.0)
    }
}

/// Counts per pitch class of the frames each one sounds in.
fn pitch_class_frames(frames: &[Vec<u8>]) -> [f64; 12] {
    let mut counts = [0.0; 12];
    for &pitch in frames.iter().flatten() {
        counts[usize::from(pitch % 12)] += 1.0;
    }
    counts
}

/// True when `pitch` sounds in `frame` (frames are sorted).
fn sounds(frame: &[u8], pitch: u8) -> bool {
    frame.binary_search(&pitch).is_ok()
}

/// The figures of one roll as the module describes; `None` when no pitch sounds in it.
pub fn roll_figures(
    roll: &PianoRoll,
    index: usize,
    config: &RollStatisticsConfig,
) -> Option<RollFigures> {
    let frames = &roll.frames;
    let lowest = frames.iter().filter_map(|f| f.first()).min()?;
    let highest = frames.iter().filter_map(|f| f.last()).max()?;
    let bar = frames_per_bar(roll, config);
    let pitch_counts = pitch_class_frames(frames);
    let (tonic, minor) = key_of_durations(&pitch_counts);
    let mut figures = RollFigures {
        index,
        frames: frames.len(),
        silent_frames: frames.iter().filter(|f| f.is_empty()).count(),
        polyphony: [0; POLYPHONY_BINS],
        sounding_cells: frames.iter().map(Vec::len).sum(),
        pitch_range: highest - lowest,
        tonic,
        minor,
        pitch_classes: [0; 12],
        chord_intervals: [0; CHORD_INTERVAL_BINS],
        note_lengths: [0; NOTE_LENGTH_BINS],
        notes: 0,
        note_frames: 0,
        onsets_by_position: vec![0; bar],
        key_windows: 0,
        key_windows_agreeing: 0,
    };
    for (t, frame) in frames.iter().enumerate() {
        figures.polyphony[frame.len().min(POLYPHONY_BINS - 1)] += 1;
        for pair in frame.windows(2) {
            let step = usize::from(pair[1] - pair[0]).clamp(1, CHORD_INTERVAL_BINS);
            figures.chord_intervals[step - 1] += 1;
        }
        for &pitch in frame {
            if t > 0 && sounds(&frames[t - 1], pitch) {
                continue;
            }
            let held = frames[t + 1..]
                .iter()
                .take_while(|f| sounds(f, pitch))
                .count();
            let length = held + 1;
            figures.notes += 1;
            figures.note_frames += length;
            figures.note_lengths[length.min(NOTE_LENGTH_BINS) - 1] += 1;
            figures.onsets_by_position[t % bar] += 1;
            figures.pitch_classes[usize::from((pitch + 12 - tonic) % 12)] += 1;
        }
    }
    let window = bar * config.key_window_bars.max(1) as usize;
    for chunk in frames.chunks(window) {
        if chunk.len() * 2 < window && frames.len() > window {
            continue;
        }
        let counts = pitch_class_frames(chunk);
        if counts.iter().all(|&n| n == 0.0) {
            continue;
        }
        figures.key_windows += 1;
        if key_of_durations(&counts) == (tonic, minor) {
            figures.key_windows_agreeing += 1;
        }
    }
    Some(figures)
}

/// Frames per bar of the roll's grid in the config's meter.
fn frames_per_bar(roll: &PianoRoll, config: &RollStatisticsConfig) -> usize {
    (roll.config.steps_per_quarter.max(1) * config.beats_per_bar.max(1)) as usize
}

/// The statistics of a set of piano rolls (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollStatistics {
    /// The meter and key windows the rolls were read with.
    pub config: RollStatisticsConfig,
    /// Frames per quarter-note beat of the rolls' grid (1 when no roll was given).
    pub frames_per_beat: u32,
    /// Pieces given.
    pub pieces: usize,
    /// Pieces left out because no pitch sounds in them.
    pub empty: usize,
    /// The figures of each piece kept, in the order given.
    pub per_piece: Vec<RollFigures>,
}

/// Sums arrays of counts element by element.
fn pooled<const N: usize>(arrays: impl Iterator<Item = [usize; N]>) -> [usize; N] {
    let mut total = [0usize; N];
    for array in arrays {
        total.iter_mut().zip(array).for_each(|(t, n)| *t += n);
    }
    total
}

/// `1` … `n - 1`, then `n+` (or `0` … with `from_zero`).
fn open_ended_labels(bins: usize, from_zero: bool) -> Vec<String> {
    let first = i64::from(!from_zero);
    let last = first + bins as i64 - 1;
    let mut names = labels(first..=last - 1);
    names.push(format!("{last}+"));
    names
}

/// Position names in a bar: `beat 1`, `1+1/4`, … `beat 2`, ….
fn position_labels(frames_per_beat: usize, frames_per_bar: usize) -> Vec<String> {
    (0..frames_per_bar)
        .map(|frame| {
            let (beat, step) = (frame / frames_per_beat + 1, frame % frames_per_beat);
            if step == 0 {
                format!("beat {beat}")
            } else {
                format!("{beat}+{step}/{frames_per_beat}")
            }
        })
        .collect()
}

impl RollStatistics {
    /// Reads every roll (in parallel) and keeps the figures of those in which something sounds.
    ///
    /// # Errors
    /// An invalid config, or rolls on different grids (their bars would not line up).
    pub fn of_rolls(rolls: &[PianoRoll], config: &RollStatisticsConfig) -> Result<RollStatistics> {
        config.validate()?;
        let frames_per_beat = rolls.first().map_or(1, |r| r.config.steps_per_quarter);
        ensure!(
            rolls
                .iter()
                .all(|r| r.config.steps_per_quarter == frames_per_beat),
            "roll statistics: the rolls use different grids (steps per quarter)"
        );
        let per_piece: Vec<RollFigures> = rolls
            .par_iter()
            .enumerate()
            .filter_map(|(i, roll)| roll_figures(roll, i, config))
            .collect();
        Ok(RollStatistics {
            config: *config,
            frames_per_beat,
            pieces: rolls.len(),
            empty: rolls.len() - per_piece.len(),
            per_piece,
        })
    }

    /// Frames per bar.
    pub fn frames_per_bar(&self) -> usize {
        (self.frames_per_beat.max(1) * self.config.beats_per_bar.max(1)) as usize
    }

    /// Every statistic, by name, in a fixed order (the rows of [`RollStatistics::compare`]).
    pub fn figures(&self) -> Vec<(&'static str, Figure)> {
        let p = &self.per_piece;
        let sum = |f: fn(&RollFigures) -> usize| p.iter().map(f).sum::<usize>();
        let frames = sum(|x| x.frames);
        let silent = sum(|x| x.silent_frames);
        let bar = self.frames_per_bar();
        let mut onsets = vec![0usize; bar];
        for x in p {
            onsets
                .iter_mut()
                .zip(&x.onsets_by_position)
                .for_each(|(t, n)| *t += n);
        }
        let distribution = |labels: Vec<String>, counts: &[usize]| {
            Figure::Distribution(Distribution::of_counts(labels, counts))
        };
        vec![
            (
                "share of pieces with notes",
                Figure::Share(ratio(p.len(), self.pieces, 0.0)),
            ),
            (
                "notes per frame",
                distribution(
                    open_ended_labels(POLYPHONY_BINS, true),
                    &pooled(p.iter().map(|x| x.polyphony)),
                ),
            ),
            (
                "notes per sounding frame (mean)",
                Figure::Mean(ratio(sum(|x| x.sounding_cells), frames - silent, 0.0)),
            ),
            (
                "share of silent frames",
                Figure::Share(ratio(silent, frames, 0.0)),
            ),
            (
                "pitch range in semitones (mean)",
                Figure::Mean(mean(
                    &p.iter()
                        .map(|x| f64::from(x.pitch_range))
                        .collect::<Vec<_>>(),
                )),
            ),
            (
                "pitch classes above the tonic",
                distribution(labels(0..=11), &pooled(p.iter().map(|x| x.pitch_classes))),
            ),
            (
                "intervals inside chords in semitones",
                distribution(
                    open_ended_labels(CHORD_INTERVAL_BINS, false),
                    &pooled(p.iter().map(|x| x.chord_intervals)),
                ),
            ),
            (
                "note lengths in frames",
                distribution(
                    open_ended_labels(NOTE_LENGTH_BINS, false),
                    &pooled(p.iter().map(|x| x.note_lengths)),
                ),
            ),
            (
                "note length in beats (mean)",
                Figure::Mean(
                    ratio(sum(|x| x.note_frames), sum(|x| x.notes), 0.0)
                        / f64::from(self.frames_per_beat.max(1)),
                ),
            ),
            (
                "onsets by position in the bar",
                distribution(
                    position_labels(self.frames_per_beat.max(1) as usize, bar),
                    &onsets,
                ),
            ),
            (
                "share of key windows in the piece's key",
                Figure::Share(ratio(
                    sum(|x| x.key_windows_agreeing),
                    sum(|x| x.key_windows),
                    0.0,
                )),
            ),
        ]
    }

    /// One statistic by name.
    pub fn figure(&self, name: &str) -> Option<Figure> {
        SetStatistics::figure(self, name)
    }

    /// `generated` set beside `held_out`, statistic by statistic.
    ///
    /// # Errors
    /// Sets read with different bars (grid or meter), whose positions in the bar do not match.
    pub fn compare(
        generated: &RollStatistics,
        held_out: &RollStatistics,
    ) -> Result<StatisticsComparison> {
        let either_empty = generated.pieces == 0 || held_out.pieces == 0;
        ensure!(
            either_empty
                || (generated.frames_per_bar() == held_out.frames_per_bar()
                    && generated.frames_per_beat == held_out.frames_per_beat),
            "roll statistics: bars of {} frames ({} per beat) cannot be compared with bars of {} ({} per beat)",
            generated.frames_per_bar(),
            generated.frames_per_beat,
            held_out.frames_per_bar(),
            held_out.frames_per_beat
        );
        Ok(StatisticsComparison::new(generated, held_out))
    }

    /// The statistics as rows of text (name, value).
    pub fn rows(&self) -> Vec<Vec<String>> {
        SetStatistics::rows(self)
    }

    /// An HTML table of the statistics.
    pub fn to_html(&self) -> String {
        SetStatistics::to_html(self)
    }
}

impl SetStatistics for RollStatistics {
    const ITEMS: &'static str = "pieces";

    fn counted(&self) -> (usize, usize) {
        (self.per_piece.len(), self.pieces)
    }

    fn figures(&self) -> Vec<(&'static str, Figure)> {
        RollStatistics::figures(self)
    }
}

#[cfg(test)]
mod tests;
