//! A [`FrameLstm`] compiled into the crate's CPU kernel for generation: a frame read is the input
//! projection, a [`FusedStack`] step, the output layer and the skip path in plain products, with
//! no libtorch call; the within-frame weights are read once, not once a frame. Libtorch stays the
//! path on CUDA, and reads the primer (one call for the whole primer).

use anyhow::{ensure, Result};

use super::FrameLstm;
use crate::model::fused::{floats, matmul_add};
use crate::model::{FusedStack, LstmState, StackState};

/// The model's weights in the kernel's layout.
#[derive(Debug)]
pub(super) struct FrameKernel {
    pitches: usize,
    /// `[width, pitches]` and `[width]`: the input projection (tanh after it), when there is one.
    proj: Option<(Vec<f32>, Vec<f32>)>,
    stack: FusedStack,
    head: Vec<f32>,
    head_bias: Vec<f32>,
    /// `[pitches, pitches]`, when there is a skip path.
    skip: Option<Vec<f32>>,
    /// The masked within-frame weights `[pitches, pitches]`, when the model has them.
    pub(super) within: Option<Vec<f64>>,
    /// Subtracted from every logit when sampling (the log of the training-only positive weight).
    offset: f64,
}

impl FrameKernel {
    /// Copies the model's weights.
    pub(super) fn new(model: &FrameLstm) -> Result<Self> {
        let proj = match &model.proj {
            Some((w, b)) => Some((floats(w)?, floats(b)?)),
            None => None,
        };
        let within = match model.pitch_weights() {
            Some(w) => Some(floats(&w)?.into_iter().map(f64::from).collect()),
            None => None,
        };
        Ok(FrameKernel {
            pitches: model.config.num_pitches as usize,
            proj,
            stack: FusedStack::new(&model.lstm)?,
            head: floats(&model.head_weight)?,
            head_bias: floats(&model.head_bias)?,
            skip: model.skip_weight.as_ref().map(floats).transpose()?,
            within,
            offset: model.config.positive_weight.map_or(0.0, f64::ln),
        })
    }

    /// The libtorch state after the primer, in the kernel's layout.
    pub(super) fn state_from(&self, state: &LstmState) -> Result<StackState> {
        self.stack.state_from(state)
    }

    /// Reads `frame` (0/1 cells) and returns the logits of the next frame given the past (the
    /// positive weight divided out).
    pub(super) fn advance(&self, state: &mut StackState, frame: &[f32]) -> Result<Vec<f64>> {
        let p = self.pitches;
        ensure!(
            frame.len() == p,
            "a frame of {} cells for a model of {p} pitches",
            frame.len()
        );
        let projected;
        let input = match &self.proj {
            Some((w, b)) => {
                let mut x = b.clone();
                matmul_add(frame, w, 1, p, b.len(), &mut x);
                x.iter_mut().for_each(|v| *v = v.tanh());
                projected = x;
                &projected
            }
            None => frame,
        };
        self.stack.step(state, input)?;
        let mut logits = self.head_bias.clone();
        matmul_add(
            state.output(),
            &self.head,
            1,
            self.stack.hidden(),
            p,
            &mut logits,
        );
        if let Some(skip) = &self.skip {
            matmul_add(frame, skip, 1, p, p, &mut logits);
        }
        Ok(logits
            .into_iter()
            .map(|l| f64::from(l) - self.offset)
            .collect())
    }
}
