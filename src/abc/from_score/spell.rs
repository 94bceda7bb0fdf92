//! Keys, pitch spelling and the accidentals a bar needs.

use super::voice::GridNote;
use super::{AccidentalStyle, KeyChoice};
use crate::score::estimate_key;
use crate::score::{Note, Score, Track};
use std::collections::HashMap;

/// Semitones above C of the natural letters C D E F G A B.
const NATURAL_SEMITONES: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];

/// Place of the natural letters C D E F G A B on the line of fifths (C = 0, G = 1, F = -1).
const LETTER_FIFTHS: [i32; 7] = [0, 2, 4, -1, 1, 3, 5];

/// Letters in the order sharps are added (F C G D A E B), as letter indices.
const SHARP_ORDER: [usize; 7] = [3, 0, 4, 1, 5, 2, 6];

/// Major keys from 7 flats to 7 sharps.
const MAJOR_NAMES: [&str; 15] = [
    "Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#",
];

/// Minor keys from 7 flats to 7 sharps.
const MINOR_NAMES: [&str; 15] = [
    "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#",
];

/// A key: its signature and whether it is minor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    fifths: i8,
    minor: bool,
    /// Alteration of each letter C..B in semitones.
    signature: [i8; 7],
}

/// A note spelled: letter index (C = 0), alteration in semitones, ABC octave (`C` is 4, `c` 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Spelling {
    pub letter: usize,
    pub alteration: i8,
    pub octave: i32,
}

impl Spelling {
    /// The MIDI pitch this spelling stands for.
    fn pitch(self) -> i32 {
        12 * (self.octave + 1) + NATURAL_SEMITONES[self.letter] + i32::from(self.alteration)
    }

    /// The letter with its octave marks (`C,` `C` `c` `c'`), without accidental.
    fn letter_text(self) -> String {
        let upper = b"CDEFGAB"[self.letter] as char;
        let mut text = String::new();
        if self.octave >= 5 {
            text.push(upper.to_ascii_lowercase());
            text.extend(std::iter::repeat_n('\'', (self.octave - 5) as usize));
        } else {
            text.push(upper);
            text.extend(std::iter::repeat_n(',', (4 - self.octave) as usize));
        }
        text
    }
}

/// The ABC accidental for an alteration (`=` for a natural).
fn accidental_text(alteration: i8) -> &'static str {
    match alteration {
        i8::MIN..=-2 => "__",
        -1 => "_",
        0 => "=",
        1 => "^",
        _ => "^^",
    }
}

impl Key {
    /// The key `choice` asks for; an estimate looks at `notes` (C major when there are none).
    pub fn choose(choice: KeyChoice, notes: &[GridNote]) -> Key {
        match choice {
            KeyChoice::Fixed { fifths, minor } => Key::new(fifths.clamp(-7, 7), minor),
            KeyChoice::Estimate => {
                let (tonic, minor) = estimate_key(&score_of(notes));
                let major_tonic = if minor { (tonic + 3) % 12 } else { tonic };
                let fifths = (i32::from(major_tonic) * 7).rem_euclid(12);
                let fifths = if fifths > 6 { fifths - 12 } else { fifths };
                Key::new(fifths as i8, minor)
            }
        }
    }

    /// The key with `fifths` sharps (negative: flats), -7..=7.
    fn new(fifths: i8, minor: bool) -> Key {
        let mut signature = [0i8; 7];
        let count = usize::from(fifths.unsigned_abs()).min(7);
        if fifths > 0 {
            SHARP_ORDER[..count].iter().for_each(|&l| signature[l] = 1);
        } else {
            SHARP_ORDER[7 - count..]
                .iter()
                .for_each(|&l| signature[l] = -1);
        }
        Key {
            fifths,
            minor,
            signature,
        }
    }

    /// The `K:` value: `D`, `Bb`, `Em`, `F#m`.
    pub fn name(&self) -> String {
        let index = (i32::from(self.fifths) + 7) as usize;
        if self.minor {
            format!("{}m", MINOR_NAMES[index])
        } else {
            MAJOR_NAMES[index].to_string()
        }
    }

    /// How a MIDI pitch is spelled in this key: with a natural or one sharp or flat, whichever
    /// lies nearest the key's centre on the line of fifths (the scale's own notes always do; in
    /// C major the others are C#, Eb, F#, G#, Bb; in A minor Bb, C#, D#, F#, G#). A tie goes to
    /// a natural (C, not B#, in F# minor), else to the sharp in sharp keys and C, to the flat in
    /// flat keys.
    pub fn spell(&self, pitch: u8) -> Spelling {
        let pitch = i32::from(pitch);
        let pitch_class = pitch.rem_euclid(12);
        // The middle of the signature's seven fifths, one fifth higher for minor (its raised
        // sixth and seventh lie above the signature).
        let centre = i32::from(self.fifths) + if self.minor { 3 } else { 2 };
        let toward_signature = if self.fifths >= 0 { -1 } else { 1 };
        let (letter, alteration) = (0..7)
            .filter_map(|letter| {
                let alteration = (pitch_class - NATURAL_SEMITONES[letter] + 18).rem_euclid(12) - 6;
                (alteration.abs() <= 1).then_some((letter, alteration as i8))
            })
            .min_by_key(|&(letter, alteration)| {
                let position = LETTER_FIFTHS[letter] + 7 * i32::from(alteration);
                let distance = (position - centre).abs();
                (distance, alteration != 0, toward_signature * position)
            })
            .unwrap_or((0, 0));
        let octave = (pitch - NATURAL_SEMITONES[letter] - i32::from(alteration)).div_euclid(12) - 1;
        Spelling {
            letter,
            alteration,
            octave,
        }
    }
}

/// The notes as a one-track score (steps as ticks), for the key estimate.
fn score_of(notes: &[GridNote]) -> Score {
    let as_tick = |step: u64| u32::try_from(step).unwrap_or(u32::MAX);
    let notes = notes
        .iter()
        .map(|n| Note {
            pitch: n.pitch,
            start: as_tick(n.start),
            duration: as_tick(n.end - n.start).max(1),
            velocity: 64,
        })
        .collect();
    Score {
        tracks: vec![Track {
            notes,
            ..Track::default()
        }],
        ..Score::default()
    }
}

/// Writes notes with the accidentals ABC needs, following the reader's rules: an accidental
/// holds for its letter and octave until the bar line, and a note tied from the element before
/// keeps that note's pitch. In the [`AccidentalStyle::Explicit`] style every note off the key
/// signature gets its sign as well.
#[derive(Debug)]
pub(super) struct AccidentalWriter<'k> {
    key: &'k Key,
    style: AccidentalStyle,
    /// Accidentals written in the current bar, by (letter, octave).
    in_bar: HashMap<(usize, i32), i8>,
    /// (letter, octave, pitch) of the notes tied from the previous element.
    tied_from_previous: Vec<(usize, i32, i32)>,
    /// The same for the element being written.
    tied_from_current: Vec<(usize, i32, i32)>,
}

impl<'k> AccidentalWriter<'k> {
    /// A writer at the start of the music.
    pub fn new(key: &'k Key, style: AccidentalStyle) -> Self {
        AccidentalWriter {
            key,
            style,
            in_bar: HashMap::new(),
            tied_from_previous: Vec::new(),
            tied_from_current: Vec::new(),
        }
    }

    /// A bar line: accidentals end, ties go on.
    pub fn bar_line(&mut self) {
        self.in_bar.clear();
    }

    /// The text of one note of the current element (accidental if needed, letter, octave).
    ///
    /// The accidental is written when a reader would otherwise hear another pitch, and also
    /// when the note differs from the key and the bar's accidentals and only the tie would
    /// carry its pitch (a tied note after a bar line), which not every reader follows; in the
    /// explicit style, also whenever the note differs from the key signature.
    pub fn note(&mut self, pitch: u8, tied_on: bool) -> String {
        let spelling = self.key.spell(pitch);
        let slot = (spelling.letter, spelling.octave);
        let by_bar = self.in_bar.get(&slot).copied();
        let by_bar_or_key = by_bar.unwrap_or(self.key.signature[spelling.letter]);
        let heard_without_tie = Spelling {
            alteration: by_bar_or_key,
            ..spelling
        }
        .pitch();
        let by_tie = self
            .tied_from_previous
            .iter()
            .find(|t| (t.0, t.1) == slot)
            .map(|t| t.2);
        let read_as = match by_bar {
            Some(_) => heard_without_tie,
            None => by_tie.unwrap_or(heard_without_tie),
        };
        let off_signature = spelling.alteration != self.key.signature[spelling.letter];
        let explicit = self.style == AccidentalStyle::Explicit && off_signature;
        let mut text = String::new();
        if read_as != spelling.pitch() || by_bar_or_key != spelling.alteration || explicit {
            self.in_bar.insert(slot, spelling.alteration);
            text.push_str(accidental_text(spelling.alteration));
        }
        text.push_str(&spelling.letter_text());
        if tied_on {
            self.tied_from_current
                .push((spelling.letter, spelling.octave, spelling.pitch()));
        }
        text
    }

    /// The end of a note or chord: its tied notes are what the next element continues.
    pub fn end_of_notes(&mut self) {
        self.tied_from_previous = std::mem::take(&mut self.tied_from_current);
    }

    /// A rest: nothing is tied over it.
    pub fn rest(&mut self) {
        self.tied_from_previous.clear();
        self.tied_from_current.clear();
    }
}
