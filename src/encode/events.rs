//! Event tokens (as in Performance RNN and MidiTok's MIDILike): note-on, note-off, time-shift and
//! velocity, so that timing survives the round trip.
//!
//! Time is a grid of `steps_per_quarter` steps per quarter note. A score becomes, in time order,
//! `time-shift(n)` tokens to move forward (`1..=max_shift_steps` steps each, repeated for longer
//! gaps), `velocity(bin)` before a note-on whose velocity bin differs from the last one,
//! `note-on(p)` and `note-off(p)`. At one instant note-offs come before note-ons. The ids are laid
//! out as:
//!
//! | ids | token |
//! |---|---|
//! | 0..=127 | note-on of pitch 0..=127 |
//! | 128..=255 | note-off of pitch 0..=127 |
//! | 256..256+max_shift_steps | time-shift of 1..=max_shift_steps steps |
//! | then velocity_bins ids | velocity bin 0..velocity_bins |
//!
//! Notes whose start and end lie on the grid come back exactly (pitch, start, duration), with the
//! velocity of their bin. Notes of the same pitch that overlap are paired first-in first-out, as
//! MIDI files pair them: when one lies wholly inside another, the pair comes back with the same
//! starts and ends, swapped between the two.

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::Path;

use super::TokenEncoding;
use crate::score::{Note, Score, DEFAULT_TICKS_PER_QUARTER};

/// Format version of saved event vocabularies.
pub const EVENT_VOCAB_FORMAT: u32 = 1;

/// The `kind` written into saved event vocabularies.
pub const EVENT_VOCAB_KIND: &str = "tunesmith.event_vocab";

/// Id of the first note-off token.
pub const NOTE_OFF_BASE: i64 = 128;

/// Id of the first time-shift token (a shift of one step).
pub const TIME_SHIFT_BASE: i64 = 256;

/// Velocity given to decoded notes before any velocity token (or when there are no velocity bins):
/// a note's default.
pub const DEFAULT_VELOCITY: u8 = Note::DEFAULT_VELOCITY;

/// The time grid, the longest single shift and the velocity resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventConfig {
    /// Grid steps per quarter note, 1..=480 (12: sixteenths and triplets).
    pub steps_per_quarter: u32,
    /// Longest time-shift token in steps, 1..=100,000; longer gaps take several.
    pub max_shift_steps: u32,
    /// Number of velocity bins over 1..=127; 0 drops velocity tokens altogether.
    pub velocity_bins: u8,
}

impl Default for EventConfig {
    /// 12 steps per quarter, shifts up to a whole 4/4 bar (48 steps), 32 velocity bins: 336 ids.
    fn default() -> Self {
        EventConfig {
            steps_per_quarter: 12,
            max_shift_steps: 48,
            velocity_bins: 32,
        }
    }
}

impl EventConfig {
    /// Checks the grid and the shift range.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            (1..=480).contains(&self.steps_per_quarter),
            "event encoding: steps per quarter must be 1..=480, not {}",
            self.steps_per_quarter
        );
        ensure!(
            (1..=100_000).contains(&self.max_shift_steps),
            "event encoding: the longest time shift must be 1..=100000 steps, not {}",
            self.max_shift_steps
        );
        ensure!(
            self.velocity_bins <= 127,
            "event encoding: at most 127 velocity bins, not {}",
            self.velocity_bins
        );
        Ok(())
    }
}

/// One event token, decoded from its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A note starts.
    NoteOn(u8),
    /// A note ends.
    NoteOff(u8),
    /// Time moves forward this many steps.
    TimeShift(u32),
    /// Following note-ons have this velocity bin.
    Velocity(u8),
}

/// The event vocabulary: a fixed layout given by its config (nothing is learned from data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventVocab {
    /// Grid, longest shift and velocity bins.
    pub config: EventConfig,
}

impl EventVocab {
    /// The vocabulary for a config (checked when encoding, decoding or loading).
    pub fn new(config: EventConfig) -> Self {
        EventVocab { config }
    }

    /// Id of the first velocity token.
    pub fn velocity_base(&self) -> i64 {
        TIME_SHIFT_BASE + i64::from(self.config.max_shift_steps)
    }

    /// The bin of a velocity (1..=127 split into `velocity_bins` equal ranges).
    pub fn velocity_bin(&self, velocity: u8) -> u8 {
        let bins = u32::from(self.config.velocity_bins.max(1));
        ((u32::from(velocity.clamp(1, 127)) - 1) * bins / 127) as u8
    }

    /// The velocity a bin decodes to: the middle of its range.
    pub fn bin_velocity(&self, bin: u8) -> u8 {
        let bins = u32::from(self.config.velocity_bins.max(1));
        let bin = u32::from(bin).min(bins - 1);
        let (lo, hi) = (
            (bin * 127).div_ceil(bins),
            ((bin + 1) * 127).div_ceil(bins) - 1,
        );
        (1 + (lo + hi) / 2).min(127) as u8
    }

    /// The id of an event; `None` when the event does not fit the layout.
    pub fn id(&self, event: Event) -> Option<i64> {
        match event {
            Event::NoteOn(p) if p <= 127 => Some(i64::from(p)),
            Event::NoteOff(p) if p <= 127 => Some(NOTE_OFF_BASE + i64::from(p)),
            Event::TimeShift(n) if (1..=self.config.max_shift_steps).contains(&n) => {
                Some(TIME_SHIFT_BASE + i64::from(n) - 1)
            }
            Event::Velocity(b) if b < self.config.velocity_bins => {
                Some(self.velocity_base() + i64::from(b))
            }
            _ => None,
        }
    }

    /// The event an id stands for; `None` outside the vocabulary.
    pub fn event(&self, id: i64) -> Option<Event> {
        let v = self.velocity_base();
        match id {
            0..=127 => Some(Event::NoteOn(id as u8)),
            128..=255 => Some(Event::NoteOff((id - NOTE_OFF_BASE) as u8)),
            _ if (TIME_SHIFT_BASE..v).contains(&id) => {
                Some(Event::TimeShift((id - TIME_SHIFT_BASE + 1) as u32))
            }
            _ if (v..v + i64::from(self.config.velocity_bins)).contains(&id) => {
                Some(Event::Velocity((id - v) as u8))
            }
            _ => None,
        }
    }

    /// The score's pitched notes (drum tracks left out) as events, before taking ids.
    pub fn events(&self, score: &Score) -> Result<Vec<Event>> {
        self.config.validate()?;
        let spq = u64::from(self.config.steps_per_quarter);
        let tpq = u64::from(score.ticks_per_quarter.max(1));
        let grid = |tick: u32| (u64::from(tick) * spq * 2 + tpq) / (2 * tpq);
        // (time, 0 = off / 1 = on, pitch, velocity bin); offs sort first at equal times.
        let mut timed: Vec<(u64, u8, u8, u8)> = Vec::new();
        for note in score
            .tracks
            .iter()
            .filter(|t| !t.is_drum)
            .flat_map(|t| &t.notes)
        {
            let start = grid(note.start);
            let end = grid(note.end()).max(start + 1);
            let bin = self.velocity_bin(note.velocity);
            timed.push((start, 1, note.pitch.min(127), bin));
            timed.push((end, 0, note.pitch.min(127), bin));
        }
        timed.sort_unstable();
        let mut out = Vec::with_capacity(timed.len() * 2);
        let (mut now, mut bin_now) = (0u64, None);
        for (time, on, pitch, bin) in timed {
            let mut gap = time - now;
            while gap > 0 {
                let n = gap.min(u64::from(self.config.max_shift_steps));
                out.push(Event::TimeShift(n as u32));
                gap -= n;
            }
            now = time;
            if on == 1 {
                if self.config.velocity_bins > 0 && bin_now != Some(bin) {
                    out.push(Event::Velocity(bin));
                    bin_now = Some(bin);
                }
                out.push(Event::NoteOn(pitch));
            } else {
                out.push(Event::NoteOff(pitch));
            }
        }
        Ok(out)
    }

    /// A short name for an event: `on C4`, `off C4`, `shift 3`, `vel 12`.
    pub fn event_name(event: Event) -> String {
        let name = |p: u8| crate::score::pitch_name(i32::from(p));
        match event {
            Event::NoteOn(p) => format!("on {}", name(p)),
            Event::NoteOff(p) => format!("off {}", name(p)),
            Event::TimeShift(n) => format!("shift {n}"),
            Event::Velocity(b) => format!("vel {b}"),
        }
    }

    /// The vocabulary as JSON text (with format and crate versions).
    pub fn to_json(&self) -> Result<String> {
        super::saved::to_json(EVENT_VOCAB_KIND, EVENT_VOCAB_FORMAT, self)
    }

    /// Reads a vocabulary from JSON text, checking its config.
    pub fn from_json(json: &str) -> Result<Self> {
        let vocab: EventVocab =
            super::saved::from_json(json, EVENT_VOCAB_KIND, EVENT_VOCAB_FORMAT)?;
        vocab.config.validate()?;
        Ok(vocab)
    }

    /// Saves the vocabulary as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        super::saved::save(path, EVENT_VOCAB_KIND, EVENT_VOCAB_FORMAT, self)
    }

    /// Loads a vocabulary saved with [`EventVocab::save`]; errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let vocab: EventVocab = super::saved::load(path, EVENT_VOCAB_KIND, EVENT_VOCAB_FORMAT)?;
        vocab
            .config
            .validate()
            .with_context(|| format!("bad event vocabulary file {}", path.display()))?;
        Ok(vocab)
    }
}

impl EventVocab {
    /// The id layout as an HTML table.
    pub fn to_html(&self) -> String {
        let c = &self.config;
        let v = self.velocity_base();
        let mut rows = vec![
            (
                "0–127".to_string(),
                "note-on".to_string(),
                "pitch 0–127 (C-1–G9)".to_string(),
            ),
            ("128–255".into(), "note-off".into(), "pitch 0–127".into()),
            (
                format!("{TIME_SHIFT_BASE}–{}", v - 1),
                "time-shift".into(),
                format!(
                    "1–{} steps of 1/{} quarter note (up to {} quarters)",
                    c.max_shift_steps,
                    c.steps_per_quarter,
                    f64::from(c.max_shift_steps) / f64::from(c.steps_per_quarter.max(1))
                ),
            ),
        ];
        if c.velocity_bins > 0 {
            rows.push((
                format!("{v}–{}", v + i64::from(c.velocity_bins) - 1),
                "velocity".into(),
                format!(
                    "{} bins over 1–127 (bin 0 decodes to {}, the last to {})",
                    c.velocity_bins,
                    self.bin_velocity(0),
                    self.bin_velocity(c.velocity_bins - 1)
                ),
            ));
        }
        let body: String = rows
            .into_iter()
            .map(|(ids, kind, meaning)| {
                format!("<tr><td>{ids}</td><td>{kind}</td><td>{meaning}</td></tr>")
            })
            .collect();
        format!(
            "<div><b>Event vocabulary</b>: {} ids, {} steps per quarter<table class=\"tunesmith\"><thead><tr><th>ids</th><th>token</th><th>meaning</th></tr></thead><tbody>{body}</tbody></table></div>",
            self.vocab_size(),
            c.steps_per_quarter
        )
    }
}

impl TokenEncoding for EventVocab {
    fn vocab_size(&self) -> usize {
        (self.velocity_base() + i64::from(self.config.velocity_bins)) as usize
    }

    /// The score's events as ids (see the module documentation).
    ///
    /// # Errors
    /// An invalid config.
    fn encode_score(&self, score: &Score) -> Result<Vec<i64>> {
        self.events(score)?
            .into_iter()
            .map(|e| {
                self.id(e)
                    .with_context(|| format!("event {e:?} does not fit the vocabulary"))
            })
            .collect()
    }

    /// Plays the events into a one-track score (480 ticks per quarter when the grid divides it).
    ///
    /// Sequences from a model are taken as they come: a note-off with no open note of its pitch
    /// is ignored, and notes still open at the end close there (at least one step long).
    ///
    /// # Errors
    /// An invalid config, or an id outside the vocabulary.
    fn decode_ids(&self, ids: &[i64]) -> Result<Score> {
        self.config.validate()?;
        let spq = self.config.steps_per_quarter;
        let per_step = (u32::from(DEFAULT_TICKS_PER_QUARTER) / spq).max(1);
        let tpq = (per_step * spq) as u16;
        let ticks = |step: u64| {
            u32::try_from(step * u64::from(per_step)).context("decoded piece is too long")
        };
        let mut open: Vec<VecDeque<(u64, u8)>> = vec![VecDeque::new(); 128];
        let mut notes = Vec::new();
        let (mut now, mut velocity) = (0u64, DEFAULT_VELOCITY);
        let mut push = |pitch: usize, start: u64, end: u64, vel: u8| -> Result<()> {
            notes.push(Note {
                pitch: pitch as u8,
                start: ticks(start)?,
                duration: ticks(end.max(start + 1) - start)?,
                velocity: vel,
            });
            Ok(())
        };
        for (pos, &id) in ids.iter().enumerate() {
            let event = self.event(id).with_context(|| {
                format!(
                    "id {id} at position {pos} is outside the event vocabulary of {}",
                    self.vocab_size()
                )
            })?;
            match event {
                Event::NoteOn(p) => open[usize::from(p)].push_back((now, velocity)),
                Event::NoteOff(p) => {
                    if let Some((start, vel)) = open[usize::from(p)].pop_front() {
                        push(usize::from(p), start, now, vel)?;
                    }
                }
                Event::TimeShift(n) => now += u64::from(n),
                Event::Velocity(b) => velocity = self.bin_velocity(b),
            }
        }
        for (pitch, queue) in open.into_iter().enumerate() {
            for (start, vel) in queue {
                push(pitch, start, now, vel)?;
            }
        }
        Ok(Score::one_track(tpq, "events", notes))
    }

    fn token_name(&self, id: i64) -> String {
        self.event(id)
            .map_or_else(|| format!("<invalid {id}>"), EventVocab::event_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::Track;

    fn note(pitch: u8, start: u32, duration: u32, velocity: u8) -> Note {
        Note::new(pitch, start, duration).with_velocity(velocity)
    }

    /// Grid-aligned (40 ticks = one step of 12 per quarter at 480): a chord, overlapping notes of
    /// the same pitch, a rest longer than the longest shift, varied velocities, two tracks.
    fn grid_score() -> Score {
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: vec![
                note(60, 0, 480, 80),
                note(64, 0, 480, 80),
                note(67, 0, 960, 100),
                note(72, 160, 480, 30),
                note(72, 400, 480, 30),
                note(62, 5000, 40, 127),
            ],
            ..Track::default()
        });
        score.tracks.push(Track {
            program: 33,
            notes: vec![note(36, 480, 1440, 1)],
            ..Track::default()
        });
        score
    }

    #[test]
    fn grid_aligned_scores_round_trip_to_the_tick() -> Result<()> {
        let vocab = EventVocab::default();
        let score = grid_score();
        let ids = vocab.encode_score(&score)?;
        assert!(ids
            .iter()
            .all(|&id| (0..vocab.vocab_size() as i64).contains(&id)));
        let back = vocab.decode_ids(&ids)?;
        assert_eq!(back.ticks_per_quarter, 480);
        assert_eq!(back.note_timings(), score.note_timings());
        let mut velocities: Vec<(u8, u32, u8)> = back.tracks[0]
            .notes
            .iter()
            .map(|n| (n.pitch, n.start, vocab.velocity_bin(n.velocity)))
            .collect();
        velocities.sort_unstable();
        let mut expected: Vec<(u8, u32, u8)> = score
            .tracks
            .iter()
            .flat_map(|t| &t.notes)
            .map(|n| (n.pitch, n.start, vocab.velocity_bin(n.velocity)))
            .collect();
        expected.sort_unstable();
        assert_eq!(velocities, expected, "velocities come back in their bins");
        assert_eq!(
            vocab.encode_score(&back)?,
            ids,
            "stable under a second trip"
        );
        Ok(())
    }

    #[test]
    fn events_come_in_time_order_with_offs_first() -> Result<()> {
        let vocab = EventVocab::new(EventConfig {
            steps_per_quarter: 4,
            max_shift_steps: 4,
            velocity_bins: 0,
        });
        let mut score = Score::new(4);
        score.tracks.push(Track {
            notes: vec![note(60, 0, 2, 80), note(62, 2, 1, 80), note(64, 9, 1, 80)],
            ..Track::default()
        });
        let names: Vec<String> = vocab
            .encode_score(&score)?
            .iter()
            .map(|&id| vocab.token_name(id))
            .collect();
        assert_eq!(
            names,
            [
                "on C4", "shift 2", "off C4", "on D4", "shift 1", "off D4", "shift 4", "shift 2",
                "on E4", "shift 1", "off E4"
            ]
        );
        Ok(())
    }

    #[test]
    fn nested_same_pitch_notes_keep_their_starts_and_ends() -> Result<()> {
        let vocab = EventVocab::default();
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: vec![note(60, 0, 960, 80), note(60, 240, 240, 80)],
            ..Track::default()
        });
        let back = vocab.decode_ids(&vocab.encode_score(&score)?)?;
        let spans: Vec<(u32, u32)> = back.tracks[0]
            .notes
            .iter()
            .map(|n| (n.start, n.end()))
            .collect();
        assert_eq!(spans, [(0, 480), (240, 960)], "paired first-in first-out");
        Ok(())
    }

    #[test]
    fn off_grid_notes_snap_and_short_notes_keep_a_step() -> Result<()> {
        let vocab = EventVocab::new(EventConfig {
            steps_per_quarter: 4,
            ..EventConfig::default()
        });
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: vec![note(60, 130, 10, 80)],
            ..Track::default()
        });
        let back = vocab.decode_ids(&vocab.encode_score(&score)?)?;
        assert_eq!(back.note_timings(), [(60, 120, 120)]);
        Ok(())
    }

    #[test]
    fn model_output_is_decoded_leniently_but_bad_ids_are_errors() -> Result<()> {
        let vocab = EventVocab::default();
        // off without on, an on never closed, a velocity token.
        let vel = vocab.velocity_base() + 31;
        let ids = [NOTE_OFF_BASE + 60, vel, 64, TIME_SHIFT_BASE + 11];
        let back = vocab.decode_ids(&ids)?;
        assert_eq!(back.note_timings(), [(64, 0, 480)]);
        assert_eq!(back.tracks[0].notes[0].velocity, vocab.bin_velocity(31));
        let lone = vocab.decode_ids(&[64])?;
        assert_eq!(lone.note_timings(), [(64, 0, 40)], "at least one step");
        let size = vocab.vocab_size() as i64;
        assert_eq!(size, 336);
        let err = vocab.decode_ids(&[60, size]).unwrap_err().to_string();
        assert!(err.contains("id 336 at position 1"), "{err}");
        assert!(vocab.decode_ids(&[-1]).is_err());
        assert_eq!(vocab.token_name(size), "<invalid 336>");
        Ok(())
    }

    #[test]
    fn ids_and_events_are_inverse_and_bins_are_stable() {
        for bins in [0u8, 1, 2, 7, 32, 127] {
            let vocab = EventVocab::new(EventConfig {
                velocity_bins: bins,
                ..EventConfig::default()
            });
            for id in 0..vocab.vocab_size() as i64 {
                let event = vocab.event(id).expect("inside");
                assert_eq!(vocab.id(event), Some(id));
            }
            assert_eq!(vocab.event(vocab.vocab_size() as i64), None);
            for b in 0..bins {
                let v = vocab.bin_velocity(b);
                assert!((1..=127).contains(&v));
                assert_eq!(vocab.velocity_bin(v), b, "bins {bins}, bin {b}");
            }
            if bins > 0 {
                assert_eq!(vocab.velocity_bin(1), 0);
                assert_eq!(vocab.velocity_bin(127), bins - 1);
            }
        }
        let full = EventVocab::new(EventConfig {
            velocity_bins: 127,
            ..EventConfig::default()
        });
        assert!((1..=127u8).all(|v| full.bin_velocity(full.velocity_bin(v)) == v));
    }

    #[test]
    fn bad_configs_are_refused() {
        for config in [
            EventConfig {
                steps_per_quarter: 0,
                ..EventConfig::default()
            },
            EventConfig {
                max_shift_steps: 0,
                ..EventConfig::default()
            },
            EventConfig {
                velocity_bins: 200,
                ..EventConfig::default()
            },
        ] {
            let vocab = EventVocab::new(config);
            assert!(vocab.encode_score(&grid_score()).is_err(), "{config:?}");
            assert!(vocab.decode_ids(&[]).is_err(), "{config:?}");
        }
    }

    #[test]
    fn json_round_trip_and_bad_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("events.json");
        let vocab = EventVocab::new(EventConfig {
            steps_per_quarter: 4,
            max_shift_steps: 16,
            velocity_bins: 8,
        });
        vocab.save(&path)?;
        assert_eq!(EventVocab::load(&path)?, vocab);
        let text = std::fs::read_to_string(&path)?;
        assert!(text.contains("tunesmith_version") && text.contains(EVENT_VOCAB_KIND));
        let bad = dir.path().join("bad-events.json");
        std::fs::write(&bad, "")?;
        let err = format!("{:#}", EventVocab::load(&bad).unwrap_err());
        assert!(err.contains("bad-events.json"), "{err}");
        std::fs::write(
            &bad,
            text.replace("\"max_shift_steps\": 16", "\"max_shift_steps\": 0"),
        )?;
        let err = format!("{:#}", EventVocab::load(&bad).unwrap_err());
        assert!(
            err.contains("bad-events.json") && err.contains("time shift"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn display_is_a_well_formed_layout_table() -> Result<()> {
        let html = EventVocab::default().to_html();
        let doc = roxmltree::Document::parse(&html)?;
        let rows = doc.descendants().filter(|n| n.has_tag_name("tr")).count();
        assert_eq!(rows, 5, "header, on, off, shift, velocity");
        assert!(
            html.contains("256–303") && html.contains("304–335"),
            "{html}"
        );
        Ok(())
    }
}
