//! The ABC state machine behind constrained sampling: it reads a tune one character at a time
//! and refuses any character after which the tune could no longer be finished with every bar
//! adding up. It keeps no heap data, so trying a character is a copy and a call.
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
//! and the crate's own `bar_check` allow); a line ends only after a bar line; the blank line that
//! ends a tune only comes after a bar line with no bracket, slur, tie, tuplet, repeat or first
//! ending left open, and after at least two bars.
//!
//! Some valid ABC is refused because music21, the independent judge, misreads it: `::` and a
//! tune with fewer than two plain bar lines (music21 then makes no measures), field lines in the
//! body (a meter change is not applied to the bars after it), an accidental after a decoration
//! (`~^F` loses its pitch), tuplet notes other than 1, 2 or 4 units (`(3c5` fails), a note
//! letter then `:` at the start of a line (read as a field line), the fermata `H`, `//` after a
//! multiplier (`1//` is a half to music21), grace notes or chord symbols inside
//! a tuplet (counted as its notes).

use super::fields::{self, Symbol, METERS, UNITS};

/// Where the machine is in the tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Header fields: the next field expected (0: `M:`, 1: `L:` or `K:`, 2: `K:`) and the token.
    Header(u8),
    /// The music.
    Body,
}

/// A length being written after a note, rest or chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Len {
    /// The multiplier written (0: none yet).
    num: i64,
    /// Slashes written.
    slashes: u8,
    /// The divisor written after the slash (0: none yet).
    den: i64,
}

impl Len {
    /// The length in units, as (numerator, denominator), when it is complete.
    fn value(&self) -> Option<(i64, i64)> {
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
    fn shortest(&self) -> (i64, i64) {
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
enum Elem {
    /// A note: lowercase letter or not, octave marks written.
    Note {
        lower: bool,
        marks: u8,
    },
    Chord,
    Rest,
}

/// A bar line being written.
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

/// The token in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    None,
    /// Accidentals before a letter: net count and how many signs.
    Acc {
        signs: u8,
        sign: char,
    },
    /// An element and its length so far.
    Length {
        elem: Elem,
        len: Len,
    },
    /// Inside `[…]`: notes so far, accidentals and octave marks of the note being written.
    Chord {
        notes: u8,
        signs: u8,
        marks: u8,
        lower: bool,
    },
    /// `[` just written: a chord or an ending follows.
    Bracket,
    Bar(BarTok),
    /// `(` just written: a tuplet number or a slur.
    Paren,
    /// `(p` written.
    Tuplet(u8),
    /// Inside quotes.
    Quote(Symbol),
    /// Inside `{…}`: notes so far, accidentals and octave marks of the note being written.
    Grace {
        notes: u8,
        signs: u8,
        marks: u8,
        lower: bool,
    },
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
    /// Ticks per bar and per unit length.
    bar: i64,
    unit: i64,
    /// Ticks written in the current bar.
    pos: i64,
    /// Bars closed that held music.
    bars: u32,
    /// The current bar may be short (the tune's first, or one after a repeat sign or double bar).
    edge: bool,
    /// Length of the last element, and whether broken rhythm or a tuplet already changed it.
    last_len: i64,
    last_fixed: bool,
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
    /// Tunes finished (after each, the machine reads the next tune's header).
    pub tunes: u32,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            phase: Phase::Header(0),
            tok: Tok::None,
            prev: Prev::LineStart,
            bar: 0,
            unit: 0,
            pos: 0,
            bars: 0,
            edge: true,
            last_len: 0,
            last_fixed: false,
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

    /// True in the body with nothing in progress at the start of a bar (just after a bar line).
    pub(super) fn at_bar_start(&self) -> bool {
        self.phase == Phase::Body && self.pos == 0 && self.bars > 0
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
                            self.bar = bar;
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
                            self.unit = fields::default_unit_ticks(self.bar);
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
            Tok::Acc { signs, sign } => Some(match c {
                '^' | '_' if c == sign && signs < 2 => {
                    self.tok = Tok::Acc {
                        signs: signs + 1,
                        sign,
                    };
                    true
                }
                'A'..='G' | 'a'..='g' => self.note_letter(c),
                _ => false,
            }),
            Tok::Length { elem, len } => self.extend_length(elem, len, c),
            Tok::Chord { .. } | Tok::Grace { .. } => Some(self.inner_note(c)),
            Tok::Bracket => Some(match c {
                '1' | '2' => self.ending_number(c),
                _ if self.needs_second => false,
                _ => {
                    self.tok = Tok::Chord {
                        notes: 0,
                        signs: 0,
                        marks: 0,
                        lower: false,
                    };
                    self.inner_note(c)
                }
            }),
            Tok::Bar(bar) => self.extend_bar(bar, c),
            Tok::Paren => Some(if let Some(p @ 2..=4) = c.to_digit(10) {
                self.tok = Tok::Tuplet(p as u8);
                self.start_tuplet(p as u8)
            } else {
                self.slurs += 1;
                self.tok = Tok::None;
                self.prev = Prev::NeedsNote;
                self.slurs <= 2 && c != ')' && self.start(c)
            }),
            Tok::Tuplet(_) => None,
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

    /// A note letter after accidentals (or none).
    fn note_letter(&mut self, c: char) -> bool {
        self.tok = Tok::Length {
            elem: Elem::Note {
                lower: c.is_ascii_lowercase(),
                marks: 0,
            },
            len: Len::default(),
        };
        self.fits_at_least(&Len::default())
    }

    fn extend_length(&mut self, elem: Elem, mut len: Len, c: char) -> Option<bool> {
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
    fn numerator_fits(&self, len: &Len) -> bool {
        if self.tuplet_left > 0 && ![1, 2, 4].contains(&len.num) {
            return false;
        }
        let fits = |units| self.element_ticks(units).is_some_and(|t| t <= self.room());
        fits((len.num, 1)) || (len.num % 2 == 1 && fits((len.num, 2)))
    }

    /// The element can still be made short enough to fit.
    fn fits_at_least(&self, len: &Len) -> bool {
        self.element_ticks(len.shortest())
            .is_some_and(|t| t > 0 && t <= self.room())
    }

    /// Ticks of an element of `units` (numerator, denominator), with the tuplet and broken
    /// rhythm in force.
    fn element_ticks(&self, units: (i64, i64)) -> Option<i64> {
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
    fn room(&self) -> i64 {
        let owed = i64::from(self.tuplet_left.saturating_sub(1));
        let shortest = scale(self.unit, (1, 16))
            .and_then(|t| scale(t, self.tuplet))
            .unwrap_or(0);
        self.bar - self.pos - owed * shortest
    }

    /// Completes an element of length `len`: it must fit.
    fn finish_element(&mut self, len: &Len, elem: Elem) -> bool {
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
    fn inner_note(&mut self, c: char) -> bool {
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

    fn extend_bar(&mut self, bar: BarTok, c: char) -> Option<bool> {
        let next = match (bar, c) {
            (BarTok::Pipe, '|' | ']') => BarTok::Double,
            (BarTok::Pipe, ':') => BarTok::RepStart,
            (BarTok::Colon, '|') => BarTok::RepEnd,
            (BarTok::Colon, _) => return Some(false),
            (BarTok::Pipe, '1') | (BarTok::RepEnd, '2') => {
                return Some(self.finish_token() && self.ending_number(c))
            }
            _ => return None,
        };
        self.tok = Tok::Bar(next);
        Some(self.bar_reachable(next))
    }

    /// An ending number right after a bar line (`|1`, `:|2`, `[1`, `[2`).
    fn ending_number(&mut self, c: char) -> bool {
        let ok = self.prev == Prev::Bar
            && self.pos == 0
            && match c {
                '1' => self.ending == 0 && !self.needs_second,
                _ => self.needs_second,
            };
        self.ending = if c == '1' { 1 } else { 2 };
        self.needs_second = false;
        self.tok = Tok::None;
        ok
    }

    /// Completes the token in progress before a character that does not continue it.
    fn finish_token(&mut self) -> bool {
        match self.tok {
            Tok::None => true,
            Tok::Length { elem, len } => self.finish_element(&len, elem),
            Tok::Bar(bar) => self.finish_bar(bar),
            Tok::Tuplet(_) => {
                self.tok = Tok::None;
                self.prev = Prev::Tuplet;
                true
            }
            _ => false,
        }
    }

    /// `(p`: `p` notes in the time of 3 (p = 2, 4) or 2 (p = 3), all in what is left of the bar.
    fn start_tuplet(&mut self, p: u8) -> bool {
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

    /// True when a bar line of this kind may close the bar now: the bar is full, or short where
    /// short bars may be; an empty bar only before `|:`; repeats and endings in order.
    fn bar_acceptable(&self, bar: BarTok) -> bool {
        let section = bar != BarTok::Pipe;
        let fits = if self.pos == 0 {
            // An empty bar: only `|:` opening a section (`|` then `|:` on the next line).
            bar == BarTok::RepStart && matches!(self.prev, Prev::Bar | Prev::LineStart)
        } else {
            self.pos == self.bar || self.edge || section
        };
        let repeat_ok = bar != BarTok::RepStart || !self.repeat_open;
        let ending_ok = self.ending != 1 || !section || bar == BarTok::RepEnd;
        fits && repeat_ok && ending_ok && !self.needs_second
    }

    /// True when a bar line token written so far can still become an acceptable bar line.
    fn bar_reachable(&self, bar: BarTok) -> bool {
        let ok = |b| self.bar_acceptable(b);
        match bar {
            BarTok::Pipe => ok(BarTok::Pipe) || ok(BarTok::Double) || ok(BarTok::RepStart),
            BarTok::Colon => ok(BarTok::RepEnd),
            other => ok(other),
        }
    }

    /// A bar line is complete: it closes the bar (see [`Machine::bar_acceptable`]).
    fn finish_bar(&mut self, bar: BarTok) -> bool {
        let ok = self.bar_acceptable(bar);
        let section = bar != BarTok::Pipe;
        match bar {
            BarTok::RepStart => self.repeat_open = true,
            BarTok::RepEnd => self.repeat_open = false,
            _ => {}
        }
        if self.ending == 1 && bar == BarTok::RepEnd {
            self.needs_second = true;
        } else if self.ending == 2 && section {
            self.ending = 0;
        }
        if self.pos > 0 {
            self.bars += 1;
        }
        if !section {
            self.plain_bars += 1;
        }
        self.edge = section || (self.pos == 0 && self.edge);
        self.pos = 0;
        self.tok = Tok::None;
        self.prev = Prev::Bar;
        ok
    }

    /// The character starts a new token (nothing is in progress).
    fn start(&mut self, c: char) -> bool {
        if self.needs_second && c != '[' {
            return false;
        }
        let needs_note = self.prev == Prev::NeedsNote;
        let in_tuplet = self.tuplet_left > 0;
        let bar_ok = !needs_note && !in_tuplet && self.broken.is_none() && !self.needs_second;
        match c {
            '^' | '_' | '=' => {
                self.tok = Tok::Acc { signs: 1, sign: c };
                !self.decorated && self.fits_at_least(&Len::default())
            }
            'A'..='G' | 'a'..='g' => self.note_letter(c),
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
            '|' | ':' if bar_ok => {
                let bar = if c == '|' {
                    BarTok::Pipe
                } else {
                    BarTok::Colon
                };
                self.tok = Tok::Bar(bar);
                self.bar_reachable(bar)
            }
            '>' | '<' => self.broken_rhythm(c == '>'),
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
                    && (self.slurs < 2 || tuplet_fits)
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
                    signs: 0,
                    marks: 0,
                    lower: false,
                };
                // music21 counts grace notes among a tuplet's notes.
                !needs_note && !in_tuplet && self.fits_at_least(&Len::default())
            }
            '.' | '~' | 'T' | 'u' | 'v' => {
                let ok = !needs_note && self.fits_at_least(&Len::default());
                self.prev = Prev::NeedsNote;
                self.decorated = true;
                ok
            }
            ' ' => {
                let ok = matches!(
                    self.prev,
                    Prev::Element | Prev::Bar | Prev::SlurEnd | Prev::Tuplet
                ) && self.broken.is_none();
                self.prev = Prev::Space;
                ok
            }
            '\n' => self.newline(bar_ok),
            _ => false,
        }
    }

    /// `>` or `<` between two elements: the one before grows (or shrinks) and the next one makes
    /// up the difference, inside the bar.
    fn broken_rhythm(&mut self, dotted_first: bool) -> bool {
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

    /// A line ends (only after a bar line); a second newline ends the tune.
    fn newline(&mut self, bar_ok: bool) -> bool {
        let ok = bar_ok && self.pos == 0 && !matches!(self.prev, Prev::Space);
        if self.prev == Prev::LineStart {
            let closed = self.bars >= 2
                && self.plain_bars >= 2
                && !self.tie
                && self.slurs == 0
                && !self.repeat_open
                && self.ending != 1;
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
}
