//! Neural audio in the render layer: a neural synthesizer's rendering of any score as [`Audio`],
//! and the synthesizers that ship with the crate ([`listen_neural`]).
//! The training pairs it learns from and the references it is measured against (the SoundFont and
//! the built-in synthesizer on the same notes) are made in the data layer
//! ([`crate::data::audio_pairs`]) and kept here under their old names too.

pub use crate::data::audio_pairs::{
    builtin_audio, layout_options, pair_audio, reference_audio, rms, training_pairs,
    training_soundfont, with_program,
};

use crate::audio::Audio;
use crate::encode::Encoding;
use crate::generate::{open_for_generation, render_audio, RenderedAudio, SampleConfig};
use crate::model::Model;
use crate::score::Score;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// The notes of `score` rendered by the neural synthesizer `model` (whose encoding is
/// `encoding`), as mono [`Audio`], with the time it took.
pub fn neural_audio(
    model: &dyn Model,
    encoding: &Encoding,
    score: &Score,
    config: &SampleConfig,
) -> Result<(Audio, RenderedAudio)> {
    let rendered = render_audio(model, encoding, score, config)?;
    let audio = Audio {
        sample_rate: rendered.sample_rate,
        channels: 1,
        samples: rendered.samples.clone(),
    };
    Ok((audio, rendered))
}

/// The neural synthesizers that ship with the crate, trained by the project on its own SoundFont
/// renderings (`models/<name>/README.md` has each one's recipe and figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShippedSynth {
    /// General MIDI program 0, up to 8 voices, 22,050 Hz, trained on JSB chorales.
    Piano,
    /// General MIDI program 73, 2 voices, 16 kHz, trained on tunes of the ABC corpus.
    Flute,
}

impl ShippedSynth {
    /// The folder name under `models/`.
    pub fn name(self) -> &'static str {
        match self {
            ShippedSynth::Piano => "piano_synth",
            ShippedSynth::Flute => "flute_synth",
        }
    }

    /// Where the synthesizer lies: `models/<name>` of the crate's source tree.
    pub fn path(self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(self.name())
    }
}

/// Plays any score through a shipped neural synthesizer: every pitched note on its instrument
/// (drums left out), mono, at its sample rate, on the CPU. For a generated piece, pass its score
/// (`piece.score`).
///
/// Notes beyond the synthesizer's voices are cut short, as its training data were.
///
/// # Errors
/// The synthesizer's folder is missing or damaged (the message names it).
pub fn listen_neural(score: &Score, synth: ShippedSynth) -> Result<Audio> {
    let generator = open_shipped(synth)?;
    let (audio, _) = neural_audio(
        generator.model.as_ref(),
        &generator.encoding,
        score,
        &SampleConfig::default(),
    )?;
    Ok(audio)
}

/// A score through a shipped neural synthesizer beside the SoundFont playing the same notes on the
/// same instrument (what the synthesizer learned from), each with its spectrogram and a player:
/// the one call a notebook makes to hear its music through the neural synthesizer.
///
/// # Errors
/// The synthesizer's folder is missing or damaged, or no SoundFont is found (`make setup`).
pub fn neural_beside_soundfont(score: &Score, synth: ShippedSynth) -> Result<crate::render::Html> {
    let generator = open_shipped(synth)?;
    let layout = generator
        .encoding
        .audio_features()
        .context("a shipped synthesizer reads note features")?;
    let soundfont = reference_audio(score, layout, None)?;
    let (neural, _) = neural_audio(
        generator.model.as_ref(),
        &generator.encoding,
        score,
        &SampleConfig::default(),
    )?;
    crate::render::spectrogram::compare_audio_html(&[
        ("SoundFont", &soundfont),
        (&format!("neural ({})", synth.name()), &neural),
    ])
}

/// Loads a shipped synthesizer on the CPU; errors name its folder.
fn open_shipped(synth: ShippedSynth) -> Result<crate::generate::Generator> {
    let path = synth.path();
    open_for_generation(&path, tch::Device::Cpu)
        .with_context(|| format!("loading the shipped synthesizer {}", path.display()))
}
