//! tch models, one readable file each, all behind one [`Model`] trait: the trainer, the checkpoint
//! format, headless runs, the sampler and the displays are written once against it.
//!
//! - [`LstmLm`] (`lstm_lm`): many-to-many next-token LSTM (ABC characters, or any token stream).
//! - [`WindowLstm`] (`window_lstm`): many-to-one, a window of ids → the next id, optional attention.
//! - [`FrameLstm`] (`frame_lstm`): multi-hot piano-roll frames → the next frame.
//! - [`PitchLstm`] (`pitch_lstm`): the pitch-invariant biaxial LSTM over piano-roll frames (a
//!   time axis shared by every key, a pitch axis across each frame).
//! - [`Ddsp`] (`ddsp`): note features per audio frame → an LSTM per voice → a harmonic-plus-noise
//!   synthesizer ([`harmonic`]) → a waveform, trained with a multi-resolution STFT loss ([`spectral`]).
//! - [`SampleRnn`] (`sample_rnn`): the same note features → 8-bit mu-law samples one at a time
//!   (a frame-level LSTM and a sample-level MLP, after SampleRNN).
//!
//! They share one LSTM stack ([`LstmStack`]: weights, zero state, step, run). A new model
//! implements [`Model`], says how it generates ([`Stepper`]) and adds one line to [`build`].

/// The [`Model`] methods every model here writes alike, for use inside its `impl Model`: the
/// architecture name (its module's `ARCHITECTURE`), the var store (`self.vs`) and, unless the model
/// writes its own, the config (`self.config`) as JSON.
macro_rules! model_basics {
    () => {
        model_basics!(no_config);

        fn config_json(&self) -> serde_json::Value {
            serde_json::to_value(&self.config).unwrap_or_default()
        }
    };
    (no_config) => {
        fn architecture(&self) -> &'static str {
            ARCHITECTURE
        }

        fn var_store(&self) -> &tch::nn::VarStore {
            &self.vs
        }
    };
}

/// The [`Model`] methods the piano-roll models ([`FrameLstm`], [`PitchLstm`]) write alike, for use
/// inside their `impl Model` in place of [`model_basics!`]: their sizes (`self.config.num_pitches`),
/// the padded-frame loss of their `batch_logits(batch, train)` (on cells weighted by
/// `self.config.positive_weight` while training), those logits for the metrics, and stepping frame
/// by frame.
macro_rules! frame_model_basics {
    () => {
        model_basics!();

        fn sizes(&self) -> $crate::model::Sizes {
            $crate::model::Sizes::Frames {
                pitches: self.config.num_pitches as usize,
            }
        }

        /// Binary cross-entropy of the conditional logits summed over the pitches of each
        /// predicted frame, averaged over the real (not padded) frames of the batch. With `train`
        /// the on cells are weighted by the config's `positive_weight`; without, this is the NLL
        /// per frame.
        fn loss(&self, batch: &$crate::data::Batch, train: bool) -> tch::Tensor {
            let weight = self.config.positive_weight.filter(|_| train);
            let logits = self.batch_logits(batch, train);
            $crate::model::losses::padded_frame_loss(&logits, &batch.targets, weight)
        }

        fn frame_logits(&self, batch: &$crate::data::Batch) -> Option<tch::Tensor> {
            Some(self.batch_logits(batch, false))
        }

        fn stepper(&self) -> $crate::model::Stepper<'_> {
            $crate::model::Stepper::Frames(self)
        }
    };
}

pub mod copy_memory;
pub mod ddsp;
pub mod frame_lstm;
pub mod fused;
pub mod harmonic;
pub mod inharmonic;
pub mod losses;
pub mod lstm;
pub mod pitch_lstm;
pub mod sample_rnn;
pub mod spectral;
pub mod stack;
pub mod torch_rng;
pub mod window;

pub use copy_memory::CopyMemory;
pub use ddsp::{Ddsp, DdspConfig};
pub use frame_lstm::{FrameLstm, FrameLstmConfig};
pub use fused::{FusedLm, FusedStack, FusedState, StackState};
pub use lstm::{LstmConfig, LstmLm, LstmLmWeights, LstmOptions};
pub use pitch_lstm::{PitchLstm, PitchLstmConfig};
pub use sample_rnn::{SampleRnn, SampleRnnConfig};
pub use stack::{LstmStack, LstmState};
pub use torch_rng::{exclusive, seeded};
pub use window::{WindowConfig, WindowLstm};

use crate::data::Batch;
use anyhow::{bail, ensure, Context, Result};
use serde::de::DeserializeOwned;
use std::any::Any;
use std::fmt::Debug;
use tch::{nn, Device, Kind, Tensor};

/// What a model reads and predicts, as an encoding must match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizes {
    /// Token ids `0..vocab`.
    Tokens {
        /// Number of ids.
        vocab: usize,
    },
    /// Multi-hot frames of `pitches` cells.
    Frames {
        /// Cells per frame.
        pitches: usize,
    },
    /// Note features of `voices` voices per frame of `hop` samples → audio at `sample_rate`.
    Audio {
        /// Voices per frame.
        voices: usize,
        /// Samples per frame.
        hop: usize,
        /// Samples per second.
        sample_rate: u32,
    },
}

impl std::fmt::Display for Sizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sizes::Tokens { vocab } => write!(f, "token ids of a vocabulary of {vocab}"),
            Sizes::Frames { pitches } => write!(f, "frames of {pitches} pitches"),
            Sizes::Audio {
                voices,
                hop,
                sample_rate,
            } => write!(
                f,
                "note features of {voices} voices every {hop} samples at {sample_rate} Hz"
            ),
        }
    }
}

/// A model the trainer, checkpoints and the sampler can use. It owns its parameters (so a
/// notebook can keep it across cells).
pub trait Model: Any + Debug + std::fmt::Display {
    /// The architecture's name in checkpoints (`lstm_lm`, `window_lstm`, `frame_lstm`,
    /// `pitch_lstm`, `ddsp`, `sample_rnn`).
    fn architecture(&self) -> &'static str;

    /// The config the model was built with, as JSON ([`build`] takes it back).
    fn config_json(&self) -> serde_json::Value;

    /// The parameters.
    fn var_store(&self) -> &nn::VarStore;

    /// What the model reads and predicts.
    fn sizes(&self) -> Sizes;

    /// Mean loss over the batch's predictions (a scalar attached to the graph; nats per token,
    /// window or frame); `train` turns dropout and training-only weighting on.
    fn loss(&self, batch: &Batch, train: bool) -> Tensor;

    /// Share of the batch's targets the model ranks first (evaluation mode), when accuracy means
    /// something for the model.
    fn accuracy(&self, _batch: &Batch) -> Option<f64> {
        None
    }

    /// For a piano-roll model: the logits of the batch's target frames `[batch, T, pitches]`
    /// (evaluation mode), each pitch's logit conditional on the past and on whatever the model
    /// lets it read of its own frame, so that a frame's NLL is exactly the binary cross-entropy
    /// of these logits summed over its pitches. `None` for token models.
    fn frame_logits(&self, _batch: &Batch) -> Option<Tensor> {
        None
    }

    /// How the model generates, one step at a time.
    fn stepper(&self) -> Stepper<'_>;

    /// One line saying what the model is (its `Display`).
    fn summary(&self) -> String {
        self.to_string()
    }

    /// Parameters by name, sorted by name (a stable order for optimizers and checkpoints).
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        sorted_parameters(self.var_store())
    }

    /// The device the parameters live on.
    fn device(&self) -> Device {
        self.var_store().device()
    }

    /// Number of trainable parameters.
    fn parameter_count(&self) -> i64 {
        parameter_count(self.var_store())
    }
}

/// Whatever a model carries from one generation step to the next (its own type inside).
pub type StepState = Box<dyn Any>;

/// How a model generates: token by token, frame by frame, or audio from notes.
pub enum Stepper<'a> {
    /// A token model.
    Tokens(&'a dyn TokenStepper),
    /// A piano-roll model.
    Frames(&'a dyn FrameStepper),
    /// A neural synthesizer: note features in, a waveform out.
    Audio(&'a dyn AudioStepper),
}

/// A model that turns note features into a waveform. Its output is sound, not notes, so it does
/// not write pieces: it renders the notes of any score (see `generate::render_audio`).
pub trait AudioStepper {
    /// Samples per second of the audio.
    fn sample_rate(&self) -> u32;

    /// Samples per frame of note features.
    fn hop(&self) -> usize;

    /// Values per frame of note features.
    fn frame_width(&self) -> usize;

    /// Renders note features `[frames, width]` to `frames × hop` samples. A sample-level model
    /// draws each sample's class with `draw(logits)` (the one sampler: temperature, top-k, top-p,
    /// seed); a synthesizer that predicts the waveform directly never calls it.
    fn render(
        &self,
        features: &Tensor,
        draw: &mut dyn FnMut(&[f64]) -> Result<usize>,
    ) -> Result<Vec<f32>>;

    /// One clear error unless `features` is `[frames, frame_width()]` (each voice
    /// [`crate::encode::audio::FEATURES_PER_VOICE`] values).
    fn check_features(&self, features: &Tensor) -> Result<()> {
        let width = self.frame_width();
        ensure!(
            features.dim() == 2 && features.size()[1] == width as i64,
            "note features of shape {:?} do not fit a model of {} voices",
            features.size(),
            width / crate::encode::audio::FEATURES_PER_VOICE
        );
        Ok(())
    }
}

/// A model that predicts the next token from the ones before it.
pub trait TokenStepper {
    /// Number of ids the model scores.
    fn vocab_size(&self) -> usize;

    /// Reads the primer (at least one id); returns the logits for the next id and the state.
    fn start(&self, primer: &[i64]) -> Result<(Vec<f64>, StepState)>;

    /// [`TokenStepper::start`] for a caller that will read at most `reads` more ids through
    /// [`TokenStepper::advance`]: a model may skip work whose logits would never be read (a
    /// [`WindowLstm`] on the CPU does not start the windows that would end after them), and
    /// reading more is then an error. The default is [`TokenStepper::start`].
    fn start_for(&self, primer: &[i64], reads: usize) -> Result<(Vec<f64>, StepState)> {
        let _ = reads;
        self.start(primer)
    }

    /// Reads one more id; returns the logits for the id after it and the new state.
    fn advance(&self, state: StepState, id: i64) -> Result<(Vec<f64>, StepState)>;

    /// The model compiled into the crate's CPU kernel for stepping many sequences at once
    /// ([`FusedLm`]), where the model has that form and its device is the CPU; `None` (the
    /// default) steps through [`TokenStepper::advance`]. The sampler asks; it never looks at the
    /// model's type.
    fn lanes(&self) -> Result<Option<FusedLm>> {
        Ok(None)
    }
}

/// A model that predicts the next piano-roll frame from the frames before it.
pub trait FrameStepper {
    /// Cells per frame.
    fn num_pitches(&self) -> usize;

    /// Reads the primer frames `[T, pitches]` (0/1; with `T = 0` a silent frame) and returns the
    /// state from which the next frame is drawn.
    fn start(&self, primer: &Tensor) -> Result<StepState>;

    /// Draws the next frame, pitch by pitch from low to high: `draw(pitch, logit)` gets each
    /// pitch's logit given the pitches already drawn below it (calibrated: a training-only
    /// weighting is undone) and says whether it sounds. Returns the frame as 0/1 cells.
    fn next_frame(
        &self,
        state: &StepState,
        draw: &mut dyn FnMut(usize, f64) -> bool,
    ) -> Result<Vec<f32>>;

    /// Reads the drawn frame; returns the state for the frame after it.
    fn advance(&self, state: StepState, frame: &[f32]) -> Result<StepState>;
}

/// A [`FrameStepper`]'s primer as float frames `[T, pitches]` on `device`, one silent frame when
/// it has none; refused when its frames are not `pitches` wide.
pub fn primer_frames(primer: &Tensor, pitches: i64, device: Device) -> Result<Tensor> {
    anyhow::ensure!(
        primer.dim() == 2 && primer.size()[1] == pitches,
        "the primer has frames of {:?}, the model reads {pitches} pitches",
        primer.size()
    );
    Ok(if primer.size()[0] == 0 {
        Tensor::zeros([1, pitches], (Kind::Float, device))
    } else {
        primer.to_kind(Kind::Float).to(device)
    })
}

/// Builds the model an architecture name and config describe, freshly initialised on `device`
/// (a checkpoint then copies its weights in). Errors name the architecture and the bad field.
pub fn build(
    architecture: &str,
    config: &serde_json::Value,
    device: Device,
) -> Result<Box<dyn Model>> {
    fn parse<C: DeserializeOwned>(architecture: &str, config: &serde_json::Value) -> Result<C> {
        serde_json::from_value(config.clone())
            .with_context(|| format!("bad {architecture} model config"))
    }
    Ok(match architecture {
        lstm::ARCHITECTURE => Box::new(LstmLm::from_json(config, device)?),
        window::ARCHITECTURE => Box::new(WindowLstm::new(parse(architecture, config)?, device)?),
        frame_lstm::ARCHITECTURE => Box::new(FrameLstm::new(parse(architecture, config)?, device)?),
        pitch_lstm::ARCHITECTURE => Box::new(PitchLstm::new(parse(architecture, config)?, device)?),
        ddsp::ARCHITECTURE => Box::new(Ddsp::new(parse(architecture, config)?, device)?),
        sample_rnn::ARCHITECTURE => Box::new(SampleRnn::new(parse(architecture, config)?, device)?),
        other => bail!(
            "unknown model architecture {other:?} (this tunesmith knows {})",
            ARCHITECTURES.join(", ")
        ),
    })
}

/// The architectures [`build`] knows.
pub const ARCHITECTURES: [&str; 6] = [
    lstm::ARCHITECTURE,
    window::ARCHITECTURE,
    frame_lstm::ARCHITECTURE,
    pitch_lstm::ARCHITECTURE,
    ddsp::ARCHITECTURE,
    sample_rnn::ARCHITECTURE,
];

impl dyn Model {
    /// The model as its own type, when it is one.
    pub fn downcast_ref<M: Model>(&self) -> Option<&M> {
        (self as &dyn Any).downcast_ref::<M>()
    }
}

/// Number of trainable parameters in `vs`.
pub(crate) fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// The variables of `vs` by name, sorted by name: a stable order for optimizers and checkpoints.
pub(crate) fn sorted_parameters(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// PyTorch's default initialisation of a linear layer `[out, inp]`: uniform in ±1/√inp.
pub(crate) fn linear_layer(path: &nn::Path, out: i64, inp: i64) -> (Tensor, Tensor) {
    let bound = 1.0 / (inp as f64).sqrt();
    let init = nn::Init::Uniform {
        lo: -bound,
        up: bound,
    };
    (
        path.var("weight", &[out, inp], init),
        path.var("bias", &[out], init),
    )
}

/// PyTorch's default initialisation of an embedding `[vocab, dim]` (its `weight`): standard normal.
pub(crate) fn embedding_layer(path: &nn::Path, vocab: i64, dim: i64) -> Tensor {
    let init = nn::Init::Randn {
        mean: 0.0,
        stdev: 1.0,
    };
    path.var("weight", &[vocab, dim], init)
}

/// One clear error unless a dropout rate is in `[0, 1)`.
pub(crate) fn ensure_dropout(dropout: f64) -> Result<()> {
    ensure!(
        (0.0..1.0).contains(&dropout),
        "dropout must be in [0, 1), not {dropout}"
    );
    Ok(())
}

/// Share of rows whose highest logit is the target: `logits` `[n, vocab]`, `targets` `[n]`.
pub fn argmax_accuracy(logits: &Tensor, targets: &Tensor) -> f64 {
    logits
        .argmax(-1, false)
        .eq_tensor(targets)
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

/// A tensor's values as `f64`s, on the CPU.
pub(crate) fn to_f64s(t: &Tensor) -> Result<Vec<f64>> {
    let flat = t.to_kind(Kind::Double).to_device(Device::Cpu).view([-1]);
    Vec::<f64>::try_from(&flat).context("reading the model's outputs")
}

/// The state a stepper made, borrowed as its own type (a state of another model is an error).
pub(crate) fn state_ref<T: 'static>(state: &StepState) -> Result<&T> {
    state
        .downcast_ref::<T>()
        .ok_or_else(|| anyhow::anyhow!("a generation state of another model was passed"))
}

/// The state a stepper made, as its own type (a state of another model is an error).
pub(crate) fn state_as<T: 'static>(state: StepState) -> Result<Box<T>> {
    state
        .downcast::<T>()
        .map_err(|_| anyhow::anyhow!("a generation state of another model was passed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_makes_every_architecture_and_names_bad_fields() -> Result<()> {
        let lm = build(
            "lstm_lm",
            &serde_json::to_value(LstmConfig::debug(5))?,
            Device::Cpu,
        )?;
        assert_eq!(lm.architecture(), "lstm_lm");
        assert_eq!(lm.sizes(), Sizes::Tokens { vocab: 5 });
        assert!(lm.downcast_ref::<LstmLm>().is_some());
        assert!(lm.downcast_ref::<WindowLstm>().is_none());
        let window = build(
            "window_lstm",
            &serde_json::to_value(WindowConfig::debug(7, true))?,
            Device::Cpu,
        )?;
        assert_eq!(window.sizes(), Sizes::Tokens { vocab: 7 });
        let frames = build(
            "frame_lstm",
            &serde_json::to_value(FrameLstmConfig::debug(6))?,
            Device::Cpu,
        )?;
        assert_eq!(frames.sizes(), Sizes::Frames { pitches: 6 });
        let pitch = build(
            "pitch_lstm",
            &serde_json::to_value(PitchLstmConfig::debug(5))?,
            Device::Cpu,
        )?;
        assert_eq!(pitch.sizes(), Sizes::Frames { pitches: 5 });
        assert!(pitch.downcast_ref::<PitchLstm>().is_some());
        let err = build(
            "lstm_lm",
            &serde_json::json!({"vocab_size": 3}),
            Device::Cpu,
        )
        .expect_err("missing fields");
        assert!(format!("{err:#}").contains("embed_dim"), "{err:#}");
        let err = build("gru", &serde_json::json!({}), Device::Cpu).expect_err("unknown");
        assert!(format!("{err:#}").contains("\"gru\""), "{err:#}");
        Ok(())
    }
}
