//! Turns lines of ABC music into tokens.

use super::frac::Frac;
use super::pos_err;
use anyhow::Result;

/// A 1-based line and column in the tune's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A written note: accidental, letter, octave and length (in units of `L:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NoteTok {
    /// Explicit accidental in semitones (`=` is `Some(0)`).
    pub accidental: Option<i8>,
    /// Letter index, C = 0 ... B = 6.
    pub letter: usize,
    /// Octave number: `C` is 4, `c` is 5, each `'` adds and each `,` takes one.
    pub octave: i32,
    /// Length in units of `L:`.
    pub length: Frac,
    /// Followed by `-`.
    pub tie: bool,
}

pub(super) use super::grammar::Bar;
use super::grammar::{
    append_digit, is_decoration, BarSign, BrokenSign, CharToken, LengthSuffix, NoteSign, TupletSign,
};

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokKind {
    /// A single note.
    Note(NoteTok),
    /// `[CEG]2`: the notes and the length written after `]`.
    Chord(Vec<NoteTok>, Frac),
    /// `z` or `x` with its length in units of `L:`.
    Rest(Frac),
    /// `Z` or `X`: a rest of this many bars.
    MeasureRest(u32),
    /// `-` after a note or chord.
    Tie,
    /// Broken rhythm: a run of `>` or `<`.
    Broken(BrokenSign),
    /// `(p:q:r`.
    Tuplet {
        p: u32,
        q: Option<u32>,
        r: Option<u32>,
    },
    /// A bar line.
    Bar(Bar),
    /// The start of a numbered ending (`[1`, `|2`, `:|2`, `[1,3`).
    Ending(Vec<u32>),
    /// A field in the body or inline: letter and value.
    Field(char, String),
    /// `&`: the start of a voice overlay (skipped until the next bar line).
    Overlay,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: TokKind,
    pub pos: Pos,
}

/// Appends the tokens of one line of music to `out`.
pub(super) fn lex_line(text: &str, line: usize, out: &mut Vec<Token>) -> Result<()> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        i: 0,
        line,
        out,
    };
    while lexer.i < lexer.chars.len() {
        lexer.token()?;
    }
    Ok(())
}

struct Lexer<'a> {
    chars: Vec<char>,
    i: usize,
    line: usize,
    out: &'a mut Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.i + 1,
        }
    }

    fn error(&self, pos: Pos, msg: &str) -> anyhow::Error {
        pos_err(pos.line, pos.col, msg)
    }

    fn push(&mut self, kind: TokKind, pos: Pos) {
        self.out.push(Token { kind, pos });
    }

    /// Lexes one token (or skips one ignorable item).
    fn token(&mut self) -> Result<()> {
        let pos = self.pos();
        let c = self.chars[self.i];
        match c {
            _ if NoteSign::starts(c) => {
                let note = self.note()?;
                self.push(TokKind::Note(note), pos);
            }
            'z' | 'x' => {
                self.i += 1;
                let length = self.length(pos)?;
                self.push(TokKind::Rest(length), pos);
            }
            'Z' | 'X' => {
                self.i += 1;
                let bars = self.number().unwrap_or(1);
                self.push(TokKind::MeasureRest(bars), pos);
            }
            '|' | ':' => self.bar_line(c, pos),
            '[' => self.bracket(pos)?,
            ']' => {
                return Err(self.error(pos, "unbalanced chord bracket: ']' without a matching '['"))
            }
            '(' => self.paren(pos)?,
            '-' => {
                self.i += 1;
                self.push(TokKind::Tie, pos);
            }
            '>' | '<' => self.broken(c, pos),
            '&' => {
                self.i += 1;
                self.push(TokKind::Overlay, pos);
            }
            _ => self.skip_ignorable(c, pos)?,
        }
        Ok(())
    }

    /// Skips decorations, annotations, grace notes, slurs and spacing.
    fn skip_ignorable(&mut self, c: char, pos: Pos) -> Result<()> {
        match c {
            '"' => self.skip_to(
                '"',
                pos,
                "unterminated chord symbol or annotation (missing '\"')",
            )?,
            '{' => self.grace_notes(pos)?,
            '!' | '+' => self.skip_decoration(c),
            'y' => {
                self.i += 1;
                self.length(pos)?;
            }
            '}' => return Err(self.error(pos, "'}' without a matching '{'")),
            _ if c.is_whitespace() || is_decoration(c) => self.i += 1,
            ')' | '`' | '$' | '*' | '\\' | ',' | '\'' | '/' | ';' | '#' | '?' | '@' => self.i += 1,
            _ if c.is_ascii_digit() => self.i += 1,
            _ => return Err(self.error(pos, &format!("unexpected character {c:?}"))),
        }
        Ok(())
    }

    /// Skips past the next `close`, or fails with `msg` when the line has none.
    fn skip_to(&mut self, close: char, pos: Pos, msg: &str) -> Result<()> {
        match self.chars[self.i + 1..].iter().position(|&c| c == close) {
            Some(offset) => {
                self.i += offset + 2;
                Ok(())
            }
            None => Err(self.error(pos, msg)),
        }
    }

    /// `{ga}`, `{/g}`, `{^f2e}`: grace notes take no time, and are read by the rules the sampling
    /// constraint also follows ([`NoteSign`] and [`LengthSuffix`]), so a malformed one is an
    /// error; the acciaccatura's slash, spaces and anything else are skipped.
    fn grace_notes(&mut self, pos: Pos) -> Result<()> {
        self.i += 1;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(pos, "unterminated grace notes (missing '}')"));
            };
            match c {
                '}' => {
                    self.i += 1;
                    return Ok(());
                }
                _ if NoteSign::starts(c) => {
                    self.pitch()?;
                    self.read_token(LengthSuffix::default());
                }
                _ => self.i += 1,
            }
        }
    }

    /// Skips `!trill!` or `+fermata+`; a lone `!` or `+` (old line-break marks) is skipped alone.
    fn skip_decoration(&mut self, delim: char) {
        let rest = &self.chars[self.i + 1..];
        match rest.iter().position(|&c| c == delim) {
            Some(offset)
                if rest[..offset]
                    .iter()
                    .all(|c| !c.is_whitespace() || delim == '!') =>
            {
                self.i += offset + 2;
            }
            _ => self.i += 1,
        }
    }

    /// Parses a note's pitch by the rules the sampling constraint also follows ([`NoteSign`]:
    /// accidentals, a microtone skipped, the letter, octave marks), then its length and a
    /// following tie.
    fn note(&mut self) -> Result<NoteTok> {
        let pos = self.pos();
        let (sign, letter, octave) = self.pitch()?;
        let length = self.length(pos)?;
        let tie = self.peek() == Some('-');
        if tie {
            self.i += 1;
        }
        Ok(NoteTok {
            accidental: sign.accidental(),
            letter,
            octave,
            length,
            tie,
        })
    }

    /// Parses a length such as `2`, `/`, `//`, `3/2` by the rules the sampling constraint also
    /// follows ([`LengthSuffix`]); the default is 1.
    fn length(&mut self, pos: Pos) -> Result<Frac> {
        let suffix = self.read_token(LengthSuffix::default());
        match suffix.value() {
            Some((n, d)) => Ok(Frac::new(n, d)),
            None if !suffix.divisors_ok() => {
                Err(self.error(pos, "note length with a zero or huge divisor"))
            }
            None => Err(self.error(pos, "note length of zero")),
        }
    }

    /// Reads a note's pitch ([`NoteSign`]): the sign, its letter's index and its octave; an error
    /// where an accidental has no note letter after it.
    fn pitch(&mut self) -> Result<(NoteSign, usize, i32)> {
        let sign = self.read_token(NoteSign::default());
        match (sign.letter_index(), sign.octave()) {
            (Some(letter), Some(octave)) => Ok((sign, letter, octave)),
            _ => {
                let here = self.pos();
                Err(match self.peek().filter(char::is_ascii_alphabetic) {
                    Some(c) => self.error(
                        here,
                        &format!("accidental before {c:?}, which is not a note"),
                    ),
                    None => self.error(here, "accidental without a note letter after it"),
                })
            }
        }
    }

    /// Parses a run of digits (saturating), `None` if there is none.
    fn number(&mut self) -> Option<u32> {
        let mut value: Option<u32> = None;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            value = append_digit(value, d);
            self.i += 1;
        }
        value
    }

    /// Reads the characters that continue `token` ([`CharToken::step`]) and returns it.
    fn read_token<T: CharToken>(&mut self, mut token: T) -> T {
        while let Some(next) = self.peek().and_then(|c| token.step(c)) {
            token = next;
            self.i += 1;
        }
        token
    }

    /// Consumes a run of `c` and returns its length.
    fn count(&mut self, c: char) -> usize {
        let start = self.i;
        while self.peek() == Some(c) {
            self.i += 1;
        }
        self.i - start
    }

    /// A bar line starting with `|` or `:` (`|`, `||`, `|]`, `|:`, `:|`, `::`, `:|:`, `:||`...),
    /// read by the rules the sampling constraint also follows ([`BarSign`]), then an ending
    /// number written straight after it (`|1`, `:|2`); a stray `:` is skipped.
    fn bar_line(&mut self, c: char, pos: Pos) {
        let Some(sign) = BarSign::start(c) else {
            self.i += 1;
            return;
        };
        self.i += 1;
        if let Some(bar) = self.read_token(sign).bar() {
            self.push(TokKind::Bar(bar), pos);
            self.ending_after_bar();
        }
    }

    /// An ending number written straight after a bar line (`|1`, `:|2`).
    fn ending_after_bar(&mut self) {
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            let pos = self.pos();
            let list = self.ending_list();
            self.push(TokKind::Ending(list), pos);
        }
    }

    /// Parses `1`, `1,3`, `1-3` into the list of passes.
    fn ending_list(&mut self) -> Vec<u32> {
        let mut list = Vec::new();
        while let Some(first) = self.number() {
            let mut last = first;
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
                last = self.number().unwrap_or(first);
            }
            list.extend(first..=last.min(first.saturating_add(32)));
            if self.peek() == Some(',') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            } else {
                break;
            }
        }
        list
    }

    /// `[` starts an inline field, an ending, a thick-thin bar or a chord.
    fn bracket(&mut self, pos: Pos) -> Result<()> {
        let next = self.peek_at(1);
        if next.is_some_and(|c| c.is_ascii_alphabetic()) && self.peek_at(2) == Some(':') {
            return self.inline_field(pos);
        }
        if next.is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
            let list = self.ending_list();
            self.push(TokKind::Ending(list), pos);
            return Ok(());
        }
        if next == Some('|') {
            self.i += 2;
            if self.peek() == Some(']') {
                self.i += 1;
            }
            let repeat_start = self.count(':') > 0;
            let bar = Bar {
                double: true,
                repeat_start,
                ..Bar::default()
            };
            self.push(TokKind::Bar(bar), pos);
            return Ok(());
        }
        self.chord(pos)
    }

    /// `[K:G]`, `[M:3/4]`...
    fn inline_field(&mut self, pos: Pos) -> Result<()> {
        let letter = self.chars[self.i + 1];
        let close = self.chars[self.i..].iter().position(|&c| c == ']');
        let close =
            close.ok_or_else(|| self.error(pos, "unterminated inline field (missing ']')"))?;
        let value: String = self.chars[self.i + 3..self.i + close].iter().collect();
        self.i += close + 1;
        self.push(TokKind::Field(letter, value.trim().to_string()), pos);
        Ok(())
    }

    /// `[CEG]2`: notes up to `]`, then the chord's length.
    fn chord(&mut self, pos: Pos) -> Result<()> {
        self.i += 1;
        let mut notes: Vec<NoteTok> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                let msg = "unbalanced chord bracket: '[' has no closing ']' on its line";
                return Err(self.error(pos, msg));
            };
            let here = self.pos();
            match c {
                ']' => break,
                _ if NoteSign::starts(c) => notes.push(self.note()?),
                '-' => {
                    self.i += 1;
                    if let Some(last) = notes.last_mut() {
                        last.tie = true;
                    }
                }
                'z' | 'x' => {
                    self.i += 1;
                    self.length(here)?;
                }
                '[' | '|' => {
                    let msg = format!(
                        "unbalanced chord bracket: '[' has no closing ']' before the {c:?} at column {}",
                        here.col
                    );
                    return Err(self.error(pos, &msg));
                }
                '(' | ')' => self.i += 1,
                _ => self.skip_ignorable(c, here)?,
            }
        }
        self.i += 1;
        let length = self.length(pos)?;
        if !notes.is_empty() {
            self.push(TokKind::Chord(notes, length), pos);
        }
        Ok(())
    }

    /// `(3`, `(3:2:3` or a slur start.
    fn paren(&mut self, pos: Pos) -> Result<()> {
        self.i += 1;
        let TupletSign { p, q, r, .. } = self.read_token(TupletSign::default());
        let Some(p) = p else {
            return Ok(());
        };
        if !(2..=9).contains(&p) || q == Some(0) || r == Some(0) {
            return Err(self.error(pos, &format!("invalid tuplet ({p}: expected 2 to 9 notes")));
        }
        self.push(TokKind::Tuplet { p, q, r }, pos);
        Ok(())
    }

    /// `>`, `>>`, `<`..., read by the rules the sampling constraint also follows
    /// ([`BrokenSign`]).
    fn broken(&mut self, c: char, pos: Pos) {
        if let Some(sign) = BrokenSign::start(c) {
            self.i += 1;
            let run = self.read_token(sign);
            self.push(TokKind::Broken(run), pos);
        }
    }
}
