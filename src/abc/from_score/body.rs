//! The music: the voice cut into notes, chords and rests bar by bar, and written as ABC text.

use super::meter::Bar;
use super::spell::{AccidentalWriter, Key};
use super::voice::GridNote;
use super::AccidentalStyle;
use std::fmt::Write as _;

/// A note, chord or rest of a drawable length, inside one bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Piece {
    /// First grid step.
    pub start: u64,
    /// Length in grid steps (a plain or dotted note value).
    pub len: u64,
    /// Sounding pitches, lowest first, each with whether it is tied on into the next piece;
    /// empty for a rest.
    pub notes: Vec<(u8, bool)>,
}

/// Cuts the voice at every onset, release and bar line, and each stretch into drawable lengths.
/// Returns the pieces of each bar; a note that sounds on past the end of a piece is tied.
pub(super) fn slice_into_bars(
    notes: &[GridNote],
    bars: &[Bar],
    grid_denominator: u32,
) -> Vec<Vec<Piece>> {
    let end = bars.last().map_or(0, Bar::end);
    let mut cuts: Vec<u64> = bars.iter().map(|b| b.start).collect();
    cuts.push(end);
    cuts.extend(
        notes
            .iter()
            .flat_map(|n| [n.start, n.end])
            .filter(|&c| c <= end),
    );
    cuts.sort_unstable();
    cuts.dedup();
    let lengths = drawable_lengths(grid_denominator);
    let mut per_bar: Vec<Vec<Piece>> = vec![Vec::new(); bars.len()];
    let mut bar_index = 0;
    let mut sounding: Vec<GridNote> = Vec::new();
    let mut next_note = 0;
    for stretch in cuts.windows(2) {
        let (from, to) = (stretch[0], stretch[1]);
        while bars[bar_index].end() <= from {
            bar_index += 1;
        }
        sounding.retain(|n| n.end > from);
        while let Some(note) = notes.get(next_note).filter(|n| n.start <= from) {
            if note.end > from {
                sounding.push(*note);
            }
            next_note += 1;
        }
        sounding.sort_by_key(|n| n.pitch);
        let mut position = from;
        for len in split_into_drawable(to - from, &lengths) {
            let ends_stretch = position + len == to;
            let notes = sounding
                .iter()
                .map(|n| (n.pitch, !ends_stretch || n.end > to))
                .collect();
            per_bar[bar_index].push(Piece {
                start: position,
                len,
                notes,
            });
            position += len;
        }
    }
    per_bar
}

/// Plain and dotted note values from a dotted whole note down to one grid step, in grid steps,
/// longest first.
fn drawable_lengths(grid_denominator: u32) -> Vec<u64> {
    let mut lengths = Vec::new();
    let mut value = u64::from(grid_denominator);
    while value >= 1 {
        if value >= 2 {
            lengths.push(value * 3 / 2);
        }
        lengths.push(value);
        value /= 2;
    }
    lengths
}

/// `len` steps as drawable lengths, longest first (one step is always drawable).
fn split_into_drawable(mut len: u64, lengths: &[u64]) -> Vec<u64> {
    let mut parts = Vec::new();
    while len > 0 {
        let part = lengths.iter().copied().find(|&l| l <= len).unwrap_or(1);
        parts.push(part);
        len -= part;
    }
    parts
}

fn greatest_common_divisor(a: u64, b: u64) -> u64 {
    if b == 0 {
        a.max(1)
    } else {
        greatest_common_divisor(b, a % b)
    }
}

/// The length suffix for `steps` grid steps under `L:1/unit_denominator`: ``, `2`, `3/2`, `/2`.
pub(super) fn length_text(steps: u64, unit_denominator: u32, grid_denominator: u32) -> String {
    let numerator = steps * u64::from(unit_denominator);
    let denominator = u64::from(grid_denominator);
    let divisor = greatest_common_divisor(numerator, denominator);
    match (numerator / divisor, denominator / divisor) {
        (1, 1) => String::new(),
        (n, 1) => n.to_string(),
        (1, d) => format!("/{d}"),
        (n, d) => format!("{n}/{d}"),
    }
}

/// 1/8, or 1/16 when it writes all the lengths in fewer characters (the units most tunes of
/// the corpus use).
pub(super) fn shortest_unit(bar_pieces: &[Vec<Piece>], grid_denominator: u32) -> u32 {
    let characters = |unit: u32| -> usize {
        bar_pieces
            .iter()
            .flatten()
            .map(|p| length_text(p.len, unit, grid_denominator).len())
            .sum()
    };
    [8, 16]
        .into_iter()
        .min_by_key(|&unit| characters(unit))
        .unwrap_or(8)
}

/// How the music is laid out as text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub grid_denominator: u32,
    pub unit_denominator: u32,
    pub bars_per_line: usize,
    pub accidentals: AccidentalStyle,
}

/// Appends the music: bars separated by ` | `, a final `|]`, a line break every
/// `bars_per_line` bars and before a meter change (written as an `M:` line).
pub(super) fn write_music(
    out: &mut String,
    bars: &[Bar],
    bar_pieces: &[Vec<Piece>],
    key: &Key,
    layout: &Layout,
) {
    let mut accidentals = AccidentalWriter::new(key, layout.accidentals);
    let mut line = String::new();
    let mut bars_on_line = 0;
    for (i, (bar, pieces)) in bars.iter().zip(bar_pieces).enumerate() {
        if bar.changes_meter {
            if !line.is_empty() {
                out.push_str(line.trim_end());
                out.push('\n');
                line.clear();
                bars_on_line = 0;
            }
            let _ = writeln!(out, "M:{}", bar.meter);
        }
        write_bar(&mut line, bar, pieces, &mut accidentals, layout);
        accidentals.bar_line();
        let is_last = i + 1 == bars.len();
        line.push_str(if is_last { " |]" } else { " |" });
        bars_on_line += 1;
        if is_last || bars_on_line == layout.bars_per_line {
            out.push_str(&line);
            out.push('\n');
            line.clear();
            bars_on_line = 0;
        } else {
            line.push(' ');
        }
    }
}

/// Appends one bar's pieces, with a space before each piece that starts on a beat.
fn write_bar(
    line: &mut String,
    bar: &Bar,
    pieces: &[Piece],
    accidentals: &mut AccidentalWriter,
    layout: &Layout,
) {
    for (i, piece) in pieces.iter().enumerate() {
        let offset_in_meter = bar.phase + piece.start - bar.start;
        if i > 0 && offset_in_meter.is_multiple_of(bar.meter.beat_steps.max(1)) {
            line.push(' ');
        }
        let length = length_text(piece.len, layout.unit_denominator, layout.grid_denominator);
        line.push_str(&piece_text(piece, &length, accidentals));
    }
}

/// A rest `z2`, a note `^c2-` or a chord `[C-E]2`.
fn piece_text(piece: &Piece, length: &str, accidentals: &mut AccidentalWriter) -> String {
    let tie_mark = |tied_on: bool| if tied_on { "-" } else { "" };
    match piece.notes.as_slice() {
        [] => {
            accidentals.rest();
            format!("z{length}")
        }
        [(pitch, tied_on)] => {
            let note = accidentals.note(*pitch, *tied_on);
            accidentals.end_of_notes();
            format!("{note}{length}{}", tie_mark(*tied_on))
        }
        chord => {
            let mut text = String::from("[");
            for &(pitch, tied_on) in chord {
                text.push_str(&accidentals.note(pitch, tied_on));
                text.push_str(tie_mark(tied_on));
            }
            accidentals.end_of_notes();
            format!("{text}]{length}")
        }
    }
}
