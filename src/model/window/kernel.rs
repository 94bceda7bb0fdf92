//! A [`WindowLstm`] compiled into the crate's CPU kernel for generation, with its windows in
//! flight.
//!
//! The logits for the id after position `t` come from the window of ids `t − W + 1 ..= t`, read
//! by the LSTM from a zero state. Every window that a later id will need has already started:
//! the window that ends at `t + j` starts at `t + j − W + 1`. So the kernel keeps all `W` of them
//! in flight, one lane each, and reads each new id into every lane at once. A token costs the
//! same multiply-adds as running one whole window, but as one product of `W` lanes per layer
//! (weights packed once for an AVX-512 or AVX2 register block, or split for AMX tiles where the
//! CPU has them) instead of `W` one-row products in a row, and the first layer's input product is
//! computed once, since every lane reads the same id.
//! Told how many ids will follow ([`crate::model::TokenStepper::start_for`]), it starts no window
//! whose logits would never be read, and so does the same work as libtorch: one window a token.
//!
//! Attention pools each lane as it goes: a running softmax (the largest score so far, the sum of
//! the exponentials below it, and the outputs summed with those weights), so no lane keeps its
//! outputs. The logits are [`WindowLstm::forward`]'s in `f32` arithmetic summed in another
//! order (the tests compare them with libtorch's to 1e-4).

use super::WindowLstm;
use crate::model::fused::{
    floats, matmul_add, tanh_in_place, FusedStack, StackState, Weights, WIDE_LANES,
};
use anyhow::{ensure, Context, Result};
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

/// The windows in flight, dealt out to parts (one part per thread). Each part keeps its live
/// lanes first: a window that has ended gives its lane to the part's last live one, and a new
/// window takes the first free lane of the part with the fewest, so the parts stay even.
pub(super) struct Flight {
    /// Ids read so far.
    read: usize,
    /// The last window whose logits will be read (by where it starts); later ones never start.
    last_start: usize,
    parts: Vec<Part>,
}

/// The lanes of a [`Flight`] that one thread steps.
struct Part {
    state: StackState,
    /// Lanes in use: the first `live`.
    live: usize,
    /// Per live lane: the position of the window's first id.
    starts: Vec<usize>,
    /// Per lane: the largest attention score so far, the sum of `exp(score − largest)` over the
    /// window, and the outputs summed with those weights (`[lanes, H]`).
    largest: Vec<f32>,
    total: Vec<f32>,
    pooled: Vec<f32>,
    /// The attention's hidden layer for each lane's newest output (scratch).
    scores: Vec<f32>,
}

impl Part {
    /// Starts a window at `start` in the first free lane.
    fn open(&mut self, start: usize, hidden: usize) {
        let lane = self.live;
        self.state.zero_lane(lane);
        self.largest[lane] = f32::NEG_INFINITY;
        self.total[lane] = 0.0;
        self.pooled[lane * hidden..(lane + 1) * hidden].fill(0.0);
        self.starts.push(start);
        self.live += 1;
    }

    /// Ends the window in `lane`; the last live lane moves into it.
    fn close(&mut self, lane: usize, hidden: usize) {
        let last = self.live - 1;
        if lane != last {
            self.state.copy_lane(last, lane);
            self.largest[lane] = self.largest[last];
            self.total[lane] = self.total[last];
            self.pooled
                .copy_within(last * hidden..(last + 1) * hidden, lane * hidden);
        }
        self.starts.swap_remove(lane);
        self.live = last;
    }

    /// The lane that holds the window starting at `start`.
    fn lane_of(&self, start: usize) -> Option<usize> {
        self.starts.iter().position(|&s| s == start)
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

    /// No id read yet, the lanes split among rayon's threads in parts of at least
    /// [`WIDE_LANES`] (a part of fewer would step slower than one thread does). With `reads`,
    /// the most ids that will be read, the windows whose logits would come after them never
    /// start.
    pub(super) fn flight(&self, reads: Option<usize>) -> Flight {
        let parts = rayon::current_num_threads().min(self.window / WIDE_LANES);
        self.flight_in_parts(parts, reads)
    }

    /// [`WindowKernel::flight`] in `count` parts (at least one).
    fn flight_in_parts(&self, count: usize, reads: Option<usize>) -> Flight {
        let (lanes, hidden) = (self.window, self.stack.hidden());
        let count = count.clamp(1, lanes);
        let parts = (0..count)
            .map(|_| {
                let size = lanes.div_ceil(count);
                Part {
                    state: self.stack.zero_state(size),
                    live: 0,
                    starts: Vec::with_capacity(size),
                    largest: vec![f32::NEG_INFINITY; size],
                    total: vec![0.0; size],
                    pooled: vec![0.0; size * hidden],
                    scores: Vec::new(),
                }
            })
            .collect();
        let last_start = reads.map_or(usize::MAX, |r| r.saturating_sub(self.window));
        Flight {
            read: 0,
            last_start,
            parts,
        }
    }

    /// Reads one id into every window in flight: the window that ended with the id before
    /// closes, and one that starts with this id opens (unless its logits will never be read).
    pub(super) fn read(&self, flight: &mut Flight, id: i64) -> Result<()> {
        let (e, vocab, hidden) = (self.embed_dim, self.head_bias.len(), self.stack.hidden());
        let row = usize::try_from(id)
            .ok()
            .filter(|&i| i < vocab)
            .with_context(|| format!("id {id} is outside the model's {vocab} ids"))?;
        let input = &self.embed[row * e..(row + 1) * e];
        let position = flight.read;
        if let Some(ended) = position.checked_sub(self.window) {
            if let Some((part, lane)) = find(&flight.parts, ended) {
                flight.parts[part].close(lane, hidden);
            }
        }
        if position <= flight.last_start {
            let fewest = (0..flight.parts.len())
                .min_by_key(|&i| flight.parts[i].live)
                .context("a flight without parts")?;
            flight.parts[fewest].open(position, hidden);
        }
        ensure!(
            flight.parts.iter().any(|part| part.live > 0),
            "read past the ids the generation was started for"
        );
        flight.read += 1;
        let step = |part: &mut Part| -> Result<()> {
            match part.live {
                0 => Ok(()),
                lanes => self.step_part(part, input, lanes),
            }
        };
        match flight.parts.as_mut_slice() {
            [one] => step(one),
            parts => parts.par_iter_mut().try_for_each(step),
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
        part.scores.resize(lanes * hidden, 0.0);
        pooling
            .weight
            .set_product(out, lanes, &pooling.bias, &mut part.scores);
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
    pub(super) fn logits(&self, flight: &Flight) -> Result<Vec<f64>> {
        let hidden = self.stack.hidden();
        let start = flight.read.saturating_sub(self.window);
        let (part, lane) = find(&flight.parts, start)
            .context("the window of these logits was never started (read past the limit)")?;
        let part = &flight.parts[part];
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
        Ok(logits.into_iter().map(f64::from).collect())
    }
}

/// The part and lane of the window that starts at `start`.
fn find(parts: &[Part], start: usize) -> Option<(usize, usize)> {
    parts
        .iter()
        .enumerate()
        .find_map(|(i, part)| part.lane_of(start).map(|lane| (i, lane)))
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
        // One, two and three parts; two parts told the 80 ids to come (the last windows never
        // start).
        let mut flights: Vec<Flight> = [1, 2, 3].map(|n| kernel.flight_in_parts(n, None)).into();
        flights.push(kernel.flight_in_parts(2, Some(80)));
        assert_eq!(flights[2].parts.len(), 3);
        let mut worst = 0f64;
        for i in 0..80 {
            let id = (i * 7 + 2) % 20;
            for flight in &mut flights {
                kernel.read(flight, id)?;
            }
            let one = kernel.logits(&flights[0])?;
            for flight in &flights[1..] {
                for (a, b) in one.iter().zip(kernel.logits(flight)?) {
                    worst = worst.max((a - b).abs());
                }
            }
        }
        assert!(worst < 1e-5, "largest difference {worst}");
        assert_eq!(flights[3].parts.iter().map(|p| p.live).sum::<usize>(), 1);
        assert!(kernel.read(&mut flights[3], 1).is_err(), "past the 80 ids");
        assert!(kernel.read(&mut flights[0], 20).is_err(), "an id outside");
        Ok(())
    }
}
