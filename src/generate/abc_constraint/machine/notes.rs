//! Notes, rests, chords and grace notes: their lengths, and whether they fit in the bar.

use super::{scale, Machine, Prev, Tok};

/// A length being written after a note, rest or chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Len {
    /// The multiplier written (0: none yet).
    pub(super) num: i64,
    /// Slashes written.
    pub(super) slashes: u8,
    /// The divisor written after the slash (0: none yet).
    pub(super) den: i64,
}

impl Len {
    /// The length in units, as (numerator, denominator), when it is complete.
    pub(super) fn value(&self) -> Option<(i64, i64)> {
        let num = if self.num == 0 { 1 } else { self.num };
        let den = match (self.slashes, self.den) {
            (0, _) => 1,
            (_, 0) => 1 << self.slashes,
            (_, d) if [2, 4, 8, 16].contains(&d) => d,
            _ => return None,
        };
        Some((num, den))
    }

    /// The shortest length this can still become, in units (numerator, denominator).
    pub(super) fn shortest(&self) -> (i64, i64) {
        let num = if self.num == 0 { 1 } else { self.num };
        match (self.slashes, self.den) {
            (0, _) | (1, 0) | (1, 1) => (num, 16),
            (_, 0) => (num, 4),
            (_, d) => (num, d),
        }
    }
}

/// What kind of element a length belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Elem {
    /// A note: lowercase letter or not, octave marks written.
    Note {
        lower: bool,
        marks: u8,
    },
    Chord,
    Rest,
}

impl Machine {
    /// A note letter after accidentals (or none).
    pub(super) fn note_letter(&mut self, c: char) -> bool {
        self.tok = Tok::Length {
            elem: Elem::Note {
                lower: c.is_ascii_lowercase(),
                marks: 0,
            },
            len: Len::default(),
        };
        self.fits_at_least(&Len::default())
    }
    pub(super) fn extend_length(&mut self, elem: Elem, mut len: Len, c: char) -> Option<bool> {
        let untouched = len == Len::default();
        match (elem, c) {
            (Elem::Note { lower, marks }, '\'' | ',') if untouched => {
                let ok = marks < 2 && (c == '\'') == lower;
                let elem = Elem::Note {
                    lower,
                    marks: marks + 1,
                };
                self.tok = Tok::Length { elem, len };
                return Some(ok);
            }
            (_, '0'..='9') => {
                let d = i64::from(c.to_digit(10).unwrap_or(0));
                let ok = if len.slashes == 0 {
                    len.num = len.num * 10 + d;
                    len.num > 0 && len.num <= 16 && self.numerator_fits(&len)
                } else {
                    len.den = len.den * 10 + d;
                    len.slashes == 1 && [1, 2, 4, 8, 16].contains(&len.den)
                };
                self.tok = Tok::Length { elem, len };
                return Some(ok && self.fits_at_least(&len));
            }
            (_, '/') => {
                // `//` only without a multiplier: music21 reads `1//` as a half.
                let ok = len.slashes == 0 || (len.slashes == 1 && len.den == 0 && len.num == 0);
                len.slashes += 1;
                self.tok = Tok::Length { elem, len };
                return Some(ok && self.fits_at_least(&len));
            }
            (Elem::Note { .. } | Elem::Chord, '-') => {
                // The tie ends the element; a note must follow it.
                let ok = self.finish_element(&len, elem) && !self.last_fixed;
                self.tie = true;
                return Some(ok);
            }
            _ => {}
        }
        None
    }
    /// The multiplier must fit what is left, or, when odd, half of it must (so that `3/2` can
    /// still be written, but `c2` is not forced into `c2/`). Inside a tuplet only 1, 2 and 4
    /// (music21 fails on a tuplet note such as `(3c5`).
    pub(super) fn numerator_fits(&self, len: &Len) -> bool {
        if self.tuplet_left > 0 && ![1, 2, 4].contains(&len.num) {
            return false;
        }
        let fits = |units| self.element_ticks(units).is_some_and(|t| t <= self.room());
        fits((len.num, 1)) || (len.num % 2 == 1 && fits((len.num, 2)))
    }
    /// The element can still be made short enough to fit.
    pub(super) fn fits_at_least(&self, len: &Len) -> bool {
        self.element_ticks(len.shortest())
            .is_some_and(|t| t > 0 && t <= self.room())
    }
    /// Ticks of an element of `units` (numerator, denominator), with the tuplet and broken
    /// rhythm in force.
    pub(super) fn element_ticks(&self, units: (i64, i64)) -> Option<i64> {
        let mut t = scale(self.unit, units)?;
        if self.tuplet_left > 0 {
            t = scale(t, self.tuplet)?;
        }
        if let Some(f) = self.broken {
            t = scale(t, f)?;
        }
        Some(t)
    }
    /// Ticks the next element may take: what is left of the bar, less what a tuplet still owes.
    pub(super) fn room(&self) -> i64 {
        let owed = i64::from(self.tuplet_left.saturating_sub(1));
        let shortest = scale(self.unit, (1, 16))
            .and_then(|t| scale(t, self.tuplet))
            .unwrap_or(0);
        self.bar - self.pos - owed * shortest
    }
    /// Completes an element of length `len`: it must fit.
    pub(super) fn finish_element(&mut self, len: &Len, elem: Elem) -> bool {
        let Some(ticks) = len.value().and_then(|v| self.element_ticks(v)) else {
            return false;
        };
        if ticks <= 0 || ticks > self.room() {
            return false;
        }
        if elem == Elem::Rest && self.tie {
            return false;
        }
        self.tie = false;
        self.decorated = false;
        self.pos += ticks;
        self.last_len = ticks;
        self.last_fixed = self.broken.is_some() || self.tuplet_left > 0;
        self.broken = None;
        self.tuplet_left = self.tuplet_left.saturating_sub(1);
        self.tok = Tok::None;
        self.prev = Prev::Element;
        true
    }
    /// A character inside `[…]` (a chord) or `{…}` (grace notes).
    pub(super) fn inner_note(&mut self, c: char) -> bool {
        let (grace, notes, signs, marks, lower) = match self.tok {
            Tok::Chord {
                notes,
                signs,
                marks,
                lower,
            } => (false, notes, signs, marks, lower),
            Tok::Grace {
                notes,
                signs,
                marks,
                lower,
            } => (true, notes, signs, marks, lower),
            _ => return false,
        };
        let set = |notes, signs, marks, lower| {
            if grace {
                Tok::Grace {
                    notes,
                    signs,
                    marks,
                    lower,
                }
            } else {
                Tok::Chord {
                    notes,
                    signs,
                    marks,
                    lower,
                }
            }
        };
        match c {
            '^' | '_' | '=' if signs == 0 && notes < 4 => {
                self.tok = set(notes, 1, 0, lower);
                true
            }
            'A'..='G' | 'a'..='g' if notes < 4 => {
                self.tok = set(notes + 1, 0, 0, c.is_ascii_lowercase());
                true
            }
            '\'' | ',' if notes > 0 && signs == 0 && marks < 2 && (c == '\'') == lower => {
                self.tok = set(notes, 0, marks + 1, lower);
                true
            }
            ']' if !grace && notes > 0 && signs == 0 => {
                self.tok = Tok::Length {
                    elem: Elem::Chord,
                    len: Len::default(),
                };
                self.fits_at_least(&Len::default())
            }
            '}' if grace && notes > 0 && signs == 0 => {
                self.tok = Tok::None;
                self.prev = Prev::NeedsNote;
                true
            }
            _ => false,
        }
    }
    /// `(p`: `p` notes in the time of 3 (p = 2, 4) or 2 (p = 3), all in what is left of the bar.
    pub(super) fn start_tuplet(&mut self, p: u8) -> bool {
        self.tuplet = match p {
            2 => (3, 2),
            3 => (2, 3),
            _ => (3, 4),
        };
        self.tuplet_left = p;
        // Every note the tuplet owes must still fit.
        self.room()
            >= scale(self.unit, (1, 16))
                .and_then(|t| scale(t, self.tuplet))
                .unwrap_or(i64::MAX)
    }
    /// `>` or `<` between two elements: the one before grows (or shrinks) and the next one makes
    /// up the difference, inside the bar.
    pub(super) fn broken_rhythm(&mut self, dotted_first: bool) -> bool {
        let (first, second) = if dotted_first {
            ((3, 2), (1, 2))
        } else {
            ((1, 2), (3, 2))
        };
        let ok = self.prev == Prev::Element
            && !self.last_fixed
            && !self.tie
            && self.tuplet_left == 0
            && self.broken.is_none();
        let Some(longer) = scale(self.last_len, first) else {
            return false;
        };
        self.pos += longer - self.last_len;
        self.last_len = longer;
        self.last_fixed = true;
        self.broken = Some(second);
        self.prev = Prev::NeedsNote;
        ok && self.fits_at_least(&Len::default())
    }
}
