//! ABC notation (one tune) → [`Score`].
//!
//! Follows the ABC 2.1 standard for a single melody: keys and modes, meters, unit
//! lengths, tempos, accidentals (carried to the end of the bar for the same letter and
//! octave), lengths, broken rhythm, tuplets, ties, chords, rests and repeats with
//! numbered endings. Grace notes, decorations, chord symbols, annotations, slurs and
//! lyrics take no time and are ignored. Each voice (`V:`) becomes a track of its own, in the
//! order the voices first appear.
//!
//! ```
//! use tunesmith::abc::to_score::abc_to_score;
//! let score = abc_to_score("X:1\nK:C\nCDE2|]\n").unwrap();
//! let pitches: Vec<u8> = score.tracks[0].notes.iter().map(|n| n.pitch).collect();
//! assert_eq!(pitches, [60, 62, 64]);
//! ```

mod bars;
mod fields;
mod form;
mod form_table;
mod frac;
pub(crate) mod grammar;
mod interp;
mod key;
mod layout;
mod lexer;
mod lines;
mod repeats;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fields;

pub use bars::{bar_check, BarCheck, BarFit, WrittenBar};
pub use form::{bar_events, tune_form, BarEvent, PartForm, TuneForm};
pub(crate) use form_table::draw_by_count;
pub use form_table::{form_label, FormCount, FormLevel, FormTable, FormTableReport, MIN_TUNES};
pub use key::{ends_on_tonic, header_tonic, key_tonic};

use crate::score::{Note, Score, Track, DEFAULT_TICKS_PER_QUARTER};
use anyhow::{anyhow, Result};
use fields::{default_unit, parse_meter, parse_tempo, parse_unit, Meter};
use interp::{Context, Meta, MetaKind};
use lexer::{Pos, TokKind, Token};
use lines::Line;

/// Settings for [`abc_to_score_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbcToScoreOptions {
    /// MIDI velocity given to every note (clamped to 1..=127).
    pub velocity: u8,
    /// General MIDI program of the melody track (clamped to 0..=127).
    pub program: u8,
    /// Play `|: :|` repeats and numbered endings out in full (otherwise the
    /// music is read once, as written, endings included).
    pub expand_repeats: bool,
}

impl Default for AbcToScoreOptions {
    /// Velocity 80, program 0 (acoustic grand piano), repeats expanded.
    fn default() -> Self {
        AbcToScoreOptions {
            velocity: Note::DEFAULT_VELOCITY,
            program: 0,
            expand_repeats: true,
        }
    }
}

/// Converts one ABC tune (header fields ending with `K:`, then the music) with default options.
///
/// Errors name the line and column of malformed input (missing `K:`, an unknown key,
/// an unbalanced chord bracket, a tuplet with no notes after it...).
pub fn abc_to_score(tune: &str) -> Result<Score> {
    abc_to_score_with(tune, &AbcToScoreOptions::default())
}

/// Converts one ABC tune to a [`Score`] at 480 ticks per quarter note: one track per voice
/// (tempo and meter changes are the first voice's).
pub fn abc_to_score_with(tune: &str, opts: &AbcToScoreOptions) -> Result<Score> {
    let tune = super::quoted_printable::decode_tune(tune);
    let lines = lines::split_tune(&tune)?;
    let header = read_header(&lines.header)?;
    let voices = split_voices(lex_body(&lines.body)?);
    let velocity = opts.velocity.clamp(1, 127);
    let mut score = Score::new(DEFAULT_TICKS_PER_QUARTER);
    let named = voices.len() > 1;
    for (i, (id, tokens)) in voices.iter().enumerate() {
        let order = if opts.expand_repeats {
            repeats::play_order(tokens)?
        } else {
            (0..tokens.len()).collect()
        };
        let mut perf = interp::interpret(tokens, &order, header.context)?;
        perf.metas.splice(0..0, header.metas());
        let layout = layout::lay_out(&perf, DEFAULT_TICKS_PER_QUARTER, velocity)?;
        if i == 0 {
            score.tempos = layout.tempos;
            score.time_signatures = layout.time_signatures;
        }
        let name = match (named, header.title.is_empty()) {
            (false, _) => header.title.clone(),
            (true, true) => format!("V:{id}"),
            (true, false) => format!("{} (V:{id})", header.title),
        };
        score.tracks.push(Track {
            name,
            program: opts.program.min(127),
            notes: layout.notes,
            ..Track::default()
        });
    }
    score.sort();
    Ok(score)
}

/// An error located at a 1-based line and column of the tune.
fn pos_err(line: usize, col: usize, msg: &str) -> anyhow::Error {
    anyhow!("line {line}, column {col}: {msg}")
}

/// What the header sets up.
struct Header {
    context: Context,
    title: String,
    tempo: Option<u32>,
}

impl Header {
    /// The header's meter and tempo as changes at the very start.
    fn metas(&self) -> Vec<Meta> {
        let meter = self.context.meter.map(MetaKind::Meter);
        let tempo = self.tempo.map(MetaKind::Tempo);
        [meter, tempo]
            .into_iter()
            .flatten()
            .map(|kind| Meta { before: 0, kind })
            .collect()
    }
}

/// Reads `T:`, `M:`, `L:`, `Q:` and `K:` from the header lines.
fn read_header(lines: &[Line]) -> Result<Header> {
    let mut title = None;
    let mut meter: Option<Meter> = None;
    let mut unit = None;
    let mut tempo_text = None;
    let mut key = [0; 7];
    for line in lines {
        let Line::Field(letter, value, n) = *line else {
            continue;
        };
        let at = |e: anyhow::Error| pos_err(n, 1, &e.to_string());
        match letter {
            'T' if title.is_none() => title = Some(value.to_string()),
            'M' => meter = parse_meter(value).map_err(at)?,
            'L' => unit = Some(parse_unit(value).map_err(at)?),
            'Q' => tempo_text = Some((value, n)),
            'K' => key = key::parse_key(value).map_err(at)?.unwrap_or(key),
            _ => {}
        }
    }
    let unit = unit.unwrap_or_else(|| default_unit(meter));
    let tempo = match tempo_text {
        Some((text, n)) => parse_tempo(text, unit).map_err(|e| pos_err(n, 1, &e.to_string()))?,
        None => None,
    };
    let context = Context { key, unit, meter };
    Ok(Header {
        context,
        title: title.unwrap_or_default(),
        tempo,
    })
}

/// Tokens of the body: music lines plus the fields that matter in the body.
/// An accidental left at the end of a music line belongs to the note that starts the next one
/// (as music21 reads it). Text that went through e-mail was decoded before
/// ([`super::quoted_printable`]).
fn lex_body(lines: &[Line]) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut carried = String::new();
    for line in lines {
        match *line {
            Line::Music(text, n) => {
                let body = text.trim_end();
                let kept = body.trim_end_matches(['^', '_', '=']);
                let text = format!("{carried}{kept}");
                carried = body[kept.len()..].to_string();
                lexer::lex_line(&text, n, &mut tokens)?
            }
            Line::Field(letter @ ('K' | 'M' | 'L' | 'Q' | 'V'), value, n) => tokens.push(Token {
                kind: TokKind::Field(letter, value.to_string()),
                pos: Pos { line: n, col: 1 },
            }),
            Line::Field(..) => {}
        }
    }
    Ok(tokens)
}

/// The tokens of each voice, in the order the voices first appear: music before any `V:` is
/// an unnamed voice of its own; fields before any music (`K:`, `M:`, `L:`, `Q:` lines between
/// the header and the first `V:`) belong to every voice. `V:` tokens themselves are dropped.
/// A tune without `V:` is one voice.
fn split_voices(tokens: Vec<Token>) -> Vec<(String, Vec<Token>)> {
    let mut common: Vec<Token> = Vec::new();
    let mut voices: Vec<(String, Vec<Token>)> = Vec::new();
    let mut current: Option<usize> = None;
    for token in tokens {
        if let TokKind::Field('V', value) = &token.kind {
            let id = value.split_whitespace().next().unwrap_or("").to_string();
            current = Some(match voices.iter().position(|(v, _)| *v == id) {
                Some(i) => i,
                None => {
                    voices.push((id, common.clone()));
                    voices.len() - 1
                }
            });
            continue;
        }
        let music = !matches!(token.kind, TokKind::Field(..));
        match current {
            Some(i) => voices[i].1.push(token),
            None if !music => common.push(token),
            None => {
                voices.push((String::new(), common.clone()));
                let i = voices.len() - 1;
                voices[i].1.push(token);
                current = Some(i);
            }
        }
    }
    if voices.is_empty() {
        voices.push((String::new(), common));
    }
    voices
}

/// Keeps only the first voice: the one named by the first `V:` before any music, or
/// the unnamed voice when music comes first. `V:` tokens themselves are dropped.
fn first_voice(tokens: Vec<Token>) -> Vec<Token> {
    let mut main: Option<String> = None;
    let mut current = String::new();
    let mut seen_music = false;
    let mut kept = Vec::with_capacity(tokens.len());
    for token in tokens {
        if let TokKind::Field('V', value) = &token.kind {
            let id = value.split_whitespace().next().unwrap_or("").to_string();
            if main.is_none() {
                main = Some(if seen_music {
                    String::new()
                } else {
                    id.clone()
                });
            }
            current = id;
            continue;
        }
        if main.as_ref().is_none_or(|m| *m == current) {
            seen_music |= !matches!(token.kind, TokKind::Field(..));
            kept.push(token);
        }
    }
    kept
}
