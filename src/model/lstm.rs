//! An LSTM language model over token ids, many-to-many: embedding → LSTM × n → dropout → linear,
//! predicting the next token at every step. The character model of ABC tunes; it trains on any
//! token stream.
//!
//! Parameter names follow PyTorch's (`embed.weight`, `lstm.weight_ih_l0`, …, `head.weight`), so a
//! checkpoint can be compared with, or loaded into, the same model written in Python.

use super::{
    linear_layer, state_as, to_f64s, LstmStack, LstmState, Model, Sizes, StepState, Stepper,
    TokenStepper,
};
use crate::data::Batch;
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Tensor};

/// The architecture name of [`LstmLm`] in checkpoints.
pub const ARCHITECTURE: &str = "lstm_lm";

/// Sizes of an [`LstmLm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmConfig {
    /// Number of distinct tokens (input and output).
    pub vocab_size: i64,
    /// Width of the token embedding.
    pub embed_dim: i64,
    /// Width of each LSTM layer.
    pub hidden_size: i64,
    /// Number of stacked LSTM layers.
    pub num_layers: i64,
    /// Dropout between LSTM layers and before the output layer (training only).
    pub dropout: f64,
}

impl LstmConfig {
    /// The seed's model: a 2-layer LSTM with the given vocabulary and width.
    pub fn two_layer(vocab_size: usize, hidden_size: i64) -> Self {
        LstmConfig {
            vocab_size: vocab_size as i64,
            embed_dim: 64.min(hidden_size),
            hidden_size,
            num_layers: 2,
            dropout: 0.1,
        }
    }

    /// A tiny model for fast tests.
    pub fn debug(vocab_size: usize) -> Self {
        LstmConfig {
            vocab_size: vocab_size as i64,
            embed_dim: 8,
            hidden_size: 16,
            num_layers: 2,
            dropout: 0.0,
        }
    }

    fn validate(&self) -> Result<()> {
        ensure!(self.vocab_size > 0, "vocab_size must be positive");
        ensure!(self.embed_dim > 0, "embed_dim must be positive");
        ensure!(self.hidden_size > 0, "hidden_size must be positive");
        ensure!(self.num_layers > 0, "num_layers must be at least 1");
        ensure!(
            (0.0..1.0).contains(&self.dropout),
            "dropout must be in [0, 1), not {}",
            self.dropout
        );
        Ok(())
    }
}

/// An LSTM language model that owns its parameters (so a notebook can keep it across cells).
#[derive(Debug)]
pub struct LstmLm {
    /// The sizes this model was built with.
    pub config: LstmConfig,
    /// The parameters.
    pub vs: nn::VarStore,
    embed: Tensor,
    lstm: LstmStack,
    head_weight: Tensor,
    head_bias: Tensor,
}

impl LstmLm {
    /// Builds a model with freshly initialised parameters on `device` (initialised as PyTorch does).
    pub fn new(config: LstmConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let embed = root.sub("embed").var(
            "weight",
            &[config.vocab_size, config.embed_dim],
            Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        );
        let lstm = LstmStack::new(
            &root.sub("lstm"),
            config.embed_dim,
            config.hidden_size,
            config.num_layers,
            config.dropout,
        );
        let (head_weight, head_bias) =
            linear_layer(&root.sub("head"), config.vocab_size, config.hidden_size);
        Ok(LstmLm {
            config,
            vs,
            embed,
            lstm,
            head_weight,
            head_bias,
        })
    }

    /// A zero state for `batch` sequences.
    pub fn zero_state(&self, batch: i64) -> LstmState {
        self.lstm.zero_state(batch, self.device())
    }

    /// Runs token ids `[batch, time]` from `state` (zeros when `None`); returns logits
    /// `[batch, time, vocab]` and the state after the last step. `train` turns dropout on.
    pub fn forward(
        &self,
        ids: &Tensor,
        state: Option<&LstmState>,
        train: bool,
    ) -> (Tensor, LstmState) {
        let x = Tensor::embedding(&self.embed, ids, -1, false, false);
        let (out, state) = self.lstm.run(&x, state, train);
        let logits = out
            .dropout(self.config.dropout, train)
            .linear(&self.head_weight, Some(&self.head_bias));
        (logits, state)
    }

    /// One step for generation: ids `[batch]` → logits `[batch, vocab]` and the next state.
    pub fn step(&self, ids: &Tensor, state: Option<&LstmState>) -> (Tensor, LstmState) {
        let (logits, state) = self.forward(&ids.unsqueeze(1), state, false);
        (logits.squeeze_dim(1), state)
    }
}

impl Model for LstmLm {
    fn architecture(&self) -> &'static str {
        ARCHITECTURE
    }

    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).unwrap_or_default()
    }

    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn sizes(&self) -> Sizes {
        Sizes::Tokens {
            vocab: self.config.vocab_size as usize,
        }
    }

    /// Mean cross-entropy (nats per token) of predicting the targets `[batch, time]` from the
    /// inputs `[batch, time]`.
    fn loss(&self, batch: &Batch, train: bool) -> Tensor {
        let (logits, _) = self.forward(&batch.inputs, None, train);
        logits
            .view([-1, self.config.vocab_size])
            .cross_entropy_for_logits(&batch.targets.view([-1]))
    }

    fn stepper(&self) -> Stepper<'_> {
        Stepper::Tokens(self)
    }

    fn summary(&self) -> String {
        self.to_string()
    }
}

impl TokenStepper for LstmLm {
    fn vocab_size(&self) -> usize {
        self.config.vocab_size as usize
    }

    fn start(&self, primer: &[i64]) -> Result<(Vec<f64>, StepState)> {
        ensure!(
            !primer.is_empty(),
            "the primer must hold at least one token"
        );
        tch::no_grad(|| {
            let ids = Tensor::from_slice(primer).view([1, -1]).to(self.device());
            let (logits, state) = self.forward(&ids, None, false);
            Ok((
                to_f64s(&logits.select(1, -1))?,
                Box::new(state) as StepState,
            ))
        })
    }

    fn advance(&self, state: StepState, id: i64) -> Result<(Vec<f64>, StepState)> {
        let state = state_as::<LstmState>(state)?;
        tch::no_grad(|| {
            let (logits, state) =
                self.step(&Tensor::from_slice(&[id]).to(self.device()), Some(&*state));
            Ok((to_f64s(&logits)?, Box::new(state) as StepState))
        })
    }
}

impl std::fmt::Display for LstmLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.config;
        write!(
            f,
            "LstmLm: embedding {}×{} → LSTM {}×{} (dropout {}) → linear {}→{}; {} parameters on {:?}",
            c.vocab_size,
            c.embed_dim,
            c.num_layers,
            c.hidden_size,
            c.dropout,
            c.hidden_size,
            c.vocab_size,
            self.parameter_count(),
            self.device()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_parameter_count() -> Result<()> {
        let model = LstmLm::new(LstmConfig::debug(10), Device::Cpu)?;
        let ids = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6]).view([2, 3]);
        let (logits, state) = model.forward(&ids, None, false);
        assert_eq!(logits.size(), vec![2, 3, 10]);
        assert_eq!(state.h.size(), vec![2, 2, 16]);
        // embed 10*8 + layer0 4*16*(8+16)+2*64 + layer1 4*16*(16+16)+2*64 + head 16*10+10
        let expected = 80 + (64 * 24 + 128) + (64 * 32 + 128) + 170;
        assert_eq!(model.parameter_count(), expected);
        Ok(())
    }

    #[test]
    fn stepping_matches_a_whole_sequence() -> Result<()> {
        tch::manual_seed(1);
        let model = LstmLm::new(LstmConfig::debug(7), Device::Cpu)?;
        let ids = [3i64, 1, 4, 1, 5];
        let (whole, _) = model.forward(&Tensor::from_slice(&ids).view([1, 5]), None, false);
        let (mut logits, mut state) = model.start(&ids[..1])?;
        for t in 0..ids.len() {
            let expected = to_f64s(&whole.get(0).get(t as i64))?;
            let diff = logits
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(diff < 1e-5, "step {t} differs by {diff}");
            if t + 1 < ids.len() {
                (logits, state) = model.advance(state, ids[t + 1])?;
            }
        }
        Ok(())
    }

    #[test]
    fn rejects_bad_configs() {
        let mut config = LstmConfig::debug(5);
        config.num_layers = 0;
        let err = LstmLm::new(config, Device::Cpu).expect_err("no layers");
        assert!(format!("{err:#}").contains("num_layers"));
    }
}
