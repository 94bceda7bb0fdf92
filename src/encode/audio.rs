//! Note features for neural audio: a [`Score`] as frames of control values, about 250 per second,
//! that a neural synthesizer turns into a waveform.
//!
//! The notes are allocated to `voices` (the way a synthesizer allocates its voices): a note takes
//! the free voice that has been silent longest, so a melody alternates between voices and each
//! note's release tail can ring on in its own voice while the next note starts. When more notes
//! sound at once than there are voices, the voice whose note started first is taken (and the
//! note counted as stolen). Every voice then has, at every frame, [`FEATURES_PER_VOICE`] values:
//!
//! | index | value |
//! |---|---|
//! | 0 | 1 while the key is held, else 0 |
//! | 1 | the pitch, `(pitch − 60) / 24` (kept after the release: the tail sounds at that pitch) |
//! | 2 | the velocity, `velocity / 127` |
//! | 3, 4 | time since the onset `t`, as `exp(−t / 50 ms)` and `exp(−t / 500 ms)` |
//! | 5, 6 | time since the release `r`, as `exp(−r / 50 ms)` and `exp(−r / 500 ms)` (0 while held) |
//! | 7 | 1 once the voice has played a note (a voice never used is silent) |
//!
//! A frame's values hold at its first sample, `frame × hop`; note times are placed on samples
//! exactly as the SoundFont renderer places them, so features and rendered audio align to the
//! sample. The fundamental frequency of a voice is exact: [`pitch_feature_to_hz`].

use crate::score::Score;
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

/// Values per voice per frame.
pub const FEATURES_PER_VOICE: usize = 8;

/// The kind of a saved audio-feature config.
pub const AUDIO_FEATURES_KIND: &str = "tunesmith.audio_features";
/// Its format version.
pub const AUDIO_FEATURES_FORMAT: u32 = 1;

/// Index of the "held" value of a voice.
pub const HELD: usize = 0;
/// Index of the pitch value of a voice.
pub const PITCH: usize = 1;
/// Index of the "voice has played" value of a voice.
pub const USED: usize = 7;

const FAST_SECONDS: f64 = 0.05;
const SLOW_SECONDS: f64 = 0.5;

/// The layout of the note features and the audio they go with: the sample rate, the hop between
/// frames, the number of voices, and the instrument the audio was rendered with. (Missing fields
/// in JSON take their defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudioFeatureConfig {
    /// Audio samples per second (16,000).
    pub sample_rate: u32,
    /// Samples between frames (64: 250 frames per second at 16 kHz).
    pub hop: usize,
    /// Voices notes are allocated to (at most this many notes sound, tails included).
    pub voices: usize,
    /// The General MIDI program (0–127) the training audio is rendered with: the instrument a
    /// model trained on these features imitates (73: flute).
    pub program: u8,
    /// Seconds rendered after the last note ends (release tails).
    pub tail_seconds: f64,
}

impl Default for AudioFeatureConfig {
    fn default() -> Self {
        AudioFeatureConfig {
            sample_rate: 16_000,
            hop: 64,
            voices: 3,
            program: 73,
            tail_seconds: 0.5,
        }
    }
}

impl AudioFeatureConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            (8_000..=96_000).contains(&self.sample_rate),
            "audio features: sample_rate must be 8000..=96000 Hz, not {}",
            self.sample_rate
        );
        ensure!(
            (8..=4096).contains(&self.hop),
            "audio features: hop must be 8..=4096 samples, not {}",
            self.hop
        );
        ensure!(
            (1..=64).contains(&self.voices),
            "audio features: voices must be 1..=64, not {}",
            self.voices
        );
        ensure!(
            self.program <= 127,
            "audio features: program must be a General MIDI program 0..=127, not {}",
            self.program
        );
        ensure!(
            (0.0..=30.0).contains(&self.tail_seconds),
            "audio features: tail_seconds must be 0..=30, not {}",
            self.tail_seconds
        );
        Ok(())
    }

    /// Frames per second.
    pub fn frame_rate(&self) -> f64 {
        f64::from(self.sample_rate) / self.hop as f64
    }

    /// Values in one frame: voices × [`FEATURES_PER_VOICE`].
    pub fn frame_width(&self) -> usize {
        self.voices * FEATURES_PER_VOICE
    }

    /// Frames that cover a rendering of `score`: its notes and the tail after them.
    pub fn frames_for(&self, score: &Score) -> usize {
        let samples = seconds_to_sample(score.duration_seconds() + self.tail_seconds, self);
        samples.div_ceil(self.hop).max(1)
    }

    /// The score's note features over `frames` frames (notes past the end are cut off).
    pub fn features(&self, score: &Score, frames: usize) -> Result<AudioFeatures> {
        self.validate()?;
        let notes = placed_notes(score, self);
        let (spans, stolen) = allocate(&notes, self.voices);
        let mut values = vec![0f32; frames * self.frame_width()];
        for (voice, spans) in spans.iter().enumerate() {
            for (i, span) in spans.iter().enumerate() {
                let until = spans.get(i + 1).map_or(frames, |next| {
                    next.note.onset.div_ceil(self.hop).min(frames)
                });
                let from = span.note.onset.div_ceil(self.hop).min(until);
                for frame in from..until {
                    let at = frame * self.hop;
                    let v = &mut values[(frame * self.voices + voice) * FEATURES_PER_VOICE..]
                        [..FEATURES_PER_VOICE];
                    write_voice(v, &span.note, span.end, at, self.sample_rate);
                }
            }
        }
        Ok(AudioFeatures {
            frames,
            voices: self.voices,
            values,
            notes: notes.len(),
            stolen,
        })
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        format!(
            "note features ({} voices × {FEATURES_PER_VOICE} values, {:.0} frames/s; audio {} Hz mono, GM program {})",
            self.voices,
            self.frame_rate(),
            self.sample_rate,
            self.program
        )
    }
}

/// Note features of a piece: `frames × voices × FEATURES_PER_VOICE` values, frame-major.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFeatures {
    /// Number of frames.
    pub frames: usize,
    /// Voices per frame.
    pub voices: usize,
    /// The values, `[frame][voice][feature]` flattened.
    pub values: Vec<f32>,
    /// Notes placed.
    pub notes: usize,
    /// Notes cut short because more than `voices` notes sounded at once.
    pub stolen: usize,
}

impl AudioFeatures {
    /// Values in one frame.
    pub fn frame_width(&self) -> usize {
        self.voices * FEATURES_PER_VOICE
    }

    /// One value: `feature` of `voice` at `frame`.
    pub fn value(&self, frame: usize, voice: usize, feature: usize) -> f32 {
        self.values[(frame * self.voices + voice) * FEATURES_PER_VOICE + feature]
    }

    /// The fundamental frequency of `voice` at `frame` in Hz (0 for a voice never used).
    pub fn f0_hz(&self, frame: usize, voice: usize) -> f64 {
        if self.value(frame, voice, USED) > 0.5 {
            pitch_feature_to_hz(f64::from(self.value(frame, voice, PITCH)))
        } else {
            0.0
        }
    }

    /// Frames `range` as features of their own.
    pub fn slice(&self, range: std::ops::Range<usize>) -> AudioFeatures {
        let w = self.frame_width();
        AudioFeatures {
            frames: range.len(),
            voices: self.voices,
            values: self.values[range.start * w..range.end * w].to_vec(),
            notes: self.notes,
            stolen: self.stolen,
        }
    }

    /// Frames in which at least one key is held.
    pub fn held_frames(&self) -> usize {
        (0..self.frames)
            .filter(|&f| (0..self.voices).any(|v| self.value(f, v, HELD) > 0.5))
            .count()
    }
}

/// The pitch feature of a MIDI pitch.
pub fn pitch_to_feature(pitch: f64) -> f64 {
    (pitch - 60.0) / 24.0
}

/// The exact fundamental frequency of a pitch feature, equal temperament with A4 = 440 Hz.
pub fn pitch_feature_to_hz(feature: f64) -> f64 {
    440.0 * 2f64.powf((feature * 24.0 + 60.0 - 69.0) / 12.0)
}

/// A note placed on samples.
#[derive(Debug, Clone, Copy)]
struct PlacedNote {
    onset: usize,
    end: usize,
    pitch: u8,
    velocity: u8,
}

/// A note as a voice plays it: until `end` (its own end, or earlier when its voice is taken).
#[derive(Debug, Clone, Copy)]
struct Span {
    note: PlacedNote,
    end: usize,
}

fn seconds_to_sample(seconds: f64, config: &AudioFeatureConfig) -> usize {
    (seconds * f64::from(config.sample_rate)).round().max(0.0) as usize
}

/// Every pitched note, on samples the way the SoundFont renderer places them, in order.
fn placed_notes(score: &Score, config: &AudioFeatureConfig) -> Vec<PlacedNote> {
    let mut notes: Vec<PlacedNote> = score
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| &t.notes)
        .map(|n| {
            let onset = seconds_to_sample(score.tick_to_seconds(n.start), config);
            let end = seconds_to_sample(score.tick_to_seconds(n.end()), config);
            PlacedNote {
                onset,
                end: end.max(onset + 1),
                pitch: n.pitch.min(127),
                velocity: n.velocity.clamp(1, 127),
            }
        })
        .collect();
    notes.sort_by_key(|n| (n.onset, n.pitch));
    notes
}

/// Allocates notes to voices: each voice's spans in time order, and the number of notes stolen.
fn allocate(notes: &[PlacedNote], voices: usize) -> (Vec<Vec<Span>>, usize) {
    let mut spans: Vec<Vec<Span>> = vec![Vec::new(); voices];
    let mut stolen = 0;
    for note in notes {
        // A free voice (its last note released by now), the longest silent first; a voice never
        // used counts as released at the very start.
        let free = (0..voices)
            .filter(|&v| spans[v].last().is_none_or(|s| s.end <= note.onset))
            .min_by_key(|&v| (spans[v].last().map_or(0, |s| s.end + 1), v));
        let voice = match free {
            Some(v) => v,
            None => {
                stolen += 1;
                let v = (0..voices)
                    .min_by_key(|&v| spans[v].last().map_or(0, |s| s.note.onset))
                    .unwrap_or(0);
                if let Some(last) = spans[v].last_mut() {
                    last.end = last.end.min(note.onset);
                }
                v
            }
        };
        spans[voice].push(Span {
            note: *note,
            end: note.end,
        });
    }
    (spans, stolen)
}

/// The values of a voice playing `note` (held until `end`) at sample `at`.
fn write_voice(v: &mut [f32], note: &PlacedNote, end: usize, at: usize, sample_rate: u32) {
    let sr = f64::from(sample_rate);
    let since_onset = at.saturating_sub(note.onset) as f64 / sr;
    let held = at < end;
    v[HELD] = if held { 1.0 } else { 0.0 };
    v[PITCH] = pitch_to_feature(f64::from(note.pitch)) as f32;
    v[2] = f32::from(note.velocity) / 127.0;
    v[3] = (-since_onset / FAST_SECONDS).exp() as f32;
    v[4] = (-since_onset / SLOW_SECONDS).exp() as f32;
    if !held {
        let since_release = at.saturating_sub(end) as f64 / sr;
        v[5] = (-since_release / FAST_SECONDS).exp() as f32;
        v[6] = (-since_release / SLOW_SECONDS).exp() as f32;
    }
    v[USED] = 1.0;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::score::{Note, Track};

    /// A score of one track of notes `(pitch, start, duration)` at `velocity`, 120 BPM and 480
    /// ticks per quarter: 960 ticks a second.
    pub(crate) fn score_of(notes: &[(u8, u32, u32)], velocity: u8) -> Score {
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: notes
                .iter()
                .map(|&(pitch, start, duration)| {
                    Note::new(pitch, start, duration).with_velocity(velocity)
                })
                .collect(),
            ..Track::default()
        });
        score
    }

    #[test]
    fn a_melody_alternates_voices_so_tails_ring_on() -> Result<()> {
        let config = AudioFeatureConfig {
            voices: 2,
            ..AudioFeatureConfig::default()
        };
        // Two half-second notes, legato: A4 then C5.
        let score = score_of(&[(69, 0, 480), (72, 480, 480)], 100);
        let frames = config.frames_for(&score);
        assert_eq!(frames, (1.5f64 * 250.0).ceil() as usize);
        let f = config.features(&score, frames)?;
        assert_eq!(f.values.len(), frames * 2 * FEATURES_PER_VOICE);
        // Frame 0: voice 0 holds A4 (440 Hz), just struck; voice 1 unused.
        assert_eq!(f.value(0, 0, HELD), 1.0);
        assert!((f.f0_hz(0, 0) - 440.0).abs() < 1e-3);
        assert!((f.value(0, 0, 3) - 1.0).abs() < 1e-6);
        assert_eq!(f.f0_hz(0, 1), 0.0);
        // Frame 125 (0.5 s): voice 0 released, still at 440 Hz; voice 1 holds C5.
        assert_eq!(f.value(125, 0, HELD), 0.0);
        assert!((f.value(125, 0, 5) - 1.0).abs() < 1e-6);
        assert!((f.f0_hz(125, 0) - 440.0).abs() < 1e-3);
        assert_eq!(f.value(125, 1, HELD), 1.0);
        assert!((f.f0_hz(125, 1) - 523.2511).abs() < 1e-2);
        // 100 ms after its onset, exp(-0.1/0.05).
        assert!((f.value(150, 1, 3) - (-2f32).exp()).abs() < 1e-5);
        assert_eq!(f.held_frames(), 250);
        assert_eq!(f.stolen, 0);
        Ok(())
    }

    #[test]
    fn chords_beyond_the_voices_steal_the_oldest_note() -> Result<()> {
        let config = AudioFeatureConfig {
            voices: 2,
            ..AudioFeatureConfig::default()
        };
        let score = score_of(&[(60, 0, 960), (64, 240, 960), (67, 480, 960)], 100);
        let f = config.features(&score, config.frames_for(&score))?;
        assert_eq!((f.notes, f.stolen), (3, 1));
        // At 0.5 s (frame 125) G4 took voice 0 from C4; E4 still sounds in voice 1.
        assert!((f.f0_hz(125, 0) - 391.995).abs() < 1e-2);
        assert!((f.f0_hz(125, 1) - 329.628).abs() < 1e-2);
        Ok(())
    }

    #[test]
    fn config_round_trips_and_rejects_bad_fields() -> Result<()> {
        let config = AudioFeatureConfig::default();
        let text =
            super::super::saved::to_json(AUDIO_FEATURES_KIND, AUDIO_FEATURES_FORMAT, &config)?;
        let back: AudioFeatureConfig =
            super::super::saved::from_json(&text, AUDIO_FEATURES_KIND, AUDIO_FEATURES_FORMAT)?;
        assert_eq!(back, config);
        assert_eq!(config.frame_rate(), 250.0);
        let bad = AudioFeatureConfig {
            hop: 0,
            ..AudioFeatureConfig::default()
        };
        let err = bad.validate().expect_err("hop 0");
        assert!(format!("{err:#}").contains("hop"));
        Ok(())
    }
}
