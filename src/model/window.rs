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

use super::LstmState;
use crate::train::{argmax_accuracy, Trainable};
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

/// Sizes of a [`WindowLstm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowConfig {
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
    /// Pool the window with attention instead of taking the last hidden state.
    pub attention: bool,
}

impl WindowConfig {
    /// The seed's model: 2 LSTM layers of `hidden_size`, embedding 64 wide, attention on.
    pub fn seed(vocab_size: usize, hidden_size: i64) -> Self {
        WindowConfig {
            vocab_size: vocab_size as i64,
            embed_dim: 64.min(hidden_size),
            hidden_size,
            num_layers: 2,
            dropout: 0.2,
            attention: true,
        }
    }

    /// A tiny model for fast tests.
    pub fn debug(vocab_size: usize, attention: bool) -> Self {
        WindowConfig {
            vocab_size: vocab_size as i64,
            embed_dim: 8,
            hidden_size: 16,
            num_layers: 1,
            dropout: 0.0,
            attention,
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
    lstm_weights: Vec<Tensor>,
    attention: Option<Attention>,
    head_weight: Tensor,
    head_bias: Tensor,
}

impl WindowLstm {
    /// Builds a model with freshly initialised parameters on `device` (initialised as PyTorch's
    /// `nn.Embedding`, `nn.LSTM` and `nn.Linear` are).
    pub fn new(config: WindowConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let h = config.hidden_size;
        let embed = root.sub("embed").var(
            "weight",
            &[config.vocab_size, config.embed_dim],
            Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        );
        let uniform = |fan_in: i64| {
            let bound = 1.0 / (fan_in as f64).sqrt();
            Init::Uniform {
                lo: -bound,
                up: bound,
            }
        };
        let lstm = root.sub("lstm");
        let mut lstm_weights = Vec::new();
        for layer in 0..config.num_layers {
            let input = if layer == 0 { config.embed_dim } else { h };
            lstm_weights.push(lstm.var(
                &format!("weight_ih_l{layer}"),
                &[4 * h, input],
                uniform(h),
            ));
            lstm_weights.push(lstm.var(&format!("weight_hh_l{layer}"), &[4 * h, h], uniform(h)));
            lstm_weights.push(lstm.var(&format!("bias_ih_l{layer}"), &[4 * h], uniform(h)));
            lstm_weights.push(lstm.var(&format!("bias_hh_l{layer}"), &[4 * h], uniform(h)));
        }
        let attention = config.attention.then(|| {
            let a = root.sub("attn");
            Attention {
                weight: a.var("weight", &[h, h], uniform(h)),
                bias: a.var("bias", &[h], uniform(h)),
                v: a.var("v", &[h], uniform(h)),
            }
        });
        let head_in = if config.attention { 2 * h } else { h };
        let head = root.sub("head");
        let head_weight = head.var("weight", &[config.vocab_size, head_in], uniform(head_in));
        let head_bias = head.var("bias", &[config.vocab_size], uniform(head_in));
        Ok(WindowLstm {
            config,
            vs,
            embed,
            lstm_weights,
            attention,
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

    /// LSTM outputs `[batch, window, hidden]` for ids `[batch, window]`.
    fn encode(&self, ids: &Tensor, train: bool) -> Tensor {
        let c = &self.config;
        let batch = ids.size()[0];
        let zero = LstmState::zeros(c.num_layers, batch, c.hidden_size, self.device());
        let x = Tensor::embedding(&self.embed, ids, -1, false, false);
        let weights: Vec<&Tensor> = self.lstm_weights.iter().collect();
        let (out, _, _) = x.lstm(
            &[&zero.h, &zero.c],
            &weights,
            true,
            c.num_layers,
            c.dropout,
            train,
            false,
            true,
        );
        out
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

    /// Mean cross-entropy (nats per window) of predicting `targets` `[batch]` from windows
    /// `[batch, window]`.
    pub fn loss(&self, inputs: &Tensor, targets: &Tensor, train: bool) -> Tensor {
        self.forward(inputs, train)
            .cross_entropy_for_logits(&targets.view([-1]))
    }
}

impl Trainable for WindowLstm {
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        WindowLstm::named_parameters(self)
    }

    fn batch_loss(&self, inputs: &Tensor, targets: &Tensor, train: bool) -> Tensor {
        self.loss(inputs, targets, train)
    }

    fn batch_accuracy(&self, inputs: &Tensor, targets: &Tensor) -> Option<f64> {
        Some(argmax_accuracy(
            &self.forward(inputs, false),
            &targets.view([-1]),
        ))
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
            "WindowLstm (many-to-one): embedding {}×{} → LSTM {}×{} (dropout {}) → {pooling} → linear {}→{}; {} parameters on {:?}",
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

impl WindowLstm {
    /// The model as HTML: its summary line and a table of parameters.
    pub fn to_html(&self) -> String {
        use html_escape::encode_text as esc;
        let mut rows = String::new();
        for (name, t) in self.named_parameters() {
            rows.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{:?}</td><td>{}</td></tr>",
                esc(&name),
                t.size(),
                t.numel()
            ));
        }
        format!(
            "<div><b>{}</b><table class=\"tunesmith\"><thead><tr><th>parameter</th><th>shape</th><th>count</th></tr></thead><tbody>{rows}</tbody></table></div>",
            esc(&self.to_string())
        )
    }

    /// Shows the model inline in an evcxr notebook (layers and parameter counts).
    pub fn evcxr_display(&self) {
        crate::notebook::emit("text/html", &self.to_html());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{evaluate_batches, fit, AdamConfig, FitOptions};

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
        assert!(attn.to_html().contains("attn.v"));
        Ok(())
    }

    #[test]
    fn rejects_bad_configs() {
        let mut config = WindowConfig::debug(5, true);
        config.dropout = 1.5;
        assert!(WindowLstm::new(config, Device::Cpu).is_err());
    }

    /// The next token is the one that was `lag` steps back: the model must look past the last
    /// step, which attention makes easy.
    #[test]
    fn learns_a_lagged_copy_with_and_without_attention() -> Result<()> {
        tch::set_num_threads(1);
        for attention in [true, false] {
            tch::manual_seed(7);
            let model = WindowLstm::new(WindowConfig::debug(4, attention), Device::Cpu)?;
            let stream: Vec<i64> = (0..600u64)
                .map(|i| ((i * 2654435761) >> 7) as i64 % 4)
                .collect();
            let window = 6;
            let mut xs = Vec::new();
            let mut ys = Vec::new();
            for s in 0..stream.len() - window {
                xs.extend_from_slice(&stream[s..s + window]);
                ys.push(stream[s + window - 3]);
            }
            let n = ys.len() as i64;
            let x = Tensor::from_slice(&xs).view([n, window as i64]);
            let y = Tensor::from_slice(&ys);
            let batches: Vec<(Tensor, Tensor)> = (0..n / 32)
                .map(|b| (x.narrow(0, b * 32, 32), y.narrow(0, b * 32, 32)))
                .collect();
            let before = evaluate_batches(&model, &batches);
            let options = FitOptions {
                epochs: 15,
                adam: AdamConfig {
                    lr: 1e-2,
                    ..AdamConfig::default()
                },
                verbose: false,
                ..FitOptions::default()
            };
            let copy = |b: &[(Tensor, Tensor)]| {
                b.iter()
                    .map(|(a, c)| (a.shallow_clone(), c.shallow_clone()))
                    .collect::<Vec<_>>()
            };
            fit(&model, &options, &mut |_| copy(&batches), &batches)?;
            let after = evaluate_batches(&model, &batches);
            assert!(before.loss > 1.2, "untrained loss {}", before.loss);
            let accuracy = after.accuracy.unwrap_or(0.0);
            assert!(
                accuracy > 0.95,
                "attention {attention}: accuracy {accuracy}, loss {}",
                after.loss
            );
        }
        Ok(())
    }
}
