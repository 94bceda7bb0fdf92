//! Neural audio in the render layer: a neural synthesizer's rendering of any score as [`Audio`].
//! The training pairs it learns from and the references it is measured against (the SoundFont and
//! the built-in synthesizer on the same notes) are made in the data layer
//! ([`crate::data::audio_pairs`]) and kept here under their old names too.

pub use crate::data::audio_pairs::{
    builtin_audio, layout_options, pair_audio, reference_audio, rms, training_pairs,
    training_soundfont, with_program,
};

use crate::audio::Audio;
use crate::encode::Encoding;
use crate::generate::{render_audio, RenderedAudio, SampleConfig};
use crate::model::Model;
use crate::score::Score;
use anyhow::Result;

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
