//! Any [`LstmStack`] compiled for stepping on the CPU: each layer's input and recurrent weights
//! laid out for the products of a step (`super::kernels::Weights`: packed once for AVX-512 or
//! AVX2), both biases summed, its buffers reused from step to step, and the cell without
//! divisions (`cell_fast`).
//! A model made of `LstmStack` layers uses it where it steps one position at a time on the CPU
//! (the pitch axis of [`crate::model::PitchLstm`] draws a frame key by key; a
//! [`crate::model::WindowLstm`] steps all its windows in flight, every lane reading the same id),
//! instead of a dozen libtorch calls a step.

use anyhow::{ensure, Result};
use tch::Tensor;

use super::floats;
use super::kernels::{cell_fast, Weights};
use crate::model::{LstmStack, LstmState};

/// One layer: `W_ih` as `[4H, in]`, `W_hh` as `[4H, H]` and `b_ih + b_hh`.
#[derive(Debug, Clone)]
struct Layer {
    w_ih: Weights,
    w_hh: Weights,
    bias: Vec<f32>,
}

/// What the first layer reads in a step: one input per lane, or one input all lanes share.
#[derive(Clone, Copy)]
enum StepInput<'a> {
    PerLane(&'a [f32]),
    Shared(&'a [f32]),
}

/// An [`LstmStack`]'s weights laid out for fused steps.
#[derive(Debug, Clone)]
pub struct FusedStack {
    input: usize,
    hidden: usize,
    layers: Vec<Layer>,
}

/// The state of some lanes of a [`FusedStack`], and the scratch buffers a step reuses.
#[derive(Debug, Clone)]
pub struct StackState {
    lanes: usize,
    /// Per layer, `[lanes, H]`.
    h: Vec<Vec<f32>>,
    c: Vec<Vec<f32>>,
    gates: Vec<f32>,
    /// One lane's gates before the lane's own products: the bias, plus a shared input's product.
    first: Vec<f32>,
}

impl StackState {
    /// The last layer's output of the last step, `[lanes, H]`.
    pub fn output(&self) -> &[f32] {
        self.h.last().map_or(&[], Vec::as_slice)
    }

    /// Number of lanes.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Copies lane `from`'s state over lane `to`'s.
    pub fn copy_lane(&mut self, from: usize, to: usize) {
        for layer in self.h.iter_mut().chain(self.c.iter_mut()) {
            let hidden = layer.len() / self.lanes.max(1);
            if from.max(to) < self.lanes {
                layer.copy_within(from * hidden..(from + 1) * hidden, to * hidden);
            }
        }
    }

    /// Sets one lane's state back to zero (a new sequence starts in it).
    pub fn zero_lane(&mut self, lane: usize) {
        for layer in self.h.iter_mut().chain(self.c.iter_mut()) {
            let hidden = layer.len() / self.lanes.max(1);
            if let Some(values) = layer.get_mut(lane * hidden..(lane + 1) * hidden) {
                values.fill(0.0);
            }
        }
    }
}

impl FusedStack {
    /// Copies a stack's weights (from any device) into the fused layout.
    pub fn new(stack: &LstmStack) -> Result<Self> {
        let (input, hidden) = (stack.input_size as usize, stack.hidden_size as usize);
        let w = stack.weights();
        ensure!(
            w.len() == 4 * stack.num_layers as usize,
            "unexpected LSTM weights"
        );
        let gates = 4 * hidden;
        let mut layers = Vec::with_capacity(stack.num_layers as usize);
        for (layer, four) in w.chunks_exact(4).enumerate() {
            let inner = if layer == 0 { input } else { hidden };
            let (w_ih, w_hh) = (floats(&four[0])?, floats(&four[1])?);
            ensure!(
                w_ih.len() == gates * inner && w_hh.len() == gates * hidden,
                "unexpected LSTM weights in layer {layer}"
            );
            let bias = floats(&four[2])?
                .iter()
                .zip(floats(&four[3])?)
                .map(|(a, b)| a + b)
                .collect();
            layers.push(Layer {
                w_ih: Weights::new(w_ih, gates, inner),
                w_hh: Weights::new(w_hh, gates, hidden),
                bias,
            });
        }
        Ok(FusedStack {
            input,
            hidden,
            layers,
        })
    }

    /// Width of each layer's output.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// A zero state for `lanes` sequences.
    pub fn zero_state(&self, lanes: usize) -> StackState {
        StackState {
            lanes,
            h: vec![vec![0.0; lanes * self.hidden]; self.layers.len()],
            c: vec![vec![0.0; lanes * self.hidden]; self.layers.len()],
            gates: Vec::new(),
            first: Vec::new(),
        }
    }

    /// A libtorch state (`[layers, lanes, H]`) in the fused layout.
    pub fn state_from(&self, state: &LstmState) -> Result<StackState> {
        let lanes = state.h.size().get(1).copied().unwrap_or(0) as usize;
        let split = |t: &Tensor| -> Result<Vec<Vec<f32>>> {
            let all = floats(t)?;
            ensure!(
                all.len() == self.layers.len() * lanes * self.hidden,
                "a state of {} values for {} layers of {} lanes × {}",
                all.len(),
                self.layers.len(),
                lanes,
                self.hidden
            );
            Ok(all
                .chunks(lanes * self.hidden)
                .map(<[f32]>::to_vec)
                .collect())
        };
        Ok(StackState {
            lanes,
            h: split(&state.h)?,
            c: split(&state.c)?,
            gates: Vec::new(),
            first: Vec::new(),
        })
    }

    /// Reads one input per lane (`[lanes, input]`, row-major) and advances `state`; the last
    /// layer's output is then [`StackState::output`].
    pub fn step(&self, state: &mut StackState, input: &[f32]) -> Result<()> {
        ensure!(
            input.len() == state.lanes * self.input,
            "{} inputs for {} lanes of {}",
            input.len(),
            state.lanes,
            self.input
        );
        let lanes = state.lanes;
        self.step_with(state, StepInput::PerLane(input), lanes);
        Ok(())
    }

    /// Advances the first `lanes` lanes of `state` by the same input (`[input]`), leaving the
    /// others as they are: the first layer's input product is computed once for all of them.
    pub fn step_shared(&self, state: &mut StackState, input: &[f32], lanes: usize) -> Result<()> {
        ensure!(
            input.len() == self.input,
            "an input of {} values for a stack that reads {}",
            input.len(),
            self.input
        );
        ensure!(
            lanes <= state.lanes,
            "{lanes} lanes to step in a state of {}",
            state.lanes
        );
        self.step_with(state, StepInput::Shared(input), lanes);
        Ok(())
    }

    /// One step; each product by the kernel that suits the number of lanes.
    fn step_with(&self, state: &mut StackState, input: StepInput<'_>, lanes: usize) {
        let hidden = self.hidden;
        let (gates, used) = (4 * hidden, lanes * hidden);
        for (l, layer) in self.layers.iter().enumerate() {
            state.gates.resize(lanes * gates, 0.0);
            state.first.clear();
            state.first.extend_from_slice(&layer.bias);
            // The layer below's output is read in place while this layer's state is written.
            let (lower, rest) = state.h.split_at_mut(l);
            let h = &mut rest[0][..used];
            // Every lane's gates start from the bias (plus a shared input's product), then add
            // the lane's own products.
            match (l, input) {
                (0, StepInput::Shared(x)) => layer.w_ih.add_product(x, 1, &mut state.first),
                (0, StepInput::PerLane(x)) => {
                    layer
                        .w_ih
                        .set_product(x, lanes, &state.first, &mut state.gates)
                }
                _ => layer.w_ih.set_product(
                    &lower[l - 1][..used],
                    lanes,
                    &state.first,
                    &mut state.gates,
                ),
            }
            if let (0, StepInput::Shared(_)) = (l, input) {
                layer
                    .w_hh
                    .set_product(h, lanes, &state.first, &mut state.gates);
            } else {
                layer.w_hh.add_product(h, lanes, &mut state.gates);
            }
            cell_fast(&mut state.gates, h, &mut state.c[l][..used], hidden);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device, Kind};

    #[test]
    fn a_fused_step_computes_what_libtorch_computes() -> Result<()> {
        // A few lanes take the dot-product kernel, many the blocked products.
        for lanes in [3, super::super::kernels::WIDE_LANES + 2] {
            tch::manual_seed(3);
            let vs = nn::VarStore::new(Device::Cpu);
            let stack = LstmStack::new(&vs.root().sub("lstm"), 13, 24, 2, 0.0);
            let fused = FusedStack::new(&stack)?;
            let mut libtorch: Option<LstmState> = None;
            let mut ours = fused.zero_state(lanes);
            let mut worst = 0f32;
            for _ in 0..20 {
                let x = Tensor::randn([lanes as i64, 13], (Kind::Float, Device::Cpu));
                let (out, next) = tch::no_grad(|| stack.step(&x, libtorch.as_ref()));
                libtorch = Some(next);
                fused.step(&mut ours, &floats(&x)?)?;
                let expected = floats(&out)?;
                assert_eq!(expected.len(), ours.output().len());
                for (a, b) in expected.iter().zip(ours.output()) {
                    worst = worst.max((a - b).abs());
                }
            }
            assert!(worst < 1e-5, "{lanes} lanes: largest difference {worst}");
            // A libtorch state carried over gives the same next step.
            let state = libtorch.as_ref().expect("stepped");
            let mut carried = fused.state_from(state)?;
            let x = Tensor::randn([lanes as i64, 13], (Kind::Float, Device::Cpu));
            let (out, _) = tch::no_grad(|| stack.step(&x, Some(state)));
            fused.step(&mut carried, &floats(&x)?)?;
            for (a, b) in floats(&out)?.iter().zip(carried.output()) {
                assert!((a - b).abs() < 1e-5, "{a} against {b}");
            }
            assert!(
                fused.step(&mut carried, &[0.0; 5]).is_err(),
                "a wrong width"
            );
        }
        Ok(())
    }

    #[test]
    fn a_shared_input_steps_as_the_same_input_in_every_lane() -> Result<()> {
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let stack = LstmStack::new(&vs.root().sub("lstm"), 7, 16, 2, 0.0);
        let fused = FusedStack::new(&stack)?;
        for lanes in [2, super::super::kernels::WIDE_LANES + 1] {
            let (mut shared, mut copied) = (fused.zero_state(lanes), fused.zero_state(lanes));
            for step in 0..6 {
                let x: Vec<f32> = (0..7)
                    .map(|i| ((i * 3 + step) % 5) as f32 / 5.0 - 0.3)
                    .collect();
                // Lanes start at different steps, so their states differ.
                shared.zero_lane(step % lanes);
                copied.zero_lane(step % lanes);
                fused.step_shared(&mut shared, &x, lanes)?;
                fused.step(&mut copied, &x.repeat(lanes))?;
            }
            let (a, b) = (shared.output(), copied.output());
            assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5));
            assert!(
                a[..16] != a[16..32],
                "lanes started at different steps hold different states"
            );
        }
        // Stepping only the first lanes leaves the others as they were.
        let mut part = fused.zero_state(3);
        fused.step_shared(&mut part, &[0.5; 7], 2)?;
        assert!(part.output()[..32].iter().any(|v| *v != 0.0));
        assert!(part.output()[32..].iter().all(|v| *v == 0.0));
        let mut state = fused.zero_state(2);
        assert!(fused.step_shared(&mut state, &[0.0; 3], 2).is_err());
        assert!(fused.step_shared(&mut state, &[0.0; 7], 3).is_err());
        Ok(())
    }
}
