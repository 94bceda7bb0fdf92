//! Meters on the grid and the bars they lay out.

use super::voice::Grid;
use crate::score::TimeSignature;
use anyhow::{bail, Result};
use std::fmt;

/// Longest score written, in grid steps (about 260,000 whole notes on a sixteenth grid).
const MAX_STEPS: u64 = 1 << 22;

/// A meter measured in grid steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meter {
    pub numerator: u8,
    pub denominator: u8,
    /// Steps in one bar.
    pub bar_steps: u64,
    /// Steps in one beat (a dotted quarter in 6/8, 9/8, 12/8...), for spacing between beats.
    pub beat_steps: u64,
}

impl fmt::Display for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl Meter {
    /// The meter `numerator/denominator` on a grid of `1/grid_denominator` notes.
    fn new(numerator: u8, denominator: u8, grid_denominator: u32) -> Result<Meter> {
        if numerator == 0 || denominator == 0 {
            bail!("time signature {numerator}/{denominator} has a zero part");
        }
        let steps = u64::from(numerator) * u64::from(grid_denominator);
        let denominator_wide = u64::from(denominator);
        if !steps.is_multiple_of(denominator_wide) {
            bail!(
                "a bar of {numerator}/{denominator} is not a whole number of 1/{grid_denominator} \
                 notes: choose a finer grid"
            );
        }
        let bar_steps = steps / denominator_wide;
        let compound = numerator.is_multiple_of(3) && numerator > 3 && denominator >= 8;
        let beat_numerator = if compound { 3 } else { 1 };
        let beat = beat_numerator * u64::from(grid_denominator);
        let beat_steps = if beat.is_multiple_of(denominator_wide) {
            beat / denominator_wide
        } else {
            bar_steps
        };
        Ok(Meter {
            numerator,
            denominator,
            bar_steps,
            beat_steps,
        })
    }
}

/// The meter map as `(first step, meter)`, starting at step 0 and without repeats: the score's
/// first time signature holds from the start (4/4 when there is none); later ones are rounded
/// to the grid.
pub(super) fn meter_segments(
    signatures: &[TimeSignature],
    grid: &Grid,
) -> Result<Vec<(u64, Meter)>> {
    let grid_denominator = grid.denominator();
    let mut sorted: Vec<&TimeSignature> = signatures.iter().collect();
    sorted.sort_by_key(|s| s.tick);
    let mut segments: Vec<(u64, Meter)> = Vec::new();
    for (i, signature) in sorted.iter().enumerate() {
        let meter = Meter::new(signature.numerator, signature.denominator, grid_denominator)?;
        let step = if i == 0 {
            0
        } else {
            grid.step_of(signature.tick)
        };
        push_segment(&mut segments, step, meter);
    }
    if segments.is_empty() {
        segments.push((0, Meter::new(4, 4, grid_denominator)?));
    }
    Ok(segments)
}

/// Appends a meter change, replacing one at the same step and skipping one that changes nothing.
fn push_segment(segments: &mut Vec<(u64, Meter)>, step: u64, meter: Meter) {
    if segments.last().is_some_and(|&(s, _)| s == step) {
        segments.pop();
    }
    if segments.last().is_some_and(|&(_, m)| m == meter) {
        return;
    }
    segments.push((step, meter));
}

/// One written bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Bar {
    /// First step of the bar.
    pub start: u64,
    /// Steps in the bar (shorter than the meter's for a pick-up or a bar cut by a meter change).
    pub len: u64,
    /// The meter in force.
    pub meter: Meter,
    /// Where in a full bar of the meter this bar starts (non-zero only for a pick-up).
    pub phase: u64,
    /// The bar starts a new meter (an `M:` field is written before it).
    pub changes_meter: bool,
}

impl Bar {
    /// The step after the bar's last.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// The bars that hold the music up to `music_end` (at least one), a pick-up of `pickup` steps
/// first when it is non-zero, at most `max_bars` of them.
pub(super) fn lay_out_bars(
    segments: &[(u64, Meter)],
    pickup: u64,
    music_end: u64,
    max_bars: Option<usize>,
) -> Result<Vec<Bar>> {
    if music_end > MAX_STEPS {
        bail!("the score is too long to write: {music_end} grid steps (at most {MAX_STEPS})");
    }
    let first_meter = segments[0].1;
    if pickup >= first_meter.bar_steps {
        bail!(
            "the pick-up ({pickup} grid steps) must be shorter than a bar of {first_meter} \
             ({} steps)",
            first_meter.bar_steps
        );
    }
    let limit = max_bars.unwrap_or(usize::MAX);
    let music_end = music_end.max(1);
    let mut bars: Vec<Bar> = Vec::new();
    let mut position = 0;
    for (i, &(segment_start, meter)) in segments.iter().enumerate() {
        let segment_end = segments.get(i + 1).map_or(u64::MAX, |s| s.0);
        let mut first_of_segment = i > 0;
        while position < segment_end && position < music_end && bars.len() < limit {
            let (len, phase) = if position == 0 && pickup > 0 {
                (pickup, meter.bar_steps - pickup)
            } else {
                (meter.bar_steps, 0)
            };
            bars.push(Bar {
                start: position,
                len: len.min(segment_end - position),
                meter,
                phase,
                changes_meter: first_of_segment && position == segment_start,
            });
            first_of_segment = false;
            position += bars[bars.len() - 1].len;
        }
    }
    shorten_last_bar_to_complement(&mut bars, pickup, music_end);
    Ok(bars)
}

/// After a pick-up, a last full bar that the music does not reach past the pick-up's complement
/// is shortened to that complement, so that the pick-up and the last bar make one bar.
fn shorten_last_bar_to_complement(bars: &mut [Bar], pickup: u64, music_end: u64) {
    let count = bars.len();
    let Some(last) = bars.last_mut() else {
        return;
    };
    let complement = last.meter.bar_steps.saturating_sub(pickup);
    let is_full = last.len == last.meter.bar_steps;
    if pickup > 0 && count > 1 && is_full && music_end <= last.start + complement {
        last.len = complement;
    }
}
