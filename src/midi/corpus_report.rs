//! What a folder of MIDI files holds, for the log of a headless run and for a notebook cell: files
//! read and skipped with reasons, tracks and programs, drum tracks left out, tempo and meter
//! changes, what the key rules did, and how far onsets move on the grid of an encoding.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::corpus::MidiCorpus;
use super::keys::KeyEvents;
use crate::report::LoadReport;
use crate::score::Score;

/// The General MIDI program families (8 programs each), by `program / 8`.
const PROGRAM_FAMILIES: [&str; 16] = [
    "piano",
    "chromatic percussion",
    "organ",
    "guitar",
    "bass",
    "strings",
    "ensemble",
    "brass",
    "reed",
    "pipe",
    "synth lead",
    "synth pad",
    "synth effects",
    "ethnic",
    "percussive",
    "sound effects",
];

/// The General MIDI family of a program (0–127), e.g. `piano` for 0–7.
pub fn program_family(program: u8) -> &'static str {
    PROGRAM_FAMILIES[usize::from(program / 8) % 16]
}

/// The pitched tracks of one program in a corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramCount {
    /// General MIDI program (0-based).
    pub program: u8,
    /// Tracks (MIDI track × channel) that play it.
    pub tracks: usize,
    /// Their notes.
    pub notes: usize,
}

/// How far note onsets move when rounded to a grid of `steps_per_quarter` steps per quarter note
/// (the rounding of the piano roll and of the notes-and-chords vocabulary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnsetShift {
    /// Grid steps per quarter note.
    pub steps_per_quarter: u32,
    /// Pitched onsets counted (drums left out).
    pub onsets: usize,
    /// Mean distance an onset moves, in grid steps (0 to 0.5).
    pub mean_steps: f64,
    /// Largest distance, in grid steps.
    pub max_steps: f64,
    /// Mean distance in milliseconds, by each file's tempo map.
    pub mean_ms: f64,
    /// Share of onsets that move by more than a tenth of a step.
    pub off_grid_share: f64,
    /// The file whose onsets move most on average, with that mean in steps.
    pub worst_file: Option<(PathBuf, f64)>,
}

/// A summary of a [`MidiCorpus`]; shows as text (`Display`, for logs) and as HTML in notebooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MidiCorpusReport {
    /// Files found, read and skipped, with each skipped file's reason.
    pub load: LoadReport,
    /// Files read of format 0 and of format 1.
    pub formats: [usize; 2],
    /// Pitched tracks by program, most notes first.
    pub programs: Vec<ProgramCount>,
    /// Drum tracks (channel 10), left out of piano rolls and note vocabularies.
    pub drum_tracks: usize,
    /// Their notes.
    pub drum_notes: usize,
    /// Files whose tempo changes after it is first set.
    pub files_with_tempo_changes: usize,
    /// The most tempo changes in one file.
    pub most_tempo_changes: usize,
    /// Slowest and fastest tempo set anywhere, in quarter notes per minute.
    pub tempo_range_bpm: Option<(f64, f64)>,
    /// Time signatures and the number of files where each appears.
    pub meters: Vec<(String, usize)>,
    /// Files whose time signature changes after it is first set.
    pub files_with_meter_changes: usize,
    /// What the key rules did, summed over the files.
    pub key_events: KeyEvents,
    /// How far onsets move on the grid.
    pub onset_shift: OnsetShift,
}

impl MidiCorpus {
    /// Summarises the corpus, with onsets measured against a grid of `steps_per_quarter`
    /// steps per quarter note (e.g. the piano roll's `steps_per_quarter`).
    pub fn summary(&self, steps_per_quarter: u32) -> MidiCorpusReport {
        let mut formats = [0; 2];
        let mut key_events = KeyEvents::default();
        for file in &self.files {
            formats[usize::from(file.format.min(1))] += 1;
            key_events.add(&file.key_events);
        }
        let mut programs: BTreeMap<u8, ProgramCount> = BTreeMap::new();
        let (mut drum_tracks, mut drum_notes) = (0, 0);
        let mut meters: BTreeMap<String, usize> = BTreeMap::new();
        let (mut files_with_tempo_changes, mut most_tempo_changes) = (0, 0);
        let mut files_with_meter_changes = 0;
        let mut tempo_range: Option<(f64, f64)> = None;
        for (_, score) in &self.scores {
            for track in &score.tracks {
                if track.is_drum {
                    drum_tracks += 1;
                    drum_notes += track.notes.len();
                    continue;
                }
                let count = programs.entry(track.program).or_insert(ProgramCount {
                    program: track.program,
                    tracks: 0,
                    notes: 0,
                });
                count.tracks += 1;
                count.notes += track.notes.len();
            }
            let tempo_changes = changes(score.tempos.iter().map(|t| t.micros_per_quarter));
            most_tempo_changes = most_tempo_changes.max(tempo_changes);
            files_with_tempo_changes += usize::from(tempo_changes > 0);
            for tempo in &score.tempos {
                let bpm = 60e6 / f64::from(tempo.micros_per_quarter);
                let (low, high) = tempo_range.unwrap_or((bpm, bpm));
                tempo_range = Some((low.min(bpm), high.max(bpm)));
            }
            let meter_of = |n: u8, d: u8| format!("{n}/{d}");
            let file_meters: std::collections::BTreeSet<String> = score
                .time_signatures
                .iter()
                .map(|t| meter_of(t.numerator, t.denominator))
                .collect();
            for meter in file_meters {
                *meters.entry(meter).or_default() += 1;
            }
            let meter_changes = changes(
                score
                    .time_signatures
                    .iter()
                    .map(|t| (t.numerator, t.denominator)),
            );
            files_with_meter_changes += usize::from(meter_changes > 0);
        }
        let mut programs: Vec<ProgramCount> = programs.into_values().collect();
        programs.sort_by(|a, b| b.notes.cmp(&a.notes).then(a.program.cmp(&b.program)));
        let mut meters: Vec<(String, usize)> = meters.into_iter().collect();
        meters.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        MidiCorpusReport {
            load: self.report.clone(),
            formats,
            programs,
            drum_tracks,
            drum_notes,
            files_with_tempo_changes,
            most_tempo_changes,
            tempo_range_bpm: tempo_range,
            meters,
            files_with_meter_changes,
            key_events,
            onset_shift: onset_shift(&self.scores, steps_per_quarter),
        }
    }
}

/// How many times a sequence of values changes from one to the next.
fn changes<T: PartialEq>(values: impl Iterator<Item = T>) -> usize {
    let mut count = 0;
    let mut last = None;
    for value in values {
        if last.as_ref().is_some_and(|l| *l != value) {
            count += 1;
        }
        last = Some(value);
    }
    count
}

/// Onset displacement of the pitched notes of `scores` on a grid of `steps_per_quarter`.
fn onset_shift(scores: &[(PathBuf, Score)], steps_per_quarter: u32) -> OnsetShift {
    let spq = f64::from(steps_per_quarter.max(1));
    let (mut onsets, mut total_steps, mut max_steps, mut total_ms, mut off_grid) =
        (0usize, 0.0, 0.0f64, 0.0, 0usize);
    let mut worst_file: Option<(PathBuf, f64)> = None;
    for (path, score) in scores {
        let tpq = f64::from(score.ticks_per_quarter.max(1));
        let (mut file_onsets, mut file_steps) = (0usize, 0.0);
        for track in score.tracks.iter().filter(|t| !t.is_drum) {
            for note in &track.notes {
                let position = f64::from(note.start) * spq / tpq;
                let shift = (position - position.round()).abs();
                let grid_tick = (position.round() * tpq / spq).round().max(0.0) as u32;
                let ms =
                    (score.tick_to_seconds(note.start) - score.tick_to_seconds(grid_tick)).abs();
                total_ms += ms * 1000.0;
                file_steps += shift;
                file_onsets += 1;
                max_steps = max_steps.max(shift);
                off_grid += usize::from(shift > 0.1);
            }
        }
        if file_onsets > 0 {
            let mean = file_steps / file_onsets as f64;
            if worst_file.as_ref().is_none_or(|(_, worst)| mean > *worst) {
                worst_file = Some((path.clone(), mean));
            }
        }
        onsets += file_onsets;
        total_steps += file_steps;
    }
    let per_onset = |total: f64| {
        if onsets == 0 {
            0.0
        } else {
            total / onsets as f64
        }
    };
    OnsetShift {
        steps_per_quarter,
        onsets,
        mean_steps: per_onset(total_steps),
        max_steps,
        mean_ms: per_onset(total_ms),
        off_grid_share: per_onset(off_grid as f64),
        worst_file,
    }
}

impl MidiCorpusReport {
    /// The report's lines, each a label and a value, in the order they are shown.
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut lines = vec![(
            "files".to_string(),
            format!(
                "{} found, {} read ({} of format 0, {} of format 1), {} skipped",
                self.load.files,
                self.load.read,
                self.formats[0],
                self.formats[1],
                self.load.skipped.len()
            ),
        )];
        let pitched: usize = self.programs.iter().map(|p| p.tracks).sum();
        let programs: Vec<String> = self
            .programs
            .iter()
            .map(|p| {
                format!(
                    "{} ({}): {} tracks, {} notes",
                    p.program,
                    program_family(p.program),
                    p.tracks,
                    p.notes
                )
            })
            .collect();
        lines.push((
            "pitched tracks".to_string(),
            format!("{pitched}; programs: {}", or_none(&programs.join("; "))),
        ));
        lines.push((
            "drum tracks".to_string(),
            format!(
                "{} with {} notes, left out (channel 10)",
                self.drum_tracks, self.drum_notes
            ),
        ));
        let range = self
            .tempo_range_bpm
            .map(|(low, high)| format!("{low:.0}–{high:.0} quarters a minute"))
            .unwrap_or_else(|| "none set (120 quarters a minute)".to_string());
        lines.push((
            "tempo".to_string(),
            format!(
                "{range}; {} files change tempo (at most {} changes in one)",
                self.files_with_tempo_changes, self.most_tempo_changes
            ),
        ));
        let meters: Vec<String> = self
            .meters
            .iter()
            .map(|(m, n)| format!("{m} in {n} files"))
            .collect();
        lines.push((
            "meter".to_string(),
            format!(
                "{}; {} files change meter",
                or_none(&meters.join(", ")),
                self.files_with_meter_changes
            ),
        ));
        let k = &self.key_events;
        lines.push((
            "notes".to_string(),
            format!(
                "{} read; {} struck again while sounding, {} held by the sustain pedal, {} \
                 without a note-off (ended with the track), {} stray note-offs and {} duplicate \
                 note-ons ignored",
                k.notes,
                k.restruck,
                k.held_by_pedal,
                k.ended_by_track_end,
                k.stray_note_offs,
                k.duplicate_note_ons
            ),
        ));
        let s = &self.onset_shift;
        let worst = s
            .worst_file
            .as_ref()
            .map(|(p, mean)| format!("; most in {} ({mean:.3} steps)", p.display()))
            .unwrap_or_default();
        lines.push((
            "quantisation".to_string(),
            format!(
                "{} onsets on a grid of {} steps a quarter move {:.3} steps ({:.1} ms) on \
                 average, at most {:.3}; {:.1}% move more than a tenth of a step{worst}",
                s.onsets,
                s.steps_per_quarter,
                s.mean_steps,
                s.mean_ms,
                s.max_steps,
                100.0 * s.off_grid_share
            ),
        ));
        lines
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "none"
    } else {
        text
    }
}

impl fmt::Display for MidiCorpusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (label, value) in self.lines() {
            writeln!(f, "{label}: {value}")?;
        }
        for skipped in &self.load.skipped {
            writeln!(f, "skipped {}: {}", skipped.path.display(), skipped.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::midi::{load_midi_corpus, raw_smf};

    #[test]
    fn families_follow_general_midi() {
        assert_eq!(program_family(0), "piano");
        assert_eq!(program_family(7), "piano");
        assert_eq!(program_family(40), "strings");
        assert_eq!(program_family(127), "sound effects");
    }

    #[test]
    fn changes_count_only_differences() {
        assert_eq!(changes([1, 1, 2, 2, 1].into_iter()), 2);
        assert_eq!(changes(std::iter::empty::<u8>()), 0);
    }

    #[test]
    fn the_report_counts_what_a_folder_holds() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        // Piano on channel 0 (program 0), one onset 1/8 of a quarter late on a 4-step grid; a
        // drum note on channel 10; two tempos; 3/4.
        let piano = [
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, // 120 bpm
            0x00, 0xFF, 0x58, 0x04, 0x03, 0x02, 0x18, 0x08, // 3/4
            0x00, 0xC0, 0x00, // program 0
            0x00, 0x90, 60, 80, // on @0
            0x0C, 0x80, 60, 0, // off @12
            0x00, 0x90, 62, 80, // on @12 (a quarter is 96: 12 ticks = half a step late)
            0x30, 0x80, 62, 0, // off @60
            0x00, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40, // 60 bpm @60
            0x00, 0x99, 36, 100, // drum on @60
            0x10, 0x89, 36, 0, // drum off @76
            0x00, 0xFF, 0x2F, 0x00,
        ];
        std::fs::write(dir.path().join("a.mid"), raw_smf(0, 96, &[&piano]))?;
        std::fs::write(dir.path().join("broken.mid"), b"MThd\x00")?;
        let corpus = load_midi_corpus(dir.path())?;
        let report = corpus.summary(4);
        assert_eq!(report.load.files, 2);
        assert_eq!(report.load.skipped.len(), 1);
        assert_eq!(report.formats, [1, 0]);
        assert_eq!(report.drum_tracks, 1);
        assert_eq!(report.drum_notes, 1);
        assert_eq!(
            report.programs,
            vec![ProgramCount {
                program: 0,
                tracks: 1,
                notes: 2
            }]
        );
        assert_eq!(report.files_with_tempo_changes, 1);
        assert_eq!(report.tempo_range_bpm, Some((60.0, 120.0)));
        assert_eq!(report.meters, vec![("3/4".to_string(), 1)]);
        let shift = &report.onset_shift;
        assert_eq!(shift.onsets, 2);
        assert!((shift.mean_steps - 0.25).abs() < 1e-9, "{shift:?}");
        assert!((shift.max_steps - 0.5).abs() < 1e-9);
        assert!((shift.off_grid_share - 0.5).abs() < 1e-9);
        // Half a step of a 4-step grid at 120 bpm is 62.5 ms; averaged over 2 onsets.
        assert!((shift.mean_ms - 31.25).abs() < 1e-6, "{}", shift.mean_ms);
        let text = report.to_string();
        assert!(text.contains("2 found, 1 read"), "{text}");
        assert!(text.contains("0 (piano): 1 tracks, 2 notes"), "{text}");
        assert!(text.contains("skipped "), "{text}");
        assert!(text.contains("broken.mid"), "{text}");
        Ok(())
    }
}
