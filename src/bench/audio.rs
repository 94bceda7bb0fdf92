//! The neural-audio benchmark: tunes of the default ABC corpus chosen by the fixed held-out split
//! (so the test tunes are never heard in training), rendered with the SoundFont into training
//! pairs; a model trained within a time budget; and the metrics table on the held-out tunes, with
//! the built-in synthesizer (loudness-matched) and silence as reference points.

use crate::abc::{abc_to_score, CleanTune};
use crate::data::audio_pairs::{builtin_audio, reference_audio, training_pairs};
use crate::data::{AudioClips, AudioPair};
use crate::encode::{AudioFeatureConfig, Encoding};
use crate::generate::SampleConfig;
use crate::metrics::audio::{audio_metrics, figure, AudioMetrics};
use crate::metrics::split::{fnv1a64, part_of, Part};
use crate::metrics::{figures_markdown, figures_table};
use crate::model::Model;
use crate::render::neural::neural_audio;
use crate::render::Audio;
use crate::score::{Note, Score};
use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Named scores of the three parts of the split.
#[derive(Debug, Clone, Default)]
pub struct AudioTuneSets {
    /// Tunes to train on.
    pub train: Vec<(String, Score)>,
    /// Tunes to choose epochs by.
    pub valid: Vec<(String, Score)>,
    /// Held-out tunes to report.
    pub test: Vec<(String, Score)>,
}

/// How many tunes of each part, and how long each may be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TuneSelection {
    /// Training tunes.
    pub train: usize,
    /// Validation tunes.
    pub valid: usize,
    /// Held-out test tunes.
    pub test: usize,
    /// Each tune is cut after this many seconds (its notes that start later are dropped).
    pub max_seconds: f64,
}

impl Default for TuneSelection {
    fn default() -> Self {
        TuneSelection {
            train: 120,
            valid: 8,
            test: 8,
            max_seconds: 20.0,
        }
    }
}

/// The score's notes that start before `seconds`, those still sounding then cut there.
pub fn first_seconds(score: &Score, seconds: f64) -> Score {
    let mut out = score.clone();
    for track in &mut out.tracks {
        track
            .notes
            .retain(|n| score.tick_to_seconds(n.start) < seconds);
        let cut = |n: &Note| score.tick_to_seconds(n.end()) > seconds;
        let limit = seconds_to_tick(score, seconds);
        for note in track.notes.iter_mut().filter(|n| cut(n)) {
            note.duration = limit.saturating_sub(note.start).max(1);
        }
    }
    out
}

/// The first tick at or after `seconds`.
fn seconds_to_tick(score: &Score, seconds: f64) -> u32 {
    let (mut low, mut high) = (0u32, score.end_tick().max(1));
    while low < high {
        let mid = low + (high - low) / 2;
        if score.tick_to_seconds(mid) < seconds {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
}

/// True when no two notes of the score overlap: one note at a time.
pub fn is_one_note_at_a_time(score: &Score) -> bool {
    let mut notes: Vec<(u32, u32)> = score
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| t.notes.iter().map(|n| (n.start, n.end())))
        .collect();
    notes.sort_unstable();
    notes.windows(2).all(|w| w[1].0 >= w[0].1)
}

/// Chooses tunes by the fixed held-out split: within each part, one-note-at-a-time tunes that
/// parse and hold at least 8 notes, in the order of their text's hash (a mix of the collections,
/// the same on every machine), each cut to `selection.max_seconds`.
pub fn audio_tune_sets(tunes: &[CleanTune], selection: &TuneSelection) -> AudioTuneSets {
    let mut ordered: Vec<&CleanTune> = tunes.iter().collect();
    ordered.sort_by_key(|t| fnv1a64(t.text.as_bytes()).rotate_left(17));
    let mut sets = AudioTuneSets::default();
    for tune in ordered {
        let (part, want) = match part_of(&tune.text) {
            Part::Train => (&mut sets.train, selection.train),
            Part::Valid => (&mut sets.valid, selection.valid),
            Part::Test => (&mut sets.test, selection.test),
        };
        if part.len() >= want {
            continue;
        }
        let Ok(score) = abc_to_score(&tune.text) else {
            continue;
        };
        let score = first_seconds(&score, selection.max_seconds);
        if score.note_count() >= 8 && is_one_note_at_a_time(&score) {
            let name = if tune.title.is_empty() {
                tune.label.clone()
            } else {
                tune.title.clone()
            };
            part.push((name, score));
        }
    }
    sets
}

/// Piano material from a polyphonic data set (`../shared/data/bl2012`): each piece's frames of
/// MIDI pitches (a quarter note each, at 120 quarters a minute) as a one-track score, a pitch held
/// over consecutive frames one note; the data set's own train, valid and test splits, each piece
/// cut to `selection.max_seconds`.
pub fn poly_tune_sets(
    data: &crate::bench::PolyDataset,
    selection: &TuneSelection,
) -> AudioTuneSets {
    let scores = |pieces: &[crate::bench::Piece], want: usize, part: &str| {
        pieces
            .iter()
            .take(want)
            .enumerate()
            .map(|(i, piece)| {
                let config = crate::encode::PianoRollConfig {
                    steps_per_quarter: 1,
                    transpose_to_c: false,
                    ..crate::encode::PianoRollConfig::default()
                };
                let score = crate::encode::PianoRoll::from_frames(piece.clone(), config).to_score();
                (
                    format!("{} {part} {}", data.name, i + 1),
                    first_seconds(&score, selection.max_seconds),
                )
            })
            .collect()
    };
    AudioTuneSets {
        train: scores(&data.train, selection.train, "train"),
        valid: scores(&data.valid, selection.valid, "valid"),
        test: scores(&data.test, selection.test, "test"),
    }
}

/// The training pairs and clips of the three parts.
#[derive(Debug, Clone)]
pub struct AudioData {
    /// The note-feature layout (and the instrument).
    pub layout: AudioFeatureConfig,
    /// Training clips.
    pub train: AudioClips,
    /// Validation clips.
    pub valid: AudioClips,
    /// The held-out tunes, whole.
    pub test: Vec<(String, Score)>,
}

/// Renders the train and valid tunes into pairs and cuts them into clips of `clip_seconds`.
pub fn audio_data(
    sets: &AudioTuneSets,
    layout: &AudioFeatureConfig,
    clip_seconds: f64,
    batch_size: usize,
    soundfont: Option<&Path>,
) -> Result<AudioData> {
    ensure!(
        (0.25..=8.0).contains(&clip_seconds),
        "clips must last 0.25 to 8 seconds, not {clip_seconds}"
    );
    let clip_frames = (clip_seconds * layout.frame_rate()).round() as usize;
    let pairs = |tunes: &[(String, Score)]| -> Result<Vec<AudioPair>> {
        training_pairs(tunes, layout, soundfont)
    };
    Ok(AudioData {
        layout: layout.clone(),
        train: AudioClips::new(
            pairs(&sets.train).context("rendering the training tunes")?,
            clip_frames,
            batch_size,
        )?,
        valid: AudioClips::new(
            pairs(&sets.valid).context("rendering the validation tunes")?,
            clip_frames,
            batch_size,
        )?,
        test: sets.test.clone(),
    })
}

/// One row of the metrics table: a rendering's figures averaged over the held-out tunes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioRow {
    /// What rendered the notes.
    pub name: String,
    /// Mean multi-resolution STFT distance.
    pub mr_stft: f64,
    /// Mean log-spectral distance, dB.
    pub lsd_db: f64,
    /// Pitch accuracy over all voiced one-note frames of all tunes.
    pub pitch_accuracy: Option<f64>,
    /// Mean loudness error, dB.
    pub loudness_error_db: f64,
    /// Mean chroma similarity to the SoundFont, frame by frame (`None` before it was measured).
    #[serde(default)]
    pub chroma_similarity: Option<f64>,
    /// Share of the written notes' sounding frames in which the note is heard (see
    /// [`crate::metrics::audio::polyphony::note_presence`]).
    #[serde(default)]
    pub note_presence: Option<f64>,
}

impl AudioRow {
    fn mean(name: &str, all: &[AudioMetrics], poly: &[Polyphony]) -> Self {
        let chroma: Vec<f64> = poly.iter().filter_map(|p| p.chroma).collect();
        let pairs: usize = poly.iter().map(|p| p.pairs).sum();
        let heard: f64 = poly
            .iter()
            .map(|p| p.presence.unwrap_or(0.0) * p.pairs as f64)
            .sum();
        let n = all.len().max(1) as f64;
        let voiced: usize = all.iter().map(|m| m.voiced_frames).sum();
        let right: f64 = all
            .iter()
            .map(|m| m.pitch_accuracy.unwrap_or(0.0) * m.voiced_frames as f64)
            .sum();
        AudioRow {
            name: name.to_string(),
            // (+ 0.0: the sum of no figures is −0.0, shown as "-0.000")
            mr_stft: all.iter().map(|m| m.mr_stft).sum::<f64>() / n + 0.0,
            lsd_db: all.iter().map(|m| m.lsd_db).sum::<f64>() / n + 0.0,
            pitch_accuracy: (voiced > 0).then(|| right / voiced as f64),
            loudness_error_db: all.iter().map(|m| m.loudness_error_db).sum::<f64>() / n + 0.0,
            chroma_similarity: (!chroma.is_empty())
                .then(|| chroma.iter().sum::<f64>() / chroma.len() as f64),
            note_presence: (pairs > 0).then(|| heard / pairs as f64),
        }
    }
}

/// The polyphonic measures of one rendering of one tune.
#[derive(Debug, Clone, Copy)]
struct Polyphony {
    chroma: Option<f64>,
    presence: Option<f64>,
    pairs: usize,
}

impl Polyphony {
    fn of(candidate: &[f32], reference: &[f32], score: &Score, sample_rate: u32) -> Self {
        use crate::metrics::audio::polyphony::{chroma_similarity, note_presence};
        let (presence, pairs) = note_presence(candidate, score, sample_rate);
        Polyphony {
            chroma: chroma_similarity(candidate, reference, sample_rate),
            presence,
            pairs,
        }
    }
}

/// The metrics table on held-out tunes, with the real-time factor of the neural rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioTable {
    /// Rows: the neural synthesizer, the built-in synthesizer, silence, and the SoundFont itself
    /// (distances 0; its chroma similarity 1 and its notes heard, the figure a synthesizer is
    /// held to).
    pub rows: Vec<AudioRow>,
    /// Held-out tunes measured.
    pub tunes: usize,
    /// Seconds of held-out audio.
    pub seconds: f64,
    /// Seconds of audio the model rendered per second of computing.
    pub real_time_factor: f64,
}

const HEADERS: [&str; 7] = [
    "rendering (vs the SoundFont)",
    "MR-STFT ↓",
    "LSD dB ↓",
    "pitch accuracy ↑",
    "loudness error dB ↓",
    "chroma similarity ↑",
    "notes heard ↑",
];

impl AudioTable {
    fn cells(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    format!("{:.3}", r.mr_stft),
                    format!("{:.2}", r.lsd_db),
                    figure(r.pitch_accuracy.map(|p| 100.0 * p), 1)
                        + if r.pitch_accuracy.is_some() { "%" } else { "" },
                    format!("{:.2}", r.loudness_error_db),
                    figure(r.chroma_similarity, 3),
                    figure(r.note_presence.map(|p| 100.0 * p), 1)
                        + if r.note_presence.is_some() { "%" } else { "" },
                ]
            })
            .collect()
    }

    /// The table as HTML (shown inline in a notebook).
    pub fn to_html(&self) -> String {
        format!(
            "{}<p>{} held-out tunes, {:.0} s of audio; neural rendering {:.1}× real time</p>",
            figures_table(&HEADERS, &self.cells()).0,
            self.tunes,
            self.seconds,
            self.real_time_factor
        )
    }

    /// The table in Markdown (for docs).
    pub fn to_markdown(&self) -> String {
        figures_markdown(&HEADERS, &self.cells())
    }

    /// The row of a rendering by name.
    pub fn row(&self, name: &str) -> Option<&AudioRow> {
        self.rows.iter().find(|r| r.name == name)
    }
}

/// The three renderings of one held-out tune.
#[derive(Debug, Clone)]
pub struct TuneRenderings {
    /// The tune's name.
    pub name: String,
    /// The SoundFont reference.
    pub soundfont: Audio,
    /// The neural synthesizer.
    pub neural: Audio,
    /// The built-in synthesizer, loudness-matched to the reference.
    pub builtin: Audio,
}

/// Renders every held-out tune with the model, the SoundFont and the built-in synthesizer and
/// measures the table; returns it with the renderings (for listening and spectrograms).
pub fn evaluate_audio(
    model: &dyn Model,
    encoding: &Encoding,
    tunes: &[(String, Score)],
    soundfont: Option<&Path>,
) -> Result<(AudioTable, Vec<TuneRenderings>)> {
    let layout = encoding
        .audio_features()
        .context("an audio model needs the audio encoding")?;
    let sr = layout.sample_rate;
    let mut renderings = Vec::new();
    let (mut neural, mut builtin, mut silence) = (Vec::new(), Vec::new(), Vec::new());
    let mut poly: [Vec<Polyphony>; 4] = Default::default();
    let (mut seconds, mut taken) = (0.0, 0.0);
    for (name, score) in tunes {
        let reference = reference_audio(score, layout, soundfont)?;
        let (made, rendered) = neural_audio(model, encoding, score, &SampleConfig::default())
            .with_context(|| format!("rendering {name}"))?;
        seconds += rendered.seconds();
        taken += rendered.seconds_taken;
        let plain = builtin_audio(score, layout, Some(&reference))?;
        neural.push(audio_metrics(&made.samples, &reference.samples, score, sr));
        builtin.push(audio_metrics(&plain.samples, &reference.samples, score, sr));
        let quiet = vec![0.0; reference.samples.len()];
        silence.push(audio_metrics(&quiet, &reference.samples, score, sr));
        for (i, candidate) in [&made.samples, &plain.samples, &quiet, &reference.samples]
            .into_iter()
            .enumerate()
        {
            poly[i].push(Polyphony::of(candidate, &reference.samples, score, sr));
        }
        renderings.push(TuneRenderings {
            name: name.clone(),
            soundfont: reference,
            neural: made,
            builtin: plain,
        });
    }
    let table = AudioTable {
        rows: vec![
            AudioRow::mean(model.architecture(), &neural, &poly[0]),
            AudioRow::mean("built-in synthesizer", &builtin, &poly[1]),
            AudioRow::mean("silence", &silence, &poly[2]),
            // Against itself every distance is 0; its polyphonic figures are the targets.
            AudioRow::mean("SoundFont (the reference itself)", &[], &poly[3]),
        ],
        tunes: tunes.len(),
        seconds,
        real_time_factor: seconds / taken.max(1e-9),
    };
    Ok((table, renderings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::Track;

    #[test]
    fn tunes_are_cut_and_polyphony_is_noticed() {
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: (0..10)
                .map(|i| Note::new(60 + i as u8, 480 * i, 480))
                .collect(),
            ..Track::default()
        });
        // 120 BPM: a note every half second; cut at 2.25 s keeps 5 notes, the last cut short.
        let cut = first_seconds(&score, 2.25);
        assert_eq!(cut.note_count(), 5);
        assert_eq!(cut.tracks[0].notes[4].duration, 240);
        assert!(is_one_note_at_a_time(&cut));
        score.tracks[0].notes[1].duration = 600;
        assert!(!is_one_note_at_a_time(&score));
    }
}
