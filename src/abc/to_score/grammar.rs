//! The rules of ABC's header fields that the reader and the sampling constraint
//! (`generate::abc_constraint`) share, so that a fix to one is a fix to both: the length of a bar
//! of a meter, the unit note length (written, or the standard's default for the meter), and the
//! mode names a key may carry. Lengths are in ticks of a whole note of the caller's choosing.
//!
//! The constraint writes a subset of what the reader reads (its own whitelists of meters, units
//! and modes), and counts the notes of a bar itself, one character at a time; that its count is
//! the reader's at every bar line is tested over random walks and over the whole corpus
//! (`generate::abc_constraint::tests_bars`, `tests/abc_grammar_agreement.rs`).

use super::fields::{default_unit, parse_meter, parse_unit};
use super::key::mode_offset;

/// Ticks in one bar of the meter written as `value` (`6/8`, `C`, `C|`...), with `whole` ticks a
/// whole note; `None` for a free meter, `M:none` or a value the reader refuses.
pub(crate) fn meter_ticks(value: &str, whole: i64) -> Option<i64> {
    let meter = parse_meter(value).ok().flatten()?;
    Some(meter.bar_length().to_ticks(whole))
}

/// Ticks in the unit note length written as `value` (`1/8`...), with `whole` ticks a whole note.
pub(crate) fn unit_ticks(value: &str, whole: i64) -> Option<i64> {
    parse_unit(value).ok().map(|unit| unit.to_ticks(whole))
}

/// The unit note length the standard gives a tune without `L:` whose bar lasts `bar_ticks` (a
/// sixteenth below 3/4, else an eighth), in ticks of `whole` a whole note.
pub(crate) fn default_unit_ticks(bar_ticks: i64, whole: i64) -> i64 {
    let meter = (bar_ticks > 0).then(|| super::fields::Meter::of_ticks(bar_ticks, whole));
    default_unit(meter.flatten()).to_ticks(whole)
}

/// True when `mode` names a mode after a key's tonic (`""` for major, `m`, `min`, `dor`,
/// `Mixolydian`...), as the reader reads it.
pub(crate) fn is_mode(mode: &str) -> bool {
    mode.is_empty() || mode_offset(mode).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_rules_in_ticks() {
        assert_eq!(meter_ticks("6/8", 96), Some(72));
        assert_eq!(meter_ticks("C|", 96), Some(96));
        assert_eq!(meter_ticks("C", 96), Some(96));
        assert_eq!(meter_ticks("none", 96), None);
        assert_eq!(unit_ticks("1/16", 96), Some(6));
        assert_eq!(unit_ticks("x", 96), None);
        assert_eq!(default_unit_ticks(48, 96), 6, "2/4: sixteenths");
        assert_eq!(default_unit_ticks(72, 96), 12, "3/4: eighths");
        assert_eq!(default_unit_ticks(0, 96), 12, "no meter: eighths");
        for mode in [
            "", "m", "min", "maj", "mix", "dor", "phr", "lyd", "aeo", "loc", "ion", "Dorian",
        ] {
            assert!(is_mode(mode), "{mode}");
        }
        for mode in ["x", "mi", "dorx1", "#"] {
            assert!(!is_mode(mode), "{mode}");
        }
    }
}
