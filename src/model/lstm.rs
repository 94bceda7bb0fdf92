//! An LSTM language model over token ids: embedding → LSTM × n → dropout → linear.
//!
//! Parameter names follow PyTorch's (`embed.weight`, `lstm.weight_ih_l0`, …, `head.weight`), so a
//! checkpoint can be compared with, or loaded into, the same model written in Python.

use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Tensor};

/// Sizes of an [`LstmLm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        ensure!(
            self.embed_dim > 0 && self.hidden_size > 0,
            "layer sizes must be positive"
        );
        ensure!(self.num_layers > 0, "num_layers must be at least 1");
        ensure!(
            (0.0..1.0).contains(&self.dropout),
            "dropout must be in [0, 1)"
        );
        Ok(())
    }
}

/// The recurrent state carried from one step to the next: (h, c), each `[layers, batch, hidden]`.
#[derive(Debug)]
pub struct LstmState {
    /// Hidden state.
    pub h: Tensor,
    /// Cell state.
    pub c: Tensor,
}

/// An LSTM language model that owns its parameters (so a notebook can keep it across cells).
#[derive(Debug)]
pub struct LstmLm {
    /// The sizes this model was built with.
    pub config: LstmConfig,
    /// The parameters.
    pub vs: nn::VarStore,
    embed: Tensor,
    lstm_weights: Vec<Tensor>,
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
        let lstm = root.sub("lstm");
        let bound = 1.0 / (config.hidden_size as f64).sqrt();
        let uniform = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let mut lstm_weights = Vec::new();
        for layer in 0..config.num_layers {
            let input = if layer == 0 {
                config.embed_dim
            } else {
                config.hidden_size
            };
            let gates = 4 * config.hidden_size;
            lstm_weights.push(lstm.var(&format!("weight_ih_l{layer}"), &[gates, input], uniform));
            lstm_weights.push(lstm.var(
                &format!("weight_hh_l{layer}"),
                &[gates, config.hidden_size],
                uniform,
            ));
            lstm_weights.push(lstm.var(&format!("bias_ih_l{layer}"), &[gates], uniform));
            lstm_weights.push(lstm.var(&format!("bias_hh_l{layer}"), &[gates], uniform));
        }
        let head = root.sub("head");
        let head_bound = 1.0 / (config.hidden_size as f64).sqrt();
        let head_init = Init::Uniform {
            lo: -head_bound,
            up: head_bound,
        };
        let head_weight = head.var(
            "weight",
            &[config.vocab_size, config.hidden_size],
            head_init,
        );
        let head_bias = head.var("bias", &[config.vocab_size], head_init);
        Ok(LstmLm {
            config,
            vs,
            embed,
            lstm_weights,
            head_weight,
            head_bias,
        })
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Total number of parameters.
    pub fn parameter_count(&self) -> i64 {
        super::parameter_count(&self.vs)
    }

    /// Parameters by name, sorted by name (a stable order for optimizers and checkpoints).
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        super::sorted_parameters(&self.vs)
    }

    /// A zero state for `batch` sequences.
    pub fn zero_state(&self, batch: i64) -> LstmState {
        LstmState::zeros(
            self.config.num_layers,
            batch,
            self.config.hidden_size,
            self.device(),
        )
    }

    /// Runs token ids `[batch, time]` from `state` (zeros when `None`); returns logits
    /// `[batch, time, vocab]` and the state after the last step. `train` turns dropout on.
    pub fn forward(
        &self,
        ids: &Tensor,
        state: Option<&LstmState>,
        train: bool,
    ) -> (Tensor, LstmState) {
        let batch = ids.size()[0];
        let zero;
        let state = match state {
            Some(s) => s,
            None => {
                zero = self.zero_state(batch);
                &zero
            }
        };
        let x = Tensor::embedding(&self.embed, ids, -1, false, false);
        let weights: Vec<&Tensor> = self.lstm_weights.iter().collect();
        let (out, h, c) = x.lstm(
            &[&state.h, &state.c],
            &weights,
            true,
            self.config.num_layers,
            self.config.dropout,
            train,
            false,
            true,
        );
        let out = out.dropout(self.config.dropout, train);
        let logits = out.linear(&self.head_weight, Some(&self.head_bias));
        (logits, LstmState { h, c })
    }

    /// One step for generation: ids `[batch]` → logits `[batch, vocab]` and the next state.
    pub fn step(&self, ids: &Tensor, state: Option<&LstmState>) -> (Tensor, LstmState) {
        let (logits, state) = self.forward(&ids.unsqueeze(1), state, false);
        (logits.squeeze_dim(1), state)
    }

    /// Mean cross-entropy (nats per token) of predicting `targets` from `inputs`, both `[batch, time]`.
    pub fn loss(&self, inputs: &Tensor, targets: &Tensor, train: bool) -> Tensor {
        let (logits, _) = self.forward(inputs, None, train);
        let v = self.config.vocab_size;
        logits
            .view([-1, v])
            .cross_entropy_for_logits(&targets.view([-1]))
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
        let mut state = None;
        for (t, &id) in ids.iter().enumerate() {
            let (logits, next) = model.step(&Tensor::from_slice(&[id]), state.as_ref());
            let diff = (logits - whole.get(0).get(t as i64))
                .abs()
                .max()
                .double_value(&[]);
            assert!(diff < 1e-5, "step {t} differs by {diff}");
            state = Some(next);
        }
        Ok(())
    }

    #[test]
    fn rejects_bad_configs() {
        let mut config = LstmConfig::debug(5);
        config.num_layers = 0;
        assert!(LstmLm::new(config, Device::Cpu).is_err());
    }
}
