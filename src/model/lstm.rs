//! An LSTM language model over token ids, many-to-many: embedding → LSTM × n → dropout → linear,
//! predicting the next token at every step. The character model of ABC tunes; it trains on any
//! token stream.
//!
//! Parameter names follow PyTorch's (`embed.weight`, `lstm.weight_ih_l0`, …, `head.weight`), so a
//! checkpoint can be compared with, or loaded into, the same model written in Python.

use super::{
    embedding_layer, ensure_dropout, linear_layer, state_as, to_f64s, LstmStack, LstmState, Model,
    Sizes, StepState, Stepper, TokenStepper,
};
use crate::data::Batch;
use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
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
        ensure_dropout(self.dropout)?;
        Ok(())
    }
}

/// Regularisation of an [`LstmLm`] beyond its sizes (kept apart from [`LstmConfig`] so that code
/// writing an `LstmConfig { … }` in full keeps compiling). In checkpoints and run configs these
/// fields sit beside the sizes, and each defaults to off.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LstmOptions {
    /// The output layer reuses the embedding matrix (through a linear projection from the LSTM's
    /// width to the embedding's when they differ): fewer parameters, and a prior that a character
    /// is predicted the way it is read.
    pub tie_weights: bool,
    /// DropConnect on the hidden-to-hidden weights while training (dropout on the recurrent
    /// connections, one mask per batch).
    pub weight_drop: f64,
    /// While training on batches that continue each other (`SequenceBatches::streams`), start
    /// each batch from the previous batch's final state (detached) instead of zeros.
    pub carry_state: bool,
}

impl LstmOptions {
    /// The names of the fields, as they appear in a config.
    pub const FIELDS: [&'static str; 3] = ["tie_weights", "weight_drop", "carry_state"];

    fn validate(&self) -> Result<()> {
        ensure!(
            (0.0..1.0).contains(&self.weight_drop),
            "weight_drop must be in [0, 1), not {}",
            self.weight_drop
        );
        Ok(())
    }
}

/// An LSTM language model that owns its parameters (so a notebook can keep it across cells).
#[derive(Debug)]
pub struct LstmLm {
    /// The sizes this model was built with.
    pub config: LstmConfig,
    /// Its regularisation.
    pub options: LstmOptions,
    /// The parameters.
    pub vs: nn::VarStore,
    embed: Tensor,
    lstm: LstmStack,
    /// The output weights; `None` when tied to the embedding.
    head_weight: Option<Tensor>,
    head_bias: Tensor,
    /// Tied weights with an embedding narrower than the LSTM: `[embed, hidden]`.
    proj: Option<Tensor>,
    /// The state carried from one training batch to the next (`options.carry_state`).
    carried: Mutex<Option<LstmState>>,
}

/// The parts of an [`LstmLm`] a fused sampler needs, as tensors on the model's device.
#[derive(Debug)]
pub struct LstmLmWeights<'a> {
    /// `[vocab, embed]`.
    pub embed: &'a Tensor,
    /// The LSTM's weights in PyTorch's order (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` per
    /// layer).
    pub lstm: &'a [Tensor],
    /// `[embed, hidden]` when tied weights need a projection.
    pub proj: Option<&'a Tensor>,
    /// `[vocab, hidden or embed]`: the output weights (the embedding when tied).
    pub head_weight: &'a Tensor,
    /// `[vocab]`.
    pub head_bias: &'a Tensor,
}

impl LstmLm {
    /// Builds a model with freshly initialised parameters on `device` (initialised as PyTorch does).
    pub fn new(config: LstmConfig, device: Device) -> Result<Self> {
        Self::with_options(config, LstmOptions::default(), device)
    }

    /// Builds a model from a config as checkpoints and run configs write it: the sizes of
    /// [`LstmConfig`] and the fields of [`LstmOptions`] side by side.
    pub fn from_json(value: &serde_json::Value, device: Device) -> Result<Self> {
        let (config, options) = split_config(value)?;
        Self::with_options(config, options, device)
    }

    /// Builds a model with regularisation options.
    pub fn with_options(config: LstmConfig, options: LstmOptions, device: Device) -> Result<Self> {
        config.validate()?;
        options.validate()?;
        let _generator = super::torch_rng::hold();
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let embed = embedding_layer(&root.sub("embed"), config.vocab_size, config.embed_dim);
        let lstm = LstmStack::new(
            &root.sub("lstm"),
            config.embed_dim,
            config.hidden_size,
            config.num_layers,
            config.dropout,
        )
        .with_weight_drop(options.weight_drop);
        let (head_weight, head_bias, proj) = if options.tie_weights {
            let proj = (config.embed_dim != config.hidden_size).then(|| {
                let bound = 1.0 / (config.hidden_size as f64).sqrt();
                root.sub("proj").var(
                    "weight",
                    &[config.embed_dim, config.hidden_size],
                    Init::Uniform {
                        lo: -bound,
                        up: bound,
                    },
                )
            });
            let bias = root.sub("head").zeros("bias", &[config.vocab_size]);
            (None, bias, proj)
        } else {
            let (w, b) = linear_layer(&root.sub("head"), config.vocab_size, config.hidden_size);
            (Some(w), b, None)
        };
        Ok(LstmLm {
            config,
            options,
            vs,
            embed,
            lstm,
            head_weight,
            head_bias,
            proj,
            carried: Mutex::new(None),
        })
    }

    /// The weights a fused sampler needs.
    pub fn weights(&self) -> LstmLmWeights<'_> {
        LstmLmWeights {
            embed: &self.embed,
            lstm: self.lstm.weights(),
            proj: self.proj.as_ref(),
            head_weight: self.head_weight.as_ref().unwrap_or(&self.embed),
            head_bias: &self.head_bias,
        }
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
        let mut out = out.dropout(self.config.dropout, train);
        if let Some(proj) = &self.proj {
            out = out.linear::<Tensor>(proj, None);
        }
        let head = self.head_weight.as_ref().unwrap_or(&self.embed);
        (out.linear(head, Some(&self.head_bias)), state)
    }

    /// One step for generation: ids `[batch]` → logits `[batch, vocab]` and the next state.
    pub fn step(&self, ids: &Tensor, state: Option<&LstmState>) -> (Tensor, LstmState) {
        let (logits, state) = self.forward(&ids.unsqueeze(1), state, false);
        (logits.squeeze_dim(1), state)
    }
}

/// Splits a config object into the sizes and the options (each read strictly: an unknown field
/// is an error naming it).
pub fn split_config(value: &serde_json::Value) -> Result<(LstmConfig, LstmOptions)> {
    let mut sizes = value.clone();
    let mut options = serde_json::Map::new();
    if let Some(map) = sizes.as_object_mut() {
        for field in LstmOptions::FIELDS {
            if let Some(v) = map.remove(field) {
                options.insert(field.to_string(), v);
            }
        }
    }
    let config: LstmConfig = serde_json::from_value(sizes).context("bad lstm_lm model config")?;
    let options: LstmOptions = serde_json::from_value(serde_json::Value::Object(options))
        .context("bad lstm_lm model options")?;
    Ok((config, options))
}

impl Model for LstmLm {
    model_basics!(no_config);

    /// The sizes, with the options beside them when any is on (so configs of models without
    /// them read as before).
    fn config_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.config).unwrap_or_default();
        if self.options != LstmOptions::default() {
            if let (Some(map), Ok(serde_json::Value::Object(options))) =
                (value.as_object_mut(), serde_json::to_value(self.options))
            {
                map.extend(options);
            }
        }
        value
    }

    fn sizes(&self) -> Sizes {
        Sizes::Tokens {
            vocab: self.config.vocab_size as usize,
        }
    }

    /// Mean cross-entropy (nats per token) of predicting the targets `[batch, time]` from the
    /// inputs `[batch, time]`.
    /// With `carry_state`, a training batch that continues the last one starts from its final
    /// state (detached, so gradients stop at the batch's start).
    fn loss(&self, batch: &Batch, train: bool) -> Tensor {
        let carry = train && self.options.carry_state;
        let mut carried = self.carried.lock().unwrap_or_else(|e| e.into_inner());
        let start = carried
            .take()
            .filter(|s| carry && batch.carry && s.h.size()[1] == batch.inputs.size()[0]);
        let (logits, state) = self.forward(&batch.inputs, start.as_ref(), train);
        if carry {
            *carried = Some(LstmState {
                h: state.h.detach(),
                c: state.c.detach(),
            });
        }
        logits
            .view([-1, self.config.vocab_size])
            .cross_entropy_for_logits(&batch.targets.view([-1]))
    }

    fn stepper(&self) -> Stepper<'_> {
        Stepper::Tokens(self)
    }
}

impl TokenStepper for LstmLm {
    fn vocab_size(&self) -> usize {
        self.config.vocab_size as usize
    }

    /// On the CPU, the crate's fused kernel; on CUDA, libtorch step by step.
    fn lanes(&self) -> Result<Option<super::FusedLm>> {
        if self.device() == tch::Device::Cpu {
            Ok(Some(super::FusedLm::new(self)?))
        } else {
            Ok(None)
        }
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
        let o = &self.options;
        let weight_drop = if o.weight_drop > 0.0 {
            format!(", weight drop {}", o.weight_drop)
        } else {
            String::new()
        };
        let head = match (o.tie_weights, &self.proj) {
            (false, _) => format!("linear {}→{}", c.hidden_size, c.vocab_size),
            (true, Some(_)) => format!(
                "projection {}→{} → the embedding, transposed, →{}",
                c.hidden_size, c.embed_dim, c.vocab_size
            ),
            (true, None) => format!("the embedding, transposed, →{}", c.vocab_size),
        };
        write!(
            f,
            "LstmLm: embedding {}×{} → LSTM {}×{} (dropout {}{weight_drop}) → {head}{}; {} parameters on {:?}",
            c.vocab_size,
            c.embed_dim,
            c.num_layers,
            c.hidden_size,
            c.dropout,
            if o.carry_state {
                "; state carried between training batches"
            } else {
                ""
            },
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
        let _generator = crate::model::torch_rng::hold_seeded(1);
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
    fn tied_weights_share_the_embedding_and_the_options_round_trip_through_json() -> Result<()> {
        let options = LstmOptions {
            tie_weights: true,
            weight_drop: 0.2,
            carry_state: true,
        };
        let model = LstmLm::with_options(LstmConfig::debug(10), options, Device::Cpu)?;
        let names: Vec<String> = model.named_parameters().into_iter().map(|p| p.0).collect();
        assert!(names.contains(&"proj.weight".to_string()));
        assert!(!names.contains(&"head.weight".to_string()));
        // embed 80 + lstm (1664 + 2176) + proj 8*16 + head bias 10
        assert_eq!(model.parameter_count(), 80 + 1664 + 2176 + 128 + 10);
        let json = model.config_json();
        assert_eq!(json["weight_drop"], 0.2);
        let back = LstmLm::from_json(&json, Device::Cpu)?;
        assert_eq!(
            (back.config.clone(), back.options),
            (model.config.clone(), options)
        );
        // A plain model's config has no option fields, as before.
        let plain = LstmLm::new(LstmConfig::debug(10), Device::Cpu)?;
        assert!(plain.config_json().get("tie_weights").is_none());
        let err = LstmLm::from_json(
            &serde_json::json!({"vocab_size": 3, "embed_dim": 2,
            "hidden_size": 2, "num_layers": 1, "dropout": 0.0, "tie_weigths": true}),
            Device::Cpu,
        )
        .expect_err("misspelt");
        assert!(format!("{err:#}").contains("tie_weigths"), "{err:#}");
        Ok(())
    }

    #[test]
    fn carried_state_starts_a_continuing_batch_where_the_last_ended() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(4);
        let options = LstmOptions {
            carry_state: true,
            ..LstmOptions::default()
        };
        let model = LstmLm::with_options(LstmConfig::debug(7), options, Device::Cpu)?;
        let ids = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6, 1, 2]).view([1, 8]);
        let batch = |cols: std::ops::Range<i64>, carry| Batch {
            inputs: ids.narrow(1, cols.start, cols.end - cols.start),
            targets: ids.narrow(1, cols.start, cols.end - cols.start),
            count: 4.0,
            carry,
        };
        // The whole sequence's loss on its second half, from a zero state and from the state
        // after the first half (dropout is 0 in the debug config, so training mode changes nothing
        // else).
        let (whole, _) = model.forward(&ids, None, false);
        let second_half = whole
            .narrow(1, 4, 4)
            .view([-1, 7])
            .cross_entropy_for_logits(&ids.narrow(1, 4, 4).view([-1]))
            .double_value(&[]);
        let _ = model.loss(&batch(0..4, false), true);
        let carried = model.loss(&batch(4..8, true), true).double_value(&[]);
        assert!(
            (carried - second_half).abs() < 1e-5,
            "{carried} vs {second_half}"
        );
        let fresh = model.loss(&batch(4..8, false), true).double_value(&[]);
        assert!((fresh - second_half).abs() > 1e-4);
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
