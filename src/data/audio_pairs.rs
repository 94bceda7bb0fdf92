//! The neural synthesizer's training data, made by the crate itself: scores rendered with the
//! SoundFont (dry, mono, at the layout's sample rate) and aligned with their note features
//! ([`training_pairs`]), and the references a neural rendering is measured against (the SoundFont,
//! [`reference_audio`], and the built-in synthesizer on the same notes, [`builtin_audio`]).

use super::AudioPair;
use crate::audio::{
    find_soundfont, render_score_builtin, render_score_soundfont, Audio, RenderOptions,
};
use crate::encode::AudioFeatureConfig;
use crate::score::Score;
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The score with every pitched track played by `program` and the drum tracks left out: the notes
/// a model trained on `program` imitates.
pub fn with_program(score: &Score, program: u8) -> Score {
    let mut out = score.clone();
    out.tracks.retain(|t| !t.is_drum);
    for track in &mut out.tracks {
        track.program = program.min(127);
    }
    out
}

/// The SoundFont the training audio comes from: `soundfont`, else the one
/// [`find_soundfont`] finds; an error says how to get one.
pub fn training_soundfont(soundfont: Option<&Path>) -> Result<PathBuf> {
    soundfont
        .map(Path::to_path_buf)
        .or_else(find_soundfont)
        .context(
            "neural audio trains on SoundFont renderings, and no SoundFont was found: install the \
         pretty_midi pip package in .venv (make setup), or set TUNESMITH_SOUNDFONT",
        )
}

/// Options of the renderings a layout goes with: its sample rate, its tail, no reverb or chorus,
/// no normalisation (one gain for every piece, so loudness follows velocity).
pub fn layout_options(layout: &AudioFeatureConfig, soundfont: Option<PathBuf>) -> RenderOptions {
    RenderOptions {
        sample_rate: layout.sample_rate,
        soundfont,
        normalize_peak: 0.0,
        tail_seconds: layout.tail_seconds as f32,
        reverb: false,
    }
}

/// Mono samples fitted to `frames × hop` (cut, or padded with silence).
fn fit(mut samples: Vec<f32>, frames: usize, hop: usize) -> Vec<f32> {
    samples.resize(frames * hop, 0.0);
    samples
}

/// The SoundFont rendering of `score` as `layout` sets it (its program, sample rate, dry, mono),
/// `frames_for(score) × hop` samples long: the reference for neural audio.
pub fn reference_audio(
    score: &Score,
    layout: &AudioFeatureConfig,
    soundfont: Option<&Path>,
) -> Result<Audio> {
    let sf2 = training_soundfont(soundfont)?;
    let score = with_program(score, layout.program);
    let audio = render_score_soundfont(&score, &sf2, &layout_options(layout, Some(sf2.clone())))?;
    let frames = layout.frames_for(&score);
    Ok(Audio {
        sample_rate: layout.sample_rate,
        channels: 1,
        samples: fit(audio.to_mono(), frames, layout.hop),
    })
}

/// The built-in synthesizer's rendering of the same notes, mono, as long as the reference. With
/// `match_loudness` set to a reference, it is scaled to the reference's RMS level (the built-in
/// synthesizer's best chance: it has no notion of the SoundFont's gain).
pub fn builtin_audio(
    score: &Score,
    layout: &AudioFeatureConfig,
    match_loudness: Option<&Audio>,
) -> Result<Audio> {
    let score = with_program(score, layout.program);
    let audio = render_score_builtin(&score, &layout_options(layout, None))?;
    let frames = layout.frames_for(&score);
    let mut samples = fit(audio.to_mono(), frames, layout.hop);
    if let Some(reference) = match_loudness {
        let gain = rms(&reference.samples) / rms(&samples).max(1e-12);
        samples.iter_mut().for_each(|s| *s *= gain as f32);
    }
    Ok(Audio {
        sample_rate: layout.sample_rate,
        channels: 1,
        samples,
    })
}

/// Root mean square of samples (0 for none).
pub fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Training pairs: each named score rendered with the SoundFont as `layout` sets it, with its
/// note features, aligned to the sample (in parallel). A score that cannot be rendered is an
/// error naming it.
pub fn training_pairs(
    scores: &[(String, Score)],
    layout: &AudioFeatureConfig,
    soundfont: Option<&Path>,
) -> Result<Vec<AudioPair>> {
    layout.validate()?;
    let sf2 = training_soundfont(soundfont)?;
    scores
        .par_iter()
        .map(|(name, score)| {
            let audio = reference_audio(score, layout, Some(&sf2))
                .with_context(|| format!("cannot render {name}"))?;
            let frames = audio.samples.len() / layout.hop;
            let features = layout
                .features(&with_program(score, layout.program), frames)
                .with_context(|| format!("cannot make the note features of {name}"))?;
            AudioPair::new(name.clone(), features, audio.samples, layout.sample_rate)
        })
        .collect()
}

/// An [`AudioPair`]'s audio, to listen to.
pub fn pair_audio(pair: &AudioPair) -> Audio {
    Audio {
        sample_rate: pair.sample_rate,
        channels: 1,
        samples: pair.samples.clone(),
    }
}
