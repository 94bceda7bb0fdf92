//! Writes the compatibility fixtures of the current checkpoint format,
//! `tests/fixtures/checkpoint-v<FORMAT_VERSION>/<architecture>-<encoding>/`: for each model kind a
//! tiny model trained for a few epochs through the common trainer and checkpointer, and
//! `expected.json`, the greedy piece it generates (primer, settings, result). Each format version
//! keeps its fixtures forever; `tests/checkpoint_fixture.rs` loads every one. (`checkpoint-v1`
//! was written by tunesmith 0.1's `examples/make_checkpoint_fixture.rs`, commit 52c1340.)
//!
//! `cargo run --example make_checkpoint_fixtures` writes them all; naming fixtures writes only
//! those (`cargo run --example make_checkpoint_fixtures -- ddsp-audio pitch_lstm-piano_roll`), leaving
//! the others as they are. The audio fixture records the waveform the model renders for
//! [`AUDIO_TUNE`] (every [`AUDIO_STRIDE`]th sample).

use anyhow::{Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use tch::Device;
use tunesmith::checkpoint::{CheckpointConfig, Checkpointer, FORMAT_VERSION};
use tunesmith::data::{
    AudioClips, AudioPair, Batches, RollBatches, SequenceBatches, WindowBatches,
};
use tunesmith::encode::{
    AudioFeatureConfig, CharVocab, Encoding, EventConfig, EventVocab, NoteVocab, NoteVocabConfig,
    PianoRoll, PianoRollConfig, TokenEncoding,
};
use tunesmith::generate::{generate, render_audio, Length, Primer, SampleConfig};
use tunesmith::model::{
    Ddsp, DdspConfig, FrameLstm, FrameLstmConfig, LstmConfig, LstmLm, Model, PitchLstm,
    PitchLstmConfig, WindowConfig, WindowLstm,
};
use tunesmith::score::Score;
use tunesmith::train::{seeded, TrainConfig, Trainer};

/// Tunes every fixture learns from.
const TUNES: &str =
    "M:4/4\nL:1/8\nK:G\nGABc dedB|cBAG A2G2|\n\nM:6/8\nL:1/8\nK:D\nFAd fed|cBA A2F|\n\n";

fn scores() -> Result<Vec<Score>> {
    TUNES
        .split("\n\n")
        .filter(|t| !t.trim().is_empty())
        .map(|t| tunesmith::abc::abc_to_score(t).context("a fixture tune"))
        .collect()
}

/// The settings a fixture's expected piece is generated with: greedy, or seeded sampling at
/// `temperature` (the same weights and seed give the same piece).
pub fn fixture_sampling(length: Length, temperature: f64) -> SampleConfig {
    SampleConfig {
        temperature,
        seed: 7,
        length,
        max_steps: 60,
        ..SampleConfig::default()
    }
}

/// The tune the audio fixture renders after training.
pub const AUDIO_TUNE: &str = "M:4/4\nL:1/16\nQ:1/4=120\nK:G\nGABd|\n";

/// The audio fixture records every this many samples of its rendering.
pub const AUDIO_STRIDE: usize = 8;

/// The note-feature layout of the audio fixture.
pub fn audio_layout() -> AudioFeatureConfig {
    AudioFeatureConfig {
        voices: 2,
        tail_seconds: 0.1,
        ..AudioFeatureConfig::default()
    }
}

/// Trains `model` with the checkpointer writing into `dir/<name>` (replacing it).
fn train_into(
    dir: &Path,
    name: &str,
    model: impl Model,
    encoding: &Encoding,
    train: &dyn Batches,
    epochs: usize,
) -> Result<Trainer> {
    let run = dir.join(name);
    if run.exists() {
        std::fs::remove_dir_all(&run)?;
    }
    let checkpoint = CheckpointConfig {
        keep_last: 1,
        keep_best: false,
        handle_signals: false,
        verbose: false,
        ..CheckpointConfig::new(dir, name)
    };
    let mut trainer = Trainer::new(model, TrainConfig::quiet(epochs, 2e-2))
        .with_callback(Checkpointer::new(checkpoint, encoding.clone()));
    trainer.fit(train, train)?;
    Ok(trainer)
}

/// The waveform model: trained on the fixture tunes rendered by the built-in synthesizer, then
/// the waveform it renders for [`AUDIO_TUNE`].
fn make_audio(dir: &Path, scores: &[Score]) -> Result<()> {
    let layout = audio_layout();
    let pairs: Vec<AudioPair> = scores
        .iter()
        .enumerate()
        .map(|(i, score)| {
            let audio = tunesmith::render::neural::builtin_audio(score, &layout, None)?;
            let frames = audio.samples.len() / layout.hop;
            let features = layout.features(score, frames)?;
            AudioPair::new(
                format!("tune {i}"),
                features,
                audio.samples,
                layout.sample_rate,
            )
        })
        .collect::<Result<_>>()?;
    let clips = AudioClips::new(pairs, 100, 4)?;
    let model = seeded(5, || Ddsp::new(DdspConfig::debug(&layout), Device::Cpu))?;
    let encoding: Encoding = layout.into();
    let name = "ddsp-audio";
    let trainer = train_into(dir, name, model, &encoding, &clips, 3)?;
    let score = tunesmith::abc::abc_to_score(AUDIO_TUNE)?;
    let sampling = fixture_sampling(Length::End, 0.0);
    let rendered = render_audio(trainer.model(), &encoding, &score, &sampling)?;
    let expected = json!({
        "abc": AUDIO_TUNE,
        "sampling": sampling,
        "samples": rendered.samples.len(),
        "stride": AUDIO_STRIDE,
        "every_stride": rendered.samples.iter().step_by(AUDIO_STRIDE).collect::<Vec<_>>(),
    });
    let run = dir.join(name);
    std::fs::write(
        run.join("expected.json"),
        serde_json::to_string_pretty(&expected)?,
    )?;
    println!("wrote {} ({})", run.display(), trainer.model().summary());
    Ok(())
}

/// Trains `model` on `train` for `epochs` with the checkpointer writing into `dir/<name>`, then
/// records the piece it generates from `primer` (nothing when `only` names other fixtures).
#[allow(clippy::too_many_arguments)]
fn make(
    only: &[String],
    dir: &Path,
    name: &str,
    model: impl Model,
    encoding: Encoding,
    train: &dyn Batches,
    epochs: usize,
    primer: (Primer, serde_json::Value),
    sampling: SampleConfig,
) -> Result<()> {
    if !only.is_empty() && !only.iter().any(|n| n == name) {
        return Ok(());
    }
    let run = dir.join(name);
    let trainer = train_into(dir, name, model, &encoding, train, epochs)?;
    let piece = generate(trainer.model(), &encoding, &primer.0, &sampling)?;
    let expected = json!({
        "primer": primer.1,
        "sampling": sampling,
        "ids": piece.ids,
        "abc": piece.abc,
        "frames": piece.roll.as_ref().map(|r| r.frames.clone()),
        "notes": piece.note_count(),
    });
    std::fs::write(
        run.join("expected.json"),
        serde_json::to_string_pretty(&expected)?,
    )?;
    println!("wrote {} ({})", run.display(), trainer.model().summary());
    Ok(())
}

fn main() -> Result<()> {
    tch::set_num_threads(1);
    let only: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(format!("tests/fixtures/checkpoint-v{FORMAT_VERSION}"));
    std::fs::create_dir_all(&dir)?;
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wanted("ddsp-audio") {
        make_audio(&dir, &scores()?)?;
    }
    if !only.is_empty() && only.iter().all(|o| o == "ddsp-audio") {
        return Ok(());
    }
    let text = TUNES.repeat(20);

    // The character model on ABC.
    let vocab = CharVocab::from_texts([text.as_str()]);
    let chars = SequenceBatches::new(vocab.encode(&text)?, 16, 4)?;
    let model = seeded(1, || {
        LstmLm::new(
            LstmConfig {
                vocab_size: vocab.len() as i64,
                embed_dim: 4,
                hidden_size: 8,
                num_layers: 1,
                dropout: 0.0,
            },
            Device::Cpu,
        )
    })?;
    make(
        &only,
        &dir,
        "lstm_lm-chars",
        model,
        vocab.into(),
        &chars,
        8,
        (Primer::abc("M:"), json!({"abc": "M:"})),
        fixture_sampling(Length::End, 0.0),
    )?;

    // The notes-and-chords window model (the log's model), with attention.
    let scores = scores()?;
    let notes = NoteVocab::build(&scores, &NoteVocabConfig::default())?;
    let pieces: Vec<Vec<i64>> = scores
        .iter()
        .map(|s| notes.encode_score(s))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(|p| p.repeat(6))
        .collect();
    let windows = WindowBatches::from_pieces(pieces.clone(), 6, 8)?;
    let model = seeded(2, || {
        WindowLstm::new(
            WindowConfig {
                window: 6,
                ..WindowConfig::debug(notes.len(), true)
            },
            Device::Cpu,
        )
    })?;
    let primer = pieces[0][..6].to_vec();
    make(
        &only,
        &dir,
        "window_lstm-notes",
        model,
        notes.into(),
        &windows,
        6,
        (Primer::ids(primer.clone()), json!({"ids": primer})),
        fixture_sampling(Length::Notes(12), 0.0),
    )?;

    // The many-to-many model on events.
    let events = EventVocab::new(EventConfig {
        velocity_bins: 0,
        ..EventConfig::default()
    });
    let stream: Vec<i64> = scores
        .iter()
        .map(|s| events.encode_score(s))
        .collect::<Result<Vec<_>>>()?
        .concat()
        .repeat(8);
    let event_batches = SequenceBatches::new(stream.clone(), 16, 4)?;
    let model = seeded(3, || {
        LstmLm::new(
            LstmConfig {
                embed_dim: 8,
                hidden_size: 12,
                num_layers: 1,
                ..LstmConfig::debug(events.vocab_size())
            },
            Device::Cpu,
        )
    })?;
    let primer = stream[..8].to_vec();
    make(
        &only,
        &dir,
        "lstm_lm-events",
        model,
        events.into(),
        &event_batches,
        4,
        (Primer::ids(primer.clone()), json!({"ids": primer})),
        fixture_sampling(Length::Steps(40), 1.0),
    )?;

    // The piano-roll model with pitch autoregression.
    let roll_config = PianoRollConfig {
        steps_per_quarter: 2,
        low_pitch: 60,
        num_pitches: 24,
        transpose_to_c: false,
    };
    let rolls: Vec<PianoRoll> = scores
        .iter()
        .map(|s| PianoRoll::from_score(s, &roll_config))
        .collect::<Result<_>>()?;
    let roll_batches = RollBatches::new(&rolls, 8, 4)?;
    let model = seeded(4, || {
        FrameLstm::new(
            FrameLstmConfig {
                hidden_size: 8,
                num_layers: 1,
                pitch_autoregression: true,
                skip_connection: true,
                ..FrameLstmConfig::debug(24)
            },
            Device::Cpu,
        )
    })?;
    let opening = rolls[0].frames[..4].to_vec();
    // Both piano-roll fixtures start from the same four frames.
    let roll_primer = || {
        (
            Primer::roll(PianoRoll::from_frames(opening.clone(), roll_config)),
            json!({"frames": opening, "config": roll_config}),
        )
    };
    make(
        &only,
        &dir,
        "frame_lstm-piano_roll",
        model,
        roll_config.into(),
        &roll_batches,
        10,
        roll_primer(),
        fixture_sampling(Length::Bars(2), 1.0),
    )?;

    // The pitch-invariant biaxial model on the same rolls, its LSTMs over keys 2..=21.
    let model = seeded(5, || {
        PitchLstm::new(
            PitchLstmConfig {
                low_pitch: 60,
                key_range: Some([2, 21]),
                ..PitchLstmConfig::debug(24)
            },
            Device::Cpu,
        )
    })?;
    make(
        &only,
        &dir,
        "pitch_lstm-piano_roll",
        model,
        roll_config.into(),
        &roll_batches,
        10,
        roll_primer(),
        fixture_sampling(Length::Bars(2), 1.0),
    )?;
    Ok(())
}
