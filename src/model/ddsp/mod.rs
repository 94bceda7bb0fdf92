//! A DDSP-style neural synthesizer (Engel et al., ICLR 2020, "Differentiable Digital Signal
//! Processing"): note features per frame → an LSTM per voice → for each voice and frame an
//! amplitude, a distribution over `K` harmonics and the gains of a bank of noise bands → the
//! harmonic-plus-noise synthesizer of [`super::harmonic`] → audio. The loss is the multi-resolution
//! STFT loss ([`super::spectral`]) against the audio the notes were rendered to, so the network
//! learns through the synthesizer.
//!
//! Each voice is one note at a time (the encoding allocates notes to voices), and the voices of a
//! SoundFont sound independently, so one LSTM with shared weights runs over every voice: a learned
//! model of how one note sounds from its onset through its release, whatever voice plays it. The
//! fundamental of each voice is not predicted: it is exact, from the written pitch.
//!
//! Parameter names follow PyTorch's (`input.weight`, `lstm.weight_ih_l0`, …, `hidden.weight`,
//! `head.weight`).

use super::harmonic::{
    exp_sigmoid, harmonic_amplitudes, harmonic_chunk, harmonic_sum_cpu, noise_chunk,
    HarmonicFrames, NoiseTable,
};
use super::inharmonic::{stretched_chunk, stretched_sum_cpu, Inharmonicity};
use super::spectral::{mr_stft_loss, FFT_SIZES};
use super::{linear_layer, AudioStepper, LstmStack, Model, Sizes, Stepper};
use crate::data::Batch;
use crate::encode::audio::{AudioFeatureConfig, FEATURES_PER_VOICE, PITCH, USED};
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

/// The architecture name of [`Ddsp`] in checkpoints.
pub const ARCHITECTURE: &str = "ddsp";

/// Added to the noise logits: the untrained synthesizer starts nearly free of noise (DDSP's
/// initial bias).
const NOISE_BIAS: f64 = -5.0;

/// Frames synthesized at a time when rendering a whole piece (2 s at 250 frames per second).
const RENDER_CHUNK_FRAMES: i64 = 500;

/// Sizes of a [`Ddsp`] model and the audio it makes. (Missing optional fields in JSON take their
/// defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DdspConfig {
    /// Audio samples per second.
    pub sample_rate: u32,
    /// Samples per frame of note features.
    pub hop: i64,
    /// Voices per frame (each with [`FEATURES_PER_VOICE`] values).
    pub voices: i64,
    /// Width of the input layer and of each LSTM layer.
    pub hidden_size: i64,
    /// Number of stacked LSTM layers.
    pub num_layers: i64,
    /// Harmonics per voice.
    pub harmonics: i64,
    /// Noise bands (from 0 Hz to the Nyquist frequency).
    pub noise_bands: i64,
    /// Stretched partials, as a stiff string's ([`Inharmonicity`]); `None` (the default, and
    /// every checkpoint from before it): whole multiples of the fundamental.
    #[serde(default)]
    pub inharmonicity: Option<Inharmonicity>,
}

impl DdspConfig {
    /// A model for the note features `features` with LSTM layers of `hidden_size`.
    pub fn for_features(features: &AudioFeatureConfig, hidden_size: i64, num_layers: i64) -> Self {
        DdspConfig {
            sample_rate: features.sample_rate,
            hop: features.hop as i64,
            voices: features.voices as i64,
            hidden_size,
            num_layers,
            harmonics: 40,
            noise_bands: 32,
            inharmonicity: None,
        }
    }

    /// A tiny model for fast tests.
    pub fn debug(features: &AudioFeatureConfig) -> Self {
        DdspConfig {
            harmonics: 16,
            noise_bands: 8,
            ..Self::for_features(features, 32, 1)
        }
    }

    fn validate(&self) -> Result<()> {
        ensure!(
            self.sample_rate >= 8000,
            "sample_rate must be at least 8000"
        );
        ensure!(self.hop >= 8, "hop must be at least 8 samples");
        ensure!(self.voices >= 1, "voices must be at least 1");
        ensure!(self.hidden_size > 0, "hidden_size must be positive");
        ensure!(self.num_layers > 0, "num_layers must be at least 1");
        ensure!(self.harmonics >= 1, "harmonics must be at least 1");
        ensure!(self.noise_bands >= 2, "noise_bands must be at least 2");
        if let Some(stretch) = &self.inharmonicity {
            stretch.validate()?;
        }
        Ok(())
    }
}

/// What the network asks of the synthesizer for `T` frames of a batch of `B` pieces.
#[derive(Debug)]
pub struct Controls {
    /// Fundamentals of the `B × V` voices in Hz, `[B·V, T]` (0 for a voice never used).
    pub f0_hz: Tensor,
    /// Amplitude of each harmonic of each voice, `[B·V, T, K]`.
    pub harmonics: Tensor,
    /// Gains of the noise bands, the voices combined, `[B, T, bands]`.
    pub noise: Tensor,
}

/// A DDSP-style synthesizer that owns its parameters (so a notebook can keep it).
#[derive(Debug)]
pub struct Ddsp {
    /// The sizes this model was built with.
    pub config: DdspConfig,
    /// The parameters.
    pub vs: nn::VarStore,
    input: (Tensor, Tensor),
    lstm: LstmStack,
    hidden: (Tensor, Tensor),
    head: (Tensor, Tensor),
    noise_table: NoiseTable,
    /// Render the harmonics with the crate's CPU kernel ([`harmonic_sum_cpu`]) when the model is
    /// on the CPU (the default); off, with the tensor path (the reference the kernel is tested
    /// against, and the path on CUDA).
    pub cpu_kernel: bool,
}

impl Ddsp {
    /// Builds a model with freshly initialised parameters on `device`.
    pub fn new(config: DdspConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let _generator = crate::model::torch_rng::hold();
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let f = FEATURES_PER_VOICE as i64;
        let h = config.hidden_size;
        let input = linear_layer(&root.sub("input"), h, f);
        let lstm = LstmStack::new(&root.sub("lstm"), h, h, config.num_layers, 0.0);
        let hidden = linear_layer(&root.sub("hidden"), h, 2 * h);
        let outputs = 1 + config.harmonics + config.noise_bands;
        let head = linear_layer(&root.sub("head"), outputs, h);
        Ok(Ddsp {
            config,
            vs,
            input,
            lstm,
            hidden,
            head,
            noise_table: NoiseTable::new(device),
            cpu_kernel: true,
        })
    }

    /// The synthesizer's controls for note features `[B, T, V·F]`.
    pub fn controls(&self, features: &Tensor) -> Controls {
        let size = features.size();
        let (b, t) = (size[0], size[1]);
        let (v, f) = (self.config.voices, FEATURES_PER_VOICE as i64);
        let k = self.config.harmonics;
        // One sequence per voice: [B·V, T, F].
        let per_voice = features
            .to_kind(Kind::Float)
            .view([b, t, v, f])
            .permute([0, 2, 1, 3])
            .reshape([b * v, t, f]);
        let x = per_voice.linear(&self.input.0, Some(&self.input.1)).relu();
        let (out, _) = self.lstm.run(&x, None, false);
        let y = Tensor::cat(&[out, x], -1)
            .linear(&self.hidden.0, Some(&self.hidden.1))
            .relu()
            .linear(&self.head.0, Some(&self.head.1));
        let used = per_voice.narrow(2, USED as i64, 1).squeeze_dim(-1);
        let f0_hz = pitch_to_hz(&per_voice.narrow(2, PITCH as i64, 1).squeeze_dim(-1)) * &used;
        let amplitude = exp_sigmoid(&y.narrow(2, 0, 1).squeeze_dim(-1)) * &used;
        let harmonics = harmonic_amplitudes(
            &amplitude,
            &y.narrow(2, 1, k),
            &f0_hz,
            f64::from(self.config.sample_rate),
            self.config.inharmonicity.as_ref(),
        );
        let bands = self.config.noise_bands;
        let gains = exp_sigmoid(&(y.narrow(2, 1 + k, bands) + NOISE_BIAS)) * used.unsqueeze(-1);
        // Independent noises add in power: one noise with the root of the summed squared gains.
        let noise = gains
            .square()
            .view([b, v, t, bands])
            .sum_dim_intlist(1, false, Kind::Float)
            .sqrt();
        Controls {
            f0_hz,
            harmonics,
            noise,
        }
    }

    /// Audio `[B, T·hop]` for note features `[B, T, V·F]`: each piece synthesized whole, from
    /// phase 0, piece `i` reading the noise table from its own place.
    pub fn synthesize(&self, features: &Tensor) -> Tensor {
        let controls = self.controls(features);
        let (b, t) = (features.size()[0], features.size()[1]);
        let hop = self.config.hop;
        let last = controls.harmonics.select(1, t - 1);
        let (harmonic, _) = self.harmonic_chunk(
            &controls.f0_hz,
            &controls.harmonics,
            &last,
            &self.zero_phases(controls.f0_hz.size()[0]),
        );
        let voiced = harmonic
            .view([b, self.config.voices, t * hop])
            .sum_dim_intlist(1, false, Kind::Float);
        let gains = Tensor::cat(&[&controls.noise, &controls.noise.narrow(1, t - 1, 1)], 1);
        let offsets: Vec<i64> = (0..b).map(|i| i * 7919 * hop - hop).collect();
        let noise = self.noise_table.read(&offsets, (t + 2) * hop);
        voiced + noise_chunk(&gains, &noise, hop)
    }

    /// How many phases each voice carries: one (whole multiples share the fundamental's), or one
    /// per partial with stretched partials.
    fn phases_per_voice(&self) -> i64 {
        match self.config.inharmonicity {
            Some(_) => self.config.harmonics,
            None => 1,
        }
    }

    /// The phases at the start of a piece for `voices` voices, all zero (Double): `[voices]`, or
    /// `[voices, K]` with stretched partials.
    fn zero_phases(&self, voices: i64) -> Tensor {
        let options = (Kind::Double, self.device());
        match self.config.inharmonicity {
            Some(_) => Tensor::zeros([voices, self.phases_per_voice()], options),
            None => Tensor::zeros([voices], options),
        }
    }

    /// The harmonics of a chunk by the tensor path from the phases `start`, whole multiples or
    /// stretched partials as the config says.
    fn harmonic_chunk(
        &self,
        f0_hz: &Tensor,
        amplitudes: &Tensor,
        next: &Tensor,
        start: &Tensor,
    ) -> (Tensor, Tensor) {
        let (hop, sr) = (self.config.hop, f64::from(self.config.sample_rate));
        match &self.config.inharmonicity {
            Some(stretch) => stretched_chunk(f0_hz, amplitudes, next, start, stretch, hop, sr),
            None => harmonic_chunk(f0_hz, amplitudes, next, start, hop, sr),
        }
    }

    /// Renders a whole piece's features `[T, V·F]` in chunks that carry the phase and read their
    /// neighbours' noise: the same audio as one whole synthesis, in bounded memory.
    fn render_piece(&self, features: &Tensor) -> Result<Vec<f32>> {
        let t = features.size()[0];
        let hop = self.config.hop;
        let sr = f64::from(self.config.sample_rate);
        let v = self.config.voices;
        let controls = self.controls(&features.unsqueeze(0).to(self.device()));
        // On the CPU the harmonics are summed by the sample-by-sample kernel; elsewhere (CUDA) by
        // the tensor path, whose [voices, frames, hop, harmonics] sines suit a GPU. The kernel
        // holds no such tensor, so it sums the whole piece at once (its last frame ramps to
        // itself, as the tensor path's last chunk does); the chunks below add the noise.
        let on_cpu = self.cpu_kernel && self.device() == Device::Cpu;
        let mut out = vec![0.0f32; (t * hop) as usize];
        if on_cpu {
            let flat = |x: &Tensor| -> Result<Vec<f32>> {
                Ok(Vec::<f32>::try_from(
                    x.to_kind(Kind::Float).flatten(0, -1).to_device(Device::Cpu),
                )?)
            };
            let (f0, amplitudes) = (flat(&controls.f0_hz)?, flat(&controls.harmonics)?);
            let last = flat(&controls.harmonics.select(1, t - 1))?;
            let frames = HarmonicFrames {
                f0_hz: &f0,
                amplitudes: &amplitudes,
                next: &last,
                voices: v as usize,
                frames: t as usize,
                harmonics: self.config.harmonics as usize,
            };
            let mut phases = vec![0.0; (v * self.phases_per_voice()) as usize];
            match &self.config.inharmonicity {
                Some(stretch) => {
                    stretched_sum_cpu(&frames, &mut phases, stretch, hop as usize, sr, &mut out)
                }
                None => harmonic_sum_cpu(&frames, &mut phases, hop as usize, sr, &mut out),
            }
        }
        let mut phase = self.zero_phases(v);
        let mut from = 0;
        while from < t {
            let len = RENDER_CHUNK_FRAMES.min(t - from);
            let next = (from + len).min(t - 1);
            let gains = Tensor::cat(
                &[
                    controls.noise.narrow(1, from, len),
                    controls.noise.narrow(1, next, 1),
                ],
                1,
            );
            let noise = self.noise_table.read(&[from * hop - hop], (len + 2) * hop);
            let mut chunk = noise_chunk(&gains, &noise, hop);
            if !on_cpu {
                let (harmonic, end) = self.harmonic_chunk(
                    &controls.f0_hz.narrow(1, from, len),
                    &controls.harmonics.narrow(1, from, len),
                    &controls.harmonics.select(1, next),
                    &phase,
                );
                phase = end;
                chunk += harmonic.sum_dim_intlist(0, true, Kind::Float);
            }
            let samples = Vec::<f32>::try_from(chunk.view([-1]).to_device(Device::Cpu))?;
            let span = &mut out[(from * hop) as usize..][..samples.len()];
            span.iter_mut().zip(samples).for_each(|(o, x)| *o += x);
            from += len;
        }
        Ok(out)
    }
}

/// Hz of pitch features (see [`crate::encode::audio::pitch_feature_to_hz`]), in tensor operations.
fn pitch_to_hz(feature: &Tensor) -> Tensor {
    ((feature * 24.0 - 9.0) * (std::f64::consts::LN_2 / 12.0)).exp() * 440.0
}

impl Model for Ddsp {
    model_basics!();

    fn sizes(&self) -> Sizes {
        Sizes::Audio {
            voices: self.config.voices as usize,
            hop: self.config.hop as usize,
            sample_rate: self.config.sample_rate,
        }
    }

    /// The multi-resolution STFT loss of the synthesized clips against the rendered ones.
    fn loss(&self, batch: &Batch, _train: bool) -> Tensor {
        let audio = self.synthesize(&batch.inputs);
        mr_stft_loss(&audio, &batch.targets.to_kind(Kind::Float), &FFT_SIZES)
    }

    fn stepper(&self) -> Stepper<'_> {
        Stepper::Audio(self)
    }
}

impl AudioStepper for Ddsp {
    fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }

    fn hop(&self) -> usize {
        self.config.hop as usize
    }

    fn frame_width(&self) -> usize {
        (self.config.voices as usize) * FEATURES_PER_VOICE
    }

    fn render(
        &self,
        features: &Tensor,
        _draw: &mut dyn FnMut(&[f64]) -> Result<usize>,
    ) -> Result<Vec<f32>> {
        self.check_features(features)?;
        if features.size()[0] == 0 {
            return Ok(Vec::new());
        }
        tch::no_grad(|| self.render_piece(features))
    }
}

impl std::fmt::Display for Ddsp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        write!(
            f,
            "Ddsp: per voice {FEATURES_PER_VOICE} note features → linear {FEATURES_PER_VOICE}→{h} + relu → LSTM {l}×{h} → linear → amplitude, {k} {partials}, {n} noise bands; {v} voices, harmonic-plus-noise synthesis at {sr} Hz ({hop} samples a frame); {p} parameters on {d:?}",
            partials = match &c.inharmonicity {
                Some(s) => format!("stretched partials (B = {:.1e} at A4, ×{} an octave)", s.at_a4, s.per_octave),
                None => "harmonics".to_string(),
            },
            h = c.hidden_size,
            l = c.num_layers,
            k = c.harmonics,
            n = c.noise_bands,
            v = c.voices,
            sr = c.sample_rate,
            hop = c.hop,
            p = self.parameter_count(),
            d = self.device()
        )
    }
}

#[cfg(test)]
pub(crate) mod tests;
