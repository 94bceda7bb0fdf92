//! Notes, rests, chords and grace notes: their lengths, and whether they fit in the bar.

use super::{scale, Machine, Prev, Tok};
use crate::abc::to_score::grammar::{self, BrokenSign, CharToken, NoteSign};

/// A length being written after a note, rest or chord: the reader's suffix
/// ([`grammar::LengthSuffix`]), of which the machine writes a whitelist (a multiplier up to 16,
/// one divisor of 2, 4, 8 or 16 after a single slash, or `//`).
pub(super) use grammar::LengthSuffix as Len;

/// What the machine asks of a length beyond the reader's reading of it.
pub(super) trait LenRules {
    /// The multiplier written (0: none yet).
    fn num(&self) -> i64;
    /// The divisor written after the slash (0: none yet).
    fn den(&self) -> i64;
    /// The length in units, as (numerator, denominator), when it is complete and whitelisted.
    fn units(&self) -> Option<(i64, i64)>;
    /// True when both are complete lengths of the same value.
    fn same_value(&self, other: &Len) -> bool;
    /// True when `self`, as written so far, can still become a length worth `full`'s.
    fn can_become(&self, full: &Len) -> bool;
    /// The shortest length this can still become, in units (numerator, denominator).
    fn shortest(&self) -> (i64, i64);
}

impl LenRules for Len {
    fn num(&self) -> i64 {
        self.numerator.map_or(0, i64::from)
    }

    fn den(&self) -> i64 {
        self.divisor.map_or(0, i64::from)
    }

    /// The arithmetic is the reader's ([`Len::value`]); a divisor written must be 2, 4, 8 or 16.
    fn units(&self) -> Option<(i64, i64)> {
        if self.den() != 0 && ![2, 4, 8, 16].contains(&self.den()) {
            return None;
        }
        self.value()
    }

    fn same_value(&self, other: &Len) -> bool {
        match (self.units(), other.units()) {
            (Some((a, b)), Some((c, d))) => a * d == b * c,
            _ => false,
        }
    }

    /// The same digits and slashes so far, or already the same value.
    fn can_become(&self, full: &Len) -> bool {
        let digits_prefix = |cur: i64, whole: i64| cur == 0 || whole == cur || whole / 10 == cur;
        let prefix = if self.slashes == 0 {
            digits_prefix(self.num(), full.num())
        } else {
            let multiplier = |n: i64| if n == 0 { 1 } else { n };
            multiplier(self.num()) == multiplier(full.num())
                && self.slashes <= full.slashes
                && (self.den() == 0
                    || (self.slashes == full.slashes && digits_prefix(self.den(), full.den())))
        };
        prefix || self.same_value(full)
    }

    fn shortest(&self) -> (i64, i64) {
        let num = if self.num() == 0 { 1 } else { self.num() };
        match (self.slashes, self.den()) {
            (0, _) | (1, 0) | (1, 1) => (num, 16),
            (_, 0) => (num, 4),
            (_, d) => (num, d),
        }
    }
}

/// The most accidental signs of one kind the machine writes before a note (`^^`, `__`), and
/// before a note of a chord or of grace notes.
const NOTE_SIGNS: u8 = 2;
const INNER_NOTE_SIGNS: u8 = 1;

/// True for the pitches the machine writes, a whitelist of the reader's [`NoteSign`]s: at most
/// `most_signs` of one accidental (`=` once), no microtone, at most two octave marks, `'` only on
/// a lowercase letter and `,` only on an uppercase one.
fn writable(sign: &NoteSign, most_signs: u8) -> bool {
    let kinds = [sign.sharps, sign.flats, sign.naturals]
        .iter()
        .filter(|&&n| n > 0)
        .count();
    let (marks_up, marks_down) = if sign.is_lowercase() { (2, 0) } else { (0, 2) };
    !sign.microtone
        && kinds <= 1
        && sign.naturals <= 1
        && sign.sharps.max(sign.flats) <= most_signs
        && sign.ups <= marks_up
        && sign.downs <= marks_down
}

/// What kind of element a length belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Elem {
    /// A note, with its pitch as written.
    Note(NoteSign),
    Chord,
    Rest,
}

impl Machine {
    /// A character of a note's pitch, read as the reader reads it ([`NoteSign`]): `None` when
    /// `c` does not continue `sign`, else whether the machine writes the pitch it makes. Once its
    /// letter is written the note is an element whose length follows, and it must fit.
    pub(super) fn pitch_char(&mut self, sign: NoteSign, c: char) -> Option<bool> {
        let next = sign.step(c)?;
        let ok = writable(&next, NOTE_SIGNS);
        if next.letter.is_none() {
            self.tok = Tok::Pitch(next);
            return Some(ok);
        }
        self.tok = Tok::Length {
            elem: Elem::Note(next),
            len: Len::default(),
        };
        Some(ok && (sign.letter.is_some() || self.fits_at_least(&Len::default())))
    }
    pub(super) fn extend_length(&mut self, elem: Elem, mut len: Len, c: char) -> Option<bool> {
        let untouched = len == Len::default();
        if let (Elem::Note(sign), true) = (elem, untouched) {
            // Octave marks come before the length.
            if let Some(ok) = self.pitch_char(sign, c) {
                return Some(ok);
            }
        }
        match (elem, c) {
            (_, '0'..='9' | '/') => {
                let before = len;
                len = len.step(c)?;
                let ok = if c == '/' {
                    // `//` only without a multiplier: music21 reads `1//` as a half.
                    before.slashes == 0
                        || (before.slashes == 1 && before.den() == 0 && before.num() == 0)
                } else if len.slashes == 0 {
                    len.num() > 0
                        && len.num() <= 16
                        && (self.numerator_fits(&len) || self.group_in_force())
                } else {
                    len.slashes == 1 && [1, 2, 4, 8, 16].contains(&len.den())
                };
                self.tok = Tok::Length { elem, len };
                return Some(ok && self.fits_at_least(&len) && self.group_allows(&len));
            }
            (Elem::Note(_) | Elem::Chord, '-') => {
                // The tie ends the element; a note must follow it.
                let ok =
                    self.finish_element(&len, elem) && !self.last_fixed && self.form_allows_tie();
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
        if self.tuplet_left > 0 && ![1, 2, 4].contains(&len.num()) {
            return false;
        }
        let fits = |units| self.element_ticks(units).is_some_and(|t| t <= self.room());
        fits((len.num(), 1)) || (len.num() % 2 == 1 && fits((len.num(), 2)))
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
        let base = (self.bar() - self.pos()).min(self.part_room());
        if self.form.active() && self.tuplet_left > 0 {
            // Every note of the tuplet is as long as its first.
            return match self.group.and_then(|g| g.units()) {
                Some(units) => base - owed * self.element_ticks(units).unwrap_or(i64::MAX / 64),
                None => base / i64::from(self.tuplet_left),
            };
        }
        let shortest = scale(self.unit, (1, 16))
            .and_then(|t| scale(t, self.tuplet))
            .unwrap_or(0);
        base - owed * shortest
    }

    /// Under a form, inside a tuplet or broken-rhythm pair: the length being written can still
    /// match the group's.
    fn group_allows(&self, len: &Len) -> bool {
        !self.form.active() || self.group.is_none_or(|g| len.can_become(&g))
    }

    /// Under a form, inside a tuplet or broken-rhythm pair whose length is set: the element's
    /// length is the group's, which is known to fit.
    fn group_in_force(&self) -> bool {
        self.form.active()
            && self.group.is_some()
            && (self.tuplet_left > 0 || self.broken.is_some())
    }
    /// Completes an element of length `len`: it must fit.
    pub(super) fn finish_element(&mut self, len: &Len, elem: Elem) -> bool {
        let Some(ticks) = len.units().and_then(|v| self.element_ticks(v)) else {
            return false;
        };
        if ticks <= 0 || ticks > self.room() {
            return false;
        }
        if elem == Elem::Rest && self.tie {
            return false;
        }
        if self.form.active() && (self.tuplet_left > 0 || self.broken.is_some()) {
            match self.group {
                Some(group) if !len.same_value(&group) => return false,
                Some(_) => {}
                None => self.group = Some(*len),
            }
        }
        self.last_written = *len;
        self.tie = false;
        self.decorated = false;
        self.account.add(ticks);
        self.last_len = ticks;
        self.last_fixed = self.broken.is_some() || self.tuplet_left > 0;
        self.broken = None;
        self.tuplet_left = self.tuplet_left.saturating_sub(1);
        if self.tuplet_left == 0 {
            self.group = None;
        }
        self.tok = Tok::None;
        self.prev = Prev::Element;
        true
    }
    /// A character inside `[…]` (a chord) or `{…}` (grace notes): each note's pitch is read as
    /// the reader reads it ([`NoteSign`]), with at most one accidental sign and four notes.
    pub(super) fn inner_note(&mut self, c: char) -> bool {
        let (grace, notes, note) = match self.tok {
            Tok::Chord { notes, note } => (false, notes, note),
            Tok::Grace { notes, note } => (true, notes, note),
            _ => return false,
        };
        // `c` goes on with the note being written, or, after its letter, starts the next one.
        let continued = note.step(c).map(|next| (next, note.letter.is_none()));
        let next_note = || {
            note.letter?;
            NoteSign::default().step(c).map(|next| (next, true))
        };
        let Some((next, new_note)) = continued.or_else(next_note) else {
            return self.close_inner(grace, notes, note, c);
        };
        let letters = notes + u8::from(next.letter.is_some() && new_note);
        self.tok = if grace {
            Tok::Grace {
                notes: letters,
                note: next,
            }
        } else {
            Tok::Chord {
                notes: letters,
                note: next,
            }
        };
        writable(&next, INNER_NOTE_SIGNS) && (!new_note || notes < 4)
    }
    /// `]` after a chord's notes or `}` after grace notes, with no accidental left waiting for
    /// its letter in `last`, the note written last.
    fn close_inner(&mut self, grace: bool, notes: u8, last: NoteSign, c: char) -> bool {
        let pending = last.letter.is_none() && !last.is_empty();
        match c {
            ']' if !grace && notes > 0 && !pending => {
                self.tok = Tok::Length {
                    elem: Elem::Chord,
                    len: Len::default(),
                };
                self.fits_at_least(&Len::default())
            }
            '}' if grace && notes > 0 && !pending => {
                self.tok = Tok::None;
                self.prev = Prev::NeedsNote;
                true
            }
            _ => false,
        }
    }
    /// `(p`: `p` notes in the time of 3 (p = 2, 4) or 2 (p = 3), all in what is left of the bar.
    pub(super) fn start_tuplet(&mut self, p: u8) -> bool {
        // The machine writes (2, (3 and (4, whose time the meter does not change.
        self.tuplet = grammar::tuplet_factor(u32::from(p), None, false);
        self.tuplet_left = p;
        self.group = None;
        // Every note the tuplet owes must still fit.
        self.room()
            >= scale(self.unit, (1, 16))
                .and_then(|t| scale(t, self.tuplet))
                .unwrap_or(i64::MAX)
    }
    /// `>` or `<` between two elements: the one before grows (or shrinks) and the next one makes
    /// up the difference, inside the bar.
    pub(super) fn broken_rhythm(&mut self, sign: BrokenSign) -> bool {
        let (first, second) = sign.factors();
        let ok = self.prev == Prev::Element
            && !self.last_fixed
            && !self.tie
            && self.tuplet_left == 0
            && self.broken.is_none();
        let Some(longer) = scale(self.last_len, first) else {
            return false;
        };
        let first_len = self.last_len;
        self.account.add(longer - self.last_len);
        self.last_len = longer;
        self.last_fixed = true;
        self.broken = Some(second);
        self.prev = Prev::NeedsNote;
        if self.form.active() {
            // The second element is written as long as the first, so the pair ends on the grid.
            self.group = Some(self.last_written);
            return ok && scale(first_len, second).is_some_and(|t| t <= self.room());
        }
        ok && self.fits_at_least(&Len::default())
    }
}
