//! A small CPU kernel of the crate's own for generating from an [`LstmLm`]: the weights copied
//! once into plain `f32` buffers laid out for one fused step (the embedding folded into the first
//! layer's input weights and both biases, each upper layer's input and recurrent weights side by
//! side), buffers reused from step to step, and any number of sequences (lanes) stepped together.
//! One lane is a matrix-vector product per layer at memory speed; many lanes are one
//! register-blocked matrix product per layer (AVX2 and FMA when the CPU has them).
//!
//! It computes what [`LstmLm::forward`] computes in evaluation mode, with `f32` arithmetic summed
//! in another order (the logits agree to about 1e-5; `tests` compare them with libtorch's).

mod kernels;
pub(crate) use kernels::{matmul_add, tanh_in_place, Weights, WIDE_LANES};
mod pair;
mod panels;
mod stack;
mod tiles;

pub use pair::Pair;
pub use stack::{FusedStack, StackState};

use super::lstm::LstmLm;
use anyhow::{ensure, Context, Result};
use kernels::{cell, dot};
use tch::{Device, Kind, Tensor};

/// An upper layer: `[W_ih | W_hh]` as `[4H, 2H]` row-major, and `b_ih + b_hh`.
#[derive(Debug, Clone)]
struct Upper {
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// An [`LstmLm`]'s weights compiled for fast stepping on the CPU.
#[derive(Debug, Clone)]
pub struct FusedLm {
    vocab: usize,
    hidden: usize,
    /// `[vocab, 4H]`: the embedding times the first layer's input weights, plus both its biases.
    table: Vec<f32>,
    /// `[4H, H]`: the first layer's recurrent weights.
    first_hh: Vec<f32>,
    upper: Vec<Upper>,
    /// `[E, H]` when tied weights need a projection.
    proj: Option<Vec<f32>>,
    /// `[vocab, head_in]` and `[vocab]`.
    head_weight: Vec<f32>,
    head_bias: Vec<f32>,
    head_in: usize,
}

/// The recurrent state of some lanes, and the scratch buffers a step reuses.
#[derive(Debug, Clone, Default)]
pub struct FusedState {
    lanes: usize,
    /// Per layer, `[lanes, H]`.
    h: Vec<Vec<f32>>,
    c: Vec<Vec<f32>>,
    gates: Vec<f32>,
    input: Vec<f32>,
    projected: Vec<f32>,
}

impl FusedState {
    /// Number of lanes.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Keeps the lanes whose `keep` is true, in order.
    pub fn retain(&mut self, keep: &[bool]) {
        let hidden = self.h.first().map_or(0, |h| h.len() / self.lanes.max(1));
        for layer in self.h.iter_mut().chain(self.c.iter_mut()) {
            let mut kept = Vec::with_capacity(layer.len());
            for (lane, row) in layer.chunks(hidden.max(1)).enumerate() {
                if keep.get(lane).copied().unwrap_or(false) {
                    kept.extend_from_slice(row);
                }
            }
            *layer = kept;
        }
        self.lanes = keep.iter().take(self.lanes).filter(|&&k| k).count();
    }

    /// The lanes of several states, one after another.
    pub fn stack(states: &[FusedState]) -> FusedState {
        let layers = states.first().map_or(0, |s| s.h.len());
        let join = |pick: fn(&FusedState) -> &Vec<Vec<f32>>| -> Vec<Vec<f32>> {
            (0..layers)
                .map(|l| {
                    states
                        .iter()
                        .flat_map(|s| pick(s)[l].iter().copied())
                        .collect()
                })
                .collect()
        };
        FusedState {
            lanes: states.iter().map(|s| s.lanes).sum(),
            h: join(|s| &s.h),
            c: join(|s| &s.c),
            ..FusedState::default()
        }
    }

    /// A state of `copies` lanes, each a copy of lane `lane` of this one.
    pub fn repeat_lane(&self, lane: usize, copies: usize) -> FusedState {
        let hidden = self.h.first().map_or(0, |h| h.len() / self.lanes.max(1));
        let take = |layers: &[Vec<f32>]| -> Vec<Vec<f32>> {
            layers
                .iter()
                .map(|l| l[lane * hidden..(lane + 1) * hidden].repeat(copies))
                .collect()
        };
        FusedState {
            lanes: copies,
            h: take(&self.h),
            c: take(&self.c),
            ..FusedState::default()
        }
    }
}

/// A tensor's values as `f32`s, row-major.
pub(crate) fn floats(t: &Tensor) -> Result<Vec<f32>> {
    let flat = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous()
        .view([-1]);
    Vec::<f32>::try_from(&flat).context("reading the model's weights")
}

impl FusedLm {
    /// Copies a model's weights (from any device) into the fused layout.
    pub fn new(model: &LstmLm) -> Result<Self> {
        let w = model.weights();
        let c = &model.config;
        let (vocab, embed, hidden) = (
            c.vocab_size as usize,
            c.embed_dim as usize,
            c.hidden_size as usize,
        );
        let gates = 4 * hidden;
        ensure!(
            w.lstm.len() == 4 * c.num_layers as usize,
            "unexpected LSTM weights"
        );
        let emb = floats(w.embed)?;
        let w_ih0 = floats(&w.lstm[0])?;
        let b0: Vec<f32> = floats(&w.lstm[2])?
            .iter()
            .zip(floats(&w.lstm[3])?)
            .map(|(a, b)| a + b)
            .collect();
        let mut table = Vec::with_capacity(vocab * gates);
        for v in 0..vocab {
            let e = &emb[v * embed..(v + 1) * embed];
            for r in 0..gates {
                table.push(dot(&w_ih0[r * embed..(r + 1) * embed], e) + b0[r]);
            }
        }
        let mut upper = Vec::new();
        for layer in 1..c.num_layers as usize {
            let (wi, wh) = (floats(&w.lstm[4 * layer])?, floats(&w.lstm[4 * layer + 1])?);
            let mut weights = Vec::with_capacity(gates * 2 * hidden);
            for r in 0..gates {
                weights.extend_from_slice(&wi[r * hidden..(r + 1) * hidden]);
                weights.extend_from_slice(&wh[r * hidden..(r + 1) * hidden]);
            }
            let bias = floats(&w.lstm[4 * layer + 2])?
                .iter()
                .zip(floats(&w.lstm[4 * layer + 3])?)
                .map(|(a, b)| a + b)
                .collect();
            upper.push(Upper { weights, bias });
        }
        let proj = w.proj.map(floats).transpose()?;
        let head_weight = floats(w.head_weight)?;
        Ok(FusedLm {
            vocab,
            hidden,
            table,
            first_hh: floats(&w.lstm[1])?,
            upper,
            head_in: head_weight.len() / vocab.max(1),
            head_weight,
            head_bias: floats(w.head_bias)?,
            proj,
        })
    }

    /// Number of ids the model scores.
    pub fn vocab_size(&self) -> usize {
        self.vocab
    }

    /// A zero state for `lanes` sequences.
    pub fn zero_state(&self, lanes: usize) -> FusedState {
        let layers = 1 + self.upper.len();
        FusedState {
            lanes,
            h: vec![vec![0.0; lanes * self.hidden]; layers],
            c: vec![vec![0.0; lanes * self.hidden]; layers],
            ..FusedState::default()
        }
    }

    /// Reads one id per lane and writes the logits of the next id, `[lanes, vocab]`, into
    /// `logits` (resized).
    pub fn step(&self, state: &mut FusedState, ids: &[i64], logits: &mut Vec<f32>) -> Result<()> {
        self.step_with(state, ids, logits, None)
    }

    /// [`FusedLm::step`], with a [`Pair`]'s second core taking half of each layer's product
    /// when one lane is stepped (the logits are the same to the bit).
    pub fn step_with(
        &self,
        state: &mut FusedState,
        ids: &[i64],
        logits: &mut Vec<f32>,
        pair: Option<&Pair>,
    ) -> Result<()> {
        let (lanes, hidden) = (state.lanes, self.hidden);
        let product = |x: &[f32], w: &[f32], k: usize, n: usize, out: &mut [f32]| match pair {
            Some(pair) if lanes == 1 => pair.matvec_add(x, w, k, n, out),
            _ => matmul_add(x, w, lanes, k, n, out),
        };
        let gates = 4 * hidden;
        ensure!(ids.len() == lanes, "{} ids for {lanes} lanes", ids.len());
        state.gates.resize(lanes * gates, 0.0);
        for (lane, &id) in ids.iter().enumerate() {
            let row = usize::try_from(id)
                .ok()
                .filter(|&i| i < self.vocab)
                .with_context(|| format!("id {id} is outside the model's {} ids", self.vocab))?;
            state.gates[lane * gates..(lane + 1) * gates]
                .copy_from_slice(&self.table[row * gates..(row + 1) * gates]);
        }
        product(&state.h[0], &self.first_hh, hidden, gates, &mut state.gates);
        cell(&mut state.gates, &mut state.h[0], &mut state.c[0], hidden);
        for (l, up) in self.upper.iter().enumerate() {
            state.input.resize(lanes * 2 * hidden, 0.0);
            for lane in 0..lanes {
                let row = &mut state.input[lane * 2 * hidden..(lane + 1) * 2 * hidden];
                row[..hidden].copy_from_slice(&state.h[l][lane * hidden..(lane + 1) * hidden]);
                row[hidden..].copy_from_slice(&state.h[l + 1][lane * hidden..(lane + 1) * hidden]);
            }
            for lane in 0..lanes {
                state.gates[lane * gates..(lane + 1) * gates].copy_from_slice(&up.bias);
            }
            product(
                &state.input,
                &up.weights,
                2 * hidden,
                gates,
                &mut state.gates,
            );
            cell(
                &mut state.gates,
                &mut state.h[l + 1],
                &mut state.c[l + 1],
                hidden,
            );
        }
        let mut top = &state.h[self.upper.len()];
        if let Some(proj) = &self.proj {
            state.projected.clear();
            state.projected.resize(lanes * self.head_in, 0.0);
            matmul_add(top, proj, lanes, hidden, self.head_in, &mut state.projected);
            top = &state.projected;
        }
        logits.clear();
        for _ in 0..lanes {
            logits.extend_from_slice(&self.head_bias);
        }
        matmul_add(
            top,
            &self.head_weight,
            lanes,
            self.head_in,
            self.vocab,
            logits,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LstmConfig, LstmOptions};

    /// Steps `lanes` sequences through the fused kernel and compares every step's logits with
    /// libtorch's forward pass over the whole sequences.
    fn agrees(model: &LstmLm, sequences: &[Vec<i64>]) -> Result<f32> {
        let fused = FusedLm::new(model)?;
        let lanes = sequences.len();
        let len = sequences[0].len();
        let flat: Vec<i64> = sequences.concat();
        let (whole, _) = tch::no_grad(|| {
            model.forward(
                &Tensor::from_slice(&flat).view([lanes as i64, len as i64]),
                None,
                false,
            )
        });
        let expected = floats(&whole)?;
        let vocab = fused.vocab_size();
        let mut state = fused.zero_state(lanes);
        let mut logits = Vec::new();
        let mut worst = 0f32;
        for t in 0..len {
            let ids: Vec<i64> = sequences.iter().map(|s| s[t]).collect();
            fused.step(&mut state, &ids, &mut logits)?;
            for lane in 0..lanes {
                let want = &expected[(lane * len + t) * vocab..(lane * len + t + 1) * vocab];
                let got = &logits[lane * vocab..(lane + 1) * vocab];
                for (a, b) in got.iter().zip(want) {
                    worst = worst.max((a - b).abs());
                }
            }
        }
        Ok(worst)
    }

    fn sequences(lanes: usize, len: usize, vocab: i64) -> Vec<Vec<i64>> {
        (0..lanes)
            .map(|l| {
                (0..len)
                    .map(|t| ((t * 7 + l * 3 + t * l) as i64) % vocab)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_fused_step_computes_what_libtorch_computes() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(7);
        let config = LstmConfig {
            vocab_size: 13,
            embed_dim: 6,
            hidden_size: 16,
            num_layers: 3,
            dropout: 0.3,
        };
        let plain = LstmLm::new(config.clone(), Device::Cpu)?;
        let tied = LstmLm::with_options(
            config,
            LstmOptions {
                tie_weights: true,
                weight_drop: 0.2,
                carry_state: true,
            },
            Device::Cpu,
        )?;
        for model in [&plain, &tied] {
            // One lane (matrix-vector products) and six (matrix products).
            for lanes in [1, 6] {
                let worst = agrees(model, &sequences(lanes, 20, 13))?;
                assert!(worst < 1e-4, "{lanes} lanes: logits differ by {worst}");
            }
        }
        Ok(())
    }

    #[test]
    fn lanes_can_be_dropped_and_repeated() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(8);
        let model = LstmLm::new(LstmConfig::debug(9), Device::Cpu)?;
        let fused = FusedLm::new(&model)?;
        let mut state = fused.zero_state(3);
        let mut logits = Vec::new();
        fused.step(&mut state, &[1, 2, 3], &mut logits)?;
        let third = logits[18..27].to_vec();
        state.retain(&[false, false, true]);
        assert_eq!(state.lanes(), 1);
        let mut copies = FusedState::stack(&[state.clone(), state.repeat_lane(0, 1)]);
        assert_eq!(copies.lanes(), 2);
        let mut alone = state.clone();
        fused.step(&mut copies, &[4, 4], &mut logits)?;
        let mut single = Vec::new();
        fused.step(&mut alone, &[4], &mut single)?;
        assert_eq!(&logits[..9], single.as_slice());
        assert_eq!(&logits[9..], single.as_slice());
        assert_ne!(third, single);
        assert!(fused.step(&mut alone, &[9], &mut single).is_err());
        Ok(())
    }
}
