//! The rules of ABC that the reader and the sampling constraint (`generate::abc_constraint`)
//! share, so that a fix to one is a fix to both: the length of a bar of a meter, the unit note
//! length (written, or the standard's default for the meter), the mode names a key may carry, and
//! how a note's length suffix is read and what it is worth, and how a tuplet and a broken rhythm
//! scale an element. Lengths are in ticks
//! of a whole note of the caller's choosing, or (numerator, denominator) factors of the unit.
//!
//! Both also keep the account of a bar the same way, with one [`BarAccount`]: what a bar holds
//! against its meter, whether it is full, short or long ([`BarFit`]), whether it is at the edge of
//! a section, and whether a bar line may close it ([`bar_may_close`]). The reader fills it with
//! exact fractions of a whole note, bar by bar; the constraint with ticks, note by note.
//!
//! The tokens of a bar are read one character at a time by one [`CharToken`] each, which the
//! reader's lexer reads as far as it goes and the constraint carries as its token in progress: a
//! note's pitch ([`NoteSign`], also each note of a chord and of grace notes), its length suffix
//! ([`LengthSuffix`]), a broken rhythm ([`BrokenSign`]), a tuplet mark ([`TupletSign`]) and a bar
//! line ([`BarSign`]); the one-character decorations are [`is_decoration`]'s.
//!
//! The constraint writes a subset of what the reader reads (its own whitelists of meters, units,
//! modes, accidentals, lengths, tuplets and bar lines); that its account is the reader's at every
//! bar line is tested over random walks and over the whole corpus
//! (`generate::abc_constraint::tests_bars`, `tests/abc_grammar_agreement.rs`).

mod elements;

pub(crate) use elements::{is_decoration, BrokenSign, NoteSign};

use super::fields::{default_unit, parse_meter, parse_unit};
use super::frac::Frac;
use super::key::mode_offset;
use serde::{Deserialize, Serialize};
use std::ops::Add;

/// How a bar's length compares with its meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BarFit {
    /// Exactly one bar of the meter (or, for a multi-bar rest, that many bars).
    Full,
    /// Shorter than the meter.
    Short,
    /// Longer than the meter.
    Long,
    /// No meter is in force (`M:none` or no `M:` field), so there is nothing to add up to.
    Unmetered,
    /// The bar's notes could not be timed on their own (a tuplet running across the bar line).
    Unreadable,
}

/// True when a bar that fits its meter this way may be closed by a bar line: a full bar anywhere,
/// a short one only at the edge of a section (the tune's first or last bar, or one beside a repeat
/// sign, a double bar or a numbered ending: where pick-ups and their closing bars go). A long
/// bar, an unmetered or an unreadable one never adds up.
pub(crate) fn bar_may_close(fit: BarFit, at_section_edge: bool) -> bool {
    fit == BarFit::Full || (fit == BarFit::Short && at_section_edge)
}

/// A bar line's repeat and double-bar flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Bar {
    /// Ends a repeated section (`:|`, `::`).
    pub repeat_end: bool,
    /// Starts a repeated section (`|:`, `::`).
    pub repeat_start: bool,
    /// A double, thick or final bar (`||`, `|]`, `[|`).
    pub double: bool,
}

impl Bar {
    /// True when the bar line closes a section (a repeat sign or a double bar): the bars on
    /// either side of it may be short.
    pub(crate) fn closes_section(self) -> bool {
        self.repeat_end || self.repeat_start || self.double
    }
}

/// A token of ABC read one character at a time ([`NoteSign`], [`LengthSuffix`], [`BrokenSign`],
/// [`TupletSign`], [`BarSign`]):
/// the reader's lexer reads each as far as [`CharToken::step`] goes, and the sampling constraint
/// carries one as its token in progress.
pub(crate) trait CharToken: Copy {
    /// The token with `c` read after it, or `None` when `c` is not part of it (the token ends
    /// before `c`).
    fn step(self, c: char) -> Option<Self>;
}

/// `digits` with the digit `d` written after them (saturating): how a number in ABC is read.
pub(crate) fn append_digit(digits: Option<u32>, d: u32) -> Option<u32> {
    Some(digits.unwrap_or(0).saturating_mul(10).saturating_add(d))
}

/// A bar line that starts with `|` or `:`, as its characters are read one at a time: colons
/// (a repeat's end), a pipe, a second pipe or `]` (a double or final bar) straight after it,
/// then colons (a repeat's start). The reader's lexer reads a bar line as far as
/// [`BarSign::step`] goes; the constraint writes the signs of its whitelist and nothing that the
/// reader would read as a longer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BarSign {
    /// Colons before the pipe.
    pub colons_before: u8,
    /// The pipe is written.
    pub pipe: bool,
    /// `||` or `|]`.
    pub double: bool,
    /// Colons after the pipe.
    pub colons_after: u8,
}

impl BarSign {
    /// The sign a bar line starts as: `|` or `:` (`None` for any other character).
    pub(crate) fn start(c: char) -> Option<BarSign> {
        let empty = BarSign {
            colons_before: 0,
            pipe: false,
            double: false,
            colons_after: 0,
        };
        match c {
            '|' => Some(BarSign {
                pipe: true,
                ..empty
            }),
            ':' => Some(BarSign {
                colons_before: 1,
                ..empty
            }),
            _ => None,
        }
    }

    /// What the bar line means: `None` for a single stray `:` (no bar line).
    pub(crate) fn bar(self) -> Option<Bar> {
        if self.pipe {
            Some(Bar {
                repeat_end: self.colons_before > 0,
                repeat_start: self.colons_after > 0,
                double: self.double,
            })
        } else {
            (self.colons_before >= 2).then_some(Bar {
                repeat_end: true,
                repeat_start: true,
                double: false,
            })
        }
    }
}

impl CharToken for BarSign {
    fn step(self, c: char) -> Option<BarSign> {
        match c {
            ':' if !self.pipe => Some(BarSign {
                colons_before: self.colons_before.saturating_add(1),
                ..self
            }),
            ':' => Some(BarSign {
                colons_after: self.colons_after.saturating_add(1),
                ..self
            }),
            '|' if !self.pipe => Some(BarSign { pipe: true, ..self }),
            '|' | ']' if !self.double && self.colons_after == 0 => Some(BarSign {
                double: true,
                ..self
            }),
            _ => None,
        }
    }
}

/// A length a bar is counted in: ticks (`i64`, the constraint) or exact fractions of a whole note
/// (the reader).
pub(crate) trait BarLength: Copy + PartialEq + Add<Output = Self> {
    /// Nothing.
    const ZERO: Self;
    /// True when `self` is shorter than `other`.
    fn shorter_than(self, other: Self) -> bool;
}

impl BarLength for i64 {
    const ZERO: i64 = 0;
    fn shorter_than(self, other: i64) -> bool {
        self < other
    }
}

impl BarLength for Frac {
    const ZERO: Frac = Frac::ZERO;
    fn shorter_than(self, other: Frac) -> bool {
        let ((a, b), (c, d)) = (self.parts(), other.parts());
        i128::from(a) * i128::from(d) < i128::from(c) * i128::from(b)
    }
}

/// The account of the bar being written: the length of one bar of the meter in force (`None`
/// when unmetered), what its notes and rests fill so far, and whether it opens a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BarAccount<L> {
    meter: Option<L>,
    filled: L,
    opens_section: bool,
}

impl<L: BarLength> BarAccount<L> {
    /// An empty bar of `meter`; `opens_section` for the tune's first bar and one after a repeat
    /// sign, double bar or numbered ending.
    pub(crate) fn new(meter: Option<L>, opens_section: bool) -> Self {
        BarAccount {
            meter,
            filled: L::ZERO,
            opens_section,
        }
    }

    /// Counts an element (a note, chord or rest, as timed) or a change to the last one's length.
    pub(crate) fn add(&mut self, length: L) {
        self.filled = self.filled + length;
    }

    /// What the bar's elements fill so far.
    pub(crate) fn filled(&self) -> L {
        self.filled
    }

    /// One bar of the meter in force.
    pub(crate) fn meter(&self) -> Option<L> {
        self.meter
    }

    /// True when nothing is in the bar yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.filled == L::ZERO
    }

    /// True when the bar fills its meter exactly.
    pub(crate) fn is_full(&self) -> bool {
        self.meter == Some(self.filled)
    }

    /// How the bar so far compares with its meter.
    pub(crate) fn fit(&self) -> BarFit {
        match self.meter {
            None => BarFit::Unmetered,
            Some(meter) if self.filled == meter => BarFit::Full,
            Some(meter) if self.filled.shorter_than(meter) => BarFit::Short,
            Some(_) => BarFit::Long,
        }
    }

    /// True when the bar borders a section: it opens one, or the bar line closing it
    /// (`closes_section`: a repeat sign, a double bar, the tune's end) closes one.
    pub(crate) fn at_section_edge(&self, closes_section: bool) -> bool {
        self.opens_section || closes_section
    }

    /// True when a bar line (closing a section or not) may close the bar as it stands.
    pub(crate) fn may_close(&self, closes_section: bool) -> bool {
        bar_may_close(self.fit(), self.at_section_edge(closes_section))
    }

    /// The account of the bar after a bar line that closes this one (and, with
    /// `closes_section`, a section: the next bar opens one).
    pub(crate) fn next(&self, closes_section: bool) -> Self {
        BarAccount::new(self.meter, closes_section)
    }
}

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

/// The length suffix after a note, rest or chord (`2`, `3/2`, `/`, `//`, `/4`, `3/2/`), as its
/// characters are read one at a time: the reader's lexer reads a suffix as far as
/// [`LengthSuffix::step`] goes, and the sampling constraint carries one as its element in
/// progress (writing only the suffixes of its whitelist). The digits before any slash are the
/// multiplier (none: 1); each slash divides by the digits after it (none: 2), so `//` is 1/4 and
/// `/2/` is 1/4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LengthSuffix {
    /// The digits before any slash (`None`: none written, a multiplier of 1).
    pub numerator: Option<u32>,
    /// Slashes written.
    pub slashes: u8,
    /// The digits after the last slash (`None`: none written, a divisor of 2).
    pub divisor: Option<u32>,
    /// The product of the divisors before the last slash (1 with none).
    earlier: u64,
}

impl Default for LengthSuffix {
    fn default() -> Self {
        LengthSuffix {
            numerator: None,
            slashes: 0,
            divisor: None,
            earlier: 1,
        }
    }
}

impl CharToken for LengthSuffix {
    fn step(self, c: char) -> Option<LengthSuffix> {
        match (c.to_digit(10), c) {
            (Some(d), _) if self.slashes == 0 => Some(LengthSuffix {
                numerator: append_digit(self.numerator, d),
                ..self
            }),
            (Some(d), _) => Some(LengthSuffix {
                divisor: append_digit(self.divisor, d),
                ..self
            }),
            (None, '/') => Some(LengthSuffix {
                slashes: self.slashes.saturating_add(1),
                divisor: None,
                earlier: if self.slashes == 0 {
                    1
                } else {
                    self.earlier
                        .saturating_mul(u64::from(self.divisor.unwrap_or(2)))
                },
                ..self
            }),
            _ => None,
        }
    }
}

impl LengthSuffix {
    /// The product of the divisors, when none is zero and it is at most 2²⁰.
    fn denominator(&self) -> Option<i64> {
        if self.slashes == 0 {
            return Some(1);
        }
        let den = self
            .earlier
            .saturating_mul(u64::from(self.divisor.unwrap_or(2)));
        (den != 0 && den <= 1 << 20).then_some(den as i64)
    }

    /// True when the divisors are readable: none is zero and their product is at most 2²⁰.
    pub(crate) fn divisors_ok(&self) -> bool {
        self.denominator().is_some()
    }

    /// The factor of the unit the suffix writes, as (numerator, denominator); `None` for a zero
    /// multiplier or unreadable divisors.
    pub(crate) fn value(&self) -> Option<(i64, i64)> {
        let num = i64::from(self.numerator.unwrap_or(1));
        (num > 0).then_some(())?;
        Some((num, self.denominator()?))
    }
}

/// A tuplet mark after its `(` (`(3`, `(3:2`, `(3:2:3`, `(3::2`), as its characters are read one
/// at a time: the number of notes `p`, then after a colon the time `q`, then after a second colon
/// the count `r`. The reader's lexer reads a mark as far as [`TupletSign::step`] goes (no `p`: the
/// `(` opens a slur); the constraint writes `(2`, `(3` and `(4` and nothing the reader would read
/// further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TupletSign {
    /// Notes in the tuplet.
    pub p: Option<u32>,
    /// In the time of this many (none: the standard's default, [`tuplet_factor`]).
    pub q: Option<u32>,
    /// For this many notes (none: `p`).
    pub r: Option<u32>,
    /// Colons read.
    colons: u8,
}

impl CharToken for TupletSign {
    fn step(self, c: char) -> Option<TupletSign> {
        match (c.to_digit(10), self.colons) {
            (Some(d), 0) => Some(TupletSign {
                p: append_digit(self.p, d),
                ..self
            }),
            (Some(d), 1) => Some(TupletSign {
                q: append_digit(self.q, d),
                ..self
            }),
            (Some(d), _) => Some(TupletSign {
                r: append_digit(self.r, d),
                ..self
            }),
            (None, colons) if c == ':' && self.p.is_some() && colons < 2 => Some(TupletSign {
                colons: colons + 1,
                ..self
            }),
            _ => None,
        }
    }
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
fn broken_rhythm_factors(marks: u32) -> ((i64, i64), (i64, i64)) {
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
    fn a_bar_account_in_ticks_and_in_fractions_gives_the_same_verdicts() {
        let bar = |filled: &[i64], opens: bool| {
            let mut ticks = BarAccount::new(Some(96i64), opens);
            let mut fractions = BarAccount::new(Some(Frac::new(3, 4)), opens);
            for &t in filled {
                ticks.add(t);
                fractions.add(Frac::new(t, 128));
            }
            assert_eq!(ticks.fit(), fractions.fit(), "{filled:?}");
            assert_eq!(ticks.is_full(), fractions.is_full(), "{filled:?}");
            ticks
        };
        assert_eq!(bar(&[32, 32, 32], false).fit(), BarFit::Full);
        assert!(bar(&[32, 32, 32], false).may_close(false));
        let short = bar(&[32, 16], false);
        assert_eq!(short.fit(), BarFit::Short);
        assert!(!short.may_close(false), "a short bar inside a section");
        assert!(short.may_close(true), "a short bar before a repeat sign");
        assert!(bar(&[32], true).may_close(false), "a pick-up");
        let long = bar(&[64, 64], true);
        assert_eq!(long.fit(), BarFit::Long);
        assert!(!long.may_close(true), "a long bar never closes");
        assert!(bar(&[], false).is_empty() && !bar(&[1], false).is_empty());
        assert_eq!(BarAccount::<i64>::new(None, false).fit(), BarFit::Unmetered);
        // The bar after a section bar line opens a section; after a plain one it does not.
        let mut after = short.next(true);
        after.add(16);
        assert!(after.may_close(false));
        let mut plain = short.next(false);
        plain.add(16);
        assert!(!plain.may_close(false));
        assert_eq!(plain.meter(), Some(96));
        assert_eq!(plain.filled(), 16);
    }

    /// Reads as much of `text` as continues `token`: the token, and the characters it took.
    pub(super) fn read_token<T: CharToken>(mut token: T, text: &str) -> (T, usize) {
        let mut used = 0;
        for c in text.chars() {
            match token.step(c) {
                Some(next) => {
                    token = next;
                    used += 1;
                }
                None => break,
            }
        }
        (token, used)
    }

    /// The bar line `text` reads as, and the characters it takes.
    fn read_bar(text: &str) -> (Option<Bar>, usize) {
        let mut chars = text.chars();
        let Some(sign) = chars.next().and_then(BarSign::start) else {
            return (None, 0);
        };
        let (sign, used) = read_token(sign, chars.as_str());
        (sign.bar(), used + 1)
    }

    #[test]
    fn bar_lines_read_one_character_at_a_time() {
        let bar = |end, start, double| {
            Some(Bar {
                repeat_end: end,
                repeat_start: start,
                double,
            })
        };
        assert_eq!(read_bar("|a"), (bar(false, false, false), 1));
        assert_eq!(read_bar("||"), (bar(false, false, true), 2));
        assert_eq!(read_bar("|]"), (bar(false, false, true), 2));
        assert_eq!(read_bar("|||"), (bar(false, false, true), 2), "|| then |");
        assert_eq!(read_bar("|:a"), (bar(false, true, false), 2));
        assert_eq!(read_bar("|::"), (bar(false, true, false), 3));
        assert_eq!(read_bar(":|a"), (bar(true, false, false), 2));
        assert_eq!(
            read_bar(":|2"),
            (bar(true, false, false), 2),
            "the ending is not the sign's"
        );
        assert_eq!(read_bar(":||:"), (bar(true, true, true), 4));
        assert_eq!(read_bar(":|]"), (bar(true, false, true), 3));
        assert_eq!(read_bar(":|:|"), (bar(true, true, false), 3), ":|: then |");
        assert_eq!(read_bar("::a"), (bar(true, true, false), 2));
        assert_eq!(read_bar("::|"), (bar(true, false, false), 3));
        assert_eq!(read_bar(":a"), (None, 1), "a stray colon");
        assert_eq!(read_bar("a"), (None, 0));
        assert!(!Bar::default().closes_section());
        for text in ["||", "|:", ":|", "::", "|]"] {
            assert!(read_bar(text).0.is_some_and(Bar::closes_section), "{text}");
        }
    }

    #[test]
    fn lengths_tuplets_and_broken_rhythm() {
        let read = |text: &str| {
            let (suffix, used) = read_token(LengthSuffix::default(), text);
            assert_eq!(used, text.len(), "{text:?} is all a length suffix");
            suffix.value()
        };
        assert_eq!(read("3/2"), Some((3, 2)));
        assert_eq!(read("//"), Some((1, 4)));
        assert_eq!(read("/2/"), Some((1, 4)));
        assert_eq!(read("/4"), Some((1, 4)));
        assert_eq!(read("2"), Some((2, 1)));
        assert_eq!(read(""), Some((1, 1)));
        assert_eq!(read("12"), Some((12, 1)));
        assert_eq!(read("3/2/2"), Some((3, 4)));
        assert_eq!(read("0"), None);
        assert_eq!(read("/0"), None);
        assert_eq!(read("/2097152"), None, "past 2^20");
        assert!(!LengthSuffix::default()
            .step('/')
            .and_then(|s| s.step('0'))
            .is_some_and(|s| s.divisors_ok()));
        assert_eq!(LengthSuffix::default().step('a'), None);
        assert_eq!(
            LengthSuffix::default().step('2').and_then(|s| s.step('-')),
            None
        );
        let mark = |text: &str| {
            let (sign, used) = read_token(TupletSign::default(), text);
            ((sign.p, sign.q, sign.r), used)
        };
        assert_eq!(mark("3abc"), ((Some(3), None, None), 1));
        assert_eq!(mark("3:2abc"), ((Some(3), Some(2), None), 3));
        assert_eq!(mark("3:2:3a"), ((Some(3), Some(2), Some(3)), 5));
        assert_eq!(mark("3::2a"), ((Some(3), None, Some(2)), 4));
        assert_eq!(
            mark("3:2:3:"),
            ((Some(3), Some(2), Some(3)), 5),
            "no third colon"
        );
        assert_eq!(mark("ab"), ((None, None, None), 0), "a slur");
        assert_eq!(mark(":3"), ((None, None, None), 0), "no colon before p");
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
