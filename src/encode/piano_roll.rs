//! Piano rolls: a score as frames × pitches, the seed's encoding, with its failures fixed.
//!
//! Each frame is one step of a time grid (`steps_per_quarter` frames per quarter note) and lists
//! the MIDI pitches sounding in it. The seed's rolls were "mostly zeros" and "every piece in a
//! different key": [`PianoRoll::density`] measures the first (and [`positive_weight`] gives the
//! weight a multi-hot sigmoid loss needs for it), and `transpose_to_c` (on by default, using
//! [`estimate_key`]) or [`PianoRoll::transposed`] (augmentation across keys) deal with the second.
//!
//! ```
//! use tunesmith::encode::piano_roll::{PianoRoll, PianoRollConfig};
//! let score = tunesmith::abc::abc_to_score("X:1\nL:1/4\nK:C\nC E G2|]\n").unwrap();
//! let roll = PianoRoll::from_score(&score, &PianoRollConfig::default()).unwrap();
//! assert_eq!(roll.frames.len(), 16);          // four quarters at four steps each
//! assert_eq!(roll.frames[0], vec![60]);       // C4
//! assert_eq!(roll.to_score().note_count(), 3);
//! ```

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::score::{Note, Score, DEFAULT_TICKS_PER_QUARTER};

pub use crate::score::key::{estimate_key, transpose_score, transposition_to_c};

/// Format version of saved piano rolls.
pub const PIANO_ROLL_FORMAT: u32 = 1;

/// The `kind` written into saved piano rolls.
pub const PIANO_ROLL_KIND: &str = "tunesmith.piano_roll";

/// Most frames one roll may have (about 17 hours at 4 steps per quarter and 120 BPM); a score
/// longer than this is refused rather than exhausting memory.
pub const MAX_FRAMES: usize = 1 << 20;

/// Most frames drawn by the inline display (the rest are summarised).
pub const DISPLAY_FRAMES: usize = 1024;

/// Velocity given to the notes of a roll turned back into a score: a note's default.
pub const ROLL_VELOCITY: u8 = Note::DEFAULT_VELOCITY;

/// The grid and the keyboard of a piano roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PianoRollConfig {
    /// Frames per quarter note (4: sixteenth notes), 1..=480.
    pub steps_per_quarter: u32,
    /// The lowest pitch kept (21: A0, the piano's lowest key).
    pub low_pitch: u8,
    /// How many pitches from `low_pitch` up are kept (88: the piano keyboard).
    pub num_pitches: usize,
    /// Move each score so its estimated tonic is C before encoding (see [`estimate_key`]).
    pub transpose_to_c: bool,
}

impl Default for PianoRollConfig {
    /// Sixteenth-note grid, the 88 piano keys (A0..C8), transposed to C.
    fn default() -> Self {
        PianoRollConfig {
            steps_per_quarter: 4,
            low_pitch: 21,
            num_pitches: 88,
            transpose_to_c: true,
        }
    }
}

impl PianoRollConfig {
    /// Checks the grid and the pitch range.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            (1..=480).contains(&self.steps_per_quarter),
            "piano roll: steps per quarter must be 1..=480, not {}",
            self.steps_per_quarter
        );
        ensure!(
            self.num_pitches >= 1 && usize::from(self.low_pitch) + self.num_pitches <= 128,
            "piano roll: {} pitches from {} do not fit in MIDI's 0..=127",
            self.num_pitches,
            self.low_pitch
        );
        Ok(())
    }

    /// The highest pitch kept.
    pub fn high_pitch(&self) -> u8 {
        (usize::from(self.low_pitch) + self.num_pitches.max(1) - 1).min(127) as u8
    }

    /// True when `pitch` is inside the roll's range.
    pub fn contains(&self, pitch: u8) -> bool {
        pitch >= self.low_pitch && usize::from(pitch - self.low_pitch) < self.num_pitches
    }

    /// Ticks per frame and ticks per quarter of a score made from a roll: 480 ticks per quarter
    /// when the grid divides it, else a multiple of the grid.
    fn score_resolution(&self) -> (u32, u16) {
        let spq = self.steps_per_quarter.clamp(1, 480);
        let per_step = (u32::from(DEFAULT_TICKS_PER_QUARTER) / spq).max(1);
        (per_step, (per_step * spq) as u16)
    }
}

/// A piano roll: for each frame of the grid, the sorted MIDI pitches that sound in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PianoRoll {
    /// The grid and range the frames use.
    pub config: PianoRollConfig,
    /// Sorted, distinct MIDI pitches sounding in each frame (all within the config's range).
    pub frames: Vec<Vec<u8>>,
}

/// Rounds `tick` to the nearest frame of a grid with `spq` frames per quarter of `tpq` ticks.
fn tick_to_frame(tick: u32, spq: u32, tpq: u16) -> u64 {
    let tpq = u64::from(tpq.max(1));
    (u64::from(tick) * u64::from(spq) * 2 + tpq) / (2 * tpq)
}

impl PianoRoll {
    /// Encodes the pitched tracks of a score (drums are left out) on the config's grid.
    ///
    /// Note starts and ends are rounded to the nearest frame; a note shorter than half a frame
    /// still takes one frame. Pitches outside the range are dropped. With `transpose_to_c`, the
    /// score is first moved so that its estimated tonic is C ([`transposition_to_c`]).
    ///
    /// # Errors
    /// An invalid config, or a score longer than [`MAX_FRAMES`] frames.
    pub fn from_score(score: &Score, config: &PianoRollConfig) -> Result<Self> {
        config.validate()?;
        let shift = if config.transpose_to_c {
            transposition_to_c(score)
        } else {
            0
        };
        let score = transpose_score(score, shift);
        let spq = config.steps_per_quarter;
        let tpq = score.ticks_per_quarter;
        let notes = score
            .tracks
            .iter()
            .filter(|t| !t.is_drum)
            .flat_map(|t| &t.notes);
        let mut spans = Vec::new();
        let mut len = 0u64;
        for note in notes {
            if !config.contains(note.pitch) {
                continue;
            }
            let start = tick_to_frame(note.start, spq, tpq);
            let end = tick_to_frame(note.end(), spq, tpq).max(start + 1);
            len = len.max(end);
            spans.push((start, end, note.pitch));
        }
        if len > MAX_FRAMES as u64 {
            bail!(
                "piano roll: the score needs {len} frames at {spq} per quarter, more than the {MAX_FRAMES} allowed"
            );
        }
        let mut frames = vec![Vec::new(); len as usize];
        for (start, end, pitch) in spans {
            for frame in &mut frames[start as usize..end as usize] {
                frame.push(pitch);
            }
        }
        for frame in &mut frames {
            frame.sort_unstable();
            frame.dedup();
        }
        Ok(PianoRoll {
            config: *config,
            frames,
        })
    }

    /// A roll from frames of pitches (for example a model's output): each frame is sorted,
    /// duplicates removed and pitches outside the config's range dropped.
    pub fn from_frames(frames: Vec<Vec<u8>>, config: PianoRollConfig) -> Self {
        let frames = frames
            .into_iter()
            .map(|mut frame| {
                frame.retain(|&p| config.contains(p));
                frame.sort_unstable();
                frame.dedup();
                frame
            })
            .collect();
        PianoRoll { config, frames }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when the roll has no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// (frames, pitches): the shape of [`PianoRoll::to_tensor`].
    pub fn shape(&self) -> (usize, usize) {
        (self.frames.len(), self.config.num_pitches)
    }

    /// Number of cells that are on.
    pub fn on_cells(&self) -> usize {
        self.frames.iter().map(Vec::len).sum()
    }

    /// Share of cells that are on (0 for an empty roll): the seed's "mostly zeros", typically a
    /// few percent.
    pub fn density(&self) -> f64 {
        let cells = self.frames.len() * self.config.num_pitches;
        if cells == 0 {
            0.0
        } else {
            self.on_cells() as f64 / cells as f64
        }
    }

    /// Decodes the roll into a one-track score (480 ticks per quarter when the grid divides it):
    /// a pitch that sounds in consecutive frames becomes one note, so two repeated notes of the
    /// same pitch with no gap come back as one long note.
    pub fn to_score(&self) -> Score {
        let (per_step, tpq) = self.config.score_resolution();
        let mut notes = Vec::new();
        // Frame at which each pitch started sounding, if it is sounding.
        let mut open: [Option<usize>; 128] = [None; 128];
        let close = |pitch: usize, from: usize, to: usize, notes: &mut Vec<Note>| {
            notes.push(Note::new(
                pitch as u8,
                (from as u32).saturating_mul(per_step),
                ((to - from) as u32).saturating_mul(per_step).max(1),
            ));
        };
        for (i, frame) in self.frames.iter().enumerate() {
            let mut now = [false; 128];
            for &p in frame {
                now[usize::from(p.min(127))] = true;
            }
            for pitch in 0..128 {
                match (open[pitch], now[pitch]) {
                    (None, true) => open[pitch] = Some(i),
                    (Some(from), false) => {
                        close(pitch, from, i, &mut notes);
                        open[pitch] = None;
                    }
                    _ => {}
                }
            }
        }
        for (pitch, from) in open.iter().enumerate() {
            if let Some(from) = from {
                close(pitch, *from, self.frames.len(), &mut notes);
            }
        }
        Score::one_track(tpq, "piano roll", notes)
    }

    /// The roll as a `[frames, num_pitches]` Float tensor of 0s and 1s on `device` (column `j` is
    /// pitch `low_pitch + j`).
    pub fn to_tensor(&self, device: tch::Device) -> tch::Tensor {
        let p = self.config.num_pitches;
        let mut cells = vec![0f32; self.frames.len() * p];
        for (i, frame) in self.frames.iter().enumerate() {
            for &pitch in frame {
                if self.config.contains(pitch) {
                    cells[i * p + usize::from(pitch - self.config.low_pitch)] = 1.0;
                }
            }
        }
        tch::Tensor::from_slice(&cells)
            .view([self.frames.len() as i64, p as i64])
            .to_device(device)
    }

    /// A roll from a `[frames, num_pitches]` tensor (any numeric kind, any device), for example a
    /// model's sigmoid outputs or samples: cells above 0.5 are on.
    ///
    /// # Errors
    /// An invalid config, a tensor that is not two-dimensional, has the wrong number of columns
    /// or more than [`MAX_FRAMES`] rows.
    pub fn from_tensor(t: &tch::Tensor, config: PianoRollConfig) -> Result<Self> {
        config.validate()?;
        let size = t.size();
        ensure!(
            size.len() == 2,
            "piano roll: expected a [frames, pitches] tensor, got shape {size:?}"
        );
        let (n, p) = (size[0] as usize, size[1] as usize);
        ensure!(
            p == config.num_pitches,
            "piano roll: the tensor has {p} pitch columns but the config has {} pitches",
            config.num_pitches
        );
        ensure!(
            n <= MAX_FRAMES,
            "piano roll: {n} frames is more than the {MAX_FRAMES} allowed"
        );
        let flat = t
            .to_device(tch::Device::Cpu)
            .to_kind(tch::Kind::Float)
            .contiguous()
            .view([-1]);
        let cells = Vec::<f32>::try_from(&flat).context("piano roll: cannot read the tensor")?;
        let frames = cells
            .chunks(p.max(1))
            .take(n)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .filter(|&(_, &v)| v > 0.5)
                    .map(|(j, _)| config.low_pitch + j as u8)
                    .collect()
            })
            .collect();
        Ok(PianoRoll { config, frames })
    }

    /// The roll moved by `semitones` (augmentation across keys); pitches pushed outside the
    /// range are dropped.
    pub fn transposed(&self, semitones: i32) -> Self {
        let frames = self
            .frames
            .iter()
            .map(|frame| {
                frame
                    .iter()
                    .filter_map(|&p| u8::try_from(i32::from(p) + semitones).ok())
                    .filter(|&p| self.config.contains(p))
                    .collect()
            })
            .collect();
        PianoRoll {
            config: self.config,
            frames,
        }
    }

    /// The roll as JSON text (with format and crate versions).
    pub fn to_json(&self) -> Result<String> {
        super::saved::to_json(PIANO_ROLL_KIND, PIANO_ROLL_FORMAT, self)
    }

    /// Reads a roll from JSON text, checking its config and frames.
    pub fn from_json(json: &str) -> Result<Self> {
        let roll: PianoRoll = super::saved::from_json(json, PIANO_ROLL_KIND, PIANO_ROLL_FORMAT)?;
        roll.check()?;
        Ok(roll)
    }

    /// Saves the roll as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        super::saved::save(path, PIANO_ROLL_KIND, PIANO_ROLL_FORMAT, self)
    }

    /// Loads a roll saved with [`PianoRoll::save`]; errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let roll: PianoRoll = super::saved::load(path, PIANO_ROLL_KIND, PIANO_ROLL_FORMAT)?;
        roll.check()
            .with_context(|| format!("bad piano roll file {}", path.display()))?;
        Ok(roll)
    }

    /// Checks a roll read from a file: valid config, in-range sorted distinct pitches.
    fn check(&self) -> Result<()> {
        self.config.validate()?;
        ensure!(
            self.frames.len() <= MAX_FRAMES,
            "piano roll has {} frames, more than the {MAX_FRAMES} allowed",
            self.frames.len()
        );
        for (i, frame) in self.frames.iter().enumerate() {
            ensure!(
                frame.iter().all(|&p| self.config.contains(p))
                    && frame.windows(2).all(|w| w[0] < w[1]),
                "piano roll frame {i} has pitches out of range, unsorted or repeated: {frame:?}"
            );
        }
        Ok(())
    }
}

/// The positive-class weight for a multi-hot sigmoid loss over these rolls: off cells per on
/// cell (1 when no cell is on). Weighting the on cells by it makes "all zeros" stop being the
/// easy answer it was for the seed.
pub fn positive_weight(rolls: &[PianoRoll]) -> f64 {
    let on: usize = rolls.iter().map(PianoRoll::on_cells).sum();
    let cells: usize = rolls.iter().map(|r| r.len() * r.config.num_pitches).sum();
    if on == 0 {
        1.0
    } else {
        (cells - on) as f64 / on as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::key::tests::{melody, G_MAJOR_SCALE};
    use crate::score::Track;

    fn plain() -> PianoRollConfig {
        PianoRollConfig {
            transpose_to_c: false,
            ..PianoRollConfig::default()
        }
    }

    fn note(pitch: u8, start: u32, duration: u32) -> Note {
        Note::new(pitch, start, duration)
    }

    /// A grid-aligned score (sixteenths at 480 ticks per quarter) with a chord, overlapping notes,
    /// a rest and a second track.
    fn grid_score() -> Score {
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: vec![
                note(60, 0, 480),
                note(64, 0, 480),
                note(67, 0, 960),
                note(72, 240, 1200),
                note(62, 1920, 120),
            ],
            ..Track::default()
        });
        score.tracks.push(Track {
            notes: vec![note(36, 480, 960)],
            ..Track::default()
        });
        score
    }

    #[test]
    fn grid_aligned_scores_round_trip() -> Result<()> {
        let score = grid_score();
        let roll = PianoRoll::from_score(&score, &plain())?;
        assert_eq!(roll.len(), 17, "ends with the sixteenth at beat 4");
        assert_eq!(roll.frames[0], [60, 64, 67]);
        assert_eq!(roll.frames[2], [60, 64, 67, 72]);
        assert_eq!(roll.frames[4], [36, 67, 72]);
        assert_eq!(roll.frames[14], Vec::<u8>::new(), "the rest");
        assert_eq!(roll.frames[16], [62]);
        assert_eq!(roll.to_score().note_timings(), score.note_timings());
        Ok(())
    }

    #[test]
    fn off_grid_notes_snap_to_the_nearest_frame() -> Result<()> {
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: vec![note(60, 130, 100), note(62, 470, 5)],
            ..Track::default()
        });
        let back = PianoRoll::from_score(&score, &plain())?.to_score();
        assert_eq!(back.note_timings(), [(60, 120, 120), (62, 480, 120)]);
        Ok(())
    }

    #[test]
    fn consecutive_frames_merge_and_other_resolutions_work() -> Result<()> {
        let roll = PianoRoll::from_frames(vec![vec![60], vec![60, 60], vec![], vec![60]], plain());
        assert_eq!(
            roll.to_score().note_timings(),
            [(60, 0, 240), (60, 360, 120)],
            "frames 0-1 merge, the gap splits"
        );
        let triplets = PianoRollConfig {
            steps_per_quarter: 7,
            ..plain()
        };
        let score = PianoRoll::from_frames(vec![vec![60]; 7], triplets).to_score();
        assert_eq!(score.ticks_per_quarter, 68 * 7);
        assert_eq!(score.tracks[0].notes[0].duration, 68 * 7);
        Ok(())
    }

    #[test]
    fn transposition_to_c_and_across_keys() -> Result<()> {
        let score = melody(&G_MAJOR_SCALE);
        let roll = PianoRoll::from_score(&score, &PianoRollConfig::default())?;
        let firsts: Vec<u8> = roll.frames.iter().step_by(4).map(|f| f[0]).collect();
        assert_eq!(firsts, [72, 74, 76, 77, 79, 81, 83, 84], "C major");
        let down = roll.transposed(-5);
        assert_eq!(down.frames[0], [67]);
        let narrow = PianoRollConfig {
            low_pitch: 70,
            num_pitches: 14,
            ..PianoRollConfig::default()
        };
        let roll = PianoRoll::from_score(&score, &narrow)?;
        assert_eq!(
            roll.transposed(-4).frames[0],
            Vec::<u8>::new(),
            "72 - 4 is below the range"
        );
        assert_eq!(roll.transposed(12).on_cells(), 0, "all pushed above 83");
        Ok(())
    }

    #[test]
    fn tensors_round_trip_and_threshold_at_a_half() -> Result<()> {
        let roll = PianoRoll::from_score(&grid_score(), &plain())?;
        let t = roll.to_tensor(tch::Device::Cpu);
        assert_eq!(t.size(), [17, 88]);
        assert_eq!(
            t.sum(tch::Kind::Float).double_value(&[]),
            roll.on_cells() as f64
        );
        assert_eq!(PianoRoll::from_tensor(&t, plain())?, roll);
        let probs = tch::Tensor::from_slice(&[0.2f32, 0.7, 0.5, 0.51]).view([2, 2]);
        let small = PianoRollConfig {
            low_pitch: 60,
            num_pitches: 2,
            ..plain()
        };
        assert_eq!(
            PianoRoll::from_tensor(&probs, small)?.frames,
            [vec![61], vec![61]]
        );
        assert!(
            PianoRoll::from_tensor(&probs, plain()).is_err(),
            "2 columns, not 88"
        );
        assert!(PianoRoll::from_tensor(&probs.view([4]), small).is_err());
        let empty = PianoRoll::from_frames(Vec::new(), plain());
        assert_eq!(empty.to_tensor(tch::Device::Cpu).size(), [0, 88]);
        Ok(())
    }

    #[test]
    fn density_and_positive_weight() -> Result<()> {
        let roll = PianoRoll::from_frames(vec![vec![60, 64], vec![]], plain());
        assert!((roll.density() - 2.0 / 176.0).abs() < 1e-12);
        assert!((positive_weight(&[roll]) - 174.0 / 2.0).abs() < 1e-12);
        assert_eq!(positive_weight(&[]), 1.0);
        assert_eq!(PianoRoll::from_frames(vec![], plain()).density(), 0.0);
        Ok(())
    }

    #[test]
    fn bad_configs_drums_and_huge_scores() {
        let bad = PianoRollConfig {
            low_pitch: 100,
            num_pitches: 40,
            ..plain()
        };
        assert!(PianoRoll::from_score(&grid_score(), &bad).is_err());
        let zero = PianoRollConfig {
            steps_per_quarter: 0,
            ..plain()
        };
        assert!(PianoRoll::from_score(&grid_score(), &zero).is_err());
        let mut drums = grid_score();
        drums.tracks[1].is_drum = true;
        let roll = PianoRoll::from_score(&drums, &plain()).expect("valid");
        assert!(roll.frames.iter().all(|f| !f.contains(&36)));
        let mut huge = Score::new(1);
        huge.tracks.push(Track {
            notes: vec![note(60, u32::MAX / 2, 1)],
            ..Track::default()
        });
        let err = PianoRoll::from_score(&huge, &plain()).unwrap_err();
        assert!(err.to_string().contains("frames"), "{err}");
    }

    #[test]
    fn json_round_trip_and_bad_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("roll.json");
        let roll = PianoRoll::from_score(&grid_score(), &plain())?;
        roll.save(&path)?;
        assert_eq!(PianoRoll::load(&path)?, roll);
        let text = std::fs::read_to_string(&path)?;
        assert!(text.contains("\"tunesmith_version\"") && text.contains("\"format\": 1"));

        let bad = dir.path().join("bad-roll.json");
        std::fs::write(&bad, "[1, 2")?;
        let err = format!("{:#}", PianoRoll::load(&bad).unwrap_err());
        assert!(err.contains("bad-roll.json"), "{err}");
        let out_of_range = text.replacen("60", "10", 1);
        std::fs::write(&bad, out_of_range)?;
        let err = format!("{:#}", PianoRoll::load(&bad).unwrap_err());
        assert!(
            err.contains("bad-roll.json") && err.contains("out of range"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn display_is_well_formed_html_with_an_svg() -> Result<()> {
        let roll = PianoRoll::from_score(&grid_score(), &plain())?;
        let html = roll.to_html();
        assert!(html.contains("17 frames × 88 pitches"), "{html}");
        assert!(html.contains("density"), "{html}");
        let doc = roxmltree::Document::parse(&html)?;
        assert!(doc.descendants().any(|n| n.has_tag_name("svg")));
        let svg = roll.to_svg("t")?;
        roxmltree::Document::parse(svg.as_str())?;
        let empty = PianoRoll::from_frames(Vec::new(), plain()).to_html();
        roxmltree::Document::parse(&empty)?;
        Ok(())
    }
}
