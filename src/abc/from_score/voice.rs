//! The notes of the written voice: chosen tracks, rounded to the grid, overlaps resolved.

use super::TrackChoice;
use crate::score::{Score, Track};
use anyhow::{bail, Result};
use std::cmp::Reverse;

/// A note on the grid: MIDI pitch, onset and release in grid steps (`end > start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GridNote {
    pub pitch: u8,
    pub start: u64,
    pub end: u64,
}

/// Converts the score's ticks to steps of the quantisation grid.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grid {
    steps_per_whole: u64,
    ticks_per_whole: u64,
}

impl Grid {
    /// A grid of `1/grid_denominator` notes for a score with `ticks_per_quarter` (not 0).
    pub fn new(grid_denominator: u32, ticks_per_quarter: u16) -> Grid {
        Grid {
            steps_per_whole: u64::from(grid_denominator),
            ticks_per_whole: 4 * u64::from(ticks_per_quarter).max(1),
        }
    }

    /// The grid's note value as the `n` of `1/n`.
    pub fn denominator(&self) -> u32 {
        self.steps_per_whole as u32
    }

    /// The nearest grid step to `tick` (halfway rounds up).
    pub fn step_of(&self, tick: u32) -> u64 {
        let scaled = 2 * u64::from(tick) * self.steps_per_whole;
        (scaled + self.ticks_per_whole) / (2 * self.ticks_per_whole)
    }
}

/// The tracks named by `choice`, in score order.
pub(super) fn chosen_tracks(score: &Score, choice: TrackChoice) -> Result<Vec<&Track>> {
    match choice {
        TrackChoice::MergePitched => Ok(score.tracks.iter().filter(|t| !t.is_drum).collect()),
        TrackChoice::Only(index) => {
            let Some(track) = score.tracks.get(index) else {
                bail!(
                    "track {index} does not exist: the score has {} track(s)",
                    score.tracks.len()
                );
            };
            if track.is_drum {
                bail!("track {index} is a drum track: its pitches name drums, not notes");
            }
            Ok(vec![track])
        }
    }
}

/// Every note of the tracks on the grid, sorted by onset then pitch; a note that rounds to no
/// length keeps one step.
pub(super) fn grid_notes(tracks: &[&Track], grid: &Grid) -> Vec<GridNote> {
    let mut notes: Vec<GridNote> = tracks
        .iter()
        .flat_map(|t| &t.notes)
        .map(|n| {
            let start = grid.step_of(n.start);
            let end = grid.step_of(n.start.saturating_add(n.duration));
            GridNote {
                pitch: n.pitch.min(127),
                start,
                end: end.max(start + 1),
            }
        })
        .collect();
    sort_by_onset(&mut notes);
    notes
}

fn sort_by_onset(notes: &mut [GridNote]) {
    notes.sort_by_key(|n| (n.start, n.pitch, Reverse(n.end)));
}

/// One voice cannot sound a pitch twice at once: of notes with the same pitch and onset the
/// longest is kept, and a pitch that starts again while it still sounds ends the earlier note.
pub(super) fn resolve_same_pitch_overlaps(mut notes: Vec<GridNote>) -> Vec<GridNote> {
    notes.sort_by_key(|n| (n.pitch, n.start, Reverse(n.end)));
    let mut kept: Vec<GridNote> = Vec::with_capacity(notes.len());
    for note in notes {
        if let Some(previous) = kept.last_mut().filter(|p| p.pitch == note.pitch) {
            if previous.start == note.start {
                continue;
            }
            previous.end = previous.end.min(note.start);
        }
        kept.push(note);
    }
    sort_by_onset(&mut kept);
    kept
}

/// The skyline melody: the highest note starting at each onset, cut at the next onset.
pub(super) fn top_line(notes: Vec<GridNote>) -> Vec<GridNote> {
    let mut line: Vec<GridNote> = Vec::new();
    for note in notes {
        match line.last_mut() {
            Some(last) if last.start == note.start => {
                if note.pitch > last.pitch {
                    *last = note;
                }
            }
            _ => line.push(note),
        }
    }
    for i in 1..line.len() {
        let next_start = line[i].start;
        line[i - 1].end = line[i - 1].end.min(next_start);
    }
    line
}

/// Drops notes that start at or after `end` and cuts the others there.
pub(super) fn cut_at(notes: &mut Vec<GridNote>, end: u64) {
    notes.retain(|n| n.start < end);
    for note in notes.iter_mut() {
        note.end = note.end.min(end);
    }
}
