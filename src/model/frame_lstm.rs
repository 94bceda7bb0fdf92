//! A multi-hot piano-roll model: frames `[batch, T, pitches]` of 0s and 1s → (optional linear
//! input projection) → LSTM × n → linear → one logit per pitch per frame, read as Bernoulli
//! outputs (sigmoid) predicting the next frame: independent given the past, or, with
//! [`FrameLstmConfig::pitch_autoregression`], each pitch also given the lower pitches of its own
//! frame (so the model can learn which notes sound together).
//!
//! The loss is the binary cross-entropy summed over the pitches of a frame and averaged over the
//! frames that are not padding. For training on sparse rolls (the seed's "mostly zeros") the on
//! cells can be weighted by a positive-class weight; evaluation always reports the unweighted NLL
//! per frame, the unit of the polyphonic benchmark.
//!
//! Parameter names follow PyTorch's (`proj.weight`, `lstm.weight_ih_l0`, …, `head.weight`,
//! `skip.weight`).

use super::{
    linear_layer, primer_frames, state_as, state_ref, to_f64s, FrameStepper, LstmStack, LstmState,
    Model, StepState,
};
use crate::data::Batch;
use crate::model::StackState;
use anyhow::{ensure, Result};
use kernel::FrameKernel;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

/// The architecture name of [`FrameLstm`] in checkpoints.
pub const ARCHITECTURE: &str = "frame_lstm";

/// Sizes and regularisation of a [`FrameLstm`]. (Missing optional fields in JSON take their
/// defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameLstmConfig {
    /// Pitches per frame (88: the piano keys A0..C8).
    pub num_pitches: i64,
    /// Width of each LSTM layer.
    pub hidden_size: i64,
    /// Number of stacked LSTM layers.
    pub num_layers: i64,
    /// Dropout between LSTM layers and before the output layer (training only).
    pub dropout: f64,
    /// Dropout on the input frames (training only): some notes of the past are hidden.
    #[serde(default)]
    pub input_dropout: f64,
    /// Width of a linear + tanh projection of the frames before the LSTM (`None`: the LSTM reads
    /// the frames directly).
    #[serde(default)]
    pub input_projection: Option<i64>,
    /// A linear path from the current frame straight to the logits, beside the LSTM (it learns
    /// "this note goes on sounding" directly).
    #[serde(default)]
    pub skip_connection: bool,
    /// Pitches of the next frame depend on the lower pitches of that same frame: pitch `i`'s logit
    /// adds a learned weighted sum of the pitches below it (a strictly lower-triangular linear
    /// layer, evaluated pitch by pitch when sampling). The frame's distribution is then a product of
    /// conditionals, still exactly normalised, that can learn chords; with `false` the pitches are
    /// independent given the past.
    #[serde(default)]
    pub pitch_autoregression: bool,
    /// Weight of the on cells in the training loss (sparse rolls: the off/on ratio, see
    /// [`crate::encode::positive_weight`]); `None` is 1. Evaluation always reports the unweighted
    /// NLL, and sampling divides the weight out of the odds, so notes are drawn with calibrated
    /// probabilities.
    #[serde(default)]
    pub positive_weight: Option<f64>,
}

impl FrameLstmConfig {
    /// An 88-pitch model of `num_layers` × `hidden_size` with `dropout` and nothing else.
    pub fn piano(hidden_size: i64, num_layers: i64, dropout: f64) -> Self {
        FrameLstmConfig {
            num_pitches: 88,
            hidden_size,
            num_layers,
            dropout,
            input_dropout: 0.0,
            input_projection: None,
            skip_connection: false,
            pitch_autoregression: false,
            positive_weight: None,
        }
    }

    /// A tiny model for fast tests.
    pub fn debug(num_pitches: i64) -> Self {
        FrameLstmConfig {
            num_pitches,
            hidden_size: 16,
            num_layers: 2,
            ..FrameLstmConfig::piano(16, 2, 0.0)
        }
    }

    fn validate(&self) -> Result<()> {
        ensure!(self.num_pitches > 0, "num_pitches must be positive");
        ensure!(self.hidden_size > 0, "hidden_size must be positive");
        ensure!(self.num_layers > 0, "num_layers must be at least 1");
        ensure!(
            self.input_projection.is_none_or(|w| w > 0),
            "input_projection must be positive"
        );
        ensure!(
            self.positive_weight
                .is_none_or(|w| w > 0.0 && w.is_finite()),
            "positive_weight must be positive"
        );
        for (name, p) in [
            ("dropout", self.dropout),
            ("input_dropout", self.input_dropout),
        ] {
            ensure!((0.0..1.0).contains(&p), "{name} must be in [0, 1), not {p}");
        }
        Ok(())
    }
}

/// A multi-hot LSTM over piano-roll frames that owns its parameters (so a notebook can keep it).
#[derive(Debug)]
pub struct FrameLstm {
    /// The sizes this model was built with.
    pub config: FrameLstmConfig,
    /// The parameters.
    pub vs: nn::VarStore,
    proj: Option<(Tensor, Tensor)>,
    lstm: LstmStack,
    head_weight: Tensor,
    head_bias: Tensor,
    skip_weight: Option<Tensor>,
    /// The within-frame weight `[pitches, pitches]` and its strictly lower-triangular mask.
    pitch: Option<(Tensor, Tensor)>,
    /// Generate with the crate's CPU kernel when the model is on the CPU (the default); off,
    /// every frame is a libtorch step (the reference the kernel is tested against).
    pub cpu_kernel: bool,
}

/// What a frame model carries between generation steps: the LSTM state (libtorch's, or the
/// kernel's with the kernel) and the logits of the next frame given the past.
#[derive(Debug)]
struct FrameStep {
    state: FrameState,
    logits: Vec<f64>,
}

/// The recurrent state in the form the model steps with.
#[derive(Debug)]
enum FrameState {
    /// libtorch's (on CUDA, or with [`FrameLstm::cpu_kernel`] off).
    Libtorch(LstmState),
    /// The crate's CPU kernel's.
    Kernel(Arc<FrameKernel>, StackState),
}

impl FrameLstm {
    /// Builds a model with freshly initialised parameters on `device` (initialised as PyTorch
    /// does; the skip path starts at zero so the untrained model is a plain LSTM).
    pub fn new(config: FrameLstmConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let _generator = super::torch_rng::hold();
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let p = config.num_pitches;
        let h = config.hidden_size;
        let proj = config
            .input_projection
            .map(|width| linear_layer(&root.sub("proj"), width, p));
        let lstm = LstmStack::new(
            &root.sub("lstm"),
            config.input_projection.unwrap_or(p),
            h,
            config.num_layers,
            config.dropout,
        );
        let (head_weight, head_bias) = linear_layer(&root.sub("head"), p, h);
        let skip_weight = config
            .skip_connection
            .then(|| root.sub("skip").var("weight", &[p, p], Init::Const(0.0)));
        let pitch = config.pitch_autoregression.then(|| {
            (
                root.sub("pitch").var("weight", &[p, p], Init::Const(0.0)),
                Tensor::ones([p, p], (Kind::Float, device)).tril(-1),
            )
        });
        Ok(FrameLstm {
            config,
            vs,
            proj,
            lstm,
            head_weight,
            head_bias,
            skip_weight,
            pitch,
            cpu_kernel: true,
        })
    }

    /// A zero state for `batch` sequences.
    pub fn zero_state(&self, batch: i64) -> LstmState {
        self.lstm.zero_state(batch, self.device())
    }

    /// Runs frames `[batch, T, pitches]` (Float, 0/1) from `state` (zeros when `None`); returns
    /// the logits of the next frame at every step, `[batch, T, pitches]`, and the state after the
    /// last step. `train` turns dropout on.
    pub fn forward(
        &self,
        frames: &Tensor,
        state: Option<&LstmState>,
        train: bool,
    ) -> (Tensor, LstmState) {
        let frames = frames.to_kind(Kind::Float);
        let mut x = frames.dropout(self.config.input_dropout, train);
        if let Some((w, b)) = &self.proj {
            x = x.linear(w, Some(b)).tanh();
        }
        let (out, state) = self.lstm.run(&x, state, train);
        let out = out.dropout(self.config.dropout, train);
        let mut logits = out.linear(&self.head_weight, Some(&self.head_bias));
        if let Some(skip) = &self.skip_weight {
            logits += frames.linear::<&Tensor>(skip, None);
        }
        (logits, state)
    }

    /// The logits of the frames `next` (`[.., pitches]`, 0/1) given the history logits of
    /// [`FrameLstm::forward`]: with [`FrameLstmConfig::pitch_autoregression`], pitch `i`'s logit
    /// gains the weighted sum of `next`'s pitches below `i`; otherwise `history_logits` unchanged.
    /// The NLL of `next` is the binary cross-entropy of these logits, exactly.
    pub fn conditional_logits(&self, history_logits: &Tensor, next: &Tensor) -> Tensor {
        match self.masked_pitch_weight() {
            Some(masked) => {
                history_logits
                    + next
                        .to_kind(history_logits.kind())
                        .linear::<&Tensor>(&masked, None)
            }
            None => history_logits.shallow_clone(),
        }
    }

    /// The within-frame weights `[pitches, pitches]` (row: pitch predicted, column: lower pitch
    /// it reads; zero on and above the diagonal), when the model has them.
    pub fn pitch_weights(&self) -> Option<Tensor> {
        tch::no_grad(|| self.masked_pitch_weight())
    }

    /// The within-frame weight with its mask applied (zero on and above the diagonal).
    fn masked_pitch_weight(&self) -> Option<Tensor> {
        self.pitch.as_ref().map(|(weight, mask)| weight * mask)
    }

    /// One step for generation: a frame `[batch, pitches]` → logits of the next frame
    /// `[batch, pitches]` and the next state.
    pub fn step(&self, frame: &Tensor, state: Option<&LstmState>) -> (Tensor, LstmState) {
        let (logits, state) = self.forward(&frame.unsqueeze(1), state, false);
        (logits.squeeze_dim(1), state)
    }

    /// The conditional logits of a batch's targets given its inputs (padded target frames read
    /// as silence).
    pub fn batch_logits(&self, batch: &Batch, train: bool) -> Tensor {
        let (logits, _) = self.forward(&batch.inputs, None, train);
        self.conditional_logits(&logits, &batch.targets.clamp_min(0.0))
    }

    fn frame_step(&self, state: FrameState, logits: &Tensor) -> Result<StepState> {
        let offset = self.config.positive_weight.map_or(0.0, f64::ln);
        let logits = to_f64s(logits)?.into_iter().map(|l| l - offset).collect();
        Ok(Box::new(FrameStep { state, logits }))
    }
}

impl Model for FrameLstm {
    frame_model_basics!();
}

impl FrameStepper for FrameLstm {
    fn num_pitches(&self) -> usize {
        self.config.num_pitches as usize
    }

    fn start(&self, primer: &Tensor) -> Result<StepState> {
        let frames = primer_frames(primer, self.config.num_pitches, self.device())?;
        tch::no_grad(|| {
            let (logits, state) = self.forward(&frames.unsqueeze(0), None, false);
            let state = if self.cpu_kernel && self.device() == Device::Cpu {
                let kernel = Arc::new(FrameKernel::new(self)?);
                let fused = kernel.state_from(&state)?;
                FrameState::Kernel(kernel, fused)
            } else {
                FrameState::Libtorch(state)
            };
            self.frame_step(state, &logits.get(0).get(-1))
        })
    }

    fn next_frame(
        &self,
        state: &StepState,
        draw: &mut dyn FnMut(usize, f64) -> bool,
    ) -> Result<Vec<f32>> {
        let step: &FrameStep = state_ref(state)?;
        let p = self.num_pitches();
        let read;
        let within = match &step.state {
            FrameState::Kernel(kernel, _) => kernel.within.as_ref(),
            FrameState::Libtorch(_) => {
                read = self.pitch_weights().map(|w| to_f64s(&w)).transpose()?;
                read.as_ref()
            }
        };
        let mut cells = vec![0f32; p];
        for j in 0..p {
            let mut logit = step.logits[j];
            if let Some(w) = &within {
                logit += w[j * p..j * p + j]
                    .iter()
                    .zip(&cells)
                    .map(|(w, &c)| w * f64::from(c))
                    .sum::<f64>();
            }
            if draw(j, logit) {
                cells[j] = 1.0;
            }
        }
        Ok(cells)
    }

    fn advance(&self, state: StepState, frame: &[f32]) -> Result<StepState> {
        let step = state_as::<FrameStep>(state)?;
        match step.state {
            FrameState::Kernel(kernel, mut fused) => {
                let logits = kernel.advance(&mut fused, frame)?;
                Ok(Box::new(FrameStep {
                    state: FrameState::Kernel(kernel, fused),
                    logits,
                }))
            }
            FrameState::Libtorch(state) => {
                let input = Tensor::from_slice(frame)
                    .view([1, frame.len() as i64])
                    .to(self.device());
                tch::no_grad(|| {
                    let (logits, state) = self.step(&input, Some(&state));
                    self.frame_step(FrameState::Libtorch(state), &logits.get(0))
                })
            }
        }
    }
}

impl std::fmt::Display for FrameLstm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        let input = match c.input_projection {
            Some(w) => format!("linear {}→{w} + tanh → ", c.num_pitches),
            None => String::new(),
        };
        let skip = if c.skip_connection {
            format!(" + skip {0}→{0}", c.num_pitches)
        } else {
            String::new()
        };
        let chords = if c.pitch_autoregression {
            " + lower pitches of the same frame"
        } else {
            ""
        };
        let weight = c
            .positive_weight
            .map(|w| format!("; training weights the on cells by {w:.1}"))
            .unwrap_or_default();
        write!(
            f,
            "FrameLstm: frames ×{} (input dropout {}) → {input}LSTM {}×{} (dropout {}) → linear {}→{}{skip}{chords} → sigmoid; {} parameters on {:?}{weight}",
            c.num_pitches,
            c.input_dropout,
            c.num_layers,
            c.hidden_size,
            c.dropout,
            c.hidden_size,
            c.num_pitches,
            self.parameter_count(),
            self.device()
        )
    }
}

mod kernel;

#[cfg(test)]
mod tests;
