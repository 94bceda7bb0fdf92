//! Audio from scores, below everything that learns from it: the [`Audio`] buffer and WAV files
//! ([`wave`]), the two score synthesizers ([`synth`]: a General MIDI SoundFont through
//! rustysynth, and a small built-in additive synthesizer), and short-time spectra ([`spectrum`]).
//!
//! It needs only [`crate::score`], so every layer above can use it: `data` renders its training
//! pairs for the neural synthesizer here, `metrics::audio` measures renderings with its spectra,
//! `render` plays and draws audio. The neural synthesizer itself is a model (`model::ddsp`, with
//! its differentiable oscillators in `model::harmonic`), and its renderings are generated
//! (`generate::render_audio`).

pub mod spectrum;
pub mod synth;
pub mod wave;

pub use spectrum::{power_frames, Spectrogram};
pub use synth::{
    find_soundfont, pitch_to_hz, render_score, render_score_builtin, render_score_soundfont,
    RenderOptions, SOUNDFONT_ENV,
};
pub use wave::Audio;
