//! A sample-level model after SampleRNN (Mehri et al., ICLR 2017, "SampleRNN: An Unconditional
//! End-to-End Neural Audio Generation Model"), conditioned on the same note features as
//! [`super::Ddsp`]: audio as 8-bit mu-law samples, predicted one at a time.
//!
//! Two tiers. The **frame tier** is an LSTM that steps once per frame of `hop` samples: it reads
//! the previous frame's samples and this frame's note features, and gives each sample position of
//! the frame its own conditioning vector (a learned up-sampling). The **sample tier** is an MLP
//! that reads the embeddings of the previous `receptive` samples (a convolution over them, as in
//! the paper) plus its conditioning vector and outputs the logits of 256 mu-law classes. Training
//! reads the true samples (teacher forcing) and minimises the cross-entropy in nats per sample;
//! bits per sample against the 8-bit ceiling say how much it has learned. Generation draws every
//! sample with the one sampler (temperature, top-k, top-p, seed): 16,000 draws per second of audio,
//! which is why quality at this scale needs a GPU.

use super::{
    embedding_layer, linear_layer, AudioStepper, LstmStack, LstmState, Model, Sizes, Stepper,
};
use crate::data::Batch;
use crate::encode::audio::{AudioFeatureConfig, FEATURES_PER_VOICE};
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Kind, Reduction, Tensor};

/// The architecture name of [`SampleRnn`] in checkpoints.
pub const ARCHITECTURE: &str = "sample_rnn";

/// Mu-law classes (8 bits).
pub const CLASSES: i64 = 256;
/// The mu of the mu-law.
const MU: f64 = 255.0;

/// Sizes of a [`SampleRnn`]. (Missing optional fields in JSON take their defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleRnnConfig {
    /// Audio samples per second.
    pub sample_rate: u32,
    /// Samples per frame (of note features and of the frame tier).
    pub hop: i64,
    /// Voices per frame of note features.
    pub voices: i64,
    /// Width of the frame-tier LSTM.
    pub hidden_size: i64,
    /// Stacked frame-tier LSTM layers.
    pub num_layers: i64,
    /// Width of a sample's embedding.
    pub embed_dim: i64,
    /// Previous samples the sample tier reads.
    pub receptive: i64,
    /// Width of the sample tier.
    pub mlp_size: i64,
}

impl SampleRnnConfig {
    /// A model for the note features `features`.
    pub fn for_features(features: &AudioFeatureConfig, hidden_size: i64) -> Self {
        SampleRnnConfig {
            sample_rate: features.sample_rate,
            hop: features.hop as i64,
            voices: features.voices as i64,
            hidden_size,
            num_layers: 1,
            embed_dim: 16,
            receptive: 16,
            mlp_size: 128,
        }
    }

    /// A tiny model for fast tests.
    pub fn debug(features: &AudioFeatureConfig) -> Self {
        SampleRnnConfig {
            embed_dim: 8,
            receptive: 8,
            mlp_size: 32,
            ..Self::for_features(features, 32)
        }
    }

    fn validate(&self) -> Result<()> {
        ensure!(
            self.sample_rate >= 8000,
            "sample_rate must be at least 8000"
        );
        ensure!(self.hop >= 1, "hop must be at least 1 sample");
        ensure!(self.voices >= 1, "voices must be at least 1");
        for (name, v) in [
            ("hidden_size", self.hidden_size),
            ("num_layers", self.num_layers),
            ("embed_dim", self.embed_dim),
            ("receptive", self.receptive),
            ("mlp_size", self.mlp_size),
        ] {
            ensure!(v > 0, "{name} must be positive");
        }
        Ok(())
    }
}

/// Mu-law classes `0..256` of samples in `[-1, 1]` (clamped).
pub fn mu_law_encode(audio: &Tensor) -> Tensor {
    let x = audio.to_kind(Kind::Float).clamp(-1.0, 1.0);
    let companded = x.sign() * (x.abs() * MU).log1p() / MU.ln_1p();
    ((companded + 1.0) * ((CLASSES - 1) as f64 / 2.0))
        .round()
        .to_kind(Kind::Int64)
}

/// Samples of mu-law classes (the centre of each class).
pub fn mu_law_decode(classes: &Tensor) -> Tensor {
    let companded = classes.to_kind(Kind::Float) * (2.0 / (CLASSES - 1) as f64) - 1.0;
    companded.sign() * ((companded.abs() * MU.ln_1p()).exp() - 1.0) / MU
}

/// The companded value of classes in `[-1, 1]` (what the frame tier reads).
fn companded(classes: &Tensor) -> Tensor {
    classes.to_kind(Kind::Float) * (2.0 / (CLASSES - 1) as f64) - 1.0
}

/// The class of silence.
const SILENCE: i64 = 128;

/// A two-tier sample-level model that owns its parameters.
#[derive(Debug)]
pub struct SampleRnn {
    /// The sizes this model was built with.
    pub config: SampleRnnConfig,
    /// The parameters.
    pub vs: nn::VarStore,
    frame_input: (Tensor, Tensor),
    lstm: LstmStack,
    upsample: (Tensor, Tensor),
    embed: Tensor,
    context: (Tensor, Tensor),
    hidden: (Tensor, Tensor),
    head: (Tensor, Tensor),
}

impl SampleRnn {
    /// Builds a model with freshly initialised parameters on `device`.
    pub fn new(config: SampleRnnConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let _generator = crate::model::torch_rng::hold();
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let c = &config;
        let width = c.voices * FEATURES_PER_VOICE as i64;
        let frame_input = linear_layer(&root.sub("frame_input"), c.hidden_size, c.hop + width);
        let lstm = LstmStack::new(
            &root.sub("lstm"),
            c.hidden_size,
            c.hidden_size,
            c.num_layers,
            0.0,
        );
        let upsample = linear_layer(&root.sub("upsample"), c.hop * c.mlp_size, c.hidden_size);
        let embed = embedding_layer(&root.sub("embed"), CLASSES, c.embed_dim);
        let bound = 1.0 / ((c.embed_dim * c.receptive) as f64).sqrt();
        let uniform = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let context_path = root.sub("context");
        let context = (
            context_path.var("weight", &[c.mlp_size, c.embed_dim, c.receptive], uniform),
            context_path.var("bias", &[c.mlp_size], uniform),
        );
        let hidden = linear_layer(&root.sub("hidden"), c.mlp_size, c.mlp_size);
        let head = linear_layer(&root.sub("head"), CLASSES, c.mlp_size);
        Ok(SampleRnn {
            config,
            vs,
            frame_input,
            lstm,
            upsample,
            embed,
            context,
            hidden,
            head,
        })
    }

    /// The frame tier: previous frames' classes `[B, T, hop]` and note features `[B, T, W]` →
    /// conditioning `[B, T, hop, mlp]` and the LSTM state after the last frame.
    fn frame_tier(
        &self,
        previous: &Tensor,
        features: &Tensor,
        state: Option<&LstmState>,
    ) -> (Tensor, LstmState) {
        let size = previous.size();
        let (b, t) = (size[0], size[1]);
        let x = Tensor::cat(&[companded(previous), features.to_kind(Kind::Float)], -1)
            .linear(&self.frame_input.0, Some(&self.frame_input.1))
            .relu();
        let (out, state) = self.lstm.run(&x, state, false);
        let conditioning = out.linear(&self.upsample.0, Some(&self.upsample.1)).view([
            b,
            t,
            self.config.hop,
            self.config.mlp_size,
        ]);
        (conditioning, state)
    }

    /// The sample tier's output from its pre-activation: logits `[.., 256]`.
    fn sample_head(&self, pre: &Tensor) -> Tensor {
        pre.relu()
            .linear(&self.hidden.0, Some(&self.hidden.1))
            .relu()
            .linear(&self.head.0, Some(&self.head.1))
    }

    /// Logits `[B, N, 256]` of every sample of audio `[B, N]` given the samples before it and the
    /// note features `[B, T, W]` (`N = T × hop`), and the classes `[B, N]` they predict.
    pub fn logits(&self, features: &Tensor, audio: &Tensor) -> (Tensor, Tensor) {
        let c = &self.config;
        let classes = mu_law_encode(audio);
        let (b, n) = (classes.size()[0], classes.size()[1]);
        let t = n / c.hop;
        let silence = classes.narrow(1, 0, c.hop).full_like(SILENCE);
        let previous =
            Tensor::cat(&[&silence, &classes.narrow(1, 0, n - c.hop)], 1).view([b, t, c.hop]);
        let (conditioning, _) = self.frame_tier(&previous, features, None);
        let conditioning = conditioning.view([b, n, c.mlp_size]);
        let padded = Tensor::cat(
            &[
                classes
                    .narrow(1, 0, 1)
                    .full_like(SILENCE)
                    .repeat([1, c.receptive]),
                classes.shallow_clone(),
            ],
            1,
        );
        let embedded =
            self.embed
                .index_select(0, &padded.view([-1]))
                .view([b, n + c.receptive, c.embed_dim]);
        let context = embedded
            .transpose(1, 2)
            .conv1d(&self.context.0, Some(&self.context.1), [1], [0], [1], 1)
            .narrow(2, 0, n)
            .transpose(1, 2);
        (self.sample_head(&(context + conditioning)), classes)
    }

    /// Renders note features `[T, W]` sample by sample, drawing each with `draw`.
    fn render_samples(
        &self,
        features: &Tensor,
        draw: &mut dyn FnMut(&[f64]) -> Result<usize>,
    ) -> Result<Vec<f32>> {
        let c = &self.config;
        let (t, hop, q) = (features.size()[0], c.hop as usize, c.receptive as usize);
        let device = self.device();
        let weight = self
            .context
            .0
            .permute([0, 2, 1])
            .reshape([c.mlp_size, c.receptive * c.embed_dim]);
        let mut history: Vec<i64> = vec![SILENCE; q];
        let mut previous: Vec<i64> = vec![SILENCE; hop];
        let mut state: Option<LstmState> = None;
        let mut out = Vec::with_capacity(t as usize * hop);
        for frame in 0..t {
            let prev = Tensor::from_slice(&previous).view([1, 1, c.hop]).to(device);
            let feats = features.get(frame).view([1, 1, -1]).to(device);
            let (conditioning, next) = self.frame_tier(&prev, &feats, state.as_ref());
            state = Some(next);
            let conditioning = conditioning.view([c.hop, c.mlp_size]);
            for (j, slot) in previous.iter_mut().enumerate() {
                let ids = Tensor::from_slice(&history[history.len() - q..]).to(device);
                let context = self.embed.index_select(0, &ids).reshape([-1]);
                let pre = weight.mv(&context) + &self.context.1 + conditioning.get(j as i64);
                let logits = Vec::<f64>::try_from(
                    self.sample_head(&pre)
                        .to_kind(Kind::Double)
                        .to_device(Device::Cpu),
                )?;
                let class = draw(&logits)?.min(CLASSES as usize - 1) as i64;
                history.push(class);
                *slot = class;
            }
            history.drain(..history.len() - q);
            out.extend(Vec::<f32>::try_from(mu_law_decode(&Tensor::from_slice(
                &previous,
            )))?);
        }
        Ok(out)
    }
}

impl Model for SampleRnn {
    model_basics!();

    fn sizes(&self) -> Sizes {
        Sizes::Audio {
            voices: self.config.voices as usize,
            hop: self.config.hop as usize,
            sample_rate: self.config.sample_rate,
        }
    }

    /// Cross-entropy of the mu-law classes of the batch's audio, nats per sample.
    fn loss(&self, batch: &Batch, _train: bool) -> Tensor {
        let (logits, classes) = self.logits(&batch.inputs, &batch.targets);
        logits.view([-1, CLASSES]).cross_entropy_loss::<Tensor>(
            &classes.view([-1]),
            None,
            Reduction::Mean,
            -100,
            0.0,
        )
    }

    /// Share of samples whose most likely class is the right one.
    fn accuracy(&self, batch: &Batch) -> Option<f64> {
        let (logits, classes) = self.logits(&batch.inputs, &batch.targets);
        Some(super::argmax_accuracy(
            &logits.view([-1, CLASSES]),
            &classes.view([-1]),
        ))
    }

    fn stepper(&self) -> Stepper<'_> {
        Stepper::Audio(self)
    }
}

impl AudioStepper for SampleRnn {
    fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }

    fn hop(&self) -> usize {
        self.config.hop as usize
    }

    fn frame_width(&self) -> usize {
        self.config.voices as usize * FEATURES_PER_VOICE
    }

    fn render(
        &self,
        features: &Tensor,
        draw: &mut dyn FnMut(&[f64]) -> Result<usize>,
    ) -> Result<Vec<f32>> {
        self.check_features(features)?;
        tch::no_grad(|| self.render_samples(features, draw))
    }
}

impl std::fmt::Display for SampleRnn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        write!(
            f,
            "SampleRnn: frame tier LSTM {l}×{h} per {hop} samples (previous frame + note features of {v} voices) → {hop} conditioning vectors; sample tier MLP {m} over the last {q} samples (embedded ×{e}) → 256 mu-law classes at {sr} Hz; {p} parameters on {d:?}",
            l = c.num_layers,
            h = c.hidden_size,
            hop = c.hop,
            v = c.voices,
            m = c.mlp_size,
            q = c.receptive,
            e = c.embed_dim,
            sr = c.sample_rate,
            p = self.parameter_count(),
            d = self.device()
        )
    }
}

#[cfg(test)]
mod tests;
