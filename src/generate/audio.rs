//! Audio from a neural synthesizer: the notes of any score (ABC, MIDI, a model's piece) as note
//! features, rendered by the model to a waveform. A synthesizer that predicts the waveform
//! directly (DDSP) ignores the sampling settings; a sample-level model draws every sample with
//! the one sampler ([`super::sampler`]): temperature, top-k, top-p and the seed mean what they
//! mean for every other model.

use super::sampler::{next_token_distribution, sample_index};
use super::{Primer, SampleConfig};
use crate::encode::Encoding;
use crate::model::{Model, Stepper};
use crate::score::Score;
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;
use tch::Tensor;

/// A waveform a model rendered, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedAudio {
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
    /// Seconds the model took (note features to samples).
    pub seconds_taken: f64,
}

impl RenderedAudio {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Seconds of audio made per second of computing: above 1 is faster than real time.
    pub fn real_time_factor(&self) -> f64 {
        self.seconds() / self.seconds_taken.max(1e-9)
    }
}

/// Renders the notes of `score` with the neural synthesizer `model`, reading note features as
/// `encoding` lays them out (its sample rate, hop, voices; the tail after the last note).
pub fn render_audio(
    model: &dyn Model,
    encoding: &Encoding,
    score: &Score,
    config: &SampleConfig,
) -> Result<RenderedAudio> {
    config.validate()?;
    crate::checkpoint::check_encoding(model, encoding)?;
    let Stepper::Audio(stepper) = model.stepper() else {
        bail!(
            "the {} model writes notes, not audio: render its pieces with render::render_score",
            model.architecture()
        );
    };
    let layout = encoding
        .audio_features()
        .context("an audio model needs the audio encoding")?;
    let frames = layout.frames_for(score);
    let features = layout.features(score, frames)?;
    let width = features.frame_width() as i64;
    let inputs = Tensor::from_slice(&features.values).view([frames as i64, width]);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut draw = |logits: &[f64]| -> Result<usize> {
        let probs = next_token_distribution(logits, config)?;
        Ok(sample_index(&probs, &mut rng) as usize)
    };
    let started = Instant::now();
    let samples = stepper.render(&inputs, &mut draw).with_context(|| {
        format!(
            "the {} model could not render the notes",
            model.architecture()
        )
    })?;
    Ok(RenderedAudio {
        samples,
        sample_rate: stepper.sample_rate(),
        seconds_taken: started.elapsed().as_secs_f64(),
    })
}

/// Renders the music of a primer (ABC, a MIDI file or a score) with `model`.
pub fn render_primer(
    model: &dyn Model,
    encoding: &Encoding,
    music: &Primer,
    config: &SampleConfig,
) -> Result<RenderedAudio> {
    let score = music
        .as_score()?
        .context("only music (ABC, MIDI, a score) can be rendered to audio")?;
    render_audio(model, encoding, &score, config)
}
