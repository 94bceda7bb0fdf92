//! The seed's many-to-one model, done properly: a window of N token ids → learned embeddings →
//! LSTM × n → (the last hidden state, or attention pooling over every step) → linear → logits for
//! the next token.
//!
//! The seed fed tokens as normalised scalars (`id / vocab_size`), which tells the network that
//! `C4.E4` lies halfway between two unrelated chords; an embedding gives each token its own vector.
//!
//! Attention pooling is additive (Bahdanau style): a score `v · tanh(W h_t + b)` per step, a
//! softmax over the window, and the weighted sum of the LSTM outputs, concatenated with the last
//! hidden state before the output layer.
//!
//! Generation slides a window of the last [`WindowConfig::window`] ids along the piece.

mod kernel;

use super::{
    argmax_accuracy, embedding_layer, ensure_dropout, linear_layer, state_as, to_f64s, LstmStack,
    Model, Sizes, StepState, Stepper, TokenStepper,
};
use crate::data::Batch;
use anyhow::{ensure, Result};
use kernel::{Flight, WindowKernel};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

/// The architecture name of [`WindowLstm`] in checkpoints.
pub const ARCHITECTURE: &str = "window_lstm";

/// Sizes of a [`WindowLstm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Number of distinct tokens (input and output).
    pub vocab_size: i64,
    /// Ids per input window (the window it trains on and generates with).
    pub window: usize,
    /// Width of the token embedding.
    pub embed_dim: i64,
    /// Width of each LSTM layer.
    pub hidden_size: i64,
    /// Number of stacked LSTM layers.
    pub num_layers: i64,
    /// Dropout between LSTM layers and before the output layer (training only).
    pub dropout: f64,
    /// Pool the window with attention instead of taking the last hidden state.
    pub attention: bool,
}

impl WindowConfig {
    /// The seed's model: windows of 100 ids, 2 LSTM layers of `hidden_size`, embedding 64 wide,
    /// attention on.
    pub fn seed(vocab_size: usize, hidden_size: i64) -> Self {
        WindowConfig {
            vocab_size: vocab_size as i64,
            window: 100,
            embed_dim: 64.min(hidden_size),
            hidden_size,
            num_layers: 2,
            dropout: 0.2,
            attention: true,
        }
    }

    /// A tiny model for fast tests (windows of 6 ids).
    pub fn debug(vocab_size: usize, attention: bool) -> Self {
        WindowConfig {
            vocab_size: vocab_size as i64,
            window: 6,
            embed_dim: 8,
            hidden_size: 16,
            num_layers: 1,
            dropout: 0.0,
            attention,
        }
    }

    fn validate(&self) -> Result<()> {
        ensure!(self.vocab_size > 0, "vocab_size must be positive");
        ensure!(self.window > 0, "window must be positive");
        ensure!(self.embed_dim > 0, "embed_dim must be positive");
        ensure!(self.hidden_size > 0, "hidden_size must be positive");
        ensure!(self.num_layers > 0, "num_layers must be at least 1");
        ensure_dropout(self.dropout)?;
        Ok(())
    }
}

/// The attention layer's parameters.
#[derive(Debug)]
struct Attention {
    weight: Tensor,
    bias: Tensor,
    v: Tensor,
}

/// A many-to-one LSTM over windows of token ids; owns its parameters (so a notebook can keep it
/// across cells).
#[derive(Debug)]
pub struct WindowLstm {
    /// The sizes this model was built with.
    pub config: WindowConfig,
    /// The parameters.
    pub vs: nn::VarStore,
    embed: Tensor,
    lstm: LstmStack,
    attention: Option<Attention>,
    head_weight: Tensor,
    head_bias: Tensor,
    /// Generate with the crate's CPU kernel when the model is on the CPU (the default); off,
    /// every step is a libtorch forward pass (the reference the kernel is tested against).
    pub cpu_kernel: bool,
}

impl WindowLstm {
    /// Builds a model with freshly initialised parameters on `device` (initialised as PyTorch's
    /// `nn.Embedding`, `nn.LSTM` and `nn.Linear` are).
    pub fn new(config: WindowConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let _generator = super::torch_rng::hold();
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let h = config.hidden_size;
        let embed = embedding_layer(&root.sub("embed"), config.vocab_size, config.embed_dim);
        let lstm = LstmStack::new(
            &root.sub("lstm"),
            config.embed_dim,
            h,
            config.num_layers,
            config.dropout,
        );
        let attention = config.attention.then(|| {
            let a = root.sub("attn");
            let (weight, bias) = linear_layer(&a, h, h);
            let bound = 1.0 / (h as f64).sqrt();
            let v = a.var(
                "v",
                &[h],
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            );
            Attention { weight, bias, v }
        });
        let head_in = if config.attention { 2 * h } else { h };
        let (head_weight, head_bias) = linear_layer(&root.sub("head"), config.vocab_size, head_in);
        Ok(WindowLstm {
            config,
            vs,
            embed,
            lstm,
            attention,
            head_weight,
            head_bias,
            cpu_kernel: true,
        })
    }

    /// LSTM outputs `[batch, window, hidden]` for ids `[batch, window]`.
    fn encode(&self, ids: &Tensor, train: bool) -> Tensor {
        let x = Tensor::embedding(&self.embed, ids, -1, false, false);
        self.lstm.run(&x, None, train).0
    }

    /// Attention weights `[batch, window]` (summing to 1 over the window) for LSTM outputs.
    fn attention_from(&self, attention: &Attention, out: &Tensor) -> Tensor {
        let scores = out
            .linear(&attention.weight, Some(&attention.bias))
            .tanh()
            .matmul(&attention.v);
        scores.softmax(-1, Kind::Float)
    }

    /// Logits `[batch, vocab]` for the token after each window of ids `[batch, window]`;
    /// `train` turns dropout on.
    pub fn forward(&self, ids: &Tensor, train: bool) -> Tensor {
        let out = self.encode(ids, train);
        let last = out.select(1, -1);
        let features = match &self.attention {
            Some(attention) => {
                let weights = self.attention_from(attention, &out);
                let context = weights.unsqueeze(1).bmm(&out).squeeze_dim(1);
                Tensor::cat(&[context, last], 1)
            }
            None => last,
        };
        features
            .dropout(self.config.dropout, train)
            .linear(&self.head_weight, Some(&self.head_bias))
    }

    /// Where the model looks: attention weights `[batch, window]` over each window (evaluation
    /// mode), or `None` for a model without attention.
    pub fn attention_weights(&self, ids: &Tensor) -> Option<Tensor> {
        let attention = self.attention.as_ref()?;
        Some(tch::no_grad(|| {
            self.attention_from(attention, &self.encode(ids, false))
        }))
    }

    fn logits_of(&self, context: &[i64]) -> Result<Vec<f64>> {
        let ids = Tensor::from_slice(context).view([1, -1]).to(self.device());
        tch::no_grad(|| to_f64s(&self.forward(&ids, false)))
    }

    /// The kernel generation steps with: the crate's CPU kernel on the CPU (unless
    /// [`WindowLstm::cpu_kernel`] is off), else none (libtorch).
    fn kernel(&self) -> Result<Option<Arc<WindowKernel>>> {
        if self.cpu_kernel && self.device() == Device::Cpu {
            Ok(Some(Arc::new(WindowKernel::new(self)?)))
        } else {
            Ok(None)
        }
    }
}

/// What generation carries: the last ids (at most a window) for libtorch, or the kernel and its
/// windows in flight.
enum WindowStep {
    Libtorch(Vec<i64>),
    Kernel(Arc<WindowKernel>, Box<Flight>),
}

impl WindowStep {
    /// Reads one more id.
    fn read(&mut self, id: i64, window: usize) -> Result<()> {
        match self {
            WindowStep::Libtorch(context) => {
                context.push(id);
                if context.len() > window {
                    context.drain(..context.len() - window);
                }
                Ok(())
            }
            WindowStep::Kernel(kernel, flight) => kernel.read(flight, id),
        }
    }

    /// The logits of the id after the ids read.
    fn logits(&self, model: &WindowLstm) -> Result<Vec<f64>> {
        match self {
            WindowStep::Libtorch(context) => model.logits_of(context),
            WindowStep::Kernel(kernel, flight) => kernel.logits(flight),
        }
    }
}

impl Model for WindowLstm {
    model_basics!();

    fn sizes(&self) -> Sizes {
        Sizes::Tokens {
            vocab: self.config.vocab_size as usize,
        }
    }

    /// Mean cross-entropy (nats per window) of predicting the targets `[batch]` from the windows
    /// `[batch, window]`.
    fn loss(&self, batch: &Batch, train: bool) -> Tensor {
        self.forward(&batch.inputs, train)
            .cross_entropy_for_logits(&batch.targets.view([-1]))
    }

    fn accuracy(&self, batch: &Batch) -> Option<f64> {
        let logits = tch::no_grad(|| self.forward(&batch.inputs, false));
        Some(argmax_accuracy(&logits, &batch.targets.view([-1])))
    }

    fn stepper(&self) -> Stepper<'_> {
        Stepper::Tokens(self)
    }
}

/// Generation reads the last `window` ids (a shorter primer as it is).
impl TokenStepper for WindowLstm {
    fn vocab_size(&self) -> usize {
        self.config.vocab_size as usize
    }

    fn start(&self, primer: &[i64]) -> Result<(Vec<f64>, StepState)> {
        self.start_reading(primer, None)
    }

    /// The kernel starts no window whose logits would come after `reads` more ids.
    fn start_for(&self, primer: &[i64], reads: usize) -> Result<(Vec<f64>, StepState)> {
        self.start_reading(primer, Some(reads))
    }

    fn advance(&self, state: StepState, id: i64) -> Result<(Vec<f64>, StepState)> {
        let mut step = *state_as::<WindowStep>(state)?;
        step.read(id, self.config.window)?;
        Ok((step.logits(self)?, Box::new(step)))
    }
}

impl WindowLstm {
    /// [`TokenStepper::start`], with the most ids `advance` will read when they are known.
    fn start_reading(&self, primer: &[i64], reads: Option<usize>) -> Result<(Vec<f64>, StepState)> {
        ensure!(
            !primer.is_empty(),
            "the primer must hold at least one token"
        );
        let window = self.config.window;
        let primer = &primer[primer.len().saturating_sub(window)..];
        let mut step = match self.kernel()? {
            Some(kernel) => {
                let flight = Box::new(kernel.flight(reads.map(|r| r.saturating_add(primer.len()))));
                WindowStep::Kernel(kernel, flight)
            }
            None => WindowStep::Libtorch(Vec::with_capacity(window + 1)),
        };
        for &id in primer {
            step.read(id, window)?;
        }
        Ok((step.logits(self)?, Box::new(step)))
    }
}

impl std::fmt::Display for WindowLstm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        let pooling = if c.attention {
            "attention pooling + last state"
        } else {
            "last state"
        };
        let head_in = if c.attention {
            2 * c.hidden_size
        } else {
            c.hidden_size
        };
        write!(
            f,
            "WindowLstm (many-to-one, windows of {}): embedding {}×{} → LSTM {}×{} (dropout {}) → {pooling} → linear {}→{}; {} parameters on {:?}",
            c.window,
            c.vocab_size,
            c.embed_dim,
            c.num_layers,
            c.hidden_size,
            c.dropout,
            head_in,
            c.vocab_size,
            self.parameter_count(),
            self.device()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fused::WIDE_LANES;

    /// The logits of every step and the last state, on the model's current path: started from
    /// `ids[..primed]` (told `reads` ids follow, when given), then reading the rest one by one.
    fn steps(
        model: &WindowLstm,
        ids: &[i64],
        primed: usize,
        reads: Option<usize>,
    ) -> Result<(Vec<f64>, StepState)> {
        let (mut logits, mut state) = match reads {
            Some(reads) => model.start_for(&ids[..primed], reads)?,
            None => model.start(&ids[..primed])?,
        };
        let mut all = logits.clone();
        for &id in &ids[primed..] {
            (logits, state) = model.advance(state, id)?;
            all.extend_from_slice(&logits);
        }
        Ok((all, state))
    }

    /// [`steps`]' logits, kernel then libtorch.
    fn both_paths(
        model: &mut WindowLstm,
        ids: &[i64],
        primed: usize,
        reads: Option<usize>,
    ) -> Result<Vec<Vec<f64>>> {
        let mut runs = Vec::new();
        for cpu_kernel in [true, false] {
            model.cpu_kernel = cpu_kernel;
            runs.push(steps(model, ids, primed, reads)?.0);
        }
        Ok(runs)
    }

    fn largest_difference(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn the_seed_sized_kernel_steps_what_libtorch_steps() -> Result<()> {
        // The seed's size (window 100, 2×256, attention), whose products of many lanes run on
        // AMX tiles where the CPU has them: libtorch's logits to 1e-4 through 60 ids after a
        // primer of a window.
        let _generator = crate::model::torch_rng::hold_seeded(5);
        let mut model = WindowLstm::new(WindowConfig::seed(300, 256), Device::Cpu)?;
        // Weights four times their initial size, so that the gates saturate and the logits
        // spread over several units, as a trained model's do.
        tch::no_grad(|| {
            for (_, mut weight) in model.vs.variables() {
                let _ = weight.g_mul_scalar_(4.0);
            }
        });
        let ids: Vec<i64> = (0..160).map(|i| (i * 37 + 11) % 300).collect();
        let runs = both_paths(&mut model, &ids, 100, Some(60))?;
        let worst = largest_difference(&runs[0], &runs[1]);
        let spread = runs[1].iter().fold(0f64, |m, v| m.max(v.abs()));
        eprintln!("seed-sized window model: largest difference {worst:e}, largest logit {spread}");
        assert!(spread > 1.0, "logits of a trained size: {spread}");
        assert!(worst < 1e-4, "largest difference {worst}");
        Ok(())
    }

    #[test]
    fn the_cpu_kernel_steps_what_libtorch_steps() -> Result<()> {
        // Two layers, with and without attention, windows of a few lanes and of many (the two
        // kinds of product), filling and sliding, from a short primer and from one longer than
        // a window: the kernel's logits are libtorch's to 1e-4 at every step.
        let cases = [
            (true, 12, 3),
            (false, 12, 3),
            (true, WIDE_LANES + 4, 3),
            (true, 7, 9),
        ];
        for (attention, window, primed) in cases {
            let _generator = crate::model::torch_rng::hold_seeded(4);
            let config = WindowConfig {
                vocab_size: 30,
                window,
                embed_dim: 10,
                hidden_size: 24,
                num_layers: 2,
                dropout: 0.0,
                attention,
            };
            let mut model = WindowLstm::new(config, Device::Cpu)?;
            let ids: Vec<i64> = (0..30).map(|i| (i * 7 + 3) % 30).collect();
            let runs = both_paths(&mut model, &ids, primed, None)?;
            let worst = largest_difference(&runs[0], &runs[1]);
            assert!(
                worst < 1e-4,
                "attention {attention}, window {window}: largest difference {worst}"
            );
            assert_eq!(runs[0].len(), (31 - primed) * 30);
            model.cpu_kernel = true;
            // Told how many ids will follow, the kernel starts only the windows it will need and
            // gives the same logits; reading one more is refused.
            // A limit past any count (a sampler's `max_steps`) is no limit.
            for reads in [ids.len() - primed, usize::MAX] {
                let (limited, state) = steps(&model, &ids, primed, Some(reads))?;
                assert_eq!(limited.len(), runs[0].len());
                for (a, b) in limited.iter().zip(&runs[0]) {
                    assert!((a - b).abs() < 1e-5, "window {window}: {a} against {b}");
                }
                assert_eq!(
                    model.advance(state, 1).is_err(),
                    reads < usize::MAX,
                    "a read past the ids the start was told of is refused"
                );
            }
            assert!(model.start(&[31]).is_err(), "an id outside the vocabulary");
        }
        Ok(())
    }

    #[test]
    fn shapes_and_parameter_counts() -> Result<()> {
        let ids = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6]).view([2, 3]);
        let plain = WindowLstm::new(WindowConfig::debug(10, false), Device::Cpu)?;
        assert_eq!(plain.forward(&ids, false).size(), vec![2, 10]);
        // embed 10*8 + lstm 64*(8+16)+2*64 + head 16*10+10
        let lstm = 64 * 24 + 128;
        assert_eq!(plain.parameter_count(), 80 + lstm + 170);
        assert!(plain.attention_weights(&ids).is_none());
        let attn = WindowLstm::new(WindowConfig::debug(10, true), Device::Cpu)?;
        assert_eq!(attn.forward(&ids, false).size(), vec![2, 10]);
        // + attention 16*16+16+16, head 32*10+10
        assert_eq!(attn.parameter_count(), 80 + lstm + 288 + 330);
        let weights = attn.attention_weights(&ids).expect("attention on");
        assert_eq!(weights.size(), vec![2, 3]);
        let sums = weights.sum_dim_intlist(1, false, Kind::Float);
        assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-5);
        assert!(attn.to_string().contains("attention"));
        Ok(())
    }

    #[test]
    fn generation_slides_a_window_of_the_trained_length() -> Result<()> {
        let mut config = WindowConfig::debug(5, false);
        config.window = 3;
        let model = WindowLstm::new(config, Device::Cpu)?;
        let (logits, state) = model.start(&[1, 2, 3, 4])?;
        assert_eq!(logits.len(), 5);
        let (_, state) = model.advance(state, 0)?;
        let step = state_as::<WindowStep>(state)?;
        assert!(matches!(*step, WindowStep::Kernel(..)), "the CPU kernel");
        let mut libtorch = WindowLstm::new(model.config.clone(), Device::Cpu)?;
        libtorch.cpu_kernel = false;
        let (_, state) = libtorch.start(&[1, 2, 3, 4])?;
        let (_, state) = libtorch.advance(state, 0)?;
        match *state_as::<WindowStep>(state)? {
            WindowStep::Libtorch(context) => assert_eq!(context, vec![3, 4, 0]),
            WindowStep::Kernel(..) => panic!("libtorch was asked for"),
        }
        Ok(())
    }

    #[test]
    fn rejects_bad_configs() {
        let mut config = WindowConfig::debug(5, true);
        config.dropout = 1.5;
        let err = WindowLstm::new(config, Device::Cpu).expect_err("bad dropout");
        assert!(format!("{err:#}").contains("dropout"));
    }
}
