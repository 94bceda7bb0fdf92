//! Walks tokens in playing order and produces timed sounds (notes, chords, rests).

use super::fields::{parse_meter, parse_tempo, parse_unit, Meter};
use super::frac::Frac;
use super::grammar::BrokenSign;
use super::key::{parse_key, KeySig};
use super::lexer::{NoteTok, Pos, TokKind, Token};
use super::pos_err;
use anyhow::Result;
use std::collections::HashMap;

/// Semitones above C for the letters C D E F G A B.
const SEMITONES: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];

/// The musical context that fields change: key, unit length and meter.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context {
    pub key: KeySig,
    pub unit: Frac,
    pub meter: Option<Meter>,
}

/// What sounds during an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Sound {
    Rest,
    /// MIDI pitches, each with whether it is tied to the next element.
    Notes(Vec<(u8, bool)>),
}

/// One note, chord or rest with its length in whole notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Element {
    pub sound: Sound,
    pub length: Frac,
}

/// A tempo or meter change taking effect before element `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MetaKind {
    /// Microseconds per quarter note.
    Tempo(u32),
    Meter(Meter),
}

/// A [`MetaKind`] placed before the element with this index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meta {
    pub before: usize,
    pub kind: MetaKind,
}

/// The result of interpretation.
#[derive(Debug, Default)]
pub(super) struct Performance {
    pub elements: Vec<Element>,
    pub metas: Vec<Meta>,
}

struct Tuplet {
    factor: Frac,
    remaining: u32,
    used: bool,
    pos: Pos,
    written: u32,
}

/// Interprets `tokens` in the given order starting from `context`.
pub(super) fn interpret(
    tokens: &[Token],
    order: &[usize],
    context: Context,
) -> Result<Performance> {
    let mut interp = Interp {
        ctx: context,
        bar_accidentals: HashMap::new(),
        tuplet: None,
        broken_next: None,
        tied_before: Vec::new(),
        in_overlay: false,
        out: Performance::default(),
    };
    for &i in order {
        interp.token(&tokens[i])?;
    }
    interp.finish()
}

struct Interp {
    ctx: Context,
    /// Accidentals written earlier in the bar, by (letter, octave).
    bar_accidentals: HashMap<(usize, i32), i8>,
    tuplet: Option<Tuplet>,
    /// Factor for the next element from a broken rhythm.
    broken_next: Option<Frac>,
    /// (letter, octave, pitch) of notes tied into the next element.
    tied_before: Vec<(usize, i32, u8)>,
    in_overlay: bool,
    out: Performance,
}

impl Interp {
    fn token(&mut self, token: &Token) -> Result<()> {
        let pos = token.pos;
        if self.in_overlay && !matches!(token.kind, TokKind::Bar(_)) {
            return Ok(());
        }
        match &token.kind {
            TokKind::Note(note) => self.notes(std::slice::from_ref(note), Frac::ONE, pos)?,
            TokKind::Chord(notes, length) => self.notes(notes, *length, pos)?,
            TokKind::Rest(length) => self.push(Sound::Rest, *length * self.ctx.unit),
            TokKind::MeasureRest(bars) => self.measure_rest(*bars),
            TokKind::Tie => self.tie(),
            TokKind::Broken(sign) => self.broken(*sign),
            TokKind::Tuplet { p, q, r } => self.start_tuplet(*p, *q, *r, pos),
            TokKind::Bar(_) => {
                self.bar_accidentals.clear();
                self.in_overlay = false;
            }
            TokKind::Ending(_) => {}
            TokKind::Field(letter, value) => self
                .field(*letter, value)
                .map_err(|e| pos_err(pos.line, pos.col, &e.to_string()))?,
            TokKind::Overlay => self.in_overlay = true,
        }
        Ok(())
    }

    fn finish(self) -> Result<Performance> {
        if let Some(t) = self.tuplet.as_ref().filter(|t| !t.used) {
            let msg = format!("tuplet ({} has no notes after it", t.written);
            return Err(pos_err(t.pos.line, t.pos.col, &msg));
        }
        Ok(self.out)
    }

    /// A note or chord: resolves pitches, the length comes from the first note.
    fn notes(&mut self, notes: &[NoteTok], multiplier: Frac, pos: Pos) -> Result<()> {
        let mut pitches = Vec::with_capacity(notes.len());
        let mut tied = Vec::new();
        for note in notes {
            let pitch = self.pitch(note, pos)?;
            if note.tie {
                tied.push((note.letter, note.octave, pitch));
            }
            pitches.push((pitch, note.tie));
        }
        let length = notes[0].length * multiplier * self.ctx.unit;
        self.push(Sound::Notes(pitches), length);
        self.tied_before = tied;
        Ok(())
    }

    /// The MIDI pitch of a note given the key, the bar's accidentals and ties.
    fn pitch(&mut self, note: &NoteTok, pos: Pos) -> Result<u8> {
        let slot = (note.letter, note.octave);
        let alter = if let Some(a) = note.accidental {
            self.bar_accidentals.insert(slot, a);
            a
        } else if let Some(&a) = self.bar_accidentals.get(&slot) {
            a
        } else if let Some(&(.., p)) = self.tied_before.iter().find(|t| (t.0, t.1) == slot) {
            return Ok(p);
        } else {
            self.ctx.key[note.letter]
        };
        let midi = 12 * (note.octave + 1) + SEMITONES[note.letter] + i32::from(alter);
        u8::try_from(midi)
            .ok()
            .filter(|&m| m <= 127)
            .ok_or_else(|| {
                pos_err(
                    pos.line,
                    pos.col,
                    &format!("note pitch {midi} is outside the MIDI range 0..=127"),
                )
            })
    }

    /// Appends an element, applying a running tuplet and a pending broken rhythm.
    fn push(&mut self, sound: Sound, length: Frac) {
        let mut length = length;
        if let Some(t) = self.tuplet.as_mut() {
            length = length * t.factor;
            t.used = true;
            t.remaining -= 1;
            if t.remaining == 0 {
                self.tuplet = None;
            }
        }
        if let Some(f) = self.broken_next.take() {
            length = length * f;
        }
        if sound == Sound::Rest {
            self.tied_before.clear();
        }
        self.out.elements.push(Element { sound, length });
    }

    fn measure_rest(&mut self, bars: u32) {
        let bar = self.ctx.meter.map_or(Frac::ONE, Meter::bar_length);
        self.tied_before.clear();
        let length = bar * Frac::int(i64::from(bars));
        self.out.elements.push(Element {
            sound: Sound::Rest,
            length,
        });
    }

    /// `-` after a note or chord ties all of its notes.
    fn tie(&mut self) {
        if let Some(Element {
            sound: Sound::Notes(pitches),
            ..
        }) = self.out.elements.last_mut()
        {
            for p in pitches.iter_mut() {
                p.1 = true;
            }
        }
    }

    /// `>` lengthens the previous element and shortens the next; `<` the other way.
    fn broken(&mut self, sign: BrokenSign) {
        let Some(prev) = self.out.elements.last_mut() else {
            return;
        };
        let ((first_num, first_den), (second_num, second_den)) = sign.factors();
        prev.length = prev.length * Frac::new(first_num, first_den);
        self.broken_next = Some(Frac::new(second_num, second_den));
    }

    fn start_tuplet(&mut self, p: u32, q: Option<u32>, r: Option<u32>, pos: Pos) {
        let compound = self.ctx.meter.is_some_and(Meter::is_compound);
        let (num, den) = super::grammar::tuplet_factor(p, q, compound);
        let remaining = r.unwrap_or(p);
        let factor = Frac::new(num, den);
        self.tuplet = Some(Tuplet {
            factor,
            remaining,
            used: false,
            pos,
            written: p,
        });
    }

    /// `K:`, `M:`, `L:` and `Q:` change the context; other fields are ignored.
    fn field(&mut self, letter: char, value: &str) -> Result<()> {
        match letter {
            'K' => {
                if let Some(key) = parse_key(value)? {
                    self.ctx.key = key;
                }
            }
            'M' => {
                self.ctx.meter = parse_meter(value)?;
                if let Some(m) = self.ctx.meter {
                    self.meta(MetaKind::Meter(m));
                }
            }
            'L' => self.ctx.unit = parse_unit(value)?,
            'Q' => {
                if let Some(micros) = parse_tempo(value, self.ctx.unit)? {
                    self.meta(MetaKind::Tempo(micros));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn meta(&mut self, kind: MetaKind) {
        let before = self.out.elements.len();
        self.out.metas.push(Meta { before, kind });
    }
}
