//! The rules of ABC that the reader and the sampling constraint (`generate::abc_constraint`)
//! share, so that a fix to one is a fix to both: the length of a bar of a meter, the unit note
//! length (written, or the standard's default for the meter), the mode names a key may carry, and
//! how a note's length suffix, a tuplet and a broken rhythm scale an element. Lengths are in ticks
//! of a whole note of the caller's choosing, or (numerator, denominator) factors of the unit.
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

/// The factor of the unit a length suffix writes, as (numerator, denominator): `numerator` is the
/// digits before any slash (none: 1), `divisors` one entry per slash, its digits (none: 2). So
/// `3/2` is `(Some(3), [Some(2)])` → 3/2, `//` is `(None, [None, None])` → 1/4, and `/2/` →
/// 1/4. `None` for a zero numerator or divisor, or a divisor past 2²⁰.
pub(crate) fn length_factor(
    numerator: Option<u32>,
    divisors: &[Option<u32>],
) -> Option<(i64, i64)> {
    let num = i64::from(numerator.unwrap_or(1));
    let mut den: i64 = 1;
    for divisor in divisors {
        den = den.checked_mul(i64::from(divisor.unwrap_or(2)))?;
        if den == 0 || den > 1 << 20 {
            return None;
        }
    }
    (num > 0).then_some((num, den))
}

/// A tuplet `(p:q`: `p` notes in the time of `q`, whose default the standard sets (3 for 2, 4 and
/// 8 notes; 2 for 3 and 6; for 5, 7 and 9, 3 in a compound meter and 2 otherwise). The factor on
/// each note's length, as (numerator, denominator) = (q, p).
pub(crate) fn tuplet_factor(p: u32, q: Option<u32>, compound: bool) -> (i64, i64) {
    let q = q.unwrap_or(match p {
        2 | 4 | 8 => 3,
        3 | 6 => 2,
        _ if compound => 3,
        _ => 2,
    });
    (i64::from(q), i64::from(p))
}

/// A broken rhythm of `marks` signs (`>` is 1, `>>` 2, `>>>` 3): the factors on the longer and
/// the shorter element, as (numerator, denominator): 3/2 and 1/2, 7/4 and 1/4, 15/8 and 1/8.
/// `>` makes the first element the longer, `<` the second.
pub(crate) fn broken_rhythm_factors(marks: u32) -> ((i64, i64), (i64, i64)) {
    let den = 1i64 << marks.min(16);
    ((2 * den - 1, den), (1, den))
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

    #[test]
    fn lengths_tuplets_and_broken_rhythm() {
        assert_eq!(length_factor(Some(3), &[Some(2)]), Some((3, 2)));
        assert_eq!(length_factor(None, &[None, None]), Some((1, 4)));
        assert_eq!(length_factor(None, &[Some(2), None]), Some((1, 4)));
        assert_eq!(length_factor(Some(2), &[]), Some((2, 1)));
        assert_eq!(length_factor(Some(0), &[]), None);
        assert_eq!(length_factor(None, &[Some(0)]), None);
        assert_eq!(length_factor(None, &[Some(1 << 21)]), None);
        assert_eq!(tuplet_factor(3, None, false), (2, 3));
        assert_eq!(tuplet_factor(2, None, true), (3, 2));
        assert_eq!(tuplet_factor(4, None, false), (3, 4));
        assert_eq!(tuplet_factor(5, None, true), (3, 5));
        assert_eq!(tuplet_factor(5, None, false), (2, 5));
        assert_eq!(tuplet_factor(3, Some(4), false), (4, 3));
        assert_eq!(broken_rhythm_factors(1), ((3, 2), (1, 2)));
        assert_eq!(broken_rhythm_factors(2), ((7, 4), (1, 4)));
        assert_eq!(broken_rhythm_factors(3), ((15, 8), (1, 8)));
    }
}
