//! The one in-memory music type that sits between files (ABC, MIDI) and encodings.
//!
//! Times are in ticks; `ticks_per_quarter` says how many ticks make a quarter note.

pub mod key;

pub use key::{estimate_key, transpose_score, transposition_to_c};

use serde::{Deserialize, Serialize};

/// Ticks per quarter note used when the crate creates a score itself (from ABC, from a model).
pub const DEFAULT_TICKS_PER_QUARTER: u16 = 480;

/// One sounding note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// MIDI pitch, 0..=127 (60 is middle C).
    pub pitch: u8,
    /// Onset in ticks from the start of the score.
    pub start: u32,
    /// Length in ticks (always at least 1).
    pub duration: u32,
    /// MIDI velocity, 1..=127.
    pub velocity: u8,
}

impl Note {
    /// The velocity of a note written without one (an ABC note, a note a model generates).
    pub const DEFAULT_VELOCITY: u8 = 80;

    /// A note of `pitch` from tick `start` for `duration` ticks, at [`Note::DEFAULT_VELOCITY`].
    pub fn new(pitch: u8, start: u32, duration: u32) -> Note {
        Note {
            pitch,
            start,
            duration,
            velocity: Note::DEFAULT_VELOCITY,
        }
    }

    /// This note at `velocity` (1..=127).
    pub fn with_velocity(self, velocity: u8) -> Note {
        Note { velocity, ..self }
    }

    /// The tick at which the note stops sounding.
    pub fn end(&self) -> u32 {
        self.start + self.duration
    }
}

/// A part played by one instrument on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Track {
    /// Track name (from the MIDI track name event or the ABC voice), may be empty.
    pub name: String,
    /// General MIDI program, 0..=127.
    pub program: u8,
    /// MIDI channel, 0..=15.
    pub channel: u8,
    /// True for percussion (MIDI channel 10, index 9): pitches name drums, not notes.
    pub is_drum: bool,
    /// Notes sorted by start, then pitch.
    pub notes: Vec<Note>,
}

/// A tempo change: from `tick` on, a quarter note lasts `micros_per_quarter` microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TempoChange {
    /// Where the tempo takes effect.
    pub tick: u32,
    /// Microseconds per quarter note (500,000 is 120 BPM).
    pub micros_per_quarter: u32,
}

impl TempoChange {
    /// A quarter note of `micros_per_quarter` microseconds from `tick` on.
    pub fn new(tick: u32, micros_per_quarter: u32) -> Self {
        TempoChange {
            tick,
            micros_per_quarter,
        }
    }
}

/// A time-signature change, e.g. 6/8 from `tick` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSignature {
    /// Where the meter takes effect.
    pub tick: u32,
    /// Beats per bar (the 6 of 6/8).
    pub numerator: u8,
    /// Note value of a beat (the 8 of 6/8).
    pub denominator: u8,
}

impl TimeSignature {
    /// The meter `numerator`/`denominator` from `tick` on.
    pub fn new(tick: u32, numerator: u8, denominator: u8) -> Self {
        TimeSignature {
            tick,
            numerator,
            denominator,
        }
    }
}

/// A piece of music: tracks of notes plus tempo and meter maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// Ticks per quarter note.
    pub ticks_per_quarter: u16,
    /// Tempo map, sorted by tick; empty means 120 BPM throughout.
    pub tempos: Vec<TempoChange>,
    /// Meter map, sorted by tick; empty means 4/4 throughout.
    pub time_signatures: Vec<TimeSignature>,
    /// The parts.
    pub tracks: Vec<Track>,
}

impl Default for Score {
    fn default() -> Self {
        Score {
            ticks_per_quarter: DEFAULT_TICKS_PER_QUARTER,
            tempos: Vec::new(),
            time_signatures: Vec::new(),
            tracks: Vec::new(),
        }
    }
}

impl Score {
    /// An empty score with the given resolution.
    pub fn new(ticks_per_quarter: u16) -> Self {
        Score {
            ticks_per_quarter,
            ..Score::default()
        }
    }

    /// A score at `ticks_per_quarter` of one track `name` holding `notes`, sorted (what a decoder
    /// makes of a model's output).
    pub fn one_track(ticks_per_quarter: u16, name: &str, notes: Vec<Note>) -> Self {
        let mut score = Score::new(ticks_per_quarter);
        score.tracks.push(Track {
            name: name.to_string(),
            notes,
            ..Track::default()
        });
        score.sort();
        score
    }

    /// Number of notes over all tracks.
    pub fn note_count(&self) -> usize {
        self.tracks.iter().map(|t| t.notes.len()).sum()
    }

    /// The tick at which the last note ends (0 for an empty score).
    pub fn end_tick(&self) -> u32 {
        self.tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(Note::end))
            .max()
            .unwrap_or(0)
    }

    /// Converts a tick position to seconds using the tempo map.
    pub fn tick_to_seconds(&self, tick: u32) -> f64 {
        let tpq = f64::from(self.ticks_per_quarter.max(1));
        let mut seconds = 0.0;
        let mut last_tick = 0u32;
        let mut micros = 500_000.0;
        for change in &self.tempos {
            if change.tick >= tick {
                break;
            }
            seconds += f64::from(change.tick - last_tick) / tpq * micros / 1e6;
            last_tick = change.tick;
            micros = f64::from(change.micros_per_quarter);
        }
        seconds + f64::from(tick - last_tick) / tpq * micros / 1e6
    }

    /// Length of the score in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.tick_to_seconds(self.end_tick())
    }

    /// Sorts every track's notes by start, then pitch, and the maps by tick.
    pub fn sort(&mut self) {
        for track in &mut self.tracks {
            track.notes.sort_by_key(|n| (n.start, n.pitch, n.duration));
        }
        self.tempos.sort_by_key(|t| t.tick);
        self.time_signatures.sort_by_key(|t| t.tick);
    }

    /// The score as a keyboard plays it: in each track a key sounds once at a time. Of the notes
    /// of one pitch that start together only the longest is kept, and a note ends no later than
    /// the next onset of its pitch (see [`one_sound_per_key`]). This is what reading a MIDI file
    /// of the score gives back.
    pub fn as_played(&self) -> Score {
        let mut out = self.clone();
        for track in &mut out.tracks {
            track.notes = one_sound_per_key(&track.notes);
        }
        out
    }

    /// Every note of every track as `(pitch, start, duration)` in ticks, sorted: what a round
    /// trip through an encoding must keep, whatever track or order the notes come back in.
    pub fn note_timings(&self) -> Vec<(u8, u32, u32)> {
        let mut notes: Vec<_> = self
            .tracks
            .iter()
            .flat_map(|t| &t.notes)
            .map(|n| (n.pitch, n.start, n.duration))
            .collect();
        notes.sort_unstable();
        notes
    }
}

/// `notes` with one sound per key at a time, sorted by start, pitch and duration: of the notes
/// of one pitch starting at one tick only the longest is kept (the first of equal ones), and each
/// note is cut at the next onset of its pitch (a key struck again).
pub fn one_sound_per_key(notes: &[Note]) -> Vec<Note> {
    let mut sorted = notes.to_vec();
    sorted.sort_by_key(|n| (n.pitch, n.start, std::cmp::Reverse(n.duration)));
    let mut out: Vec<Note> = Vec::with_capacity(sorted.len());
    for (i, note) in sorted.iter().enumerate() {
        let same_key = |other: &&Note| other.pitch == note.pitch;
        if i > 0 && sorted[i - 1].pitch == note.pitch && sorted[i - 1].start == note.start {
            continue;
        }
        let mut note = *note;
        if let Some(next) = sorted[i + 1..]
            .iter()
            .take_while(same_key)
            .find(|n| n.start > note.start)
        {
            note.duration = note.duration.min(next.start - note.start);
        }
        out.push(note);
    }
    out.sort_by_key(|n| (n.start, n.pitch, n.duration));
    out
}

const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// Scientific pitch name of a MIDI pitch: 60 → `C4`, 69 → `A4`, 61 → `C#4`.
pub fn pitch_name(pitch: i32) -> String {
    let pc = pitch.rem_euclid(12) as usize;
    let octave = pitch.div_euclid(12) - 1;
    format!("{}{}", NOTE_NAMES[pc], octave)
}

/// A deterministic pseudo-random score for tests and benchmarks: piano (with chords), bass,
/// strings and drums, `notes_per_track` notes each, with tempo and meter changes.
///
/// A key sounds once at a time in each track (a note ends at the latest when its key is struck
/// again), so the score survives a MIDI round trip exactly.
pub fn synthetic_score(seed: u64, notes_per_track: usize) -> Score {
    let mut rng = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = move |n: u32| {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((rng >> 33) % u64::from(n.max(1))) as u32
    };
    let mut score = Score::new(480);
    score.tempos = vec![
        TempoChange::new(0, 500_000 + next(200_000)),
        TempoChange::new(1920 * (1 + next(8)), 400_000 + next(300_000)),
    ];
    score.time_signatures = vec![
        TimeSignature::new(0, 4, 4),
        TimeSignature::new(1920 * (1 + next(8)), 3 + next(5) as u8, 8),
    ];
    let parts: [(&str, u8, u8, u8, u32); 4] = [
        ("Piano", 0, 0, 48, 36),
        ("Bass", 33, 1, 28, 24),
        ("Strings", 48, 2, 55, 24),
        ("Drums", 0, 9, 35, 12),
    ];
    for (name, program, channel, low, range) in parts {
        let mut notes = Vec::with_capacity(notes_per_track);
        let mut last_of_pitch: [Option<usize>; 128] = [None; 128];
        let mut tick = 0u32;
        while notes.len() < notes_per_track {
            let pitch = (u32::from(low) + next(range)) as u8;
            let end = tick + 30 * (1 + next(32));
            let velocity = 1 + next(127) as u8;
            // One sound per key: a key struck again ends its sounding note; a key already
            // struck at this tick moves the draw on by an eighth.
            if let Some(last) = last_of_pitch[usize::from(pitch)] {
                let previous: &mut Note = &mut notes[last];
                if previous.start == tick {
                    tick += 240;
                    continue;
                }
                previous.duration = previous.duration.min(tick - previous.start);
            }
            last_of_pitch[usize::from(pitch)] = Some(notes.len());
            notes.push(Note {
                pitch,
                start: tick,
                duration: end - tick,
                velocity,
            });
            // A step of 0 stacks a chord on the same onset.
            tick += 60 * next(5);
        }
        score.tracks.push(Track {
            name: name.to_string(),
            program,
            channel,
            is_drum: channel == 9,
            notes,
        });
    }
    score.sort();
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sound_per_key_keeps_the_longest_and_cuts_at_the_next_onset() {
        let n = |pitch, start, duration| Note::new(pitch, start, duration).with_velocity(64);
        let notes = [
            n(60, 0, 96),
            n(60, 0, 48),
            n(60, 48, 60),
            n(62, 10, 500),
            n(60, 200, 5),
        ];
        assert_eq!(
            one_sound_per_key(&notes),
            vec![n(60, 0, 48), n(62, 10, 500), n(60, 48, 60), n(60, 200, 5)]
        );
        let apart = [n(60, 0, 10), n(61, 5, 100), n(60, 10, 10)];
        assert_eq!(one_sound_per_key(&apart), apart.to_vec());
    }

    #[test]
    fn seconds_follow_the_tempo_map() {
        let mut score = Score::new(480);
        score.tempos = vec![
            TempoChange::new(0, 500_000),
            TempoChange::new(960, 1_000_000),
        ];
        assert!((score.tick_to_seconds(960) - 1.0).abs() < 1e-9);
        assert!((score.tick_to_seconds(1440) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn end_tick_is_the_latest_note_end() {
        let mut score = Score::default();
        score.tracks.push(Track {
            notes: vec![Note::new(60, 0, 480), Note::new(64, 240, 960)],
            ..Track::default()
        });
        assert_eq!(score.end_tick(), 1200);
        assert_eq!(score.note_count(), 2);
    }
}
