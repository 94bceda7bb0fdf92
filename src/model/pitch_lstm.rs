//! A pitch-invariant piano-roll model: the biaxial LSTM (BALSTM) of Johnson, "Generating
//! Polyphonic Music Using Tied Parallel Networks" (EvoMusArt 2017).
//!
//! Two LSTMs, each shared by many sequences:
//!
//! - the **time axis** runs along the frames once per key, with the same weights for every key.
//!   Key `n` reads inputs relative to itself: the keys `n - window ..= n + window` of the frame
//!   just played, its pitch class, the previous frame's notes counted per pitch class *relative to
//!   `n`*, the position in the bar (binary bits of the frame index) and its place on the keyboard.
//!   A pattern learned in one key is therefore known in every key.
//! - the **pitch axis** runs across the keys of each frame being predicted, from low to high: key
//!   `n` reads the time axis's output for `n` and the `chord_window` keys just below it *in the
//!   frame being predicted*, and gives key `n`'s logit.
//!
//! The frame's probability is the product of these Bernoulli conditionals (each key given the
//! past and the keys below it), so it is exactly normalised and its negative log is the binary
//! cross-entropy of the conditional logits, in the unit of the polyphonic benchmark
//! (`metrics::frame_nll`). Training reads the true frame (teacher forcing); sampling
//! draws the keys one after another ([`FrameStepper`]).
//!
//! Both axes are batched: the time axis runs every key of every piece of a batch as one LSTM call
//! (`batch × keys` sequences), the pitch axis every frame of the batch as one call (`batch ×
//! frames` sequences of `keys` steps).
//!
//! Parameter names: `time.weight_ih_l0`, … (the time-axis LSTM), `pitch.weight_ih_l0`, … (the
//! pitch-axis LSTM), `head.weight`, `head.bias`.

use super::{
    ensure_dropout, primer_frames, state_as, state_ref, to_f64s, FrameStepper, LstmStack,
    LstmState, Model, StepState,
};
use crate::data::Batch;
use anyhow::{ensure, Result};
use kernel::PitchKernel;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tch::nn;
use tch::{Device, Kind, Tensor};

/// The architecture name of [`PitchLstm`] in checkpoints.
pub const ARCHITECTURE: &str = "pitch_lstm";

/// The output bias starts at this logit (a key sounds with probability 4.7%): piano rolls are
/// sparse, and a model that starts at one half for every key pays 61 nats a frame until it has
/// learnt that.
const INITIAL_LOGIT: f64 = -3.0;

/// The logit each key outside [`PitchLstmConfig::key_range`] starts at (probability 6e-6 a
/// frame). The range is chosen to hold every key the training set sounds, so a key outside it is
/// expected silent: its best logit on the training set is minus infinity, and the add-half
/// estimate from JSB's 14k training frames is about -10. Started at the head's -3 (5% a frame),
/// Adam lowers it by about the learning rate a step, which a short run leaves far from there: the
/// 30-odd keys outside JSB's range cost nats on every frame, and sampled pieces got stray notes
/// across the whole keyboard (JSB test NLL 4.79 before, 4.62 after, median of 3 seeds).
const OUTSIDE_INITIAL_LOGIT: f64 = -12.0;

fn default_low_pitch() -> i64 {
    21
}

/// Sizes, inputs and regularisation of a [`PitchLstm`]. (Missing optional fields in JSON take
/// their defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PitchLstmConfig {
    /// Keys per frame (88: the piano keys A0..C8).
    pub num_pitches: i64,
    /// MIDI pitch of the first key (21, A0), for the pitch classes.
    #[serde(default = "default_low_pitch")]
    pub low_pitch: i64,
    /// Neighbours on each side of a key that its time axis reads in the previous frame (12: an
    /// octave each way, 25 inputs).
    pub window: i64,
    /// Binary digits of the frame index read as the position in the bar (4: a bar of 16 frames
    /// or a divisor of it); 0 reads none.
    pub beat_bits: i64,
    /// The time axis also reads the previous frame's notes counted per pitch class, rotated so the
    /// key's own pitch class comes first.
    pub pitch_class_context: bool,
    /// Width of each time-axis LSTM layer.
    pub time_hidden: i64,
    /// Number of time-axis LSTM layers.
    pub time_layers: i64,
    /// Width of each pitch-axis LSTM layer.
    pub pitch_hidden: i64,
    /// Number of pitch-axis LSTM layers.
    pub pitch_layers: i64,
    /// Keys just below a key, in the frame being predicted, that its pitch axis reads (at least
    /// 1; the LSTM carries what is further down).
    pub chord_window: i64,
    /// Dropout between LSTM layers and on both axes' outputs (training only).
    pub dropout: f64,
    /// The keys (cells) both LSTMs run over, `[first, last]` (`None`: every key). A data set's
    /// music often spans far fewer keys than the keyboard, and the LSTMs' cost grows with the keys
    /// they run over; each key outside the range sounds independently, with a learned
    /// probability of its own (still an exact distribution). Keys in the range still read their
    /// neighbours outside it.
    #[serde(default)]
    pub key_range: Option<[i64; 2]>,
    /// Weight of the on cells in the training loss (see [`crate::encode::positive_weight`]);
    /// `None` is 1. Evaluation reports the unweighted NLL, and sampling divides the weight out of
    /// the odds.
    #[serde(default)]
    pub positive_weight: Option<f64>,
}

impl PitchLstmConfig {
    /// An 88-key model with a time axis of `time_layers` × `time_hidden`, a pitch axis of
    /// `pitch_layers` × `pitch_hidden`, an octave of neighbours each side, 4 beat bits, the
    /// pitch-class context and 12 keys of chord below, with `dropout`.
    pub fn piano(
        time_hidden: i64,
        time_layers: i64,
        pitch_hidden: i64,
        pitch_layers: i64,
        dropout: f64,
    ) -> Self {
        PitchLstmConfig {
            num_pitches: 88,
            low_pitch: 21,
            window: 12,
            beat_bits: 4,
            pitch_class_context: true,
            time_hidden,
            time_layers,
            pitch_hidden,
            pitch_layers,
            chord_window: 12,
            dropout,
            key_range: None,
            positive_weight: None,
        }
    }

    /// A tiny model of `num_pitches` keys (from middle C) for fast tests.
    pub fn debug(num_pitches: i64) -> Self {
        PitchLstmConfig {
            num_pitches,
            low_pitch: 60,
            window: 2,
            beat_bits: 2,
            chord_window: 2,
            ..PitchLstmConfig::piano(8, 1, 6, 1, 0.0)
        }
    }

    /// Inputs the time axis reads per key per frame.
    pub fn time_features(&self) -> i64 {
        (2 * self.window + 1)
            + 12
            + if self.pitch_class_context { 12 } else { 0 }
            + self.beat_bits
            + 1
    }

    /// The first key the LSTMs run over and how many they run over.
    pub fn modelled_keys(&self) -> (i64, i64) {
        match self.key_range {
            Some([first, last]) => (first, last - first + 1),
            None => (0, self.num_pitches),
        }
    }

    fn validate(&self) -> Result<()> {
        ensure!(self.num_pitches > 0, "num_pitches must be positive");
        if let Some([first, last]) = self.key_range {
            ensure!(
                0 <= first && first <= last && last < self.num_pitches,
                "key_range [{first}, {last}] must be keys of 0..{} in order",
                self.num_pitches
            );
        }
        ensure!(
            (0..=127).contains(&self.low_pitch),
            "low_pitch must be a MIDI pitch (0..=127)"
        );
        ensure!(self.window >= 0, "window must be 0 or more");
        ensure!(
            (0..=16).contains(&self.beat_bits),
            "beat_bits must be in 0..=16"
        );
        for (name, v) in [
            ("time_hidden", self.time_hidden),
            ("time_layers", self.time_layers),
            ("pitch_hidden", self.pitch_hidden),
            ("pitch_layers", self.pitch_layers),
            ("chord_window", self.chord_window),
        ] {
            ensure!(v > 0, "{name} must be positive");
        }
        ensure_dropout(self.dropout)?;
        ensure!(
            self.positive_weight
                .is_none_or(|w| w > 0.0 && w.is_finite()),
            "positive_weight must be positive"
        );
        Ok(())
    }
}

/// The biaxial LSTM over piano-roll frames; it owns its parameters (so a notebook can keep it).
#[derive(Debug)]
pub struct PitchLstm {
    /// The sizes this model was built with.
    pub config: PitchLstmConfig,
    /// The parameters.
    pub vs: nn::VarStore,
    time: LstmStack,
    pitch: LstmStack,
    head_weight: Tensor,
    head_bias: Tensor,
    /// The logit of every key outside `key_range`, `[keys]` (unused inside it).
    outside: Option<Tensor>,
    /// One-hot pitch class of every key, `[keys, 12]`.
    pitch_classes: Tensor,
    /// For key `n` and `k` in 0..12, the pitch class `(class(n) + k) mod 12`, flattened `[keys * 12]`.
    relative_classes: Tensor,
    /// Place of every key on the keyboard in −1..1, `[keys, 1]`.
    positions: Tensor,
    /// Draw frames with the pitch axis in the crate's CPU kernel when the model is on the CPU
    /// (the default); off, every key is a libtorch step (the reference the kernel is tested
    /// against).
    pub cpu_kernel: bool,
}

/// What the model carries between generation steps: the time axis's state for every key, its
/// output for the frame to draw, that frame's index, and on the CPU the pitch axis compiled for
/// drawing key by key.
#[derive(Debug)]
struct PitchStep {
    state: LstmState,
    /// `[modelled keys, time_hidden]`.
    time_out: Tensor,
    /// Index of the frame the time axis read last.
    step: i64,
    /// The pitch axis in the crate's CPU kernel (`None` on CUDA, or when turned off).
    kernel: Option<Arc<PitchKernel>>,
}

impl PitchLstm {
    /// Builds a model with freshly initialised parameters on `device` (initialised as PyTorch
    /// initialises `nn.LSTM` and `nn.Linear`, but for the output bias, which starts at a logit of
    /// −3).
    pub fn new(config: PitchLstmConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let _generator = super::torch_rng::hold();
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let c = &config;
        let time = LstmStack::new(
            &root.sub("time"),
            c.time_features(),
            c.time_hidden,
            c.time_layers,
            c.dropout,
        );
        let pitch = LstmStack::new(
            &root.sub("pitch"),
            c.time_hidden + c.chord_window,
            c.pitch_hidden,
            c.pitch_layers,
            c.dropout,
        );
        let bound = 1.0 / (c.pitch_hidden as f64).sqrt();
        let head = root.sub("head");
        let head_weight = head.var(
            "weight",
            &[1, c.pitch_hidden],
            nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
        );
        let head_bias = head.var("bias", &[1], nn::Init::Const(INITIAL_LOGIT));
        let outside = c.key_range.map(|_| {
            root.sub("outside").var(
                "bias",
                &[c.num_pitches],
                nn::Init::Const(OUTSIDE_INITIAL_LOGIT),
            )
        });
        let p = c.num_pitches;
        let class = |n: i64| (c.low_pitch + n).rem_euclid(12);
        let mut onehot = vec![0f32; (p * 12) as usize];
        let mut relative = Vec::with_capacity((p * 12) as usize);
        for n in 0..p {
            onehot[(n * 12 + class(n)) as usize] = 1.0;
            relative.extend((0..12).map(|k| (class(n) + k) % 12));
        }
        let positions: Vec<f32> = (0..p)
            .map(|n| {
                if p > 1 {
                    2.0 * n as f32 / (p - 1) as f32 - 1.0
                } else {
                    0.0
                }
            })
            .collect();
        Ok(PitchLstm {
            pitch_classes: Tensor::from_slice(&onehot).view([p, 12]).to(device),
            relative_classes: Tensor::from_slice(&relative).to(device),
            positions: Tensor::from_slice(&positions).view([p, 1]).to(device),
            config,
            vs,
            time,
            pitch,
            head_weight,
            head_bias,
            outside,
            cpu_kernel: true,
        })
    }

    /// The time axis's inputs for frames `[batch, T, keys]` whose first frame has index
    /// `first_step` in its piece: `[batch, T, keys, time_features]`, each key's inputs relative to
    /// itself (see the module docs).
    pub fn time_inputs(&self, frames: &Tensor, first_step: i64) -> Tensor {
        let c = &self.config;
        let frames = frames.to_kind(Kind::Float);
        let (b, t, p) = (frames.size()[0], frames.size()[1], c.num_pitches);
        let w = c.window;
        let mut parts = vec![frames
            .constant_pad_nd([w, w])
            .unfold(2, 2 * w + 1, 1)
            .narrow(2, 0, p)];
        parts.push(
            self.pitch_classes
                .view([1, 1, p, 12])
                .expand([b, t, p, 12], false),
        );
        if c.pitch_class_context {
            let counts = frames.matmul(&self.pitch_classes);
            parts.push(
                counts
                    .index_select(2, &self.relative_classes)
                    .view([b, t, p, 12]),
            );
        }
        if c.beat_bits > 0 {
            let bits: Vec<f32> = (first_step..first_step + t)
                .flat_map(|step| {
                    (0..c.beat_bits).map(move |k| ((step >> k) & 1) as f32 * 2.0 - 1.0)
                })
                .collect();
            let bits = Tensor::from_slice(&bits)
                .view([1, t, 1, c.beat_bits])
                .to(frames.device());
            parts.push(bits.expand([b, t, p, c.beat_bits], false));
        }
        parts.push(
            self.positions
                .view([1, 1, p, 1])
                .expand([b, t, p, 1], false),
        );
        Tensor::cat(&parts, 3)
    }

    /// Runs the time axis over frames `[batch, T, keys]` (the first has index `first_step`) from
    /// `state` (zeros when `None`; `[layers, batch × modelled keys, hidden]`): its outputs
    /// `[batch, T, modelled keys, time_hidden]` (what every key of `key_range` knows of the past
    /// for the frame after each) and the state after the last frame.
    pub fn time_axis(
        &self,
        frames: &Tensor,
        first_step: i64,
        state: Option<&LstmState>,
        train: bool,
    ) -> (Tensor, LstmState) {
        let (first, keys) = self.config.modelled_keys();
        let x = self.time_inputs(frames, first_step).narrow(2, first, keys);
        let (b, t, p, f) = (x.size()[0], x.size()[1], x.size()[2], x.size()[3]);
        let x = x.permute([0, 2, 1, 3]).reshape([b * p, t, f]);
        let (out, state) = self.time.run(&x, state, train);
        let h = self.config.time_hidden;
        let out = out
            .dropout(self.config.dropout, train)
            .view([b, p, t, h])
            .permute([0, 2, 1, 3]);
        (out, state)
    }

    /// Runs the pitch axis: the time axis's outputs `[batch, T, modelled keys, time_hidden]` and
    /// the frames being predicted `[batch, T, keys]` (0/1) → the conditional logit of every key
    /// given the past and the keys below it in its frame, `[batch, T, keys]`.
    pub fn pitch_axis(&self, time_out: &Tensor, next: &Tensor, train: bool) -> Tensor {
        let c = &self.config;
        let (b, t, p) = (time_out.size()[0], time_out.size()[1], c.num_pitches);
        let (first, keys) = c.modelled_keys();
        let k = c.chord_window;
        let below = next
            .to_kind(time_out.kind())
            .constant_pad_nd([k, 0])
            .unfold(2, k, 1)
            .narrow(2, first, keys);
        let x = Tensor::cat(&[time_out, &below], 3).reshape([b * t, keys, c.time_hidden + k]);
        let (out, _) = self.pitch.run(&x, None, train);
        let inside = out
            .dropout(c.dropout, train)
            .linear(&self.head_weight, Some(&self.head_bias))
            .view([b, t, keys]);
        match &self.outside {
            Some(bias) => {
                let all = bias.view([1, 1, p]).expand([b, t, p], false);
                let last = first + keys;
                Tensor::cat(
                    &[
                        all.narrow(2, 0, first),
                        inside,
                        all.narrow(2, last, p - last),
                    ],
                    2,
                )
            }
            None => inside,
        }
    }

    /// The conditional logits of frames `next` `[batch, T, keys]` given the frames before them
    /// `frames` (`next[t]` follows `frames[t]`): the NLL of `next` is their binary cross-entropy,
    /// exactly.
    pub fn logits(&self, frames: &Tensor, next: &Tensor, train: bool) -> Tensor {
        let (time_out, _) = self.time_axis(frames, 0, None, train);
        self.pitch_axis(&time_out, next, train)
    }

    /// The conditional logits of a batch's targets given its inputs (padded target frames read
    /// as silence).
    pub fn batch_logits(&self, batch: &Batch, train: bool) -> Tensor {
        self.logits(&batch.inputs, &batch.targets.clamp_min(0.0), train)
    }

    /// The time axis's state and output after reading frames `[T, keys]`, the last with index
    /// `step`, from `state`; `kernel` goes on with it.
    fn read_frames(
        &self,
        frames: &Tensor,
        step: i64,
        state: Option<&LstmState>,
        kernel: Option<Arc<PitchKernel>>,
    ) -> StepState {
        let first = step + 1 - frames.size()[0];
        let (out, state) = self.time_axis(&frames.unsqueeze(0), first, state, false);
        Box::new(PitchStep {
            state,
            time_out: out.get(0).get(-1),
            step,
            kernel,
        })
    }
}

impl Model for PitchLstm {
    frame_model_basics!();
}

impl FrameStepper for PitchLstm {
    fn num_pitches(&self) -> usize {
        self.config.num_pitches as usize
    }

    fn start(&self, primer: &Tensor) -> Result<StepState> {
        let frames = primer_frames(primer, self.config.num_pitches, self.device())?;
        let kernel = if self.cpu_kernel && self.device() == Device::Cpu {
            Some(Arc::new(PitchKernel::new(self)?))
        } else {
            None
        };
        Ok(tch::no_grad(|| {
            self.read_frames(&frames, frames.size()[0] - 1, None, kernel)
        }))
    }

    fn next_frame(
        &self,
        state: &StepState,
        draw: &mut dyn FnMut(usize, f64) -> bool,
    ) -> Result<Vec<f32>> {
        let step: &PitchStep = state_ref(state)?;
        let p = self.num_pitches();
        let k = self.config.chord_window as usize;
        let (first, keys) = self.config.modelled_keys();
        let (first, last) = (first as usize, (first + keys) as usize);
        let offset = self.config.positive_weight.map_or(0.0, f64::ln);
        let outside = match &self.outside {
            Some(bias) => tch::no_grad(|| to_f64s(bias))?,
            None => Vec::new(),
        };
        if let Some(kernel) = &step.kernel {
            return kernel.draw_frame(self, &step.time_out, &outside, draw);
        }
        let mut cells = vec![0f32; p];
        tch::no_grad(|| -> Result<()> {
            let mut pitch_state: Option<LstmState> = None;
            for n in 0..p {
                let logit = if (first..last).contains(&n) {
                    let below: Vec<f32> = (0..k)
                        .map(|j| (n + j).checked_sub(k).map_or(0.0, |i| cells[i]))
                        .collect();
                    let below = Tensor::from_slice(&below).to(self.device());
                    let own = step.time_out.get((n - first) as i64);
                    let x = Tensor::cat(&[own, below], 0).view([1, -1]);
                    let (out, next) = self.pitch.step(&x, pitch_state.as_ref());
                    pitch_state = Some(next);
                    let logit = out.linear(&self.head_weight, Some(&self.head_bias));
                    to_f64s(&logit)?[0]
                } else {
                    outside.get(n).copied().unwrap_or(OUTSIDE_INITIAL_LOGIT)
                };
                if draw(n, logit - offset) {
                    cells[n] = 1.0;
                }
            }
            Ok(())
        })?;
        Ok(cells)
    }

    fn advance(&self, state: StepState, frame: &[f32]) -> Result<StepState> {
        let step = state_as::<PitchStep>(state)?;
        ensure!(
            frame.len() == self.num_pitches(),
            "a frame of {} cells for a model of {} pitches",
            frame.len(),
            self.num_pitches()
        );
        let input = Tensor::from_slice(frame)
            .view([1, frame.len() as i64])
            .to(self.device());
        Ok(tch::no_grad(|| {
            self.read_frames(&input, step.step + 1, Some(&step.state), step.kernel)
        }))
    }
}

impl std::fmt::Display for PitchLstm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        let weight = c
            .positive_weight
            .map(|w| format!("; training weights the on cells by {w:.1}"))
            .unwrap_or_default();
        let (keys, outside) = match c.key_range {
            Some([first, last]) => (
                format!("keys {first}..={last} of {}", c.num_pitches),
                "; the other keys independent".to_string(),
            ),
            None => (format!("the {} keys", c.num_pitches), String::new()),
        };
        write!(
            f,
            "PitchLstm (biaxial): per key, ±{} neighbours + pitch class{} + {} beat bits + position ({} inputs) → time-axis LSTM {}×{} shared by {} → with the {} keys below in the frame → pitch-axis LSTM {}×{} from low to high → linear {}→1 → sigmoid (dropout {}){outside}; {} parameters on {:?}{weight}",
            c.window,
            if c.pitch_class_context { " + pitch-class context" } else { "" },
            c.beat_bits,
            c.time_features(),
            c.time_layers,
            c.time_hidden,
            keys,
            c.chord_window,
            c.pitch_layers,
            c.pitch_hidden,
            c.pitch_hidden,
            c.dropout,
            self.parameter_count(),
            self.device()
        )
    }
}

mod kernel;
#[cfg(test)]
mod tests;
