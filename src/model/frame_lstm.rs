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
    linear_layer, losses::padded_frame_loss, primer_frames, state_as, to_f64s, FrameStepper,
    LstmStack, LstmState, Model, Sizes, StepState, Stepper,
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
    model_basics!();

    fn sizes(&self) -> Sizes {
        Sizes::Frames {
            pitches: self.config.num_pitches as usize,
        }
    }

    /// Binary cross-entropy summed over the pitches of each predicted frame, averaged over the
    /// real (not padded) frames of the batch. With `train` the on cells are weighted by
    /// [`FrameLstmConfig::positive_weight`]; without, this is the NLL per frame.
    fn loss(&self, batch: &Batch, train: bool) -> Tensor {
        let weight = if train {
            self.config.positive_weight
        } else {
            None
        };
        padded_frame_loss(&self.batch_logits(batch, train), &batch.targets, weight)
    }

    fn frame_logits(&self, batch: &Batch) -> Option<Tensor> {
        Some(self.batch_logits(batch, false))
    }

    fn stepper(&self) -> Stepper<'_> {
        Stepper::Frames(self)
    }
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
        let step = state
            .downcast_ref::<FrameStep>()
            .ok_or_else(|| anyhow::anyhow!("a generation state of another model was passed"))?;
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
mod tests {
    use super::*;

    #[test]
    fn the_cpu_kernel_steps_what_libtorch_steps() -> Result<()> {
        // Every part the kernel copies: an input projection, two layers, the skip path, the
        // within-frame weights and a positive weight, all random; 10 frames drawn both ways.
        let _generator = crate::model::torch_rng::hold_seeded(9);
        let config = FrameLstmConfig {
            num_layers: 2,
            input_projection: Some(12),
            skip_connection: true,
            pitch_autoregression: true,
            positive_weight: Some(2.5),
            ..FrameLstmConfig::debug(20)
        };
        let mut model = FrameLstm::new(config, Device::Cpu)?;
        tch::no_grad(|| {
            for (_, t) in model.named_parameters() {
                let r = Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * 0.4;
                t.shallow_clone().copy_(&r);
            }
        });
        let mut primer = vec![0f32; 40];
        for cell in [3usize, 7, 20 + 5, 20 + 9] {
            primer[cell] = 1.0;
        }
        let primer = Tensor::from_slice(&primer).view([2, 20]);
        let mut runs = Vec::new();
        for cpu_kernel in [true, false] {
            model.cpu_kernel = cpu_kernel;
            let mut state = model.start(&primer)?;
            let (mut logits, mut frames) = (Vec::new(), Vec::new());
            for _ in 0..10 {
                let frame = model.next_frame(&state, &mut |_, logit| {
                    logits.push(logit);
                    logit > 0.0
                })?;
                state = model.advance(state, &frame)?;
                frames.push(frame);
            }
            runs.push((logits, frames));
        }
        assert_eq!(runs[0].1, runs[1].1, "the same frames");
        assert!(
            runs[0].1.iter().flatten().any(|&c| c > 0.5),
            "some pitches sound"
        );
        let worst = runs[0]
            .0
            .iter()
            .zip(&runs[1].0)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "largest difference {worst}");
        Ok(())
    }
    use crate::data::{next_frame_batch, RollBatches};
    use crate::model::losses::frame_bce;
    use crate::train::{evaluate, TrainConfig, Trainer};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn shapes_parameter_count_and_display() -> Result<()> {
        let mut config = FrameLstmConfig::debug(6);
        config.input_projection = Some(4);
        config.skip_connection = true;
        let model = FrameLstm::new(config, Device::Cpu)?;
        let frames = Tensor::ones([2, 5, 6], (Kind::Float, Device::Cpu));
        let (logits, state) = model.forward(&frames, None, false);
        assert_eq!(logits.size(), vec![2, 5, 6]);
        assert_eq!(state.c.size(), vec![2, 2, 16]);
        // proj 6*4+4; layer0 64*(4+16)+128; layer1 64*(16+16)+128; head 16*6+6; skip 6*6
        let expected = 28 + (64 * 20 + 128) + (64 * 32 + 128) + 102 + 36;
        assert_eq!(model.parameter_count(), expected);
        let shown = model.to_string();
        assert!(shown.contains("LSTM 2×16") && shown.contains(&expected.to_string()));
        Ok(())
    }

    #[test]
    fn stepping_matches_a_whole_sequence() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(2);
        let model = FrameLstm::new(FrameLstmConfig::debug(5), Device::Cpu)?;
        let frames =
            Tensor::from_slice(&[1f32, 0., 1., 0., 0., 0., 1., 0., 0., 1., 1., 1., 0., 0., 0.])
                .view([1, 3, 5]);
        let (whole, _) = model.forward(&frames, None, false);
        let mut state = None;
        for t in 0..3 {
            let (logits, next) = model.step(&frames.get(0).narrow(0, t, 1), state.as_ref());
            let diff = (logits.squeeze_dim(0) - whole.get(0).get(t))
                .abs()
                .max()
                .double_value(&[]);
            assert!(diff < 1e-5, "step {t} differs by {diff}");
            state = Some(next);
        }
        Ok(())
    }

    #[test]
    fn padding_does_not_change_the_loss_and_the_positive_weight_raises_it() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(4);
        let model = FrameLstm::new(FrameLstmConfig::debug(4), Device::Cpu)?;
        let long = Tensor::from_slice(&[
            1f32, 0., 0., 1., 0., 1., 0., 0., 1., 1., 0., 0., 0., 0., 1., 0.,
        ])
        .view([4, 4]);
        let short = long.narrow(0, 0, 2);
        let both = next_frame_batch(&[&long, &short]).expect("a batch");
        assert_eq!(both.inputs.size(), vec![2, 3, 4]);
        // By hand: 3 predicted frames of `long` and 1 of `short`, averaged per frame.
        let alone = |piece: &Tensor| -> Result<f64> {
            let batch = next_frame_batch(&[piece]).expect("a batch");
            Ok(model.loss(&batch, false).double_value(&[]))
        };
        let together = model.loss(&both, false).double_value(&[]);
        assert!((together - (3.0 * alone(&long)? + alone(&short)?) / 4.0).abs() < 1e-5);
        let mut config = FrameLstmConfig::debug(4);
        config.positive_weight = Some(5.0);
        let weighted = FrameLstm::new(config, Device::Cpu)?;
        tch::no_grad(|| {
            for ((_, a), (_, b)) in weighted
                .named_parameters()
                .iter()
                .zip(model.named_parameters())
            {
                a.shallow_clone().copy_(&b);
            }
        });
        let plain = weighted.loss(&both, false).double_value(&[]);
        assert!(
            (plain - together).abs() < 1e-6,
            "evaluation ignores the positive weight"
        );
        let train = weighted.loss(&both, true).double_value(&[]);
        assert!(
            train > plain + 0.1,
            "weighted training loss {train} vs {plain}"
        );
        Ok(())
    }

    /// Trains `config` on `pieces` (pitches 0..n) and returns the NLL per frame on `held_out`.
    fn trained_nll(
        config: FrameLstmConfig,
        pieces: Vec<Vec<Vec<u8>>>,
        held_out: Vec<Vec<Vec<u8>>>,
        epochs: usize,
        lr: f64,
    ) -> Result<(f64, f64)> {
        let n = config.num_pitches as usize;
        let train = RollBatches::from_frames(pieces, 0, n, 0, 4)?;
        let valid = RollBatches::from_frames(held_out, 0, n, 0, 4)?;
        let _generator = crate::model::torch_rng::hold_seeded(0);
        let model = FrameLstm::new(config, Device::Cpu)?;
        let before = evaluate(&model, &valid, usize::MAX).loss;
        let mut trainer = Trainer::new(model, TrainConfig::quiet(epochs, lr));
        trainer.fit(&train, &valid)?;
        Ok((before, evaluate(trainer.model(), &valid, usize::MAX).loss))
    }

    #[test]
    fn learns_a_repeating_arpeggio() -> Result<()> {
        // C, E, G as one-hot frames, repeated.
        let arpeggio: Vec<Vec<u8>> = (0..24).map(|i| vec![(i % 3) as u8]).collect();
        let (before, after) = trained_nll(
            FrameLstmConfig::debug(3),
            vec![arpeggio.clone()],
            vec![arpeggio],
            60,
            3e-2,
        )?;
        assert!(before > 1.5, "untrained NLL {before}");
        assert!(after < 0.3, "trained NLL {after}");
        Ok(())
    }

    fn autoregressive(pitches: i64) -> FrameLstmConfig {
        FrameLstmConfig {
            pitch_autoregression: true,
            ..FrameLstmConfig::debug(pitches)
        }
    }

    #[test]
    fn pitch_autoregression_gives_a_normalised_distribution_over_frames() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(5);
        let model = FrameLstm::new(autoregressive(3), Device::Cpu)?;
        // Every weight random, above the diagonal too: the mask must keep those out.
        tch::no_grad(|| {
            for (name, t) in model.named_parameters() {
                if name == "pitch.weight" {
                    t.shallow_clone()
                        .copy_(&(Tensor::randn([3, 3], (Kind::Float, Device::Cpu)) * 2.0));
                }
            }
        });
        let history = Tensor::from_slice(&[1f32, 0., 1., 0., 1., 1.]).view([1, 2, 3]);
        let (logits, _) = model.forward(&history, None, false);
        let last = logits.narrow(1, 1, 1);
        let mut total = 0.0;
        for code in 0..8u8 {
            let frame: Vec<f32> = (0..3).map(|bit| f32::from((code >> bit) & 1)).collect();
            let next = Tensor::from_slice(&frame).view([1, 1, 3]);
            let nll = frame_bce(&model.conditional_logits(&last, &next), &next, None);
            total += (-nll.double_value(&[0, 0])).exp();
        }
        assert!(
            (total - 1.0).abs() < 1e-5,
            "probabilities add up to {total}"
        );
        let weights = model.pitch_weights().expect("weights");
        assert_eq!(
            weights.triu(0).abs().sum(Kind::Float).double_value(&[]),
            0.0
        );
        Ok(())
    }

    #[test]
    fn pitch_autoregression_learns_chords_that_independent_pitches_cannot() -> Result<()> {
        // Frames are the chord {0, 2} or the chord {1, 3}, by coin flip: the past says nothing,
        // so independent pitches are stuck at 4 ln 2 = 2.77 nats and chords can reach ln 2 = 0.69.
        let coin_flip_chords = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let frames: Vec<Vec<u8>> = (0..2000)
                .map(|_| {
                    if rng.random::<bool>() {
                        vec![0, 2]
                    } else {
                        vec![1, 3]
                    }
                })
                .collect();
            vec![frames]
        };
        let independent = trained_nll(
            FrameLstmConfig::debug(4),
            coin_flip_chords(11),
            coin_flip_chords(12),
            100,
            1e-1,
        )?
        .1;
        let chords = trained_nll(
            autoregressive(4),
            coin_flip_chords(11),
            coin_flip_chords(12),
            100,
            1e-1,
        )?
        .1;
        assert!(
            independent > 2.6,
            "independent pitches reached {independent}"
        );
        assert!(chords < 0.9, "pitch autoregression reached {chords}");
        Ok(())
    }

    #[test]
    fn generation_draws_each_pitch_given_the_lower_ones_and_undoes_the_weight() -> Result<()> {
        let mut config = autoregressive(3);
        config.positive_weight = Some(std::f64::consts::E);
        let model = FrameLstm::new(config, Device::Cpu)?;
        tch::no_grad(|| {
            for (name, t) in model.named_parameters() {
                let _ = t.shallow_clone().zero_();
                if name == "pitch.weight" {
                    let mut w = [0f32; 9];
                    w[2 * 3] = 5.0; // pitch 2 reads pitch 0
                    t.shallow_clone()
                        .copy_(&Tensor::from_slice(&w).view([3, 3]));
                }
            }
        });
        let state = model.start(&Tensor::zeros([0, 3], (Kind::Float, Device::Cpu)))?;
        let mut seen = Vec::new();
        let frame = model.next_frame(&state, &mut |j, logit| {
            seen.push((j, logit));
            j == 0
        })?;
        assert_eq!(frame, vec![1.0, 0.0, 0.0]);
        // Logit 0 less ln e = -1 for every pitch; pitch 2 gains 5 from pitch 0.
        assert_eq!(seen.len(), 3);
        assert!((seen[0].1 + 1.0).abs() < 1e-6 && (seen[2].1 - 4.0).abs() < 1e-6);
        let state = model.advance(state, &frame)?;
        assert!(model
            .next_frame(&state, &mut |_, _| false)?
            .iter()
            .all(|&c| c == 0.0));
        Ok(())
    }

    #[test]
    fn rejects_bad_configs() {
        let mut config = FrameLstmConfig::debug(5);
        config.input_dropout = 1.0;
        assert!(FrameLstm::new(config, Device::Cpu).is_err());
        let mut config = FrameLstmConfig::debug(5);
        config.input_projection = Some(0);
        assert!(FrameLstm::new(config, Device::Cpu).is_err());
        let mut config = FrameLstmConfig::debug(5);
        config.positive_weight = Some(-1.0);
        let err = FrameLstm::new(config, Device::Cpu).expect_err("negative weight");
        assert!(format!("{err:#}").contains("positive_weight"));
    }
}
