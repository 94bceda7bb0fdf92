//! Helpers shared by the checkpoint tests: tiny corpora, a tiny run of each model kind (the
//! character LSTM, the notes-and-chords window model with and without attention, the two piano-roll
//! models, the DDSP-style waveform model and the sample-level audio model), and a lock that keeps
//! in-process training tests from running at once.
#![allow(dead_code)]

use anyhow::Result;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tch::Device;
use tunesmith::checkpoint::{CheckpointConfig, Checkpointer, ResumeReport};
use tunesmith::data::{
    AudioClips, AudioPair, Batches, RollBatches, SequenceBatches, WindowBatches,
};
use tunesmith::encode::{
    AudioFeatureConfig, CharVocab, Encoding, NoteVocab, NoteVocabConfig, PianoRoll,
    PianoRollConfig, TokenEncoding,
};
use tunesmith::model::{
    Ddsp, DdspConfig, FrameLstm, FrameLstmConfig, LstmConfig, LstmLm, Model, PitchLstm,
    PitchLstmConfig, SampleRnn, SampleRnnConfig, WindowConfig, WindowLstm,
};
use tunesmith::score::Score;
use tunesmith::train::{seeded, AdamConfig, History, TrainConfig, Trainer};

static SERIAL: Mutex<()> = Mutex::new(());

/// One training test at a time (they compare runs, and tiny models train fastest on one thread).
pub fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    guard
}

/// What most character-model checkpoint tests start from: the [`serial`] lock held, the tiny
/// character data and an empty temporary folder.
pub fn tiny_chars_run() -> Result<(MutexGuard<'static, ()>, Tiny, tempfile::TempDir)> {
    let lock = serial();
    Ok((lock, tiny(Kind::Chars)?, tempfile::tempdir()?))
}

/// `n` small tunes in ABC, the same every time.
pub fn tiny_tunes(n: usize) -> String {
    let notes = b"CDEFGABcdefg";
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let mut text = String::new();
    for x in 1..=n {
        text.push_str(&format!("X:{x}\nT:Tune {x}\nM:4/4\nL:1/8\nK:C\n"));
        for _ in 0..6 {
            for _ in 0..4 {
                text.push(notes[next() % notes.len()] as char);
            }
            text.push('|');
        }
        text.push_str("]\n\n");
    }
    text
}

/// Writes the tiny corpus as `dir/tunes/tiny.abc`.
pub fn write_tiny_corpus(dir: &Path, n: usize) -> Result<()> {
    std::fs::create_dir_all(dir.join("tunes"))?;
    std::fs::write(dir.join("tunes/tiny.abc"), tiny_tunes(n))?;
    Ok(())
}

/// Writes the tiny corpus as MIDI files into `dir/midi/`.
pub fn write_tiny_midi_corpus(dir: &Path, n: usize) -> Result<()> {
    std::fs::create_dir_all(dir.join("midi"))?;
    for (i, score) in tiny_scores(n)?.iter().enumerate() {
        tunesmith::midi::write_midi_file(score, &dir.join(format!("midi/tune_{i:03}.mid")))?;
    }
    Ok(())
}

/// The tiny tunes as scores.
pub fn tiny_scores(n: usize) -> Result<Vec<Score>> {
    tiny_tunes(n)
        .split("\n\n")
        .filter(|t| !t.trim().is_empty())
        .map(tunesmith::abc::abc_to_score)
        .collect()
}

/// The model kinds the checkpoint tests cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `lstm_lm` on ABC characters.
    Chars,
    /// `window_lstm` with attention on notes and chords.
    WindowAttention,
    /// `window_lstm` without attention on notes and chords.
    Window,
    /// `frame_lstm` on piano rolls.
    Roll,
    /// `pitch_lstm` on piano rolls.
    PitchRoll,
    /// `ddsp` (the waveform model) on note features and audio.
    Audio,
    /// `sample_rnn` (8-bit mu-law samples) on note features and audio.
    Samples,
}

pub const KINDS: [Kind; 7] = [
    Kind::Chars,
    Kind::WindowAttention,
    Kind::Window,
    Kind::Roll,
    Kind::PitchRoll,
    Kind::Audio,
    Kind::Samples,
];

/// The note-feature layout of the audio kinds: two voices, 16 kHz, no tail after the last note.
pub fn audio_layout() -> AudioFeatureConfig {
    AudioFeatureConfig {
        voices: 2,
        tail_seconds: 0.0,
        ..AudioFeatureConfig::default()
    }
}

/// The first tiny tunes as audio pairs: the built-in synthesizer's rendering (no SoundFont
/// needed) with the notes' features, `frames` frames each.
pub fn tiny_audio_pairs(n: usize, frames: usize) -> Result<Vec<AudioPair>> {
    let layout = audio_layout();
    tiny_scores(n)?
        .iter()
        .enumerate()
        .map(|(i, score)| {
            let audio = tunesmith::render::neural::builtin_audio(score, &layout, None)?;
            let features = layout.features(score, frames)?;
            let samples = audio.samples[..frames * layout.hop].to_vec();
            AudioPair::new(format!("tune {i}"), features, samples, layout.sample_rate)
        })
        .collect()
}

/// The data of a tiny run of one kind.
pub struct Tiny {
    pub kind: Kind,
    pub encoding: Encoding,
    pub train: Box<dyn Batches>,
    pub valid: Box<dyn Batches>,
}

/// Tiny data for a kind (the character kind's vocabulary is `encoding`).
pub fn tiny(kind: Kind) -> Result<Tiny> {
    Ok(match kind {
        Kind::Chars => {
            let text = tiny_tunes(30);
            let vocab = CharVocab::from_texts([text.as_str()]);
            let ids = vocab.encode(&text)?;
            let cut = ids.len() * 4 / 5;
            Tiny {
                kind,
                train: Box::new(SequenceBatches::new(ids[..cut].to_vec(), 16, 4)?),
                valid: Box::new(SequenceBatches::new(ids[cut..].to_vec(), 16, 4)?),
                encoding: vocab.into(),
            }
        }
        Kind::Window | Kind::WindowAttention => {
            let scores = tiny_scores(24)?;
            let vocab = NoteVocab::build(&scores[..20], &NoteVocabConfig::default())?;
            let pieces: Vec<Vec<i64>> = scores
                .iter()
                .map(|s| vocab.encode_score(s))
                .collect::<Result<_>>()?;
            Tiny {
                kind,
                train: Box::new(WindowBatches::from_pieces(pieces[..20].to_vec(), 6, 8)?),
                valid: Box::new(WindowBatches::from_pieces(pieces[20..].to_vec(), 6, 16)?),
                encoding: vocab.into(),
            }
        }
        Kind::Roll | Kind::PitchRoll => {
            let config = PianoRollConfig {
                steps_per_quarter: 2,
                low_pitch: 55,
                num_pitches: 36,
                transpose_to_c: true,
            };
            let rolls: Vec<PianoRoll> = tiny_scores(24)?
                .iter()
                .map(|s| PianoRoll::from_score(s, &config))
                .collect::<Result<_>>()?;
            Tiny {
                kind,
                train: Box::new(RollBatches::new(&rolls[..20], 8, 4)?),
                valid: Box::new(RollBatches::new(&rolls[20..], 0, 4)?),
                encoding: config.into(),
            }
        }
        Kind::Audio | Kind::Samples => {
            // The waveform model reads clips of 40 frames (0.16 s); the sample-level model 8
            // frames (512 samples), as it steps through every sample.
            let (frames, clip) = if kind == Kind::Audio {
                (160, 40)
            } else {
                (32, 8)
            };
            let pairs = tiny_audio_pairs(5, frames)?;
            Tiny {
                kind,
                train: Box::new(AudioClips::new(pairs[..4].to_vec(), clip, 4)?),
                valid: Box::new(AudioClips::new(pairs[4..].to_vec(), clip, 4)?),
                encoding: audio_layout().into(),
            }
        }
    })
}

pub fn train_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        adam: AdamConfig {
            lr: 1e-2,
            ..AdamConfig::default()
        },
        seed: 11,
        verbose: false,
        ..TrainConfig::default()
    }
}

/// A fresh tiny model of the kind (dropout on, so the random state matters).
pub fn tiny_model(data: &Tiny) -> Result<Box<dyn Model>> {
    let vocab = data.encoding.vocab_size().unwrap_or(0);
    seeded(11, || -> Result<Box<dyn Model>> {
        Ok(match data.kind {
            Kind::Chars => Box::new(LstmLm::new(
                LstmConfig {
                    dropout: 0.2,
                    ..LstmConfig::debug(vocab)
                },
                Device::Cpu,
            )?),
            Kind::Window | Kind::WindowAttention => Box::new(WindowLstm::new(
                WindowConfig {
                    dropout: 0.2,
                    ..WindowConfig::debug(vocab, data.kind == Kind::WindowAttention)
                },
                Device::Cpu,
            )?),
            Kind::Roll => Box::new(FrameLstm::new(
                FrameLstmConfig {
                    dropout: 0.2,
                    input_dropout: 0.1,
                    skip_connection: true,
                    pitch_autoregression: true,
                    positive_weight: Some(4.0),
                    ..FrameLstmConfig::debug(36)
                },
                Device::Cpu,
            )?),
            Kind::PitchRoll => Box::new(PitchLstm::new(
                PitchLstmConfig {
                    low_pitch: 55,
                    dropout: 0.2,
                    positive_weight: Some(4.0),
                    key_range: Some([4, 31]),
                    ..PitchLstmConfig::debug(36)
                },
                Device::Cpu,
            )?),
            Kind::Audio => Box::new(Ddsp::new(DdspConfig::debug(&audio_layout()), Device::Cpu)?),
            Kind::Samples => Box::new(SampleRnn::new(
                SampleRnnConfig::debug(&audio_layout()),
                Device::Cpu,
            )?),
        })
    })
}

/// A fresh trainer with a tiny model of the data's kind.
pub fn tiny_trainer(data: &Tiny, epochs: usize) -> Result<Trainer> {
    Ok(Trainer::from_boxed(tiny_model(data)?, train_config(epochs)))
}

/// Checkpoints into `dir/run` every `every_steps` steps, quietly.
pub fn checkpointer(dir: &Path, encoding: &Encoding, every_steps: Option<u64>) -> Checkpointer {
    Checkpointer::new(
        CheckpointConfig {
            every_steps,
            keep_last: 0,
            handle_signals: false,
            verbose: false,
            ..CheckpointConfig::new(dir, "run")
        },
        encoding.clone(),
    )
}

/// A fresh tiny trainer that checkpoints into `dir/run` after every epoch, trained for `epochs`
/// epochs (resuming from what `dir/run` holds already).
pub fn trained_with_checkpoints(data: &Tiny, dir: &Path, epochs: usize) -> Result<Trainer> {
    let mut trainer =
        tiny_trainer(data, epochs)?.with_callback(checkpointer(dir, &data.encoding, None));
    fit(&mut trainer, data)?;
    Ok(trainer)
}

/// Where the trainer's checkpointer resumed from, if it resumed.
pub fn resume_report(trainer: &Trainer) -> Option<ResumeReport> {
    trainer
        .callback::<Checkpointer>()
        .and_then(|c| c.resumed.clone())
}

/// Trains `trainer` on the tiny data.
pub fn fit(trainer: &mut Trainer, data: &Tiny) -> Result<()> {
    trainer.fit(data.train.as_ref(), data.valid.as_ref())?;
    Ok(())
}

/// True when every parameter is equal bit for bit.
pub fn same_weights(a: &dyn Model, b: &dyn Model) -> bool {
    let (a, b) = (a.named_parameters(), b.named_parameters());
    a.len() == b.len()
        && a.iter().zip(&b).all(|((na, ta), (nb, tb))| {
            na == nb && {
                let va = Vec::<f32>::try_from(&ta.flatten(0, -1)).unwrap_or_default();
                let vb = Vec::<f32>::try_from(&tb.flatten(0, -1)).unwrap_or_default();
                va.len() == vb.len() && va.iter().zip(&vb).all(|(x, y)| x.to_bits() == y.to_bits())
            }
        })
}

/// The parts of a history that do not depend on timing.
pub fn losses(history: &History) -> Vec<(usize, u64, u64, u64)> {
    history
        .records
        .iter()
        .map(|r| {
            (
                r.epoch,
                r.train_loss.to_bits(),
                r.valid_loss.to_bits(),
                r.fraction.to_bits(),
            )
        })
        .collect()
}
