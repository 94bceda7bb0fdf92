//! Any [`LstmStack`] compiled for stepping on the CPU: each layer's input and recurrent weights
//! side by side (`[4H, in + H]`, row-major) with both biases summed, stepped for a few lanes at a
//! time with the same kernels as [`super::FusedLm`], its buffers reused from step to step. A model
//! made of `LstmStack` layers uses it where it steps one position at a time on the CPU (the pitch
//! axis of [`crate::model::PitchLstm`] draws a frame key by key), instead of a dozen libtorch calls
//! a step.

use anyhow::{ensure, Result};
use tch::Tensor;

use super::floats;
use super::kernels::{cell, matmul_add};
use crate::model::{LstmStack, LstmState};

/// One layer: `W_ih` as `[4H, in]`, `W_hh` as `[4H, H]` and `b_ih + b_hh`.
#[derive(Debug, Clone)]
struct Layer {
    inner: usize,
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    bias: Vec<f32>,
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
}

impl StackState {
    /// The last layer's output of the last step, `[lanes, H]`.
    pub fn output(&self) -> &[f32] {
        self.h.last().map_or(&[], Vec::as_slice)
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
                inner,
                w_ih,
                w_hh,
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
        })
    }

    /// Reads one input per lane (`[lanes, input]`, row-major) and advances `state`; the last
    /// layer's output is then [`StackState::output`].
    pub fn step(&self, state: &mut StackState, input: &[f32]) -> Result<()> {
        let (lanes, hidden) = (state.lanes, self.hidden);
        ensure!(
            input.len() == lanes * self.input,
            "{} inputs for {lanes} lanes of {}",
            input.len(),
            self.input
        );
        let gates = 4 * hidden;
        for (l, layer) in self.layers.iter().enumerate() {
            state.gates.resize(lanes * gates, 0.0);
            for lane in 0..lanes {
                state.gates[lane * gates..(lane + 1) * gates].copy_from_slice(&layer.bias);
            }
            // The layer below's output is read in place while this layer's state is written.
            let (lower, rest) = state.h.split_at_mut(l);
            let below: &[f32] = if l == 0 { input } else { &lower[l - 1] };
            let h = &mut rest[0];
            matmul_add(
                below,
                &layer.w_ih,
                lanes,
                layer.inner,
                gates,
                &mut state.gates,
            );
            matmul_add(h, &layer.w_hh, lanes, hidden, gates, &mut state.gates);
            cell(&mut state.gates, h, &mut state.c[l], hidden);
        }
        Ok(())
    }

    /// Runs one sequence of `steps` inputs (`[steps, input]`, row-major) from a zero state and
    /// returns the last layer's outputs `[steps, H]`. Each layer's input products for the whole
    /// sequence are one matrix product; only the recurrent products go step by step.
    pub fn run(&self, inputs: &[f32], steps: usize) -> Result<Vec<f32>> {
        ensure!(
            inputs.len() == steps * self.input,
            "{} inputs for {steps} steps of {}",
            inputs.len(),
            self.input
        );
        let (hidden, gates) = (self.hidden, 4 * self.hidden);
        let mut below = inputs.to_vec();
        let mut pre = Vec::new();
        let (mut h, mut c) = (vec![0f32; hidden], vec![0f32; hidden]);
        for layer in &self.layers {
            pre.clear();
            for _ in 0..steps {
                pre.extend_from_slice(&layer.bias);
            }
            matmul_add(&below, &layer.w_ih, steps, layer.inner, gates, &mut pre);
            h.iter_mut().chain(c.iter_mut()).for_each(|v| *v = 0.0);
            below.clear();
            for t in 0..steps {
                let step_gates = &mut pre[t * gates..(t + 1) * gates];
                matmul_add(&h, &layer.w_hh, 1, hidden, gates, step_gates);
                cell(step_gates, &mut h, &mut c, hidden);
                below.extend_from_slice(&h);
            }
        }
        Ok(below)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device, Kind};

    #[test]
    fn a_fused_step_computes_what_libtorch_computes() -> Result<()> {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let stack = LstmStack::new(&vs.root().sub("lstm"), 13, 24, 2, 0.0);
        let fused = FusedStack::new(&stack)?;
        let lanes = 3;
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
        assert!(worst < 1e-5, "largest difference {worst}");
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
        Ok(())
    }
}
