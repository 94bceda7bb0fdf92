//! The pitch axis in the crate's CPU kernel, for drawing a frame key by key: a frame of 88 keys
//! is 88 dependent steps of a small LSTM, which through libtorch cost a dozen calls each and in
//! the kernel ([`FusedStack`]) one fused product. Compiled when generation starts on the CPU;
//! libtorch stays the path on CUDA. The logits are libtorch's to about 1e-6
//! (`tests::the_cpu_kernel_draws_what_libtorch_draws`).

use anyhow::{ensure, Result};
use tch::Tensor;

use super::{PitchLstm, OUTSIDE_INITIAL_LOGIT};
use crate::model::fused::floats;
use crate::model::FusedStack;

/// The pitch-axis LSTM and the output head, compiled.
#[derive(Debug)]
pub(super) struct PitchKernel {
    stack: FusedStack,
    head: Vec<f32>,
    bias: f32,
}

impl PitchKernel {
    /// Copies the model's pitch axis and head.
    pub(super) fn new(model: &PitchLstm) -> Result<Self> {
        let head = floats(&model.head_weight)?;
        let bias = floats(&model.head_bias)?;
        ensure!(
            head.len() == model.config.pitch_hidden as usize && bias.len() == 1,
            "unexpected head weights"
        );
        Ok(PitchKernel {
            stack: FusedStack::new(&model.pitch)?,
            head,
            bias: bias[0],
        })
    }

    /// Draws one frame from the time axis's output `time_out` (`[modelled keys, time_hidden]`),
    /// key by key from low to high, as [`crate::model::FrameStepper::next_frame`] does.
    pub(super) fn draw_frame(
        &self,
        model: &PitchLstm,
        time_out: &Tensor,
        outside: &[f64],
        draw: &mut dyn FnMut(usize, f64) -> bool,
    ) -> Result<Vec<f32>> {
        let c = &model.config;
        let (p, k, width) = (
            c.num_pitches as usize,
            c.chord_window as usize,
            c.time_hidden as usize,
        );
        let (first, keys) = c.modelled_keys();
        let (first, last) = (first as usize, (first + keys) as usize);
        let offset = c.positive_weight.map_or(0.0, f64::ln);
        let time_out = tch::no_grad(|| floats(time_out))?;
        ensure!(
            time_out.len() == (last - first) * width,
            "the time axis gave {} values for {} keys",
            time_out.len(),
            last - first
        );
        let mut state = self.stack.zero_state(1);
        let mut input = vec![0f32; width + k];
        let mut cells = vec![0f32; p];
        for n in 0..p {
            let logit = if (first..last).contains(&n) {
                let own = &time_out[(n - first) * width..(n - first + 1) * width];
                input[..width].copy_from_slice(own);
                for j in 0..k {
                    input[width + j] = (n + j).checked_sub(k).map_or(0.0, |i| cells[i]);
                }
                self.stack.step(&mut state, &input)?;
                let sum: f32 = self
                    .head
                    .iter()
                    .zip(state.output())
                    .map(|(w, h)| w * h)
                    .sum();
                f64::from(sum + self.bias)
            } else {
                outside.get(n).copied().unwrap_or(OUTSIDE_INITIAL_LOGIT)
            };
            if draw(n, logit - offset) {
                cells[n] = 1.0;
            }
        }
        Ok(cells)
    }
}
