//! Lays elements out in ticks, merging tied notes.

use super::frac::Frac;
use super::interp::{Element, Meta, MetaKind, Performance, Sound};
use crate::score::{Note, TempoChange, TimeSignature};
use anyhow::{bail, Result};
use std::collections::HashMap;

/// Notes and maps in ticks.
#[derive(Debug, Default)]
pub(super) struct Layout {
    pub notes: Vec<Note>,
    pub tempos: Vec<TempoChange>,
    pub time_signatures: Vec<TimeSignature>,
}

/// Longest tune accepted, in ticks (keeps `start + duration` far from overflow).
const MAX_TICKS: i64 = 1 << 31;

/// Converts a performance to ticks (`ticks_per_quarter` per quarter note).
pub(super) fn lay_out(perf: &Performance, ticks_per_quarter: u16, velocity: u8) -> Result<Layout> {
    let starts = element_starts(&perf.elements, 4 * i64::from(ticks_per_quarter))?;
    let mut layout = Layout {
        notes: notes(&perf.elements, &starts, velocity),
        ..Layout::default()
    };
    place_metas(&perf.metas, &starts, &mut layout);
    Ok(layout)
}

/// The start tick of every element, plus the end tick of the last one.
fn element_starts(elements: &[Element], ticks_per_whole: i64) -> Result<Vec<u32>> {
    let mut starts = Vec::with_capacity(elements.len() + 1);
    starts.push(0);
    let mut now = Frac::ZERO;
    for element in elements {
        now = now + element.length;
        starts.push(tick_of(now, ticks_per_whole)?);
    }
    Ok(starts)
}

/// `time` (in whole notes) in ticks, if the tune is not absurdly long.
fn tick_of(time: Frac, ticks_per_whole: i64) -> Result<u32> {
    let tick = time.to_ticks(ticks_per_whole);
    if !(0..MAX_TICKS).contains(&tick) {
        bail!("the tune is too long (over {MAX_TICKS} ticks)");
    }
    Ok(tick as u32)
}

/// Notes with ties merged: a tied note is extended by the next note of the same pitch.
fn notes(elements: &[Element], starts: &[u32], velocity: u8) -> Vec<Note> {
    let mut out: Vec<Note> = Vec::new();
    // Pitch -> index in `out` of a note tied into the next element.
    let mut open: HashMap<u8, usize> = HashMap::new();
    for (i, element) in elements.iter().enumerate() {
        let (start, end) = (starts[i], starts[i + 1]);
        let mut still_open = HashMap::new();
        if let Sound::Notes(pitches) = &element.sound {
            for &(pitch, tie) in pitches {
                let index = match open.get(&pitch) {
                    Some(&j) if out[j].end() == start => {
                        out[j].duration = end.saturating_sub(out[j].start).max(1);
                        j
                    }
                    _ => {
                        let duration = end.saturating_sub(start).max(1);
                        out.push(Note {
                            pitch,
                            start,
                            duration,
                            velocity,
                        });
                        out.len() - 1
                    }
                };
                if tie {
                    still_open.insert(pitch, index);
                }
            }
        }
        open = still_open;
    }
    out
}

/// Tempo and meter changes at the ticks of their elements, without repeats of the same value.
fn place_metas(metas: &[Meta], starts: &[u32], layout: &mut Layout) {
    for meta in metas {
        let tick = starts[meta.before.min(starts.len() - 1)];
        match meta.kind {
            MetaKind::Tempo(micros_per_quarter) => {
                layout.tempos.retain(|t| t.tick != tick);
                if layout
                    .tempos
                    .last()
                    .is_none_or(|t| t.micros_per_quarter != micros_per_quarter)
                {
                    layout.tempos.push(TempoChange {
                        tick,
                        micros_per_quarter,
                    });
                }
            }
            MetaKind::Meter(m) => {
                layout.time_signatures.retain(|t| t.tick != tick);
                let same = |t: &TimeSignature| {
                    (t.numerator, t.denominator) == (m.numerator, m.denominator)
                };
                if !layout.time_signatures.last().is_some_and(same) {
                    let ts = TimeSignature {
                        tick,
                        numerator: m.numerator,
                        denominator: m.denominator,
                    };
                    layout.time_signatures.push(ts);
                }
            }
        }
    }
}
