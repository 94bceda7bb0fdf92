//! The signs of a bar's elements that the reader and the sampling constraint read the same way,
//! one character at a time: a note's pitch (accidentals, letter, octave marks), a broken rhythm,
//! and the one-character decorations.

use super::super::key::letter_index;
use super::{broken_rhythm_factors, CharToken};

/// A note's pitch as written before its length, as its characters are read one at a time:
/// accidentals (`^`, `^^`, `_`, `__`, `=`, in any mix, each `^` a semitone up and each `_` one
/// down), the digits and slashes of a microtone after them (read and not applied), a letter
/// (`C`–`B` in the octave of middle C, `c`–`b` the one above), then octave marks (each `'` an
/// octave up, each `,` one down). The reader's lexer reads a note's pitch as far as
/// [`NoteSign::step`] goes, and in a chord each of its notes; the constraint carries one as the
/// note it is writing and writes a whitelist of them (one kind of accidental, at most two octave
/// marks, `'` only on a lowercase letter and `,` only on an uppercase one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct NoteSign {
    /// `^` signs written.
    pub sharps: u8,
    /// `_` signs written.
    pub flats: u8,
    /// `=` signs written.
    pub naturals: u8,
    /// Digits or slashes after the accidental: a microtone.
    pub microtone: bool,
    /// The note letter, once written.
    pub letter: Option<char>,
    /// `'` marks after the letter.
    pub ups: u8,
    /// `,` marks after the letter.
    pub downs: u8,
}

impl CharToken for NoteSign {
    fn step(self, c: char) -> Option<NoteSign> {
        match (self.letter, c) {
            (None, '^') if !self.microtone => Some(NoteSign {
                sharps: self.sharps.saturating_add(1),
                ..self
            }),
            (None, '_') if !self.microtone => Some(NoteSign {
                flats: self.flats.saturating_add(1),
                ..self
            }),
            (None, '=') if !self.microtone => Some(NoteSign {
                naturals: self.naturals.saturating_add(1),
                ..self
            }),
            (None, '0'..='9' | '/') if self.has_accidental() => Some(NoteSign {
                microtone: true,
                ..self
            }),
            (None, 'A'..='G' | 'a'..='g') => Some(NoteSign {
                letter: Some(c),
                ..self
            }),
            (Some(_), '\'') => Some(NoteSign {
                ups: self.ups.saturating_add(1),
                ..self
            }),
            (Some(_), ',') => Some(NoteSign {
                downs: self.downs.saturating_add(1),
                ..self
            }),
            _ => None,
        }
    }
}

impl NoteSign {
    /// True when `c` starts a note: an accidental or a note letter.
    pub(crate) fn starts(c: char) -> bool {
        NoteSign::default().step(c).is_some()
    }

    /// True when an accidental is written.
    pub(crate) fn has_accidental(&self) -> bool {
        self.sharps > 0 || self.flats > 0 || self.naturals > 0
    }

    /// True when nothing is written yet.
    pub(crate) fn is_empty(&self) -> bool {
        *self == NoteSign::default()
    }

    /// The explicit accidental in semitones (`=` is `Some(0)`; `None` when none is written).
    pub(crate) fn accidental(&self) -> Option<i8> {
        self.has_accidental().then(|| {
            let semitones = i16::from(self.sharps) - i16::from(self.flats);
            semitones.clamp(i16::from(i8::MIN), i16::from(i8::MAX)) as i8
        })
    }

    /// The letter's index, C = 0 ... B = 6 (`None` before the letter).
    pub(crate) fn letter_index(&self) -> Option<usize> {
        self.letter.and_then(letter_index)
    }

    /// True when the letter is written in lowercase (the octave above middle C).
    pub(crate) fn is_lowercase(&self) -> bool {
        self.letter.is_some_and(|c| c.is_ascii_lowercase())
    }

    /// The octave number: `C` is 4, `c` is 5, each `'` adds one and each `,` takes one (`None`
    /// before the letter).
    pub(crate) fn octave(&self) -> Option<i32> {
        self.letter?;
        let base = if self.is_lowercase() { 5 } else { 4 };
        Some(base + i32::from(self.ups) - i32::from(self.downs))
    }
}

/// A broken rhythm between two elements, as its characters are read one at a time: a run of `>`
/// (the first element dotted, the second shortened) or of `<` (the other way round). The reader's
/// lexer reads a run as far as [`BrokenSign::step`] goes; the constraint writes a single `>` or
/// `<` and nothing the reader would read as a longer run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BrokenSign {
    /// `>`: the first element is the longer.
    pub first_longer: bool,
    /// Signs in the run.
    pub marks: u8,
}

/// The longest run of broken-rhythm signs that counts (`>>>>`: the first element 31/16).
const MOST_BROKEN_MARKS: u8 = 4;

impl BrokenSign {
    /// The run a `>` or `<` starts (`None` for any other character).
    pub(crate) fn start(c: char) -> Option<BrokenSign> {
        matches!(c, '>' | '<').then_some(BrokenSign {
            first_longer: c == '>',
            marks: 1,
        })
    }

    /// The signs that count (a run longer than four counts as four).
    pub(crate) fn counted_marks(self) -> u32 {
        u32::from(self.marks.min(MOST_BROKEN_MARKS))
    }

    /// The factors on the first and on the second element's length, as (numerator,
    /// denominator): `>` gives 3/2 and 1/2, `<` 1/2 and 3/2, `>>` 7/4 and 1/4.
    pub(crate) fn factors(self) -> ((i64, i64), (i64, i64)) {
        let (long, short) = broken_rhythm_factors(self.counted_marks());
        if self.first_longer {
            (long, short)
        } else {
            (short, long)
        }
    }
}

impl CharToken for BrokenSign {
    fn step(self, c: char) -> Option<BrokenSign> {
        (c == if self.first_longer { '>' } else { '<' }).then_some(BrokenSign {
            marks: self.marks.saturating_add(1),
            ..self
        })
    }
}

/// True for a single character that decorates the note after it and takes no time (`.` staccato,
/// `~` roll, and the letters `H`–`W`, `Y`, `h`–`w` the standard reserves for decorations).
pub(crate) fn is_decoration(c: char) -> bool {
    matches!(c, '.' | '~' | 'H'..='W' | 'Y' | 'h'..='w')
}

#[cfg(test)]
mod tests {
    use super::super::tests::read_token;
    use super::*;

    fn pitch(text: &str) -> (NoteSign, usize) {
        read_token(NoteSign::default(), text)
    }

    #[test]
    fn a_note_pitch_read_one_character_at_a_time() {
        let (c, used) = pitch("c2");
        assert_eq!(
            (c.letter, c.accidental(), c.octave(), used),
            (Some('c'), None, Some(5), 1)
        );
        let (sharp, used) = pitch("^^F,,/");
        assert_eq!(
            (sharp.accidental(), sharp.octave(), used),
            (Some(2), Some(2), 5)
        );
        assert_eq!(sharp.letter_index(), Some(3));
        let (natural, _) = pitch("=b'");
        assert_eq!((natural.accidental(), natural.octave()), (Some(0), Some(6)));
        // Signs in any mix add up; a microtone after them is read and not applied.
        assert_eq!(pitch("^_G").0.accidental(), Some(0));
        let (micro, used) = pitch("^3/4c'");
        assert_eq!(
            (micro.microtone, micro.accidental(), micro.octave(), used),
            (true, Some(1), Some(6), 6)
        );
        // A sign after a microtone, or a mark before the letter, ends the token without a letter.
        assert_eq!(
            pitch("^3^c"),
            (
                NoteSign {
                    sharps: 1,
                    microtone: true,
                    ..NoteSign::default()
                },
                2
            )
        );
        assert_eq!(pitch("^'c").0.letter, None);
        // Digits need an accidental before them: `2c` is not a pitch.
        assert_eq!(pitch("2c"), (NoteSign::default(), 0));
        assert!(pitch("").0.is_empty());
        for c in ['^', '_', '=', 'A', 'G', 'a', 'g'] {
            assert!(NoteSign::starts(c), "{c:?}");
        }
        for c in ['H', 'z', '\'', ',', '2', '/', '>'] {
            assert!(!NoteSign::starts(c), "{c:?}");
        }
        // A long run of signs saturates instead of overflowing.
        let many = "_".repeat(300) + "B";
        assert_eq!(pitch(&many).0.accidental(), Some(-128));
    }

    #[test]
    fn broken_rhythm_runs() {
        let dotted = BrokenSign::start('>').expect("a broken rhythm");
        assert_eq!(dotted.factors(), ((3, 2), (1, 2)));
        let (run, used) = read_token(dotted, ">>c");
        assert_eq!((run.marks, used), (3, 2));
        assert_eq!(run.factors(), ((15, 8), (1, 8)));
        let (snap, used) = read_token(BrokenSign::start('<').expect("a broken rhythm"), "<>");
        assert_eq!((snap.factors(), used), (((1, 4), (7, 4)), 1));
        let (long, _) = read_token(dotted, &">".repeat(9));
        assert_eq!(
            (long.counted_marks(), long.factors()),
            (4, ((31, 16), (1, 16)))
        );
        assert_eq!(BrokenSign::start('|'), None);
    }

    #[test]
    fn decorations() {
        for c in ['.', '~', 'T', 'u', 'v', 'H', 'W', 'Y', 'h', 'w'] {
            assert!(is_decoration(c), "{c:?}");
        }
        for c in ['A', 'G', 'X', 'Z', 'a', 'g', 'x', 'y', 'z', '^'] {
            assert!(!is_decoration(c), "{c:?}");
        }
    }
}
