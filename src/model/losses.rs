//! Losses shared by the models and the metrics built on them.

use crate::data::padding_mask;
use tch::{Kind, Reduction, Tensor};

/// Binary cross-entropy of `logits` against 0/1 `targets` (same shape, pitches last), summed over
/// the pitches: one loss per frame (shape of `targets` without its last dimension). `pos_weight`
/// multiplies the loss of the on cells (training on sparse rolls); `None` gives the NLL.
pub fn frame_bce(logits: &Tensor, targets: &Tensor, pos_weight: Option<f64>) -> Tensor {
    let targets = targets.to_kind(logits.kind());
    let pos = pos_weight.map(|w| Tensor::full([1], w, (logits.kind(), logits.device())));
    logits
        .binary_cross_entropy_with_logits(&targets, None::<Tensor>, pos, Reduction::None)
        .sum_dim_intlist(-1, false, logits.kind())
}

/// The piano-roll models' loss: [`frame_bce`] of `logits` against a batch's `targets` (padded
/// frames hold [`crate::data::PAD_TARGET`]), averaged over the real frames only.
pub fn padded_frame_loss(logits: &Tensor, targets: &Tensor, pos_weight: Option<f64>) -> Tensor {
    let mask = padding_mask(targets);
    let per_frame = frame_bce(logits, &targets.clamp_min(0.0), pos_weight);
    (per_frame * &mask).sum(Kind::Float) / mask.sum(Kind::Float).clamp_min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn a_frame_costs_the_sum_of_its_cells() {
        // logit 0: each cell costs ln 2 whatever its target.
        let logits = Tensor::zeros([1, 2, 3], (Kind::Double, Device::Cpu));
        let targets = Tensor::from_slice(&[1.0f64, 0., 1., 0., 0., 0.]).view([1, 2, 3]);
        let per_frame = frame_bce(&logits, &targets, None);
        assert_eq!(per_frame.size(), vec![1, 2]);
        let ln2 = std::f64::consts::LN_2;
        assert!((per_frame.double_value(&[0, 0]) - 3.0 * ln2).abs() < 1e-12);
        let weighted = frame_bce(&logits, &targets, Some(4.0));
        assert!((weighted.double_value(&[0, 0]) - 9.0 * ln2).abs() < 1e-12);
    }
}
