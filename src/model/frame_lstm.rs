//! A multi-hot piano-roll model: frames `[batch, T, pitches]` of 0s and 1s → (optional linear
//! input projection) → LSTM × n → linear → one logit per pitch per frame, read as Bernoulli
//! outputs (sigmoid) predicting the next frame: independent given the past, or, with
//! [`FrameLstmConfig::pitch_autoregression`], each pitch also given the lower pitches of its own
//! frame (so the model can learn which notes sound together).
//!
//! The loss is the binary cross-entropy summed over the pitches of a frame and averaged over the
//! frames that are not padding. For training on sparse rolls (the seed's "mostly zeros") the on
//! cells can be weighted by a positive-class weight; the benchmark NLL is always the unweighted one
//! ([`crate::metrics::frame_nll`]).
//!
//! Parameter names follow PyTorch's (`proj.weight`, `lstm.weight_ih_l0`, …, `head.weight`,
//! `skip.weight`).

use super::LstmState;
use crate::metrics::frame_nll::{frame_bce, padding_mask, PAD_TARGET};
use crate::train::Trainable;
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

/// Sizes and regularisation of a [`FrameLstm`]. (Missing optional fields in JSON take their
/// defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        }
    }

    /// A tiny model for fast tests.
    pub fn debug(num_pitches: i64) -> Self {
        FrameLstmConfig {
            num_pitches,
            hidden_size: 16,
            num_layers: 2,
            dropout: 0.0,
            input_dropout: 0.0,
            input_projection: None,
            skip_connection: false,
            pitch_autoregression: false,
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
    /// Weight of the on cells in the training loss of [`Trainable::batch_loss`] (`None`: 1).
    /// Evaluation (`train = false`) always reports the unweighted NLL.
    pub pos_weight: Option<f64>,
    proj: Option<(Tensor, Tensor)>,
    lstm_weights: Vec<Tensor>,
    head_weight: Tensor,
    head_bias: Tensor,
    skip_weight: Option<Tensor>,
    /// The within-frame weight `[pitches, pitches]` and its strictly lower-triangular mask.
    pitch: Option<(Tensor, Tensor)>,
}

/// PyTorch's default initialisation of a linear layer `[out, inp]`: uniform in ±1/√inp.
fn linear(path: &nn::Path, out: i64, inp: i64, bias: bool) -> (Tensor, Option<Tensor>) {
    let bound = 1.0 / (inp as f64).sqrt();
    let init = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    let w = path.var("weight", &[out, inp], init);
    let b = bias.then(|| path.var("bias", &[out], init));
    (w, b)
}

impl FrameLstm {
    /// Builds a model with freshly initialised parameters on `device` (initialised as PyTorch
    /// does; the skip path starts at zero so the untrained model is a plain LSTM).
    pub fn new(config: FrameLstmConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let p = config.num_pitches;
        let h = config.hidden_size;
        let proj = config.input_projection.map(|width| {
            let (w, b) = linear(&root.sub("proj"), width, p, true);
            (
                w,
                b.unwrap_or_else(|| Tensor::zeros([width], (Kind::Float, device))),
            )
        });
        let lstm = root.sub("lstm");
        let bound = 1.0 / (h as f64).sqrt();
        let uniform = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let mut lstm_weights = Vec::new();
        for layer in 0..config.num_layers {
            let input = match (layer, config.input_projection) {
                (0, Some(width)) => width,
                (0, None) => p,
                _ => h,
            };
            lstm_weights.push(lstm.var(&format!("weight_ih_l{layer}"), &[4 * h, input], uniform));
            lstm_weights.push(lstm.var(&format!("weight_hh_l{layer}"), &[4 * h, h], uniform));
            lstm_weights.push(lstm.var(&format!("bias_ih_l{layer}"), &[4 * h], uniform));
            lstm_weights.push(lstm.var(&format!("bias_hh_l{layer}"), &[4 * h], uniform));
        }
        let (head_weight, head_bias) = linear(&root.sub("head"), p, h, true);
        let head_bias = head_bias.unwrap_or_else(|| Tensor::zeros([p], (Kind::Float, device)));
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
            pos_weight: None,
            proj,
            lstm_weights,
            head_weight,
            head_bias,
            skip_weight,
            pitch,
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

    /// Runs frames `[batch, T, pitches]` (Float, 0/1) from `state` (zeros when `None`); returns
    /// the logits of the next frame at every step, `[batch, T, pitches]`, and the state after the
    /// last step. `train` turns dropout on.
    pub fn forward(
        &self,
        frames: &Tensor,
        state: Option<&LstmState>,
        train: bool,
    ) -> (Tensor, LstmState) {
        let batch = frames.size()[0];
        let zero;
        let state = match state {
            Some(s) => s,
            None => {
                zero = self.zero_state(batch);
                &zero
            }
        };
        let frames = frames.to_kind(Kind::Float);
        let mut x = frames.dropout(self.config.input_dropout, train);
        if let Some((w, b)) = &self.proj {
            x = x.linear(w, Some(b)).tanh();
        }
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
        let mut logits = out.linear(&self.head_weight, Some(&self.head_bias));
        if let Some(skip) = &self.skip_weight {
            logits += frames.linear::<&Tensor>(skip, None);
        }
        (logits, LstmState { h, c })
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

    /// Loss of predicting `targets` from `inputs` (both `[batch, T, pitches]`): binary
    /// cross-entropy summed over the pitches, averaged over the frames where `mask` (`[batch, T]`,
    /// 1 for real frames, 0 for padding; `None`: all real) is set. `pos_weight` weights the on
    /// cells (training on sparse rolls); leave it `None` for the NLL.
    pub fn loss(
        &self,
        inputs: &Tensor,
        targets: &Tensor,
        mask: Option<&Tensor>,
        pos_weight: Option<f64>,
        train: bool,
    ) -> Tensor {
        let (logits, _) = self.forward(inputs, None, train);
        let logits = self.conditional_logits(&logits, targets);
        let per_frame = frame_bce(&logits, targets, pos_weight);
        match mask {
            Some(m) => {
                let m = m.to_kind(Kind::Float);
                (per_frame * &m).sum(Kind::Float) / m.sum(Kind::Float).clamp_min(1.0)
            }
            None => per_frame.mean(Kind::Float),
        }
    }
}

impl Trainable for FrameLstm {
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        FrameLstm::named_parameters(self)
    }

    /// Targets `[batch, T, pitches]`; frames whose targets are [`PAD_TARGET`] are padding. With
    /// `train` the on cells are weighted by [`FrameLstm::pos_weight`]; without, this is the
    /// unweighted NLL per frame.
    fn batch_loss(&self, inputs: &Tensor, targets: &Tensor, train: bool) -> Tensor {
        let mask = padding_mask(targets);
        let clean = targets.clamp_min(0.0);
        let weight = if train { self.pos_weight } else { None };
        self.loss(inputs, &clean, Some(&mask), weight, train)
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
        write!(
            f,
            "FrameLstm: frames ×{} (input dropout {}) → {input}LSTM {}×{} (dropout {}) → linear {}→{}{skip}{chords} → sigmoid; {} parameters on {:?}",
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

impl crate::notebook::ToHtml for FrameLstm {
    fn to_html(&self) -> String {
        let rows: String = self
            .named_parameters()
            .iter()
            .map(|(name, t)| {
                format!(
                    "<tr><td><code>{}</code></td><td>{:?}</td><td>{}</td></tr>",
                    html_escape::encode_text(name),
                    t.size(),
                    t.numel()
                )
            })
            .collect();
        let weight = self
            .pos_weight
            .map(|w| format!("<br>training loss weights the on cells by {w:.1}"))
            .unwrap_or_default();
        format!(
            "<div><b>{}</b>{weight}<table><tr><th>parameter</th><th>shape</th><th>count</th></tr>{rows}</table></div>",
            html_escape::encode_text(&self.to_string())
        )
    }
}

impl FrameLstm {
    /// Shows the model inline in an evcxr notebook: its layers and a table of its parameters.
    pub fn evcxr_display(&self) {
        crate::notebook::emit("text/html", &crate::notebook::ToHtml::to_html(self));
    }
}

/// Pads pieces (each `[T_i, pitches]`) into one batch for next-frame prediction: inputs are frames
/// `0..T_i-1`, targets frames `1..T_i`, both `[batch, max T_i - 1, pitches]`; padded target rows are
/// [`PAD_TARGET`] (what [`Trainable::batch_loss`] expects). Pieces shorter than 2 frames are
/// skipped; `None` when none is left.
pub fn next_frame_batch(pieces: &[&Tensor]) -> Option<(Tensor, Tensor)> {
    let pieces: Vec<&&Tensor> = pieces.iter().filter(|p| p.size()[0] >= 2).collect();
    let first = pieces.first()?;
    let pitches = first.size()[1];
    let options = (Kind::Float, first.device());
    let longest = pieces.iter().map(|p| p.size()[0]).max().unwrap_or(2) - 1;
    let n = pieces.len() as i64;
    let inputs = Tensor::zeros([n, longest, pitches], options);
    let targets = Tensor::full([n, longest, pitches], PAD_TARGET, options);
    for (i, piece) in pieces.iter().enumerate() {
        let t = piece.size()[0] - 1;
        let piece = piece.to_kind(Kind::Float);
        inputs
            .get(i as i64)
            .narrow(0, 0, t)
            .copy_(&piece.narrow(0, 0, t));
        targets
            .get(i as i64)
            .narrow(0, 0, t)
            .copy_(&piece.narrow(0, 1, t));
    }
    Some((inputs, targets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{evaluate_batches, fit, AdamConfig, FitOptions};
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
        tch::manual_seed(2);
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
    fn padding_does_not_change_the_loss_and_pos_weight_raises_it() -> Result<()> {
        tch::manual_seed(4);
        let model = FrameLstm::new(FrameLstmConfig::debug(4), Device::Cpu)?;
        let long = Tensor::from_slice(&[
            1f32, 0., 0., 1., 0., 1., 0., 0., 1., 1., 0., 0., 0., 0., 1., 0.,
        ])
        .view([4, 4]);
        let short = long.narrow(0, 0, 2);
        let (x, y) = next_frame_batch(&[&long, &short]).expect("a batch");
        assert_eq!(x.size(), vec![2, 3, 4]);
        // By hand: 3 predicted frames of `long` and 1 of `short`, averaged per frame.
        let (xl, yl) = next_frame_batch(&[&long]).expect("long");
        let (xs, ys) = next_frame_batch(&[&short]).expect("short");
        let l_long = model.batch_loss(&xl, &yl, false).double_value(&[]);
        let l_short = model.batch_loss(&xs, &ys, false).double_value(&[]);
        let together = model.batch_loss(&x, &y, false).double_value(&[]);
        assert!((together - (3.0 * l_long + l_short) / 4.0).abs() < 1e-5);
        let mut weighted = FrameLstm::new(FrameLstmConfig::debug(4), Device::Cpu)?;
        tch::no_grad(|| {
            for ((_, a), (_, b)) in weighted
                .named_parameters()
                .iter()
                .zip(model.named_parameters())
            {
                a.shallow_clone().copy_(&b);
            }
        });
        weighted.pos_weight = Some(5.0);
        let plain = weighted.batch_loss(&x, &y, false).double_value(&[]);
        assert!(
            (plain - together).abs() < 1e-6,
            "evaluation ignores pos_weight"
        );
        let train = weighted.batch_loss(&x, &y, true).double_value(&[]);
        assert!(
            train > plain + 0.1,
            "weighted training loss {train} vs {plain}"
        );
        Ok(())
    }

    #[test]
    fn learns_a_repeating_pattern_with_fit() -> Result<()> {
        tch::manual_seed(0);
        let model = FrameLstm::new(FrameLstmConfig::debug(3), Device::Cpu)?;
        // C, E, G arpeggio as one-hot frames, repeated.
        let cells: Vec<f32> = (0..24)
            .flat_map(|i| {
                let mut f = [0f32; 3];
                f[i % 3] = 1.0;
                f
            })
            .collect();
        let piece = Tensor::from_slice(&cells).view([24, 3]);
        let batch = next_frame_batch(&[&piece]).expect("batch");
        let data = vec![batch];
        let before = evaluate_batches(&model, &data).loss;
        let options = quiet_fit(60, 3e-2);
        fit(&model, &options, &mut |_| copies(&data), &copies(&data))?;
        let after = evaluate_batches(&model, &data).loss;
        assert!(before > 1.5, "untrained NLL {before}");
        assert!(after < 0.3, "trained NLL {after}");
        Ok(())
    }

    /// Shallow copies of batches (what `fit` takes for each epoch).
    fn copies(batches: &[(Tensor, Tensor)]) -> Vec<(Tensor, Tensor)> {
        batches
            .iter()
            .map(|(a, b)| (a.shallow_clone(), b.shallow_clone()))
            .collect()
    }

    /// Silent fitting for `epochs` at learning rate `lr`.
    fn quiet_fit(epochs: usize, lr: f64) -> FitOptions {
        FitOptions {
            epochs,
            adam: AdamConfig {
                lr,
                ..AdamConfig::default()
            },
            verbose: false,
            ..FitOptions::default()
        }
    }

    fn autoregressive(pitches: i64) -> FrameLstmConfig {
        FrameLstmConfig {
            pitch_autoregression: true,
            ..FrameLstmConfig::debug(pitches)
        }
    }

    #[test]
    fn pitch_autoregression_gives_a_normalised_distribution_over_frames() -> Result<()> {
        tch::manual_seed(5);
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
            let cells: Vec<f32> = (0..2000)
                .flat_map(|_| {
                    if rng.random::<bool>() {
                        [1f32, 0., 1., 0.]
                    } else {
                        [0f32, 1., 0., 1.]
                    }
                })
                .collect();
            let piece = Tensor::from_slice(&cells).view([2000, 4]);
            vec![next_frame_batch(&[&piece]).expect("batch")]
        };
        let (data, held_out) = (coin_flip_chords(11), coin_flip_chords(12));
        let options = quiet_fit(100, 1e-1);
        let mut nll = Vec::new();
        for config in [FrameLstmConfig::debug(4), autoregressive(4)] {
            tch::manual_seed(0);
            let model = FrameLstm::new(config, Device::Cpu)?;
            fit(&model, &options, &mut |_| copies(&data), &copies(&data))?;
            nll.push(evaluate_batches(&model, &held_out).loss);
        }
        assert!(nll[0] > 2.6, "independent pitches reached {}", nll[0]);
        assert!(nll[1] < 0.9, "pitch autoregression reached {}", nll[1]);
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
    }
}
