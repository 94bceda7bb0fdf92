//! A [`WindowLstm`] compiled into the crate's CPU kernel for generation, with its windows in
//! flight.
//!
//! The logits for the id after position `t` come from the window of ids `t − W + 1 ..= t`, read
//! by the LSTM from a zero state. Every window that a later id will need has already started:
//! the window that ends at `t + j` starts at `t + j − W + 1`. So the kernel keeps all `W` of them
//! in flight, one lane each, and reads each new id into every lane at once. A token costs the
//! same multiply-adds as running one whole window, but as one product of `W` lanes per layer
//! (the `gemm` crate's blocked kernels) instead of `W` one-row products in a row, and the first
//! layer's input product is computed once, since every lane reads the same id.
//!
//! Attention pools each lane as it goes: a running softmax (the largest score so far, the sum of
//! the exponentials below it, and the outputs summed with those weights), so no lane keeps its
//! outputs. The logits are [`WindowLstm::forward`]'s in `f32` arithmetic summed in another
//! order (the tests compare them with libtorch's to 1e-4).

use super::WindowLstm;
use crate::model::fused::{
    floats, matmul_add, tanh_in_place, FusedStack, StackState, Weights, WIDE_LANES,
};
use anyhow::{Context, Result};
use rayon::prelude::*;

/// The attention's `W` `[H, H]`, `b` `[H]` and `v` `[H]`.
#[derive(Debug)]
struct Pooling {
    weight: Weights,
    bias: Vec<f32>,
    v: Vec<f32>,
}

/// A [`WindowLstm`]'s weights laid out for the CPU kernel.
#[derive(Debug)]
pub(super) struct WindowKernel {
    embed: Vec<f32>,
    embed_dim: usize,
    window: usize,
    stack: FusedStack,
    attention: Option<Pooling>,
    head: Vec<f32>,
    head_bias: Vec<f32>,
}

/// The windows in flight: lane `s % W` holds the window that started at the `s`-th id read. The
/// lanes are dealt out to the parts, one part per thread, as cards are: lane `l` is lane `l / P`
/// of part `l % P`, so the parts stay even while the first window fills.
pub(super) struct Flight {
    /// Ids read so far.
    read: usize,
    parts: Vec<Part>,
}

/// The lanes of a [`Flight`] that one thread steps.
struct Part {
    state: StackState,
    /// Per lane: the largest attention score so far, the sum of `exp(score − largest)` over the
    /// window, and the outputs summed with those weights (`[lanes, H]`).
    largest: Vec<f32>,
    total: Vec<f32>,
    pooled: Vec<f32>,
    /// The attention's hidden layer for each lane's newest output (scratch).
    scores: Vec<f32>,
}

impl Part {
    /// Empties one lane (an index within the part).
    fn empty(&mut self, lane: usize, hidden: usize) {
        self.state.zero_lane(lane);
        self.largest[lane] = f32::NEG_INFINITY;
        self.total[lane] = 0.0;
        self.pooled[lane * hidden..(lane + 1) * hidden].fill(0.0);
    }
}

impl WindowKernel {
    pub(super) fn new(model: &WindowLstm) -> Result<Self> {
        let hidden = model.config.hidden_size as usize;
        let attention = match &model.attention {
            Some(a) => Some(Pooling {
                weight: Weights::new(floats(&a.weight)?, hidden, hidden),
                bias: floats(&a.bias)?,
                v: floats(&a.v)?,
            }),
            None => None,
        };
        Ok(WindowKernel {
            embed: floats(&model.embed)?,
            embed_dim: model.config.embed_dim as usize,
            window: model.config.window,
            stack: FusedStack::new(&model.lstm)?,
            attention,
            head: floats(&model.head_weight)?,
            head_bias: floats(&model.head_bias)?,
        })
    }

    /// No id read yet: every lane empty, the lanes split among rayon's threads in parts of at
    /// least [`WIDE_LANES`] (a part of fewer would step slower than one thread does).
    pub(super) fn flight(&self) -> Flight {
        let parts = rayon::current_num_threads().min(self.window / WIDE_LANES);
        self.flight_in_parts(parts)
    }

    /// No id read yet, the lanes split into `count` parts (at least one).
    fn flight_in_parts(&self, count: usize) -> Flight {
        let (lanes, hidden) = (self.window, self.stack.hidden());
        let count = count.clamp(1, lanes);
        let parts = (0..count)
            .map(|i| {
                let size = lanes_dealt(lanes, i, count);
                Part {
                    state: self.stack.zero_state(size),
                    largest: vec![f32::NEG_INFINITY; size],
                    total: vec![0.0; size],
                    pooled: vec![0.0; size * hidden],
                    scores: Vec::new(),
                }
            })
            .collect();
        Flight { read: 0, parts }
    }

    /// Reads one id into every window in flight; the lane of the window that starts with it is
    /// emptied first (the window it held ended with the id before).
    pub(super) fn read(&self, flight: &mut Flight, id: i64) -> Result<()> {
        let (e, vocab) = (self.embed_dim, self.head_bias.len());
        let row = usize::try_from(id)
            .ok()
            .filter(|&i| i < vocab)
            .with_context(|| format!("id {id} is outside the model's {vocab} ids"))?;
        let input = &self.embed[row * e..(row + 1) * e];
        let start = flight.read % self.window;
        // While the first window fills, the lanes after the newest hold nothing yet.
        let live = (flight.read + 1).min(self.window);
        flight.read += 1;
        let count = flight.parts.len();
        let step = |(index, part): (usize, &mut Part)| -> Result<()> {
            if start % count == index {
                part.empty(start / count, self.stack.hidden());
            }
            let lanes = lanes_dealt(live, index, count);
            if lanes > 0 {
                self.step_part(part, input, lanes)?;
            }
            Ok(())
        };
        match flight.parts.as_mut_slice() {
            [one] => step((0, one)),
            parts => parts.par_iter_mut().enumerate().try_for_each(step),
        }
    }

    /// Steps the first `lanes` lanes of one part by one input and pools their new outputs.
    fn step_part(&self, part: &mut Part, input: &[f32], lanes: usize) -> Result<()> {
        let hidden = self.stack.hidden();
        self.stack.step_shared(&mut part.state, input, lanes)?;
        let Some(pooling) = &self.attention else {
            return Ok(());
        };
        let out = &part.state.output()[..lanes * hidden];
        part.scores.clear();
        for _ in 0..lanes {
            part.scores.extend_from_slice(&pooling.bias);
        }
        pooling.weight.add_product(out, lanes, &mut part.scores);
        tanh_in_place(&mut part.scores);
        for (lane, (pre, h)) in part
            .scores
            .chunks_exact(hidden)
            .zip(out.chunks_exact(hidden))
            .enumerate()
        {
            let score: f32 = pre.iter().zip(&pooling.v).map(|(x, v)| v * x).sum();
            let largest = part.largest[lane].max(score);
            let (rescale, weight) = (
                (part.largest[lane] - largest).exp(),
                (score - largest).exp(),
            );
            part.largest[lane] = largest;
            part.total[lane] = part.total[lane] * rescale + weight;
            let pooled = &mut part.pooled[lane * hidden..(lane + 1) * hidden];
            for (acc, x) in pooled.iter_mut().zip(h) {
                *acc = *acc * rescale + weight * x;
            }
        }
        Ok(())
    }

    /// The logits of the id after the last `W` ids read (all of them while fewer were read), as
    /// [`WindowLstm::forward`] gives them.
    pub(super) fn logits(&self, flight: &Flight) -> Vec<f64> {
        let hidden = self.stack.hidden();
        let lane = flight.read.saturating_sub(self.window) % self.window;
        let count = flight.parts.len();
        let (part, lane) = (&flight.parts[lane % count], lane / count);
        let last = &part.state.output()[lane * hidden..(lane + 1) * hidden];
        let mut features = Vec::with_capacity(2 * hidden);
        if self.attention.is_some() {
            let total = part.total[lane];
            features.extend(
                part.pooled[lane * hidden..(lane + 1) * hidden]
                    .iter()
                    .map(|x| x / total),
            );
        }
        features.extend_from_slice(last);
        let mut logits = self.head_bias.clone();
        let vocab = logits.len();
        matmul_add(&features, &self.head, 1, features.len(), vocab, &mut logits);
        logits.into_iter().map(f64::from).collect()
    }
}

/// How many of the first `lanes` lanes part `index` of `count` holds (lane `l` goes to part
/// `l % count`).
fn lanes_dealt(lanes: usize, index: usize, count: usize) -> usize {
    (lanes + count - 1 - index) / count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WindowConfig;
    use tch::Device;

    #[test]
    fn lanes_split_among_threads_give_the_logits_of_one_part() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(6);
        let config = WindowConfig {
            window: 2 * WIDE_LANES + 5,
            ..WindowConfig::debug(20, true)
        };
        let kernel = WindowKernel::new(&WindowLstm::new(config, Device::Cpu)?)?;
        let mut flights: Vec<Flight> = [1, 2, 3].map(|n| kernel.flight_in_parts(n)).into();
        assert_eq!(flights[2].parts.len(), 3);
        let mut worst = 0f64;
        for i in 0..80 {
            let id = (i * 7 + 2) % 20;
            for flight in &mut flights {
                kernel.read(flight, id)?;
            }
            let one = kernel.logits(&flights[0]);
            for flight in &flights[1..] {
                for (a, b) in one.iter().zip(kernel.logits(flight)) {
                    worst = worst.max((a - b).abs());
                }
            }
        }
        assert!(worst < 1e-5, "largest difference {worst}");
        assert!(kernel.read(&mut flights[0], 20).is_err(), "an id outside");
        Ok(())
    }
}
