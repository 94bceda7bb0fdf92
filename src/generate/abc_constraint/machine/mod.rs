//! The ABC state machine behind constrained sampling: it reads a tune one character at a time
//! and refuses any character after which the tune could no longer be finished with every bar
//! adding up. It keeps no heap data, so trying a character is a copy and a call.
//!
//! Its tokens are the reader's (`abc::to_score::grammar`): a note's pitch ([`NoteSign`]), its
//! length ([`grammar::LengthSuffix`]), a broken rhythm ([`BrokenSign`]), a tuplet mark
//! ([`TupletSign`]) and a bar line ([`BarSign`]) are each read by the reader's tokenizer, one
//! character at a time, and the bar is counted by the reader's [`BarAccount`]. What is its own is
//! the whitelist of what it writes and the structure it enforces (bars that add up, repeats and
//! endings, the form, slurs, ties, chord symbols).
//!
//! What it accepts, in the cleaned corpus's style:
//!
//! - a header of `M:` (a whitelisted meter), optionally `L:` (a whitelisted unit) and `K:` (a
//!   tonic, accidental and mode), one per line;
//! - notes (`^ ^^ _ __ =`, a letter, up to two octave marks, a length such as `2`, `3/2`, `/`,
//!   `//` or `/4`), rests `z`, chords `[CEG]2`, ties `-` to a following note, broken rhythm `>`
//!   and `<` between two elements of one bar, tuplets `(2`, `(3`, `(4` inside one bar, slurs,
//!   grace notes `{ga}`, the decorations `. ~ T u v` (before a note letter), quoted chord symbols;
//! - bar lines `| || |] |: :|` and first and second endings (`|1 … :|2`, `[1`, `:|[2`).
//!
//! A note or rest must fit in what is left of its bar (tuplets, broken rhythm and the notes a
//! tuplet still owes included); a bar line must close a full bar, except the first bar of the
//! tune and bars beside a repeat sign or double bar (pick-ups and their complements, as music21
//! and the crate's own `bar_check` allow); a line ends after a bar line or in the middle of a bar
//! (which runs on), never on a full bar without its bar line; the blank line that ends a tune
//! comes with no bracket, slur, tie, tuplet, repeat or first ending left open, after at least two
//! bars (the last may be short: a closing bar).
//!
//! Some valid ABC is refused because music21, the independent judge, misreads it: `::` and a
//! tune with fewer than two plain bar lines (music21 then makes no measures), field lines in the
//! body (a meter change is not applied to the bars after it), an accidental after a decoration
//! (`~^F` loses its pitch), tuplet notes other than 1, 2 or 4 units (`(3c5` fails), a note
//! letter then `:` at the start of a line (read as a field line), the fermata `H`, `//` after a
//! multiplier (`1//` is a half to music21), grace notes or chord symbols inside
//! a tuplet (counted as its notes).

mod bars;
mod form;
mod notes;

use super::fields::{self, Symbol, METERS, UNITS};
use crate::abc::to_score::grammar::{
    self, Bar, BarAccount, BarSign, BrokenSign, CharToken, NoteSign, TupletSign,
};
use form::FormState;
pub(crate) use form::{MAX_FORMS, MAX_PARTS};
use notes::{Elem, Len};

/// Where the machine is in the tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Header fields: the next field expected (0: `M:`, 1: `L:` or `K:`, 2: `K:`) and the token.
    Header(u8),
    /// The music.
    Body,
}

/// The bar lines the constraint writes (a whitelist of the reader's [`BarSign`]s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BarTok {
    /// `|`
    Pipe,
    /// `||` or `|]`
    Double,
    /// `|:`
    RepStart,
    /// `:`
    Colon,
    /// `:|`
    RepEnd,
}

impl BarTok {
    /// The whitelisted bar line a sign read so far is, if any: `::`, `:|:`, `:||`, `|::`... are
    /// bar lines to the reader that the constraint does not write.
    fn of(sign: BarSign) -> Option<BarTok> {
        let BarSign {
            colons_before,
            pipe,
            double,
            colons_after,
        } = sign;
        match (colons_before, pipe, double, colons_after) {
            (0, true, false, 0) => Some(BarTok::Pipe),
            (0, true, true, 0) => Some(BarTok::Double),
            (0, true, false, 1) => Some(BarTok::RepStart),
            (1, false, false, 0) => Some(BarTok::Colon),
            (1, true, false, 0) => Some(BarTok::RepEnd),
            _ => None,
        }
    }

    /// The bar line's repeat and double-bar flags (`:` alone as the `:|` it must become).
    fn flags(self) -> Bar {
        Bar {
            repeat_end: matches!(self, BarTok::Colon | BarTok::RepEnd),
            repeat_start: self == BarTok::RepStart,
            double: self == BarTok::Double,
        }
    }

    /// True when the bar line closes a section, by the reader's rule ([`Bar::closes_section`]).
    fn closes_section(self) -> bool {
        self.flags().closes_section()
    }
}

/// True for the decorations the constraint writes, a whitelist of the reader's
/// ([`grammar::is_decoration`]): staccato, roll, trill, up-bow and down-bow.
fn is_written_decoration(c: char) -> bool {
    grammar::is_decoration(c) && matches!(c, '.' | '~' | 'T' | 'u' | 'v')
}

/// The token in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    None,
    /// Accidentals before a note's letter, as the reader reads a pitch.
    Pitch(NoteSign),
    /// An element and its length so far.
    Length {
        elem: Elem,
        len: Len,
    },
    /// Inside `[…]`: notes so far, and the pitch of the note being written (or of the last).
    Chord {
        notes: u8,
        note: NoteSign,
    },
    /// `[` just written: a chord or an ending follows.
    Bracket,
    /// A bar line, as the reader reads it so far (always one of [`BarTok`]'s).
    Bar(BarSign),
    /// `(` just written: a tuplet number or a slur.
    Paren,
    /// `(p` written, as the reader reads a tuplet mark.
    Tuplet(TupletSign),
    /// Inside quotes.
    Quote(Symbol),
    /// Inside `{…}`: notes so far, and the pitch of the note being written (or of the last).
    Grace {
        notes: u8,
        note: NoteSign,
    },
    /// `>` or `<` written, as the reader reads a broken rhythm.
    Broken(BrokenSign),
    /// A field line's letter (header or body); the value follows the colon.
    FieldLetter(char),
    /// A field's value so far.
    Field {
        letter: char,
        value: [u8; 8],
        len: u8,
    },
}

/// What came just before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// The start of a line.
    LineStart,
    /// A note, chord or rest.
    Element,
    Bar,
    Space,
    /// Something a note must follow (a decoration, chord symbol, grace notes, `>`, `(`).
    NeedsNote,
    /// A slur's end.
    SlurEnd,
    /// A tuplet mark.
    Tuplet,
}

/// The machine's whole state (copied to try a character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Machine {
    phase: Phase,
    tok: Tok,
    prev: Prev,
    /// Ticks per unit length.
    unit: i64,
    /// The bar being written, in ticks: its meter, what it holds, whether it opens a section
    /// (the tune's first bar, or one after a repeat sign or double bar). The reader's account
    /// ([`BarAccount`]).
    account: BarAccount<i64>,
    /// Bars closed that held music.
    bars: u32,
    /// Length of the last element, and whether broken rhythm or a tuplet already changed it.
    last_len: i64,
    last_fixed: bool,
    /// The written length of the last element (under a form, the second of a broken-rhythm pair
    /// is written as long as the first).
    last_written: Len,
    /// Under a form: the written length every element of the tuplet or broken-rhythm pair in
    /// progress takes (so the group ends on the grid of sixteenth units and every bar can still be
    /// filled exactly).
    group: Option<Len>,
    /// Notes a tuplet still owes, and its factor (numerator, denominator).
    tuplet_left: u8,
    tuplet: (i64, i64),
    /// The factor broken rhythm gives the next element.
    broken: Option<(i64, i64)>,
    slurs: u8,
    tie: bool,
    repeat_open: bool,
    /// 0: outside endings; 1: in a first ending; 2: in a second ending.
    ending: u8,
    /// A `:|` closed a first ending: `2` must follow.
    needs_second: bool,
    /// Characters on the current line before this one (a letter then `:` at the start of a
    /// line would be read as a field).
    line_chars: u16,
    /// The current line starts with a letter.
    first_alpha: bool,
    /// A decoration waits for its note (music21 misreads a decorated note with an accidental).
    decorated: bool,
    /// Plain bar lines in the tune (music21 makes measures only when there are two or more).
    plain_bars: u32,
    /// The kind of the last bar line.
    last_bar: BarTok,
    /// The form the tune follows (none by default).
    form: FormState,
    /// Tunes finished (after each, the machine reads the next tune's header).
    pub tunes: u32,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            phase: Phase::Header(0),
            tok: Tok::None,
            prev: Prev::LineStart,
            unit: 0,
            account: BarAccount::new(None, true),
            bars: 0,
            last_len: 0,
            last_fixed: false,
            last_written: Len::default(),
            group: None,
            tuplet_left: 0,
            tuplet: (1, 1),
            broken: None,
            slurs: 0,
            tie: false,
            repeat_open: false,
            ending: 0,
            needs_second: false,
            line_chars: 0,
            first_alpha: false,
            decorated: false,
            plain_bars: 0,
            last_bar: BarTok::Pipe,
            form: FormState::default(),
            tunes: 0,
        }
    }
}

/// `a * num / den` when exact.
fn scale(a: i64, (num, den): (i64, i64)) -> Option<i64> {
    let x = a.checked_mul(num)?;
    (x % den == 0).then_some(x / den)
}

impl Machine {
    /// Ticks in a bar of the tune's meter (0 before its `M:` line).
    fn bar(&self) -> i64 {
        self.account.meter().unwrap_or(0)
    }

    /// Ticks written in the current bar.
    fn pos(&self) -> i64 {
        self.account.filled()
    }

    /// Reads one character; false when it would make the tune impossible to finish well (the
    /// state is then meaningless: try characters on a copy).
    pub(super) fn feed(&mut self, c: char) -> bool {
        match self.phase {
            Phase::Header(next) => self.header(next, c),
            Phase::Body => {
                let ok = self.body(c) && !(c == ':' && self.line_chars == 1 && self.first_alpha);
                if self.line_chars == 0 {
                    self.first_alpha = matches!(c, 'A'..='G' | 'a'..='g' | 'z');
                }
                self.line_chars = if c == '\n' {
                    0
                } else {
                    self.line_chars.saturating_add(1)
                };
                ok
            }
        }
    }

    /// The running length of the bar being written, in ticks of [`super::fields::WHOLE`] a whole
    /// note, and the bars holding notes closed so far: the machine's bar accounting.
    pub(super) fn bar_accounting(&self) -> (i64, u32) {
        (self.pos(), self.bars)
    }

    /// True in the body with nothing in progress at the start of a bar (just after a bar line).
    pub(super) fn at_bar_start(&self) -> bool {
        self.phase == Phase::Body && self.account.is_empty() && self.bars > 0
    }

    /// True at the start of a line of the body (a newline here ends the tune).
    pub(super) fn at_line_start(&self) -> bool {
        self.phase == Phase::Body && self.prev == Prev::LineStart && self.tok == Tok::None
    }

    /// True when a bar line token is being written and nothing else: `|` may still become `||`.
    pub(super) fn in_bar_line(&self) -> bool {
        matches!(self.tok, Tok::Bar(_))
    }

    /// True while reading a header.
    pub(super) fn in_header(&self) -> bool {
        matches!(self.phase, Phase::Header(_))
    }

    /// True when a repeat or first ending must still be closed.
    pub(super) fn owes_repeat(&self) -> bool {
        self.repeat_open || self.ending == 1
    }

    /// True when a note of one unit (with the tuplet and broken rhythm in force) still fits.
    pub(super) fn unit_fits(&self) -> bool {
        self.phase == Phase::Body && self.element_ticks((1, 1)).is_some_and(|t| t <= self.room())
    }

    /// 0 outside endings, 1 in a first ending, 2 in a second.
    pub(super) fn ending(&self) -> u8 {
        self.ending
    }

    fn header(&mut self, next: u8, c: char) -> bool {
        match self.tok {
            Tok::None => {
                let ok = matches!((next, c), (0, 'M') | (1, 'L' | 'K') | (2, 'K'));
                self.tok = Tok::FieldLetter(c);
                ok
            }
            Tok::FieldLetter(letter) if c == ':' => {
                self.tok = Tok::Field {
                    letter,
                    value: [0; 8],
                    len: 0,
                };
                true
            }
            Tok::Field { letter, value, len } if c == '\n' => {
                let text = std::str::from_utf8(&value[..usize::from(len)]).unwrap_or("");
                self.tok = Tok::None;
                match letter {
                    'M' => match fields::meter_ticks(text) {
                        Some(bar) => {
                            self.account = BarAccount::new(Some(bar), true);
                            self.phase = Phase::Header(1);
                            true
                        }
                        None => false,
                    },
                    'L' => match fields::unit_ticks(text) {
                        Some(unit) => {
                            self.unit = unit;
                            self.phase = Phase::Header(2);
                            true
                        }
                        None => false,
                    },
                    _ if fields::is_key(text) => {
                        if self.unit == 0 {
                            self.unit = fields::default_unit_ticks(self.bar());
                        }
                        self.phase = Phase::Body;
                        self.prev = Prev::LineStart;
                        true
                    }
                    _ => false,
                }
            }
            Tok::Field { .. } => self.field_char(c),
            _ => false,
        }
    }

    /// A character of a field's value, checked against the field's whitelist as a prefix.
    fn field_char(&mut self, c: char) -> bool {
        let Tok::Field {
            letter,
            mut value,
            len,
        } = self.tok
        else {
            return false;
        };
        if !c.is_ascii_graphic() || usize::from(len) >= value.len() {
            return false;
        }
        value[usize::from(len)] = c as u8;
        let len = len + 1;
        let text = std::str::from_utf8(&value[..usize::from(len)]).unwrap_or("");
        let ok = match letter {
            'M' => fields::in_list(&METERS, text, true),
            'L' => fields::in_list(&UNITS, text, true),
            _ => fields::is_key_prefix(text),
        };
        self.tok = Tok::Field { letter, value, len };
        ok
    }

    fn body(&mut self, c: char) -> bool {
        match self.extend(c) {
            Some(ok) => ok,
            None => self.finish_token() && self.start(c),
        }
    }

    /// Offers `c` to the token in progress: `Some(accepted)` when the token takes it or refuses
    /// it outright, `None` when the token is complete and `c` starts something new.
    fn extend(&mut self, c: char) -> Option<bool> {
        match self.tok {
            Tok::None => None,
            Tok::Pitch(sign) => Some(self.pitch_char(sign, c).unwrap_or(false)),
            Tok::Length { elem, len } => self.extend_length(elem, len, c),
            Tok::Chord { .. } | Tok::Grace { .. } => Some(self.inner_note(c)),
            Tok::Bracket => Some(match c {
                '1' | '2' => self.ending_number(c),
                _ if self.needs_second => false,
                _ => {
                    self.tok = Tok::Chord {
                        notes: 0,
                        note: NoteSign::default(),
                    };
                    self.inner_note(c)
                }
            }),
            Tok::Bar(bar) => self.extend_bar(bar, c),
            Tok::Paren => Some(if let Some(p @ 2..=4) = c.to_digit(10) {
                self.tok = Tok::Tuplet(TupletSign::default().step(c).unwrap_or_default());
                self.start_tuplet(p as u8)
            } else {
                self.slurs += 1;
                self.tok = Tok::None;
                self.prev = Prev::NeedsNote;
                self.slurs <= self.max_slurs() && c != ')' && self.start(c)
            }),
            // A mark the reader would read further (`(34`, `(3:2`, `>>`) is not written.
            Tok::Tuplet(sign) => sign.step(c).map(|_| false),
            Tok::Broken(sign) => sign.step(c).map(|_| false),
            Tok::Quote(mut symbol) => Some(if c == '"' {
                self.tok = Tok::None;
                self.prev = Prev::NeedsNote;
                symbol.is_complete()
            } else {
                self.tok = Tok::Quote(symbol);
                let ok = symbol.push(c);
                self.tok = Tok::Quote(symbol);
                ok
            }),
            Tok::FieldLetter(_) | Tok::Field { .. } => Some(false),
        }
    }

    /// Completes the token in progress before a character that does not continue it.
    fn finish_token(&mut self) -> bool {
        match self.tok {
            Tok::None => true,
            Tok::Length { elem, len } => self.finish_element(&len, elem),
            Tok::Bar(sign) => BarTok::of(sign).is_some_and(|bar| self.finish_bar(bar)),
            Tok::Tuplet(_) => {
                self.tok = Tok::None;
                self.prev = Prev::Tuplet;
                true
            }
            Tok::Broken(_) => {
                self.tok = Tok::None;
                true
            }
            _ => false,
        }
    }

    /// The character starts a new token (nothing is in progress).
    fn start(&mut self, c: char) -> bool {
        let last_line =
            self.form.active() && self.prev == Prev::LineStart && self.account.is_full();
        if (self.needs_second && c != '[') || ((self.form.must_end() || last_line) && c != '\n') {
            return false;
        }
        let needs_note = self.prev == Prev::NeedsNote;
        let in_tuplet = self.tuplet_left > 0;
        let bar_ok = !needs_note && !in_tuplet && self.broken.is_none() && !self.needs_second;
        match c {
            '^' | '_' | '=' => {
                let ok = self.pitch_char(NoteSign::default(), c) == Some(true);
                ok && !self.decorated && self.fits_at_least(&Len::default())
            }
            'A'..='G' | 'a'..='g' => self.pitch_char(NoteSign::default(), c) == Some(true),
            'z' => {
                self.tok = Tok::Length {
                    elem: Elem::Rest,
                    len: Len::default(),
                };
                !self.tie && self.fits_at_least(&Len::default())
            }
            '[' => {
                self.tok = Tok::Bracket;
                self.fits_at_least(&Len::default())
            }
            '|' | ':' if bar_ok => match BarSign::start(c) {
                Some(sign) => {
                    self.tok = Tok::Bar(sign);
                    BarTok::of(sign).is_some_and(|bar| self.bar_reachable(bar))
                }
                None => false,
            },
            '>' | '<' => match BrokenSign::start(c) {
                Some(sign) => {
                    let ok = self.broken_rhythm(sign);
                    self.tok = Tok::Broken(sign);
                    ok
                }
                None => false,
            },
            '(' => {
                let tuplet_fits = (2..=4).any(|p| {
                    let mut next = *self;
                    next.start_tuplet(p)
                });
                self.tok = Tok::Paren;
                !needs_note
                    && !in_tuplet
                    && self.broken.is_none()
                    && self.fits_at_least(&Len::default())
                    && (self.slurs < self.max_slurs() || tuplet_fits)
            }
            ')' => {
                let ok = self.slurs > 0 && self.prev == Prev::Element;
                self.slurs = self.slurs.saturating_sub(1);
                self.prev = Prev::SlurEnd;
                ok
            }
            '"' => {
                self.tok = Tok::Quote(Symbol::default());
                !needs_note && !in_tuplet && self.fits_at_least(&Len::default())
            }
            '{' => {
                self.tok = Tok::Grace {
                    notes: 0,
                    note: NoteSign::default(),
                };
                // music21 counts grace notes among a tuplet's notes.
                !needs_note && !in_tuplet && self.fits_at_least(&Len::default())
            }
            _ if is_written_decoration(c) => {
                let ok = !needs_note && self.fits_at_least(&Len::default());
                self.prev = Prev::NeedsNote;
                self.decorated = true;
                ok
            }
            ' ' => {
                let ok = matches!(
                    self.prev,
                    Prev::Element | Prev::Bar | Prev::SlurEnd | Prev::Tuplet
                ) && self.broken.is_none()
                    && self.form_allows_space();
                self.prev = Prev::Space;
                ok
            }
            '\n' => !self.slur_must_close() && self.newline(bar_ok),
            _ => false,
        }
    }

    /// A line ends (only after a bar line); a second newline ends the tune.
    /// A line may end after a bar line or in the middle of a bar (the bar runs on into the next
    /// line, as music21 reads it and as the Essen transcriptions write phrases), but not on a
    /// full bar without its bar line (music21 would join it to the next line's first bar).
    fn newline(&mut self, bar_ok: bool) -> bool {
        // Under a form, a tune may also end on a full last bar without its bar line, as the Essen
        // transcriptions end: that line break is the tune's last (only the blank line follows).
        let full_end = self.form.active() && self.account.is_full() && self.may_end_tune();
        let ok =
            bar_ok && (self.pos() < self.bar() || full_end) && !matches!(self.prev, Prev::Space);
        if self.prev == Prev::LineStart {
            let closed = self.may_end_tune();
            let tunes = self.tunes + 1;
            *self = Machine {
                tunes,
                ..Machine::default()
            };
            return ok && closed;
        }
        self.prev = Prev::LineStart;
        ok
    }

    /// True when the blank line may end the tune here: at least two bars with music (a full last
    /// bar left open at the end of its line counts) and two plain bar lines, nothing left open,
    /// and under a form, where a form ends.
    fn may_end_tune(&self) -> bool {
        let open_full_bar = u32::from(self.account.is_full());
        self.bars + open_full_bar >= 2
            && self.plain_bars >= 2
            && !self.tie
            && self.slurs == 0
            && !self.repeat_open
            && self.ending != 1
            && (!self.form.active() || self.form_ends_here())
    }
}
